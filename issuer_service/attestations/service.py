"""Building reserve attestations at a block (R52, R53) and serving proofs of liabilities (R54).

What goes into a report at block B, and why it is reproducible:
- supply: the token's `totalSupply()` read from the chain at B;
- holder balances: the indexer's Transfers up to B, cross-checked (their sum must equal the supply,
  and a sample must equal `balanceOf(holder, B)`);
- reserves: the customer subscription account (mints confirmed at or before B less redemptions
  burned at or before B, at par) plus each treasury asset at its newest valuation effective at B;
- the redemption SLA record of redemptions burned at or before B, and the audit record behind the
  newest of those figures.
Every one of these is fixed once B is final, and the report holds no clock reading, so building it
again at B gives the same bytes. A rebuild that matches a stored report returns that report.
"""

from __future__ import annotations

import hashlib
import heapq
import json
import threading
from collections import OrderedDict
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from compliance.attestation import (
    SANDBOX_BANNER,
    AttestationInputs,
    AuditAnchor,
    BlockFacts,
    CompletedRedemption,
    LiabilitiesFacts,
    TokenFacts,
    build_report,
    history_points,
    report_bytes,
)
from compliance.money import format_units
from compliance.profiles import RegimeProfile
from compliance.proof_of_liabilities import SCHEME, ProofOfLiabilitiesError, SumTree, build_tree
from compliance.reserve_assets import ReserveAssetInput, assess_asset
from issuer_service.addresses import parse_address
from issuer_service.attestations import repository
from issuer_service.attestations.models import Attestation
from issuer_service.attestations.schemas import AttestationLinks, AttestationOut, AttestationSummary
from issuer_service.audit.service import append_audit
from issuer_service.auth import Principal
from issuer_service.chain.gateway import StateUnavailable
from issuer_service.chain.permit import TOKEN_NAME
from issuer_service.clock import utc_now
from issuer_service.errors import Conflict, NotFound, ServiceUnavailable, ValidationFailed
from issuer_service.ids import new_id
from issuer_service.indexer import repository as indexer_repository
from issuer_service.indexer.service import BlockNotIndexed, holder_balances
from issuer_service.pagination import Page, decode_cursor, page_of
from issuer_service.reserves import repository as reserves_repository
from issuer_service.reserves.service import asset_input, customer_cash_input
from issuer_service.wallets import repository as wallets

TOKEN_SYMBOL = "tCNH"  # noqa: S105 - a ticker, not a secret
TOKEN_DECIMALS = 6
SAMPLE_LARGEST = 8  # holders whose balance is checked against balanceOf() at the block: the largest...
SAMPLE_SPREAD = 8  # ...and a spread chosen by the block hash, so the issuer cannot pick them
_TREE_CACHE_SIZE = 4


@dataclass(frozen=True)
class BuiltReport:
    report: dict[str, object]
    canonical: bytes
    sha256: str
    tree: SumTree
    block: BlockFacts
    supply_units: int

    @property
    def result(self) -> str:
        return str(self.report["result"])

    @property
    def exceptions(self) -> list[str]:
        return [str(item) for item in self.report["exceptions"]]  # type: ignore[attr-defined]


def _require_gateway(gateway: Any) -> Any:
    if gateway is None:
        raise ServiceUnavailable("attestations read the chain, and this service runs without one")
    return gateway


def resolve_block(session: Session, gateway: Any, as_of_block: int | None) -> int:
    """The requested block, or the newest indexed one; refuses blocks before the deployment and
    blocks the indexer has not reached (the proof of liabilities needs every Transfer up to it)."""
    deployed = int(gateway.deployment.block_number)
    cursor = indexer_repository.read_cursor(session)
    indexed = cursor.last_block if cursor is not None else None
    if as_of_block is None:
        if indexed is None or indexed < deployed:
            raise BlockNotIndexed(deployed, indexed)
        return indexed
    if as_of_block < deployed:
        raise ValidationFailed(
            f"block {as_of_block} is before the token was deployed at block {deployed}; "
            f"choose a block from {deployed} on",
            field="body.as_of_block",
        )
    if indexed is None or as_of_block > indexed:
        head = int(gateway.head())
        if as_of_block > head:  # not a wait: the block does not exist yet
            raise ValidationFailed(
                f"block {as_of_block} has not been mined: the chain is at block {head}; choose a block up to {head}",
                field="body.as_of_block",
            )
        raise BlockNotIndexed(as_of_block, indexed)
    return as_of_block


