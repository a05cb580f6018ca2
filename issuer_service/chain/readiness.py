"""Readiness checks that involve the chain: the node answers, the ledger reconciles (R16), and no
signed transaction is stuck being refused by the node."""

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

    def outbox() -> tuple[str, bool, str]:
        from issuer_service.outbox.repository import REFUSALS_REPORTED, refused

        with app.state.sessionmaker() as session:
            count, oldest = refused(session)
        if oldest is None:
            return "outbox", True, f"no transaction refused {REFUSALS_REPORTED} times in a row by the node"
        why = (oldest.last_error or "")[:200]
        return (
            "outbox",
            False,
            f"{count} transaction(s) refused by the node {REFUSALS_REPORTED}+ times in a row and retrying; oldest "
            f"{oldest.id} ({oldest.function}, nonce {oldest.nonce} of {oldest.signer}): {why} - fix the cause "
            "(e.g. fund the signer); later transactions of that signer wait behind it",
        )

    def mining() -> tuple[str, bool, str]:
        from issuer_service.clock import utc_now
        from issuer_service.outbox.repository import UNMINED_REPORTED_AFTER, unmined

        minutes = int(UNMINED_REPORTED_AFTER.total_seconds() // 60)
        with app.state.sessionmaker() as session:
            count, oldest = unmined(session, now=utc_now())
        if oldest is None:
            return "mining", True, f"no sent transaction waiting {minutes}+ minutes to be mined"
        return (
            "mining",
            False,
            f"{count} transaction(s) sent {minutes}+ minutes ago and still not mined; oldest {oldest.id} "
            f"({oldest.function}, nonce {oldest.nonce} of {oldest.signer}, {oldest.tx_hash}): the node holds it, "
            "usually behind a lower nonce of that signer it never got, or under its fee floor - see the runbook, "
            "'A stuck outbox'",
        )

    return [chain, reconciliation, outbox, mining]
