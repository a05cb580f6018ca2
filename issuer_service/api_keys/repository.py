"""All SQL of API keys."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from issuer_service.api_keys.models import ApiKey
from issuer_service.db import lock_for_update


def get_by_hash(session: Session, key_hash: str) -> ApiKey | None:
    return session.execute(select(ApiKey).where(ApiKey.key_hash == key_hash)).scalar_one_or_none()


def lock_by_id(session: Session, key_id: str) -> ApiKey | None:
    return session.execute(lock_for_update(select(ApiKey).where(ApiKey.id == key_id))).scalar_one_or_none()


def count_active(session: Session, role: str) -> int:
    stmt = select(func.count()).select_from(ApiKey).where(ApiKey.role == role, ApiKey.revoked_at.is_(None))
    return session.execute(stmt).scalar_one()


def lock_active_admins(session: Session) -> list[ApiKey]:
    """Lock every active admin key, so two concurrent revocations cannot both pass the
    'not the last admin' check."""
    stmt = select(ApiKey).where(ApiKey.role == "admin", ApiKey.revoked_at.is_(None)).order_by(ApiKey.id)
    return list(session.execute(lock_for_update(stmt)).scalars())


def add(session: Session, key: ApiKey) -> ApiKey:
    session.add(key)
    session.flush()
    return key
