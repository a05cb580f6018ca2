"""Authentication and role checks (R42): `Authorization: Bearer <api key>`, one role per key.

Routers declare who may call them with `Depends(require("operator", ...))`; no handler checks
roles by hand. No, unknown or revoked key → 401; a known key with the wrong role → 403.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, cast

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from issuer_service.api_keys import repository as key_repository
from issuer_service.dependencies import SessionDep, SettingsDep
from issuer_service.errors import Forbidden, RateLimited, Unauthorized
from issuer_service.roles import ROLES, Role

__all__ = ["Principal", "Role", "authenticate", "ensure_customer_access", "require"]

API_KEY_PREFIX = "cnh_"


@dataclass(frozen=True)
class Principal:
    """Who is calling: `id` is the API key id ("key_…"), used as the actor in audit records."""

    id: str
    role: Role
    customer_id: str | None
    label: str


def generate_api_key() -> str:
    return API_KEY_PREFIX + secrets.token_urlsafe(32)


def hash_api_key(key: str, pepper: str) -> str:
    """HMAC-SHA256 with a server-side pepper: a leaked table alone cannot confirm guessed keys.

    Keys carry 256 random bits, so one fast hash suffices (no bcrypt needed) and lookup by
    hash needs no per-row salt.
    """
    return hmac.new(pepper.encode(), key.encode(), hashlib.sha256).hexdigest()


class AuthFailureLimiter:
    """Failed authentications per client IP in a sliding one-minute window.

    Kept in memory, per process: with N processes a client gets up to N x limit tries a minute.
    That is acceptable for slowing down key guessing (keys have 256 bits) and it keeps the
    database out of the failure path; nothing that matters is lost on restart.
    """

    WINDOW_SECONDS = 60.0
    MAX_TRACKED_CLIENTS = 10_000

    def __init__(self, limit: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.limit = limit
        self._clock = clock
        self._failures: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def _recent(self, client: str, now: float) -> deque[float]:
        failures = self._failures.setdefault(client, deque())
        while failures and failures[0] <= now - self.WINDOW_SECONDS:
            failures.popleft()
        return failures

    def retry_after(self, client: str) -> int | None:
        """Seconds until this client may try again, or None if it is not blocked."""
        with self._lock:
            now = self._clock()
            failures = self._recent(client, now)
            if len(failures) < self.limit:
                if not failures:
                    self._failures.pop(client, None)
                return None
            return max(1, int(failures[0] + self.WINDOW_SECONDS - now) + 1)

    def record_failure(self, client: str) -> None:
        with self._lock:
            now = self._clock()
            if len(self._failures) >= self.MAX_TRACKED_CLIENTS:
                self._forget_quiet_clients(now)
            self._recent(client, now).append(now)

    def _forget_quiet_clients(self, now: float) -> None:
        # Bounds memory when failures come from very many addresses: drop those with none recent.
        self._failures = {
            client: failures
            for client, failures in self._failures.items()
            if failures and failures[-1] > now - self.WINDOW_SECONDS
        }


_bearer = HTTPBearer(auto_error=False, description="An API key: `Authorization: Bearer cnh_…`")
BearerDep = Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]


def authenticate(request: Request, session: SessionDep, settings: SettingsDep, credentials: BearerDep) -> Principal:
    limiter: AuthFailureLimiter = request.app.state.auth_limiter
    client = request.client.host if request.client else "unknown"
    retry_after = limiter.retry_after(client)
    if retry_after is not None:
        raise RateLimited(
            f"too many failed authentications from this address; retry in {retry_after} s",
            retry_after_seconds=retry_after,
        )
    if credentials is None:
        limiter.record_failure(client)
        raise Unauthorized("missing API key: send the header `Authorization: Bearer <api key>`")
    key_hash = hash_api_key(credentials.credentials, settings.api_key_pepper.get_secret_value())
    key = key_repository.get_by_hash(session, key_hash)
    if key is None or key.revoked_at is not None:
        limiter.record_failure(client)
        raise Unauthorized("the API key is unknown or has been revoked; ask an admin for a new key")
    return Principal(id=key.id, role=cast(Role, key.role), customer_id=key.customer_id, label=key.label)


def require(*roles: Role) -> Callable[..., Principal]:
    """A dependency that authenticates the caller and admits only the given roles (R42)."""
    unknown = set(roles) - set(ROLES)
    if not roles or unknown:
        raise ValueError(f"require() needs roles from {ROLES}, got {roles}")
    allowed = frozenset(roles)

    def dependency(principal: Annotated[Principal, Depends(authenticate)]) -> Principal:
        if principal.role not in allowed:
            raise Forbidden(
                f"this needs a key with role {' or '.join(sorted(allowed))}; yours has role {principal.role}"
            )
        return principal

    return dependency


def ensure_customer_access(principal: Principal, customer_id: str) -> None:
    """A customer key reads only its own customer's records ("customer (own)" in design.md)."""
    if principal.role == "customer" and principal.customer_id != customer_id:
        raise Forbidden(f"this key belongs to customer {principal.customer_id} and may only access its own records")
