"""Issuing, revoking and bootstrapping API keys. Each change is audited (R42, R50); the key
itself never reaches the database, the audit log or the logs (R43)."""

from __future__ import annotations

import logging

from sqlalchemy.orm import Session

from issuer_service.api_keys import repository
from issuer_service.api_keys.models import ApiKey
from issuer_service.api_keys.schemas import ApiKeyOut, CreatedApiKey
from issuer_service.audit import repository as audit_repository
from issuer_service.audit.service import SYSTEM_ACTOR, append_audit
from issuer_service.auth import Principal, Role, generate_api_key, hash_api_key
from issuer_service.clock import utc_now
from issuer_service.customers import repository as customer_repository
from issuer_service.errors import Conflict, NotFound
from issuer_service.ids import new_id

BOOTSTRAP_LABEL = "bootstrap"

log = logging.getLogger(__name__)


def _issue(
    session: Session,
    *,
    pepper: str,
    actor: str,
    role: Role,
    label: str,
    customer_id: str | None,
    key: str | None = None,
) -> CreatedApiKey:
    plaintext = key if key is not None else generate_api_key()
    row = repository.add(
        session,
        ApiKey(
            id=new_id("key"),
            role=role,
            label=label,
            customer_id=customer_id,
            key_hash=hash_api_key(plaintext, pepper),
            created_at=utc_now(),
            created_by=actor,
        ),
    )
    append_audit(
        session,
        actor=actor,
        action="api_key.created",
        entity_type="api_key",
        entity_id=row.id,
        data={"role": role, "label": label, "customer_id": customer_id},
        rule_ids=["R42"],
    )
    return CreatedApiKey(key=plaintext, **ApiKeyOut.model_validate(row, from_attributes=True).model_dump())


def create_staff_key(session: Session, *, pepper: str, actor: Principal, role: Role, label: str) -> CreatedApiKey:
    return _issue(session, pepper=pepper, actor=actor.id, role=role, label=label, customer_id=None)


def create_customer_key(
    session: Session, *, pepper: str, actor: Principal, customer_id: str, label: str | None
) -> CreatedApiKey:
    if customer_repository.get(session, customer_id) is None:
        raise NotFound(f"customer {customer_id} not found")
    return _issue(
        session, pepper=pepper, actor=actor.id, role="customer", label=label or customer_id, customer_id=customer_id
    )


def revoke_key(session: Session, *, actor: Principal, key_id: str) -> ApiKeyOut:
    """Revoke a key; revoking a revoked key changes nothing. The last active admin key cannot be
    revoked: nobody could then issue keys or resume after a pause."""
    admins = repository.lock_active_admins(session)
    key = repository.lock_by_id(session, key_id)
    if key is None:
        raise NotFound(f"API key {key_id} not found")
    if key.revoked_at is None:
        if key.role == "admin" and [admin.id for admin in admins] == [key.id]:
            raise Conflict("this is the last active admin key; issue another admin key before revoking it")
        key.revoked_at, key.revoked_by = utc_now(), actor.id
        append_audit(
            session,
            actor=actor.id,
            action="api_key.revoked",
            entity_type="api_key",
            entity_id=key.id,
            data={"role": key.role, "label": key.label, "customer_id": key.customer_id},
            rule_ids=["R42"],
        )
    return ApiKeyOut.model_validate(key, from_attributes=True)


def bootstrap_admin_key(session: Session, *, pepper: str, configured_key: str | None) -> str | None:
    """Make sure an admin can log in after start-up.

    With a configured key (CNH_ADMIN_API_KEY): make sure it exists as an admin key (a revoked
    one stays revoked). Without one: if no active admin key exists at all, create one and return
    it so the caller can show it once. Returns the key to show, or None.
    """
    # The audit head row always exists: locking it first serializes concurrent start-ups, so two
    # processes cannot both find "no admin" and both create one.
    audit_repository.lock_head(session)
    if configured_key is not None:
        existing = repository.get_by_hash(session, hash_api_key(configured_key, pepper))
        if existing is None:
            _issue(
                session,
                pepper=pepper,
                actor=SYSTEM_ACTOR,
                role="admin",
                label=BOOTSTRAP_LABEL,
                customer_id=None,
                key=configured_key,
            )
        elif existing.role != "admin":
            raise RuntimeError(
                f"CNH_ADMIN_API_KEY is the key of {existing.id}, which has role {existing.role}, not admin"
            )
        elif existing.revoked_at is not None:
            log.warning("CNH_ADMIN_API_KEY was revoked (%s); it stays revoked", existing.id)
        return None
    if repository.count_active(session, "admin") > 0:
        return None
    return _issue(session, pepper=pepper, actor=SYSTEM_ACTOR, role="admin", label=BOOTSTRAP_LABEL, customer_id=None).key
