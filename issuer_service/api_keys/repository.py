"""All SQL of API keys."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from issuer_service.api_keys.models import ApiKey, AuthFailure
from issuer_service.db import dialect_insert, lock_for_update


def get_by_hash(session: Session, key_hash: str) -> ApiKey | None:
    return session.execute(select(ApiKey).where(ApiKey.key_hash == key_hash)).scalar_one_or_none()


def get_by_hash_unless_blocked(
    session: Session, key_hash: str, *, client: str, limit: int, window_since: datetime
) -> tuple[ApiKey | None, datetime | None]:
    """The key with this hash, and when the client's blocking window started if it has `limit`
    failures in a window that started after `window_since`: one statement, since every
    authenticated request asks both."""
    blocked_since = (
        select(AuthFailure.window_started_at)
        .where(
            AuthFailure.client == client,
            AuthFailure.failures >= limit,
            AuthFailure.window_started_at > window_since,
        )
        .scalar_subquery()
    )
    row = session.execute(select(ApiKey, blocked_since).where(ApiKey.key_hash == key_hash)).first()
    return (row[0], row[1]) if row is not None else (None, None)


def lock_auth_failures(session: Session, client: str, *, now: datetime, forget_before: datetime) -> AuthFailure:
    """The client's failure count, locked; created (at zero) on its first failure, when rows whose
    window started before `forget_before` are deleted, so the table holds recent clients only."""
    stmt = lock_for_update(select(AuthFailure).where(AuthFailure.client == client))
    row = session.execute(stmt).scalar_one_or_none()
    if row is not None:
        return row
    session.execute(delete(AuthFailure).where(AuthFailure.window_started_at < forget_before))
    insert = dialect_insert(session)(AuthFailure).values(client=client, window_started_at=now, failures=0)
    session.execute(insert.on_conflict_do_nothing(index_elements=["client"]))  # or a concurrent first failure
    return session.execute(stmt).scalar_one()


def get_by_id(session: Session, key_id: str) -> ApiKey | None:
    return session.execute(select(ApiKey).where(ApiKey.id == key_id)).scalar_one_or_none()


def revoked_among(session: Session, key_ids: list[str]) -> set[str]:
    stmt = select(ApiKey.id).where(ApiKey.id.in_(key_ids), ApiKey.revoked_at.is_not(None))
    return set(session.execute(stmt).scalars())


def roles_of(session: Session, key_ids: list[str]) -> dict[str, str]:
    """The role each of these keys has now (a role change applies from its approval on)."""
    stmt = select(ApiKey.id, ApiKey.role).where(ApiKey.id.in_(key_ids))
    return {key_id: role for key_id, role in session.execute(stmt)}


def lock_by_id(session: Session, key_id: str) -> ApiKey | None:
    return session.execute(lock_for_update(select(ApiKey).where(ApiKey.id == key_id))).scalar_one_or_none()


def _active() -> tuple[Any, ...]:
    """Usable: not revoked, and not waiting for its issue to be approved."""
    return ApiKey.revoked_at.is_(None), ApiKey.pending_approval_id.is_(None)


def count_active(session: Session, role: str) -> int:
    stmt = select(func.count()).select_from(ApiKey).where(ApiKey.role == role, *_active())
    return session.execute(stmt).scalar_one()


def admin_ids_ever_active(session: Session) -> set[str]:
    """Admin keys that have worked at some point, revoked ones included (a key revoked while it
    waited for its issue approval keeps that approval's id, so it does not count). Keys demoted
    since are not among them: `role_changes.demoted_admin_ids` names those."""
    stmt = select(ApiKey.id).where(ApiKey.role == "admin", ApiKey.pending_approval_id.is_(None))
    return set(session.execute(stmt).scalars())


def lock_active_admins(session: Session) -> list[ApiKey]:
    """Lock every active admin key, so two concurrent revocations cannot both pass the
    'not the last admin' check, nor two issues both find a single admin."""
    stmt = select(ApiKey).where(ApiKey.role == "admin", *_active()).order_by(ApiKey.id)
    return list(session.execute(lock_for_update(stmt)).scalars())


def add(session: Session, key: ApiKey) -> ApiKey:
    session.add(key)
    session.flush()
    return key
