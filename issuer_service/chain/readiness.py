"""Readiness checks that involve the chain: the node answers, and the ledger reconciles (R16)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from issuer_service.chain.gateway import ChainUnavailable


def chain_checks(app: Any) -> list[Callable[[], tuple[str, bool, str]]]:
    def chain() -> tuple[str, bool, str]:
        try:
            head = app.state.gateway.ping()
        except ChainUnavailable as exc:
            return "chain", False, str(exc)
        return "chain", True, f"block {head} on chain {app.state.gateway.chain_id}"

    def reconciliation() -> tuple[str, bool, str]:
        from issuer_service.indexer.service import reconciliation_status

        with app.state.sessionmaker() as session:
            status = reconciliation_status(session)
        return "reconciliation", status.ok, status.detail

    return [chain, reconciliation]