def build_at(session: Session, *, gateway: Any, profile: RegimeProfile, block: int) -> BuiltReport:
    """Gather everything fixed at `block` and build the report. Reads only; writes nothing."""
    block_hash = gateway.block_hash(block)
    if block_hash is None:
        raise Conflict(
            f"block {block} is not on the chain the service reads (reorganised?); choose another block",
            reason_code="block_not_found",
        )
    facts = BlockFacts(number=block, hash=block_hash, timestamp=int(gateway.block_timestamp(block)))
    supply_units = int(gateway.total_supply(block))
    pending = repository.unconfirmed_txs_mined_by(session, up_to_block=block)
    if pending:
        raise Conflict(
            f"the service is still confirming transactions mined at or before block {block} "
            f"({', '.join(pending)}); ask again in a few seconds",
            reason_code="ledger_catching_up",
        )
    tree, checked = _liabilities_tree(session, gateway, facts, supply_units)

    mints = repository.confirmed_mints_by_block(session, up_to_block=block)
    redemptions = repository.burned_redemptions(session, up_to_block=block)
    ledger_fen = sum(fen for _, fen in mints) - sum(r.amount_fen for r in redemptions)
    # A seizure burns and re-mints the same tokens: outstanding supply follows it, reserve cash does not.
    seized_fen = sum(fen for _, fen in repository.seizure_supply_deltas(session, up_to_block=block))
    assets, asset_steps, valuation_seq = _assets_at(session, profile, facts)
    supply_deltas = repository.supply_deltas_by_block(session, up_to_block=block)
    cash_deltas = mints + [(int(r.block_number or 0), -r.amount_fen) for r in redemptions]
    anchor_seq = max(
        (
            seq
            for seq in (repository.last_ledger_audit_seq(session, up_to_block=block), valuation_seq)
            if seq is not None
        ),
        default=None,
    )
    anchor_hash = repository.audit_hash(session, anchor_seq) if anchor_seq is not None else None
    inputs = AttestationInputs(
        token=TokenFacts(
            name=TOKEN_NAME,
            symbol=TOKEN_SYMBOL,
            decimals=TOKEN_DECIMALS,
            chain_id=int(gateway.chain_id),
            address=str(gateway.token_address),
        ),
        block=facts,
        profile=profile,
        supply_units=supply_units,
        indexed_supply_units=sum(delta for _, delta in supply_deltas),
        ledger_supply_fen=ledger_fen + seized_fen,
        assets=[customer_cash_input(ledger_fen, facts.moment), *assets],
        redemptions=[
            CompletedRedemption(r.id, r.amount_fen, int(r.block_number or 0), r.deadline_at, r.paid_at)
            for r in redemptions
            if r.paid_at is not None
        ],
        liabilities=LiabilitiesFacts(
            scheme=SCHEME,
            root_hash=tree.root_hash,
            total_units=tree.total_units,
            leaf_count=tree.leaf_count,
            holders_checked_against_chain=checked,
        ),
        history=history_points(
            supply_deltas=supply_deltas, cash_deltas=cash_deltas, asset_values=asset_steps, up_to_block=block
        ),
        audit_anchor=AuditAnchor(anchor_seq, anchor_hash) if anchor_seq is not None and anchor_hash else None,
    )
    report = build_report(inputs)
    canonical = report_bytes(report)
    return BuiltReport(report, canonical, hashlib.sha256(canonical).hexdigest(), tree, facts, supply_units)


def _liabilities_tree(session: Session, gateway: Any, block: BlockFacts, supply_units: int) -> tuple[SumTree, int]:
    """R54: the Merkle sum tree of indexed balances at the block, refused unless it adds up to the
    chain's supply and a sample of balances equals balanceOf() at the block."""
    balances = holder_balances(session, at_block=block.number)
    indexed_total = sum(balances.values())
    if indexed_total != supply_units:
        raise Conflict(
            f"indexed holder balances at block {block.number} add up to {format_units(indexed_total)} but "
            f"totalSupply() is {format_units(supply_units)}; the indexer must be repaired before a "
            "report can be built (R16, R54)",
            reason_code="indexer_mismatch",
        )
    sample = _sample(balances, block.hash)
    for address in sample:
        on_chain = int(gateway.balance_of(address, block.number))
        if on_chain != balances[address]:
            raise Conflict(
                f"the indexer has {format_units(balances[address])} for {address} at block {block.number} "
                f"but balanceOf() is {format_units(on_chain)} (R54)",
                reason_code="indexer_mismatch",
            )
    try:
        tree = build_tree(
            balances, chain_id=int(gateway.chain_id), token=str(gateway.token_address), block=block.number
        )
    except ProofOfLiabilitiesError as exc:
        raise Conflict(
            f"the holder balances cannot form a proof of liabilities: {exc}", reason_code="indexer_mismatch"
        ) from exc
    return tree, len(sample)


