"""Attestation + proof of liabilities for many holders, and audit-chain verification speed, each
beside a baseline measured in the same run on the same bytes (plain SHA-256, plain JSON parsing).

Goals (issue 6, item 6): attestation with proof of liabilities for 100,000 holders in <= 30 s;
audit-chain verification >= 50,000 records/s.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

from compliance.attestation import (
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
from compliance.audit_chain import GENESIS_HASH, canonical_json, make_record, verify_chain
from compliance.audit_export import verify_export
from compliance.profiles import load_profile
from compliance.proof_of_liabilities import SCHEME, build_tree
from compliance.reserve_assets import ReserveAssetInput
from compliance.verify_proof import verify_proof

GOAL_ATTESTATION_SECONDS = 30.0
GOAL_AUDIT_RECORDS_PER_SECOND = 50_000.0
TOKEN = "0x" + "ab" * 20
CHAIN_ID = 31337
BLOCK = 1_000_000
T = TypeVar("T")


@dataclass
class Timings:
    """Wall-clock seconds per step, and the process's CPU seconds beside them: on a shared machine
    the CPU figure shows what the code costs, the wall figure what a user waits."""

    steps: dict[str, float] = field(default_factory=dict)
    cpu: dict[str, float] = field(default_factory=dict)

    @contextmanager
    def step(self, name: str) -> Iterator[None]:
        start, cpu_start = time.perf_counter(), time.process_time()
        yield
        self.steps[name] = round(time.perf_counter() - start, 4)
        self.cpu[name] = round(time.process_time() - cpu_start, 4)


def _timed(function: Callable[[], T]) -> tuple[T, float]:
    start = time.perf_counter()
    result = function()
    return result, time.perf_counter() - start


@dataclass(frozen=True)
class AttestationResult:
    holders: int
    steps_s: dict[str, float]
    steps_cpu_s: dict[str, float]
    total_s: float
    total_cpu_s: float
    baseline_sha256_leaves_s: float
    proofs_verified: int
    all_proof_documents_s: float
    all_proof_documents_mb: float
    goal_s: float
    ok: bool
    load_average: tuple[float, float, float]


@dataclass(frozen=True)
class AuditResult:
    """Records/s (wall clock) per way of verifying; `*_cpu_*` per CPU second of this process."""

    records: int
    file_mb: float
    workers: int
    canonical_export_parallel: float
    canonical_export_one_process: float
    canonical_export_one_process_cpu: float
    current_export_parallel: float
    current_export_one_process: float
    current_export_one_process_cpu: float
    verify_chain_in_memory: float
    baseline_json_loads_and_sha256: float
    baseline_sha256_only: float
    goal_records_per_s: float
    ok: bool
    load_average: tuple[float, float, float]


def _holders(count: int, seed: int) -> dict[str, int]:
    rng = random.Random(seed)
    return {"0x" + rng.randbytes(20).hex(): rng.randint(1, 10**6) * 10_000 for _ in range(count)}


def bench_attestation(
    holders: int = 100_000, *, seed: int = 6, render: bool = True, store: bool = True, proofs_to_verify: int = 1_000
) -> AttestationResult:
    """Everything the service does for one report, on synthetic holders: the Merkle sum tree, the
    report and its canonical hash, proofs checked with the standalone verifier, HTML and PDF, and
    storing and reloading the leaves in SQLite (the service rebuilds a tree from them to serve a
    proof). Beside the goal: every holder's proof document, streamed."""
    balances = _holders(holders, seed)
    supply = sum(balances.values())
    timings = Timings()
    with timings.step("merkle_sum_tree"):
        tree = build_tree(balances, chain_id=CHAIN_ID, token=TOKEN, block=BLOCK)
    moment = datetime(2026, 3, 2, 8, tzinfo=UTC)
    with timings.step("report_json_and_sha256"):
        inputs = AttestationInputs(
            token=TokenFacts("Sandbox Offshore RMB", "tCNH", 6, CHAIN_ID, TOKEN),
            block=BlockFacts(BLOCK, "0x" + "cd" * 32, int(moment.timestamp())),
            profile=load_profile("hk"),
            supply_units=supply,
            indexed_supply_units=supply,
            ledger_supply_fen=supply // 10_000,
            assets=[
                ReserveAssetInput(
                    "customer-subscriptions",
                    "cash",
                    "Sandbox Bank HK",
                    "segregated",
                    "CNH",
                    supply // 10_000,
                    supply // 10_000,
                    None,
                    moment,
                ),
                ReserveAssetInput(
                    "ast_capital", "cash", "Bank B", "a/c 2", "CNH", supply // 200_000, supply // 200_000, None, moment
                ),
            ],
            redemptions=[
                CompletedRedemption(f"rdm_{i}", 100_00, BLOCK - i, moment, moment - timedelta(hours=1))
                for i in range(1_000)
            ],
            liabilities=LiabilitiesFacts(SCHEME, tree.root_hash, tree.total_units, tree.leaf_count, 16),
            history=history_points(
                supply_deltas=[(BLOCK - holders + i, units) for i, units in enumerate(balances.values())],
                cash_deltas=[(BLOCK - holders + i, units // 10_000) for i, units in enumerate(balances.values())],
                asset_values=[],
                up_to_block=BLOCK,
            ),
            audit_anchor=AuditAnchor(1, "ee" * 32),
        )
        report = build_report(inputs)
        canonical = report_bytes(report)
        sha256 = hashlib.sha256(canonical).hexdigest()
    with timings.step(f"verify_{proofs_to_verify}_proofs"):
        step = max(1, tree.leaf_count // proofs_to_verify)
        sample = [tree.proof(address).to_json() for address in tree.addresses[::step][:proofs_to_verify]]
        verified = sum(verify_proof(p, published_root=tree.root_hash).ok for p in sample)
    if render:
        from issuer_service.attestations.rendering import render_html, render_pdf

        with timings.step("render_html"):
            render_html(report, sha256)
        with timings.step("render_pdf"):
            render_pdf(report, sha256)
    if store:
        with timings.step("store_and_reload_leaves_sqlite"):
            _store_and_reload(tree.addresses, tree.balances)
        with timings.step("rebuild_tree_for_a_proof"):
            build_tree(
                dict(zip(tree.addresses, tree.balances, strict=True)), chain_id=CHAIN_ID, token=TOKEN, block=BLOCK
            ).proof(tree.addresses[0])
    # Beside the goal: every holder's proof document, streamed as a batch job mailing them would.
    documents_bytes, documents_s = _timed(
        lambda: sum(len(json.dumps(tree.proof(address).to_json())) for address in tree.addresses)
    )
    leaf_bytes = [
        bytes.fromhex(a[2:]) + b.to_bytes(32, "big") for a, b in zip(tree.addresses, tree.balances, strict=True)
    ]
    _, baseline = _timed(lambda: [hashlib.sha256(item).digest() for item in leaf_bytes])
    total = round(sum(timings.steps.values()), 3)
    return AttestationResult(
        holders=holders,
        steps_s=timings.steps,
        steps_cpu_s=timings.cpu,
        total_s=total,
        total_cpu_s=round(sum(timings.cpu.values()), 3),
        baseline_sha256_leaves_s=round(baseline, 4),
        proofs_verified=verified,
        all_proof_documents_s=round(documents_s, 3),
        all_proof_documents_mb=round(documents_bytes / 1e6, 1),
        goal_s=GOAL_ATTESTATION_SECONDS,
        ok=total <= GOAL_ATTESTATION_SECONDS,
        load_average=os.getloadavg(),
    )


def _store_and_reload(addresses: list[str], balances: list[int]) -> None:
    from sqlalchemy import insert, select

    from issuer_service.attestations.models import Attestation, AttestationLiability
    from issuer_service.db import Base, make_engine

    with tempfile.TemporaryDirectory() as directory:
        engine = make_engine(f"sqlite:///{Path(directory) / 'bench.db'}")
        try:
            Base.metadata.create_all(engine, tables=[Attestation.__table__, AttestationLiability.__table__])  # type: ignore[list-item]
            with engine.begin() as connection:
                connection.execute(
                    insert(Attestation),
                    [
                        {
                            "id": "att_bench",
                            "as_of_block": BLOCK,
                            "block_hash": "0x",
                            "block_timestamp": 0,
                            "sha256": "0",
                            "result": "pass",
                            "supply_units": "0",
                            "pol_root": "0",
                            "holders": len(addresses),
                            "report_json": "{}",
                            "created_by": "bench",
                            "created_at": datetime.now(UTC),
                        }
                    ],
                )
                rows = [
                    {"attestation_id": "att_bench", "leaf_index": i, "address": a, "balance_units": str(b)}
                    for i, (a, b) in enumerate(zip(addresses, balances, strict=True))
                ]
                for start in range(0, len(rows), 5_000):
                    connection.execute(insert(AttestationLiability), rows[start : start + 5_000])
            with engine.connect() as connection:
                loaded = connection.execute(
                    select(AttestationLiability.address, AttestationLiability.balance_units).order_by(
                        AttestationLiability.leaf_index
                    )
                ).all()
            assert len(loaded) == len(addresses)
        finally:
            engine.dispose()


def _audit_records(count: int) -> Iterator[dict[str, object]]:
    prev = GENESIS_HASH
    start = datetime(2026, 1, 1, tzinfo=UTC)
    for seq in range(1, count + 1):
        record = make_record(
            prev,
            seq,
            at=(start + timedelta(milliseconds=seq)).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
            actor="key_018c2f1e3a4b9f3e2d1c0b0a",
            action="mint.confirmed",
            entity_type="mint",
            entity_id=f"mnt_{seq:028x}",
            data={
                "from": "submitted",
                "to": "confirmed",
                "customer_id": "cus_018c2f1e3a4b9f3e2d1c0b0a",
                "wallet": "0x5173d6802bC4f3F7926C1196c4d0A86B2FC2D440",
                "amount_fen": 125_050 + seq,
                "tx_hash": "0x" + hashlib.sha256(str(seq).encode()).hexdigest(),
                "block_number": seq,
            },
            rule_ids=["R10", "R11"],
            request_id=f"req_{seq:020x}",
        )
        prev = str(record["hash"])
        yield record


def bench_audit(records: int = 200_000) -> AuditResult:
    """Offline verification of a JSONL export (parse + recompute every hash and link), in parallel
    ranges and in one process, beside plain JSON parsing + one SHA-256 per line, and SHA-256 alone,
    over the same file. Two files: lines in canonical JSON, as `GET /v1/audit-log/export` writes
    them (issuer_service/audit/service.py:export_lines), which lets the verifier hash each line's
    bytes instead of encoding the record again (see compliance.audit_export); and, for comparison,
    non-canonical lines (compact, keys in table order, as the export wrote them before and any
    other tool may), which take the slow path. The "current_*" fields are that non-canonical file:
    the name is kept so earlier results compare."""
    in_memory = list(_audit_records(records))
    rates: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as directory:
        for name, sort_keys in (("current", False), ("canonical", True)):
            path = Path(directory) / f"{name}.jsonl"
            with path.open("w", encoding="utf-8") as handle:
                for record in in_memory:
                    handle.write(json.dumps(record, ensure_ascii=False, separators=(",", ":"), sort_keys=sort_keys))
                    handle.write("\n")
            workers = max(2, os.cpu_count() or 1)
            start = time.perf_counter()
            result = verify_export(path, workers=workers)
            seconds = time.perf_counter() - start
            assert result.ok and result.entries == records, result
            rates[f"{name}_export_parallel"] = records / seconds
            start, cpu_start = time.perf_counter(), time.process_time()
            result = verify_export(path, workers=1)
            seconds = time.perf_counter() - start
            assert result.ok, result
            rates[f"{name}_export_one_process"] = records / seconds
            rates[f"{name}_export_one_process_cpu"] = records / (time.process_time() - cpu_start)
        size_mb = path.stat().st_size / 1e6
        lines = path.read_bytes().splitlines()
    memory, memory_s = _timed(lambda: verify_chain(in_memory))
    assert memory.ok

    def json_and_sha() -> None:
        for line in lines:
            json.loads(line)
            hashlib.sha256(line).digest()

    _, baseline_s = _timed(json_and_sha)
    bodies = [canonical_json(record) for record in in_memory]
    _, sha_only_s = _timed(lambda: [hashlib.sha256(body).digest() for body in bodies])
    # The goal is judged on the canonical export, which is what the service writes; the
    # non-canonical file is measured beside it to show what canonical lines save.
    best = max(rates["canonical_export_parallel"], rates["canonical_export_one_process"])
    return AuditResult(
        records=records,
        file_mb=round(size_mb, 1),
        workers=workers,
        **{name: round(rate) for name, rate in rates.items()},
        verify_chain_in_memory=round(records / memory_s),
        baseline_json_loads_and_sha256=round(records / baseline_s),
        baseline_sha256_only=round(records / sha_only_s),
        goal_records_per_s=GOAL_AUDIT_RECORDS_PER_SECOND,
        ok=best >= GOAL_AUDIT_RECORDS_PER_SECOND,
        load_average=os.getloadavg(),
    )


def run(*, holders: int = 100_000, audit_records: int = 200_000, render: bool = True) -> dict[str, Any]:
    return {
        "attestation": asdict(bench_attestation(holders, render=render)),
        "audit_chain": asdict(bench_audit(audit_records)),
    }
