"""The embedded default as a process (`python -m issuer_service` with no RPC_URL): it spawns Anvil
with its state under ./.sandbox, deploys and migrates SQLite; stopping it leaves no chain running,
and a restart finds the same token and data."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from issuer_service.chain.anvil import free_port


def _clean_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CNH_") and k not in ("DATABASE_URL", "RPC_URL")}
    return {**env, "CNH_LOG_LEVEL": "WARNING"}


def _serve(folder: Path, port: int) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "issuer_service", "--port", str(port)],
        cwd=folder,
        env=_clean_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )


def _wait_healthy(process: subprocess.Popen[str], port: int, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert process.poll() is None, process.communicate()[0]
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise AssertionError("the service did not come up")


def _children(pid: int) -> list[int]:
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        found += [int(child) for child in (task / "children").read_text().split()]
    return found


def _running(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0] not in ("Z", "X")
    except FileNotFoundError:
        return False


@pytest.mark.parametrize("stop", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
def test_a_stop_signal_ends_the_service_with_exit_0_no_traceback_and_its_anvil_already_stopped(
    tmp_path: Path, stop: signal.Signals
) -> None:
    """Ctrl-C printed a KeyboardInterrupt traceback and exited 130; SIGTERM exited 143 without stopping Anvil
    cleanly (mining off, state written), leaving it to die later from its parent-death signal."""
    port = free_port()
    process = _serve(tmp_path, port)
    try:
        _wait_healthy(process, port)
        (anvil,) = _children(process.pid)
        process.send_signal(stop)
        output, _ = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 0, output
    assert "Traceback" not in output, output
    assert not _running(anvil), "the service exited before its Anvil had stopped"


def _start_once(folder: Path, port: int) -> tuple[int, str]:
    """Start the service in `folder` and wait for it to give up: its exit status and what it printed."""
    result = subprocess.run(
        [sys.executable, "-m", "issuer_service", "--port", str(port)],
        cwd=folder,
        env=_clean_env(),
        capture_output=True,
        text=True,
        timeout=60,
    )
    return result.returncode, (result.stdout + result.stderr).strip()


def test_a_second_service_on_the_same_sandbox_directory_is_refused_and_the_first_keeps_running(
    tmp_path: Path,
) -> None:
    """Both used to run: two Anvils writing one state file (the last to stop wins) under one database."""
    first_port, second_port = free_port(), free_port()
    first = _serve(tmp_path, first_port)
    try:
        _wait_healthy(first, first_port)
        returncode, output = _start_once(tmp_path, second_port)
        assert returncode == 1, output
        assert len(output.splitlines()) == 1, output
        assert f"another service (pid {first.pid}) is running on .sandbox" in output, output
        assert "Admin API key" not in output
        assert len(_children(first.pid)) == 1, "the first service's Anvil is the only one"
        assert httpx.get(f"http://127.0.0.1:{first_port}/readyz", timeout=10).status_code == 200
    finally:
        first.send_signal(signal.SIGTERM)
        first.communicate(timeout=60)
    again = _serve(tmp_path, second_port)  # once the first has stopped, the directory is free again
    try:
        _wait_healthy(again, second_port)
    finally:
        again.send_signal(signal.SIGTERM)
        again.communicate(timeout=60)


def _sent_a_transaction(database: Path) -> None:
    """What any mint, redemption or wallet binding leaves behind: a row in the outbox."""
    with sqlite3.connect(database) as connection:
        connection.execute(
            "INSERT INTO chain_txs (id, function, args_json, entity_type, entity_id, status, attempts, not_before,"
            " created_at, updated_at) VALUES ('ctx_1', 'mint', '[]', 'mint', 'mnt_1', 'confirmed', 1,"
            " '2026-01-01 00:00:00', '2026-01-01 00:00:00', '2026-01-01 00:00:00')"
        )


def test_a_lost_chain_state_under_a_database_with_history_is_refused_not_replaced_by_a_new_token(
    tmp_path: Path,
) -> None:
    """Without its state file the service used to deploy a new tCNH with new keys (overwriting keys.json and
    deployment.json) and run on it: every balance, mint and redemption in the database was on a token that
    no longer existed, the indexer called it a reorg and /readyz still said ready."""
    port = free_port()
    first = _serve(tmp_path, port)
    _wait_healthy(first, port)
    first.send_signal(signal.SIGTERM)
    first.communicate(timeout=60)
    sandbox = tmp_path / ".sandbox"
    _sent_a_transaction(sandbox / "issuer.db")
    kept = {name: (sandbox / name).read_bytes() for name in ("keys.json", "deployment.json")}
    (sandbox / "anvil-state.json").rename(tmp_path / "backup-state.json")

    returncode, output = _start_once(tmp_path, port)
    assert returncode == 1, output
    assert len(output.splitlines()) == 1 and "cannot start: .sandbox/anvil-state.json is missing" in output, output
    assert "restore" in output and "start afresh" in output, output
    assert {name: (sandbox / name).read_bytes() for name in kept} == kept, "the old keys and deployment are kept"
    assert not (sandbox / "anvil-state.json").exists()

    (tmp_path / "backup-state.json").rename(sandbox / "anvil-state.json")  # restored: the same token again
    again = _serve(tmp_path, port)
    try:
        _wait_healthy(again, port)
    finally:
        again.send_signal(signal.SIGTERM)
        output, _ = again.communicate(timeout=60)
    assert f"tCNH {json.loads(kept['deployment.json'])['token_address']} on chain" in output, output
