"""Authentication and role checks (R42): `Authorization: Bearer <api key>`, one role per key.

Routers declare who may call them with `Depends(require("operator", ...))`; no handler checks
roles by hand. No, unknown or revoked key → 401; a known key with the wrong role → 403.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import math
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Annotated, cast

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session, sessionmaker

from issuer_service.api_keys import repository as key_repository
from issuer_service.api_keys.models import ApiKey
from issuer_service.clock import utc_now
from issuer_service.db import DATABASE_UNAVAILABLE
from issuer_service.dependencies import SessionDep, SettingsDep
from issuer_service.errors import Forbidden, RateLimited, Unauthorized
from issuer_service.roles import ROLES, Role

__all__ = ["Principal", "Role", "authenticate", "ensure_customer_access", "require"]

API_KEY_PREFIX = "cnh_"
log = logging.getLogger("issuer_service.auth")


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
    """Failed authentications per client address: after `limit` failures in a window of
    `window` from the first, every request from that address (even with a valid key) gets 429
    until the window ends.

    Counted in the database (`auth_failures`), not in a process's memory, so every process of the
    service shares one count: several processes behind a load balancer still allow `limit` tries
    per window, not one `limit` each. A failure is recorded in its own short transaction, because
    the request's own transaction is rolled back with the 401; the check on a valid key rides on the
    key lookup (`get_by_hash_unless_blocked`), so it costs an authenticated request no statement.
    """

    def __init__(
        self,
        sessions: sessionmaker[Session],
        limit: int,
        *,
        window: timedelta = timedelta(seconds=60),
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self.sessions = sessions
        self.limit = limit
        self.window = window
        self.clock = clock

    def lookup(self, session: Session, key_hash: str, client: str) -> ApiKey | None:
        """The key with this hash; RateLimited if the client is blocked, whatever the key."""
        now = self.clock()
        key, blocked_since = key_repository.get_by_hash_unless_blocked(
            session, key_hash, client=client, limit=self.limit, window_since=now - self.window
        )
        if blocked_since is not None:
            raise self._rate_limited(blocked_since, now)
        return key

    def refuse(self, client: str, refusal: Unauthorized) -> Unauthorized | RateLimited:
        """Count a failed authentication; what to answer: the 401 given, or 429 if the client had
        already used up its tries (that attempt is not counted, so it does not extend the window)."""
        now = self.clock()
        try:
            with self.sessions.begin() as session:
                row = key_repository.lock_auth_failures(session, client, now=now, forget_before=now - self.window)
                if row.window_started_at <= now - self.window:
                    row.window_started_at, row.failures = now, 0
                if row.failures >= self.limit:
                    return self._rate_limited(row.window_started_at, now)
                row.failures += 1
        except DATABASE_UNAVAILABLE as exc:
            # The database is away: the refusal stands without it and goes uncounted, which gives a
            # guesser nothing, since no key can be checked (503) until the database is back.
            log.warning("auth failure from %s not counted, database unavailable: %s", client, type(exc).__name__)
        return refusal

    def _rate_limited(self, window_started_at: datetime, now: datetime) -> RateLimited:
        retry_after = max(1, math.ceil((window_started_at + self.window - now).total_seconds()))
        return RateLimited(
            f"too many failed authentications from this address; retry in {retry_after} s",
            retry_after_seconds=retry_after,
        )


_bearer = HTTPBearer(auto_error=False, description="An API key: `Authorization: Bearer cnh_…`")
BearerDep = Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]


def authenticate(request: Request, session: SessionDep, settings: SettingsDep, credentials: BearerDep) -> Principal:
    limiter: AuthFailureLimiter = request.app.state.auth_limiter
    client = ((request.client.host if request.client else None) or "unknown")[:64]
    if credentials is None:
        raise limiter.refuse(client, Unauthorized("missing API key: send the header `Authorization: Bearer <api key>`"))
    key_hash = hash_api_key(credentials.credentials, settings.api_key_pepper.get_secret_value())
    key = limiter.lookup(session, key_hash, client)
    if key is None or key.revoked_at is not None:
        # The request is refused: end its transaction now, so that on SQLite it no longer holds the
        # database's write lock that counting the failure (its own transaction) needs.
        session.rollback()
        unknown = Unauthorized("the API key is unknown or has been revoked; ask an admin for a new key")
        raise limiter.refuse(client, unknown)
    if key.pending_approval_id is not None:  # a valid key, not a failed authentication: not counted
        raise Forbidden(
            f"this key works once a second admin approves its issue (approval {key.pending_approval_id}, R40)",
            reason_code="key_pending_approval",
        )
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