def _sample(balances: dict[str, int], block_hash: str) -> list[str]:
    """The largest holders, plus holders ranked by H(block hash, address): reproducible, not chosen."""
    largest = heapq.nsmallest(SAMPLE_LARGEST, balances, key=lambda address: (-balances[address], address))
    chosen = set(largest)
    spread = heapq.nsmallest(
        SAMPLE_SPREAD,
        (address for address in balances if address not in chosen),
        key=lambda address: hashlib.sha256(f"{block_hash}:{address}".encode()).digest(),
    )
    return largest + spread


def _assets_at(
    session: Session, profile: RegimeProfile, block: BlockFacts
) -> tuple[list[ReserveAssetInput], list[tuple[int, str, int]], int | None]:
    """Each treasury asset at its newest valuation effective at the block, the value steps for the
    history chart, and the newest approval's audit seq."""
    rows = reserves_repository.effective_valuations(session, up_to_block=block.number)
    accounts = reserves_repository.accounts_by_asset(session, sorted({asset.id for _, asset in rows}))
    as_of = block.moment.date()
    current: dict[str, ReserveAssetInput] = {}
    steps: list[tuple[int, str, int]] = []
    newest_seq: int | None = None
    for valuation, asset in rows:  # oldest first: the last one per asset wins
        item = asset_input(
            asset,
            accounts.get(asset.id),
            market_value_fen=valuation.market_value_fen,
            nominal_fen=valuation.nominal_fen,
            valued_at=valuation.valued_at,
        )
        current[asset.id] = item
        steps.append(
            (int(valuation.effective_block or 0), asset.id, assess_asset(item, profile, as_of=as_of).counted_fen)
        )
        if valuation.decision_audit_seq is not None:
            newest_seq = max(newest_seq or 0, valuation.decision_audit_seq)
    return list(current.values()), steps, newest_seq


# ---------------------------------------------------------------- use cases
def create_attestation(
    session: Session, *, actor: Principal, gateway: Any, profile: RegimeProfile, as_of_block: int | None
) -> tuple[AttestationOut, bool]:
    """Build a report at the block; (report, True) when new, (stored report, False) when the rebuild
    is byte-identical to one already stored."""
    gateway = _require_gateway(gateway)
    block = resolve_block(session, gateway, as_of_block)
    try:
        built = build_at(session, gateway=gateway, profile=profile, block=block)
    except StateUnavailable as exc:  # like an unmined block: the client must choose another one
        raise ValidationFailed(
            f"the chain node no longer serves state at block {block} (it was restarted or prunes old state: "
            f"{exc.node_message}); choose a later block, or point the service at an archive node to attest "
            "this one",
            field="body.as_of_block",
        ) from exc
    existing = repository.get_by_sha256(session, built.sha256)
    if existing is not None:
        return _out(existing, reproduced=True), False
    try:
        with session.begin_nested():  # another auditor may be storing the same report right now
            attestation = _store(session, actor, block, built)
    except IntegrityError:
        stored = repository.get_by_sha256(session, built.sha256)
        if stored is None:
            raise
        return _out(stored, reproduced=True), False
    append_audit(
        session,
        actor=actor.id,
        action="attestation.created",
        entity_type="attestation",
        entity_id=attestation.id,
        data={
            "as_of_block": block,
            "sha256": built.sha256,
            "result": built.result,
            "supply_units": attestation.supply_units,
            "pol_root": attestation.pol_root,
            "holders": attestation.holders,
            "exceptions": built.exceptions,
        },
        rule_ids=["R52", "R53", "R54"],
    )
    _remember_tree(attestation.id, built.tree)
    return _out(attestation), True


def _store(session: Session, actor: Principal, block: int, built: BuiltReport) -> Attestation:
    return repository.add(
        session,
        Attestation(
            id=new_id("att"),
            as_of_block=block,
            block_hash=built.block.hash,
            block_timestamp=built.block.timestamp,
            sha256=built.sha256,
            result=built.result,
            supply_units=str(built.supply_units),
            pol_root=built.tree.root_hash,
            holders=built.tree.leaf_count,
            report_json=built.canonical.decode("utf-8"),
            created_by=actor.id,
            created_at=utc_now(),
        ),
        list(zip(built.tree.addresses, built.tree.balances, strict=True)),
    )


