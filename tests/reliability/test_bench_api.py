"""`scripts/bench_api.py` runs end to end at a tiny size (issue 4, item 10): the real service on
PostgreSQL, two API processes and a separate worker, every mint confirmed on chain, the floor (the
cheapest authenticated request) measured beside it, and the figures it prints are consistent.
Nothing here asserts a speed: the benchmark reports ratios, CI checks it works."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from issuer_service.bench.api import BenchResult

ROOT = Path(__file__).resolve().parents[2]
PG_SERVER = os.environ.get("CNH_TEST_PG_URL", "postgresql+psycopg://root@127.0.0.1:5432/postgres").replace(
    "postgresql+psycopg://", "postgresql://", 1
)


def test_bench_api_confirms_every_mint_prints_the_five_headline_figures_and_the_floor(tmp_path: Path) -> None:
    completed = subprocess.run(
        [
            sys.executable,
            str(ROOT / "scripts" / "bench_api.py"),
            "--json",
            "--details",
            "--mints",
            "12",
            "--clients",
            "4",
            "--raw-txs",
            "10",
            "--floor-requests",
            "8",
            "--api-processes",
            "2",
            "--separate-worker",
            "--pg-url",
            PG_SERVER,
            "--log-dir",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        timeout=240,
        cwd=ROOT,
    )
    assert completed.returncode == 0, completed.stderr[-2000:]
    details = json.loads(completed.stdout)
    assert details["mints"] == 12 and details["api_processes"] == 2
    assert details["mints_per_s"] > 0 and details["raw_tx_per_s"] > 0
    assert details["p50_ms"] <= details["p95_ms"] <= details["p99_ms"] <= details["max_ms"]
    assert details["ratio"] == round(details["mints_per_s"] / details["raw_tx_per_s"], 3)
    assert set(details["cpu_ms_per_mint"]) >= {"api", "worker", "anvil"}
    # the floor: the cheapest authenticated request, from the same clients, beside the mints
    floor = details["floor"]
    assert floor["requests"] == 8 and floor["per_s"] > 0 and floor["api_cpu_ms"] > 0
    assert 0 < floor["p50_ms"] <= floor["p99_ms"]
    # both API processes served traffic: each wrote its own log
    assert (tmp_path / "api.log").exists() and (tmp_path / "api-1.log").exists()

    # what plain --json prints: exactly the five figures item 10 names
    result = BenchResult(**{name: value for name, value in details.items() if name != "ratio"})
    assert set(result.summary()) == {"mints_per_s", "raw_tx_per_s", "p50_ms", "p95_ms", "p99_ms"}
