#!/usr/bin/env bash
# Static analysis of the token with Slither (own venv). Fails on any high or medium finding;
# low/informational findings are listed and explained in docs/security.md.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -x .venv-slither/bin/slither ] || bash scripts/bootstrap.sh --with-slither
export PATH="$(pwd)/.venv-slither/bin:$PATH"
out=$(mktemp -d)
set +e
.venv/bin/python -m issuer_service.chain.compiler --standard-input > "$out/input.json"
slither "$out/input.json" \
  --solc "$(pwd)/tools/solc" --solc-remaps "@openzeppelin/=node_modules/@openzeppelin/" \
  --compile-force-framework solc-json \
  --filter-paths "node_modules" \
  --exclude-dependencies \
  --json "$out/slither.json" > "$out/slither.txt" 2>&1
set -e
python3 - "$out/slither.json" "$out/slither.txt" <<'PY'
import json, sys
try:
    data = json.load(open(sys.argv[1]))
except Exception:
    print(open(sys.argv[2]).read()); sys.exit("slither produced no JSON report")
if not data.get("success"):
    print(open(sys.argv[2]).read()); sys.exit(f"slither failed: {data.get('error')}")
findings = data.get("results", {}).get("detectors", [])
by_impact = {}
for f in findings:
    by_impact.setdefault(f["impact"], []).append(f)
for impact in ("High", "Medium", "Low", "Informational", "Optimization"):
    for f in by_impact.get(impact, []):
        print(f"[{impact}] {f['check']}: {f['description'].strip().splitlines()[0]}")
bad = len(by_impact.get("High", [])) + len(by_impact.get("Medium", []))
print(f"slither: {bad} high/medium, {len(by_impact.get('Low', []))} low, "
      f"{len(by_impact.get('Informational', []))} informational")
sys.exit(1 if bad else 0)
PY
