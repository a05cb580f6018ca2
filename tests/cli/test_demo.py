"""README command 1, end to end on the embedded SQLite default: the demo walks a customer from
onboarding to an attestation report whose proof of liabilities verifies, and says where to look."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from issuer_service.chain.anvil import free_port
from issuer_service.chain.runtime import sandbox_holder

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


def test_a_demo_run_while_a_previous_one_still_runs_is_refused_and_leaves_its_files_alone(tmp_path: Path) -> None:
    """The second demo used to delete the running one's database, keys and log from under it, and the
    first one's Anvil then kept writing its chain into the new demo's state file."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CNH_") and k not in ("DATABASE_URL", "RPC_URL")}
    sandbox = tmp_path / ".sandbox" / "demo"
    previous = subprocess.Popen(  # what `cnh demo --keep-running` leaves running
        [sys.executable, "-m", "issuer_service", "--port", str(free_port())],
        cwd=tmp_path,
        env={
            **env,
            "PYTHONPATH": str(ROOT),
            "CNH_DATABASE_URL": "sqlite:///.sandbox/demo/issuer.db",
            "CNH_DEPLOYMENT_FILE": ".sandbox/demo/deployment.json",
        },
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        while not (sandbox / "deployment.json").exists() and time.monotonic() < deadline:
            time.sleep(0.2)
        database = (sandbox / "issuer.db").stat().st_ino
        completed = subprocess.run(
            [sys.executable, str(ROOT / "scripts" / "demo.py")],
            cwd=tmp_path,
            env={**env, "PYTHONPATH": str(ROOT), "COLUMNS": "200"},
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert completed.returncode == 1, completed.stdout + completed.stderr
        assert f"a previous demo is still running (service pid {previous.pid})" in completed.stdout
        assert "Traceback" not in completed.stdout + completed.stderr
        assert previous.poll() is None and (sandbox / "issuer.db").stat().st_ino == database
    finally:
        previous.terminate()
        previous.wait(timeout=60)


def test_terminating_the_demo_stops_the_service_and_chain_it_started(tmp_path: Path) -> None:
    """`kill`, `timeout` or a closed terminal used to end the demo alone: its service (in a session of its
    own, so no Ctrl-C reaches it) and that service's Anvil kept running with nobody to stop them."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CNH_") and k not in ("DATABASE_URL", "RPC_URL")}
    demo = subprocess.Popen(
        [sys.executable, str(ROOT / "scripts" / "demo.py"), "--keep-running"],
        cwd=tmp_path,
        env={**env, "PYTHONPATH": str(ROOT), "COLUMNS": "200"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    lock = tmp_path / ".sandbox" / "demo" / "service.lock"
    try:
        deadline = time.monotonic() + 60
        while not (lock.exists() and lock.read_text().isdigit()) and time.monotonic() < deadline:
            time.sleep(0.1)
        service = int(lock.read_text())
        demo.send_signal(signal.SIGTERM)
        demo.wait(timeout=60)
    finally:
        if demo.poll() is None:
            demo.kill()
    deadline = time.monotonic() + 30
    while _running(service) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not _running(service), "the demo's service outlived it"
    assert sandbox_holder(lock.parent) is None


def _running(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0] not in ("Z", "X")
    except FileNotFoundError:
        return False


def test_demo_help_prints_the_usage_and_runs_nothing_and_an_unknown_option_is_bad_usage(tmp_path: Path) -> None:
    """`bash scripts/demo.sh --help` used to run the whole demo (deleting the previous demo's files), and a
    mistyped `--keep-runing` ran it and stopped the service at the end instead of saying the option is wrong."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CNH_") and k not in ("DATABASE_URL", "RPC_URL")}
    previous = tmp_path / ".sandbox" / "demo"
    previous.mkdir(parents=True)
    (previous / "issuer.db").write_bytes(b"the previous demo's database")

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, str(ROOT / "scripts" / "demo.py"), *args],
            cwd=tmp_path,
            env={**env, "PYTHONPATH": str(ROOT), "COLUMNS": "200"},
            capture_output=True,
            text=True,
            timeout=60,
        )

    shown = run("--help")
    assert shown.returncode == 0, shown.stdout + shown.stderr
    assert "--keep-running" in shown.stdout and "usage:" in shown.stdout
    mistyped = run("--keep-runing")
    assert mistyped.returncode == 2, mistyped.stdout + mistyped.stderr
    assert "--keep-runing" in mistyped.stderr and "Traceback" not in mistyped.stderr
    assert (previous / "issuer.db").read_bytes() == b"the previous demo's database"  # nothing was started
    assert not (previous / "service.log").exists()
