"""Confirmed mints/s and accept latency of the real service on PostgreSQL, beside a raw-send baseline
measured in the same run on the same Anvil (one key signing, sending and awaiting one tx at a time).

    python scripts/bench_api.py [--json] [--mints N] [--clients C] [--raw-txs M] [--separate-worker]

Goal (issue 4, item 10): confirmed mints/s >= 1.0x the raw baseline and p99 accept latency <= 100 ms
at 50 concurrent clients.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from issuer_service.bench.api import BenchConfig, BenchResult, run  # noqa: E402

GOAL_RATIO = 1.0
GOAL_P99_MS = 100.0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    defaults = BenchConfig()
    parser.add_argument("--json", action="store_true", help="print one JSON object with the headline figures")
    parser.add_argument("--mints", type=int, default=defaults.mints, help=f"measured mints (default {defaults.mints})")
    parser.add_argument(
        "--clients", type=int, default=defaults.clients, help=f"concurrent clients (default {defaults.clients})"
    )
    parser.add_argument(
        "--raw-txs",
        type=int,
        default=defaults.raw_txs,
        help=f"transactions in the raw baseline (default {defaults.raw_txs})",
    )
    parser.add_argument(
        "--floor-requests",
        type=int,
        default=defaults.floor_requests,
        help="authenticated one-row reads sent after the mints, to show what the HTTP stack alone reaches "
        f"(default {defaults.floor_requests}; 0 skips)",
    )
    parser.add_argument(
        "--separate-worker",
        action="store_true",
        help="run the outbox worker as its own process instead of inside the API process",
    )
    parser.add_argument(
        "--api-processes",
        type=int,
        default=defaults.api_processes,
        help=f"API processes, each client talking to one (default {defaults.api_processes})",
    )
    parser.add_argument(
        "--pg-url",
        default=defaults.pg_server_url,
        help="PostgreSQL server (a database is created there and dropped afterwards)",
    )
    parser.add_argument("--log-dir", type=Path, default=None, help="keep the service's logs in this directory")
    parser.add_argument("--details", action="store_true", help="with --json: print every figure")
    args = parser.parse_args()
    config = BenchConfig(
        mints=args.mints,
        clients=args.clients,
        raw_txs=args.raw_txs,
        floor_requests=args.floor_requests,
        separate_worker=args.separate_worker,
        api_processes=args.api_processes,
        pg_server_url=args.pg_url,
        log_dir=args.log_dir,
    )
    progress = None if args.json else (lambda msg: print(f"... {msg}", file=sys.stderr, flush=True))
    result = run(config, progress)
    if args.json:
        print(json.dumps(result.as_dict() if args.details else result.summary()))
        return 0
    print_table(result)
    return 0


def print_table(result: BenchResult) -> None:
    worker = "separate process" if result.separate_worker else "in-process"
    print(
        f"\n{result.mints} mints from {result.clients} concurrent clients, PostgreSQL, "
        f"{result.api_processes} API process(es), outbox worker {worker}\n"
    )
    ratio_ok = "ok" if result.ratio >= GOAL_RATIO else "BELOW GOAL"
    p99_ok = "ok" if result.p99_ms <= GOAL_P99_MS else "OVER GOAL"
    raw_runs = " / ".join(f"{r:.1f}" for r in result.raw_runs_tx_per_s)
    rows = [
        (
            "raw baseline (sign+send+wait, one key)",
            f"{result.raw_tx_per_s:8.1f} tx/s",
            f"{result.raw_txs} txs; before / after the API run: {raw_runs} tx/s",
        ),
        (
            "confirmed mints through the API",
            f"{result.mints_per_s:8.1f} /s",
            f"{result.elapsed_s:.2f} s first request → last confirmed",
        ),
        ("  ratio to raw baseline", f"{result.ratio:8.2f} x", f"goal >= {GOAL_RATIO:.1f} x: {ratio_ok}"),
        ("accepted mints (202)", f"{result.accepts_per_s:8.1f} /s", f"last 202 after {result.accept_elapsed_s:.2f} s"),
        ("accept latency p50", f"{result.p50_ms:8.1f} ms", ""),
        ("accept latency p95", f"{result.p95_ms:8.1f} ms", ""),
        ("accept latency p99", f"{result.p99_ms:8.1f} ms", f"goal <= {GOAL_P99_MS:.0f} ms: {p99_ok}"),
        ("accept latency max / mean", f"{result.max_ms:8.1f} ms", f"mean {result.mean_ms:.1f} ms"),
    ]
    if result.floor:
        floor = result.floor
        rows += [
            (
                "floor: authenticated one-row GET",
                f"{floor['per_s']:8.1f} /s",
                f"{floor['requests']:.0f} requests, same clients, closed loop; "
                f"API CPU {floor['api_cpu_ms']:.2f} ms each",
            ),
            ("  floor latency p50 / p99", f"{floor['p50_ms']:8.1f} ms", f"p99 {floor['p99_ms']:.1f} ms"),
        ]
    for name, ms in result.cpu_ms_per_mint.items():
        note = "lower bound: backends that exited are not counted" if name == "postgres" else ""
        rows.append((f"CPU per mint: {name}", f"{ms:8.2f} ms", note))
    rows.append(
        (
            "CPU per mint: total",
            f"{sum(result.cpu_ms_per_mint.values()):8.2f} ms",
            "load average before / after: " + " / ".join(f"{x:.1f}" for x in result.load_avg),
        )
    )
    for name, value, note in rows:
        print(f"{name:<42} {value:>14}   {note}")


if __name__ == "__main__":
    sys.exit(main())
