"""One status machine for everything with a life cycle (mints, redemptions, seizures).

`Lifecycle.move` is the only way such an object changes status: it checks the edge is allowed and
writes the audit record in the caller's transaction (R50), citing the rules of the new status.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from sqlalchemy.orm import Session

from issuer_service.audit.service import append_audit
from issuer_service.clock import utc_now
from issuer_service.errors import Conflict


class HasLifecycle(Protocol):
    id: str
    status: str
    updated_at: Any
    last_audit_seq: int | None


@dataclass(frozen=True)
class Lifecycle:
    entity_type: str
    edges: Mapping[str, set[str]]
    rules_by_status: Mapping[str, Sequence[str]]

    def move(
        self,
        session: Session,
        obj: HasLifecycle,
        to: str,
        *,
        actor: str,
        data: Mapping[str, Any],
        rule_ids: Sequence[str] | None = None,
        data_at_commit: Callable[[], Mapping[str, Any]] | None = None,
    ) -> None:
        if to not in self.edges.get(obj.status, set()):
            raise Conflict(f"{self.entity_type} {obj.id} is {obj.status}; it cannot become {to}")
        previous, obj.status, obj.updated_at = obj.status, to, utc_now()
        def written(seq: int) -> None:
            obj.last_audit_seq = seq

        append_audit(
            session,
            actor=actor,
            action=f"{self.entity_type}.{to}",
            entity_type=self.entity_type,
            entity_id=obj.id,
            data={"from": previous, "to": to, **data},
            rule_ids=list(rule_ids if rule_ids is not None else self.rules_by_status.get(to, [])),
            on_written=written,
            data_at_commit=data_at_commit,
        )
