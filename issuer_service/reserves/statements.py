"""The daily reserve statement (R5, R52): once per Hong Kong business date, the ledger's supply
against the reserves counted toward backing, valuation age and concentration.

A breach of R1 raises an alert (a WARNING log line with `event: reserve_breach`, for the log
pipeline) and an audit record; mints are refused while it lasts, because every mint re-checks R1
under the pool lock. `DailyStatementJob.step()` is meant for the worker loop, like the indexer.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import date
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from compliance.calendar import calendar_for
from compliance.money import format_units
from compliance.profiles import RegimeProfile
from compliance.reserve_assets import concentration, valuation_age_seconds
from compliance.reserve_policy import required_reserve_fen, reserve_surplus_fen
from issuer_service.audit.service import SYSTEM_ACTOR, append_audit_now
from issuer_service.chain.gateway import ChainUnavailable
from issuer_service.clock import utc_now
from issuer_service.ids import new_id
from issuer_service.pagination import Page, decode_cursor, page_of
from issuer_service.reserves import repository
from issuer_service.reserves.models import ReserveStatement
from issuer_service.reserves.schemas import StatementOut
from issuer_service.reserves.service import current_assessments

alert_log = logging.getLogger("issuer_service.reserves.alerts")


def business_date_now(profile: RegimeProfile) -> date:
    """Today in the zone of the calendar the profile's deadlines use (R5, R13)."""
    return calendar_for(profile).local_date(utc_now())


def draw_statement(
    session: Session,
    *,
    profile: RegimeProfile,
    gateway: Any,
    actor: str = SYSTEM_ACTOR,
    business_date: date | None = None,
) -> tuple[StatementOut, bool]:
    """Today's statement: drawn now if there is none yet (True), else the one already drawn (False)."""
    business_date = business_date or business_date_now(profile)
    existing = repository.statement_for(session, business_date)
    if existing is not None:
        return to_out(existing), False
    chain_supply, chain_block = _chain_supply(gateway)
    # The pool lock gives a consistent view of pool and assets, and makes concurrent drawers queue:
    # the second one then finds the first one's statement.
    pool = repository.lock_pool(session)
    existing = repository.statement_for(session, business_date)
    if existing is not None:
        return to_out(existing), False
    supply = pool.outstanding_fen + pool.in_flight_mint_fen
    now = utc_now()
    assessed = current_assessments(session, pool, profile)
    reserves = sum(assessment.counted_fen for _, assessment in assessed)
    stale = [
        item.asset_id
        for item, _ in assessed
        if valuation_age_seconds(item.valued_at, now) > profile.valuation_max_age_seconds
    ]
    shares = concentration(((item.custodian, a.counted_fen) for item, a in assessed), profile.concentration_limit_bps)
    over_limit = [share.custodian for share in shares if share.over_limit]
    fully_backed = reserves * 10_000 >= supply * (10_000 + profile.reserve_buffer_bps)
    required, surplus = (
        required_reserve_fen(supply, profile.reserve_buffer_bps),
        reserve_surplus_fen(reserves, supply, profile.reserve_buffer_bps),
    )
    statement_id = new_id("stm")
    data: dict[str, object] = {
        "business_date": business_date.isoformat(),
        "supply_fen": supply,
        "reserves_fen": reserves,
        "required_fen": required,
        "surplus_fen": surplus,
        "fully_backed": fully_backed,
        "stale_valuations": stale,
        "concentration_over_limit": over_limit,
        "chain_supply_units": str(chain_supply) if chain_supply is not None else None,
        "chain_block": chain_block,
    }
    rule_ids = ["R5", "R52"] + ([] if fully_backed else ["R1"]) + (["R6"] if over_limit else [])
    record = append_audit_now(
        session,
        actor=actor,
        action="reserve_statement.drawn" if fully_backed else "reserve_statement.breach",
        entity_type="reserve_statement",
        entity_id=statement_id,
        data=data,
        rule_ids=rule_ids,
    )
    statement = ReserveStatement(
        id=statement_id,
        business_date=business_date,
        supply_fen=supply,
        reserves_fen=reserves,
        required_fen=required,
        surplus_fen=surplus,
        fully_backed=fully_backed,
        stale_valuations=len(stale),
        concentration_breaches=len(over_limit),
        chain_supply_units=str(chain_supply) if chain_supply is not None else None,
        chain_block=chain_block,
        audit_seq=record.seq,
        created_by=actor,
        created_at=now,
    )
    repository.add_statement(session, statement)
    if not fully_backed:  # R5: the alert
        alert_log.warning(
            "reserve breach on %s: reserves %s fen do not cover supply %s fen plus the buffer "
            "(shortfall %s fen); mints are refused until cured (R1, R5)",
            business_date,
            reserves,
            supply,
            -surplus,
            extra={"fields": {"event": "reserve_breach", **data}},
        )
    if stale or over_limit:
        alert_log.warning(
            "reserve statement %s flags: %d stale valuation(s) (R5), custodians over the concentration limit: %s (R6)",
            business_date,
            len(stale),
            over_limit or "none",
            extra={"fields": {"event": "reserve_flags", **data}},
        )
    return to_out(statement), True


def _chain_supply(gateway: Any) -> tuple[int | None, int | None]:
    if gateway is None:
        return None, None
    try:
        block = int(gateway.head())
        return int(gateway.total_supply(block)), block
    except ChainUnavailable:
        return None, None  # the statement is about the ledger; the chain figure is a cross-check


def list_statements(session: Session, *, limit: int, cursor: str | None) -> Page[StatementOut]:
    rows = repository.list_statements(session, after_id=decode_cursor(cursor), limit=limit + 1)
    page, next_cursor = page_of(rows, limit, key=lambda row: row.id)
    return Page[StatementOut](items=[to_out(row) for row in page], next_cursor=next_cursor)


def to_out(statement: ReserveStatement) -> StatementOut:
    chain_supply = int(statement.chain_supply_units) if statement.chain_supply_units is not None else None
    return StatementOut(
        id=statement.id,
        business_date=statement.business_date,
        supply=statement.supply_fen,
        reserves=statement.reserves_fen,
        required_reserves=statement.required_fen,
        surplus=statement.surplus_fen,
        fully_backed=statement.fully_backed,
        breach=not statement.fully_backed,
        stale_valuations=statement.stale_valuations,
        concentration_breaches=statement.concentration_breaches,
        chain_supply=format_units(chain_supply) if chain_supply is not None else None,
        chain_block=statement.chain_block,
        audit_seq=statement.audit_seq,
        created_at=statement.created_at,
    )


class DailyStatementJob:
    """Draws the day's statement on the first step of each business date; cheap otherwise (one
    SELECT at most every `min_interval_s`). Add `job.step` to the worker's `extra_steps`."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        gateway: Any,
        profile: RegimeProfile,
        *,
        min_interval_s: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.sessions, self.gateway, self.profile = sessions, gateway, profile
        self.min_interval_s, self._clock = min_interval_s, clock
        self._next_run_at = float("-inf")
        self._done_for: date | None = None

    def step(self) -> int:
        """Returns 1 when it drew a statement, else 0."""
        now = self._clock()
        if now < self._next_run_at:
            return 0
        self._next_run_at = now + self.min_interval_s
        business_date = business_date_now(self.profile)
        if self._done_for == business_date:
            return 0
        with self.sessions.begin() as session:
            _, drawn = draw_statement(session, profile=self.profile, gateway=self.gateway, business_date=business_date)
        self._done_for = business_date
        return 1 if drawn else 0
