"""The reserve pool ledger (R1, R3) and treasury's reserve assets (R2, R40).

Every movement happens under the pool's row lock, which is also what serialises concurrent mints'
R1 checks: two requests can never both see the same headroom.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from compliance.profiles import RegimeProfile
from compliance.reserve_policy import required_reserve_fen, reserve_surplus_fen
from issuer_service.audit.service import append_audit
from issuer_service.auth import Principal
from issuer_service.clock import utc_now
from issuer_service.errors import Conflict, Forbidden, NotFound
from issuer_service.ids import new_id
from issuer_service.reserves import repository
from issuer_service.reserves.models import ReserveAsset, ReservePool
from issuer_service.reserves.schemas import AssetCreate, AssetOut, ReservesOut


def lock_pool(session: Session) -> ReservePool:
    return repository.lock_pool(session)


def asset_backing_fen(asset: ReserveAsset, profile: RegimeProfile) -> int:
    """What an asset counts toward R1: eligible kinds only (R2), other currencies after their
    haircut or not at all (R4)."""
    if asset.kind not in profile.eligible_asset_kinds:
        return 0
    haircut = profile.haircut_bps(asset.currency)
    if haircut is None:
        return 0
    return asset.market_value_fen * (10_000 - haircut) // 10_000


def assets_backing_fen(session: Session, profile: RegimeProfile) -> int:
    return sum(asset_backing_fen(a, profile) for a in repository.active_assets(session))


def reserve_value_fen(session: Session, pool: ReservePool, profile: RegimeProfile) -> int:
    """Reserves counted for R1: cash moved in for mints plus treasury's eligible assets."""
    return pool.cash_fen + assets_backing_fen(session, profile)


# ---------------------------------------------------------------- pool movements (caller holds the lock)
def mint_accepted(pool: ReservePool, amount_fen: int) -> None:
    """The customer's fiat moves into the reserve account; the mint counts as supply (R1)."""
    pool.cash_fen += amount_fen
    pool.in_flight_mint_fen += amount_fen
    pool.updated_at = utc_now()


def mint_confirmed(pool: ReservePool, amount_fen: int) -> None:
    pool.in_flight_mint_fen -= amount_fen
    pool.outstanding_fen += amount_fen
    pool.updated_at = utc_now()


def mint_failed(pool: ReservePool, amount_fen: int) -> None:
    """The fiat goes back to the customer's account."""
    pool.in_flight_mint_fen -= amount_fen
    pool.cash_fen -= amount_fen
    pool.updated_at = utc_now()


def burn_confirmed(pool: ReservePool, amount_fen: int) -> None:
    pool.outstanding_fen -= amount_fen
    pool.updated_at = utc_now()


def paid_out(pool: ReservePool, amount_fen: int, fee_fen: int) -> None:
    """R16: only after the burn. The payout and the fee both leave the pool; the fee goes to the
    issuer's own account, never back into reserves (R3)."""
    pool.cash_fen -= amount_fen
    pool.fees_fen += fee_fen
    pool.updated_at = utc_now()


# ---------------------------------------------------------------- treasury assets (R2, R40)
def record_asset(session: Session, *, actor: Principal, body: AssetCreate, profile: RegimeProfile) -> AssetOut:
    asset = repository.add_asset(session, ReserveAsset(
        id=new_id("ast"), kind=body.kind, custodian=body.custodian, currency=body.currency,
        nominal_fen=body.nominal, market_value_fen=body.market_value if body.market_value is not None else body.nominal,
        maturity=body.maturity, reference=body.reference, status="pending_approval", requested_by=actor.id,
        approved_by=None, note=None, valued_at=utc_now(), created_at=utc_now(),
    ))
    append_audit(session, actor=actor.id, action="reserve_asset.recorded", entity_type="reserve_asset",
                 entity_id=asset.id, data=_asset_data(asset), rule_ids=["R2", "R40"])
    return _asset_out(asset, profile)


def approve_asset(session: Session, *, actor: Principal, asset_id: str, profile: RegimeProfile) -> AssetOut:
    asset = repository.get_asset(session, asset_id, lock=True)
    if asset is None:
        raise NotFound(f"no reserve asset {asset_id}")
    if asset.status != "pending_approval":
        raise Conflict(f"reserve asset {asset_id} is {asset.status}, not pending approval")
    if asset.requested_by == actor.id:  # R40: maker-checker
        raise Forbidden("the principal who recorded a reserve asset cannot approve it; ask a second treasury or admin key")
    lock_pool(session)  # reserve value changes: serialise with mints' R1 checks
    asset.status, asset.approved_by = "active", actor.id
    append_audit(session, actor=actor.id, action="reserve_asset.approved", entity_type="reserve_asset",
                 entity_id=asset.id, data=_asset_data(asset), rule_ids=["R2", "R40"])
    return _asset_out(asset, profile)


def public_view(session: Session, profile: RegimeProfile, chain: dict[str, object] | None) -> ReservesOut:
    pool = repository.get_pool(session)
    cash = pool.cash_fen if pool else 0
    supply = (pool.outstanding_fen + pool.in_flight_mint_fen) if pool else 0
    reserves = cash + assets_backing_fen(session, profile)
    return ReservesOut(
        supply=supply,
        outstanding=pool.outstanding_fen if pool else 0,
        in_flight_mints=pool.in_flight_mint_fen if pool else 0,
        reserves=reserves,
        required_reserves=required_reserve_fen(supply, profile.reserve_buffer_bps),
        surplus=reserve_surplus_fen(reserves, supply, profile.reserve_buffer_bps),
        ratio=_ratio(reserves, supply),
        buffer_bps=profile.reserve_buffer_bps,
        fully_backed=reserves * 10_000 >= supply * (10_000 + profile.reserve_buffer_bps),
        last_valuation_at=pool.updated_at if pool else None,
        profile=profile.name,
        chain=chain,
    )


def _ratio(reserves: int, supply: int) -> str | None:
    """reserves / supply as a 4-decimal string, integer arithmetic only."""
    if supply == 0:
        return None
    scaled = reserves * 10_000 // supply
    return f"{scaled // 10_000}.{scaled % 10_000:04d}"


def _asset_data(asset: ReserveAsset) -> dict[str, object]:
    return {"kind": asset.kind, "custodian": asset.custodian, "currency": asset.currency,
            "nominal_fen": asset.nominal_fen, "market_value_fen": asset.market_value_fen,
            "reference": asset.reference, "status": asset.status,
            "maturity": asset.maturity.isoformat() if asset.maturity else None}


def _asset_out(asset: ReserveAsset, profile: RegimeProfile) -> AssetOut:
    return AssetOut(id=asset.id, kind=asset.kind, custodian=asset.custodian, currency=asset.currency,
                    nominal=asset.nominal_fen, market_value=asset.market_value_fen, maturity=asset.maturity,
                    reference=asset.reference, status=asset.status, requested_by=asset.requested_by,
                    approved_by=asset.approved_by, counts_toward_backing=asset_backing_fen(asset, profile),
                    created_at=asset.created_at)
