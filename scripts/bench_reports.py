"""Attestation + proof of liabilities for 100,000 holders, and audit-chain verification speed, each
beside a baseline measured in the same run.

    python scripts/bench_reports.py [--json] [--holders N] [--audit-records M] [--no-render]

Goals (issue 6): the attestation with its proof of liabilities in <= 30 s; offline audit-chain
verification >= 50,000 records/s. Exit status 1 when a goal is missed.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from issuer_service.bench.reports import run  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--holders", type=int, default=100_000, help="holders in the proof of liabilities")
    parser.add_argument("--audit-records", type=int, default=200_000, help="records in the audit export")
    parser.add_argument("--no-render", action="store_true", help="skip the HTML and PDF renderings")
    args = parser.parse_args()
    results = run(holders=args.holders, audit_records=args.audit_records, render=not args.no_render)
    attestation, audit = results["attestation"], results["audit_chain"]
    if args.json:
        print(json.dumps(results, indent=2))
    else:
        print(f"Attestation + proof of liabilities, {attestation['holders']:,} holders   (wall s / CPU s)")
        for step, seconds in attestation["steps_s"].items():
            print(f"  {step:<34} {seconds:>8.3f} {attestation['steps_cpu_s'][step]:>8.3f}")
        verdict = "ok" if attestation["ok"] else "MISSED"
        print(
            f"  {'total':<34} {attestation['total_s']:>8.3f} {attestation['total_cpu_s']:>8.3f}"
            f"   goal <= {attestation['goal_s']:.0f} s wall: {verdict}"
        )
        print(f"  {'baseline: one sha256 per leaf':<34} {attestation['baseline_sha256_leaves_s']:>8.3f}")
        print(
            f"  {'(beside the goal) every proof doc':<34} {attestation['all_proof_documents_s']:>8.3f}"
            f"            {attestation['all_proof_documents_mb']} MB of JSON"
        )
        print(f"Audit chain, {audit['records']:,} records ({audit['file_mb']} MB JSONL), records/s")
        rows = [
            (f"canonical export, {audit['workers']} process(es)", audit["canonical_export_parallel"], ""),
            (
                "canonical export, 1 process",
                audit["canonical_export_one_process"],
                f"({audit['canonical_export_one_process_cpu']:,} per CPU s)",
            ),
            (f"non-canonical export, {audit['workers']} process(es)", audit["current_export_parallel"], ""),
            (
                "non-canonical export, 1 process",
                audit["current_export_one_process"],
                f"({audit['current_export_one_process_cpu']:,} per CPU s)",
            ),
            ("verify_chain on records in memory", audit["verify_chain_in_memory"], ""),
            ("baseline: json.loads + sha256", audit["baseline_json_loads_and_sha256"], ""),
            ("baseline: sha256 only", audit["baseline_sha256_only"], ""),
        ]
        for label, rate, note in rows:
            print(f"  {label:<42} {rate:>10,} {note}")
        verdict = "ok" if audit["ok"] else "MISSED"
        print(f"  goal >= {audit['goal_records_per_s']:,.0f} records/s: {verdict}")
        print(
            f"load average at the end: {' '.join(f'{x:.2f}' for x in audit['load_average'])} "
            f"({os.cpu_count()} CPUs); other processes' load slows the wall figures"
        )
    return 0 if attestation["ok"] and audit["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