def get_attestation(session: Session, attestation_id: str) -> Attestation:
    attestation = repository.get(session, attestation_id)
    if attestation is None:
        raise NotFound(f"no attestation {attestation_id}")
    return attestation


def get_out(session: Session, attestation_id: str) -> AttestationOut:
    return _out(get_attestation(session, attestation_id))


def list_attestations(session: Session, *, limit: int, cursor: str | None) -> Page[AttestationSummary]:
    rows = repository.list_page(session, after_id=decode_cursor(cursor), limit=limit + 1)
    page, next_cursor = page_of(rows, limit, key=lambda row: row.id)
    return Page[AttestationSummary](items=[_summary(row) for row in page], next_cursor=next_cursor)


def report_of(attestation: Attestation) -> dict[str, Any]:
    report: dict[str, Any] = json.loads(attestation.report_json)
    return report


def proof_for(session: Session, *, principal: Principal, attestation_id: str, address: str) -> dict[str, object]:
    """R54: the inclusion proof of `address`; a customer only gets their own bound wallets'."""
    address = parse_address(address, field="path.address")
    if principal.role == "customer":
        wallet = wallets.get_by_address(session, address)
        if wallet is None or wallet.customer_id != principal.customer_id:
            raise NotFound(f"{address} is not one of your bound wallets; you can fetch proofs for your own wallets")
    attestation = get_attestation(session, attestation_id)
    tree = _tree(session, attestation)
    try:
        proof = tree.proof(address)
    except KeyError:
        raise NotFound(
            f"{address} held no {TOKEN_SYMBOL} at block {attestation.as_of_block}, so this report has no "
            "proof for it (zero balances are not liabilities)"
        ) from None
    document = proof.to_json()
    document.update(
        {
            "banner": SANDBOX_BANNER,
            "attestation_id": attestation.id,
            "report_sha256": attestation.sha256,
            "how_to_verify": "python -m compliance.verify_proof proof.json --root <root_hash published in the report>",
        }
    )
    return document


# ---------------------------------------------------------------- trees (R54)
_trees: OrderedDict[str, SumTree] = OrderedDict()
_trees_lock = threading.Lock()


def _remember_tree(attestation_id: str, tree: SumTree) -> None:
    with _trees_lock:
        _trees[attestation_id] = tree
        _trees.move_to_end(attestation_id)
        while len(_trees) > _TREE_CACHE_SIZE:
            _trees.popitem(last=False)


def _tree(session: Session, attestation: Attestation) -> SumTree:
    """The report's tree, rebuilt from its stored leaves (kept in a small cache: rebuilding 100,000
    leaves takes about a second)."""
    with _trees_lock:
        cached = _trees.get(attestation.id)
    if cached is not None:
        return cached
    token = report_of(attestation)["token"]
    tree = build_tree(
        dict(repository.leaves(session, attestation.id)),
        chain_id=int(token["chain_id"]),
        token=str(token["address"]),
        block=attestation.as_of_block,
    )
    if tree.root_hash != attestation.pol_root:  # the stored leaves are what the published root commits to
        raise RuntimeError(
            f"attestation {attestation.id}: stored leaves give root {tree.root_hash}, "
            f"not the published {attestation.pol_root}"
        )
    _remember_tree(attestation.id, tree)
    return tree


# ---------------------------------------------------------------- shapes
def _links(attestation_id: str) -> AttestationLinks:
    base = f"/v1/attestations/{attestation_id}"
    return AttestationLinks(
        json_report=f"{base}/report.json",
        html=f"{base}/report.html",
        pdf=f"{base}/report.pdf",
        proof=f"{base}/proofs/{{address}}",
    )


def _summary(attestation: Attestation) -> AttestationSummary:
    return AttestationSummary(
        id=attestation.id,
        as_of_block=attestation.as_of_block,
        block_hash=attestation.block_hash,
        block_time=datetime.fromtimestamp(attestation.block_timestamp, UTC),
        sha256=attestation.sha256,
        result=attestation.result,  # type: ignore[arg-type]
        supply=format_units(int(attestation.supply_units)),
        holders=attestation.holders,
        proof_of_liabilities_root=attestation.pol_root,
        created_by=attestation.created_by,
        created_at=attestation.created_at,
        links=_links(attestation.id),
    )


def _out(attestation: Attestation, *, reproduced: bool = False) -> AttestationOut:
    return AttestationOut(**_summary(attestation).model_dump(), report=report_of(attestation), reproduced=reproduced)
