"""Gas per operation: tCNH (every compliance check on) beside plain OpenZeppelin v5, same run.

python scripts/bench_gas.py [--json]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from issuer_service.bench.gas import GOALS, run  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args()
    results = run()
    if args.json:
        print(json.dumps(results, indent=2))
        return 0
    print(f"{'operation':<20} {'tCNH':>8} {'OZ plain':>9} {'ratio':>6} {'goal':>7}")
    for op, row in results.items():
        plain = row["oz_plain"]
        ratio = f"{row['tcnh'] / plain:.2f}" if plain else "-"
        goal = GOALS.get(op)
        flag = "" if goal is None else (" ok" if row["tcnh"] <= goal else " OVER")
        print(f"{op:<20} {row['tcnh']:>8} {plain if plain else '-':>9} {ratio:>6} {goal or '-':>7}{flag}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
