"""README command 1, end to end on the embedded SQLite default: the demo walks a customer from
onboarding to an attestation report whose proof of liabilities verifies, and says where to look."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_the_demo_runs_the_whole_flow_and_leaves_an_attestation_report(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "COLUMNS": "200"}
    for name in ("RPC_URL", "CNH_RPC_URL", "DATABASE_URL", "CNH_DATABASE_URL"):
        env.pop(name, None)
    completed = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "demo.py")],
        cwd=tmp_path,  # the demo keeps its files under ./.sandbox/demo
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert completed.returncode == 0, completed.stdout[-3000:] + completed.stderr[-3000:]
    out = completed.stdout
    for step in ("deposit", "mint", "transfer", "redeem", "attestation", "audit log", "reserves"):
        assert f"✓ {step}" in out, f"no {step!r} step in:\n{out}"
    assert "Lotus's proof verifies offline" in out and "The whole flow worked" in out
    sandbox = tmp_path / ".sandbox" / "demo"
    (report,) = sandbox.glob("attestation-block-*.json")
    document = json.loads(report.read_bytes())
    assert (sandbox / report.name.replace(".json", ".html")).read_bytes().startswith(b"<!DOCTYPE html")
    assert (sandbox / report.name.replace(".json", ".pdf")).read_bytes().startswith(b"%PDF")
    assert (sandbox / "issuer.db").exists()
    assert "attestation" in out.split("Where to look", 1)[1]
    block = report.name.removeprefix("attestation-block-").removesuffix(".json")
    assert document["result"] == "pass" and document["title"].endswith(f"at block {block}")
    assert document["banner"] == "SANDBOX — NOT A LICENSED STABLECOIN"  # R55
    # R6: the buffer capital sits at the pool's bank, so one bank is one custodian; the account number is
    # the asset's `account`, not part of the custodian's name (which split one bank into two).
    assert [c["custodian"] for c in document["concentration"]["custodians"]] == ["Sandbox Bank HK"]
    capital = next(row for row in document["reserve_assets"] if row["account"] == "reserve a/c 001")
    assert capital["custodian"] == "Sandbox Bank HK"
    assert "✓ concentration: 1 custodian: Sandbox Bank HK 100.00%" in out
