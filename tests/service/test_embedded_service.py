"""The embedded default as a process (`python -m issuer_service` with no RPC_URL): it spawns Anvil
with its state under ./.sandbox, deploys and migrates SQLite; stopping it leaves no chain running,
and a restart finds the same token and data."""

from __future__ import annotations

import os
import signal
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
