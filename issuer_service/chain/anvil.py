"""Spawn a local Anvil chain (the sandbox default, R55) and stop it cleanly.

The platform binary is started directly, not npm's node wrapper, so SIGKILL reaches Anvil itself
and crash tests leave no orphans.
"""

from __future__ import annotations

import json
import platform
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

_ARCH = {"x86_64": "amd64", "amd64": "amd64", "aarch64": "arm64", "arm64": "arm64"}


class AnvilError(RuntimeError):
    """Anvil could not be found or did not start."""


def anvil_binary() -> Path:
    arch = _ARCH.get(platform.machine().lower(), platform.machine().lower())
    system = platform.system().lower()
    candidate = ROOT / "node_modules" / "@foundry-rs" / f"anvil-{system}-{arch}" / "bin" / "anvil"
    if candidate.exists():
        return candidate
    found = shutil.which("anvil")
    if found:
        return Path(found)
    raise AnvilError(f"anvil not found at {candidate}: run `bash scripts/bootstrap.sh`")


def die_with_parent() -> None:
    """Linux: a child (Anvil, the demo's service) gets SIGTERM when the process that spawned it dies,
    however it dies, so a killed service, demo or test run leaves no orphan behind."""
    if sys.platform.startswith("linux"):
        import ctypes

        pr_set_pdeathsig = 1
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(pr_set_pdeathsig, signal.SIGTERM)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def rpc_call(url: str, method: str, params: list[object] | None = None, timeout: float = 5.0) -> object:
    body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": method, "params": params or []}).encode()
    request = urllib.request.Request(url, data=body, headers={"Content-Type": "application/json"})  # noqa: S310 - a local RPC URL
    with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 - local RPC URL
        reply = json.loads(response.read())
    if "error" in reply:
        raise AnvilError(f"{method} failed: {reply['error']}")
    return reply["result"]


@dataclass
class AnvilProcess:
    """A running Anvil; `url` is its JSON-RPC endpoint."""

    port: int
    process: subprocess.Popen[bytes]
    state_file: Path | None = None
    log_file: Path | None = None
    extra_args: list[str] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def alive(self) -> bool:
        return self.process.poll() is None

    def stop(self, timeout: float = 10.0) -> None:
        """Stop Anvil; with a state file, mining is switched off and the last block finished first.

        Anvil writes its state file on SIGTERM without waiting for a block it is mining: under load
        the file then holds account nonces and balances of transactions whose blocks and receipts
        it lacks, and the chain that restarts from it has effects no receipt or event explains
        (seen in half of the stops under batched load; never once mining was quiet)."""
        if self.process.poll() is None:
            if self.state_file is not None:
                self._stop_mining()
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def _stop_mining(self, settle_s: float = 3.0) -> None:
        """No new blocks, and wait until the head has not moved for 0.2 s (a block being mined when
        mining was switched off still lands). An Anvil that does not answer is stopped as it is."""
        try:
            rpc_call(self.url, "evm_setAutomine", [False], timeout=2.0)
            rpc_call(self.url, "evm_setIntervalMining", [0], timeout=2.0)
            head, quiet, deadline = None, 0, time.monotonic() + settle_s
            while quiet < 4 and time.monotonic() < deadline:
                now = rpc_call(self.url, "eth_blockNumber", timeout=2.0)
                quiet, head = (quiet + 1 if now == head else 0), now
                time.sleep(0.05)
        except (AnvilError, OSError, ValueError):
            return

    def kill(self) -> None:
        """SIGKILL, as a crash would."""
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()

    def __enter__(self) -> AnvilProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def start_anvil(
    *,
    port: int | None = None,
    chain_id: int = 31337,
    state_file: Path | None = None,
    block_time: int | None = None,
    log_file: Path | None = None,
    extra_args: list[str] | None = None,
    startup_timeout: float = 20.0,
) -> AnvilProcess:
    """Start Anvil on `port` (a free one by default) and wait until it answers eth_chainId.

    With `state_file` the chain persists every second and survives kill -9 (R55 sandbox demo).
    No accounts are prefunded: callers fund their own randomly generated keys with
    `anvil_setBalance`, so no well-known private key is ever used.
    """
    port = port or free_port()
    args = [
        str(anvil_binary()),
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--chain-id",
        str(chain_id),
        "--accounts",
        "0",
        "--silent",
    ]
    if state_file is not None:
        state_file.parent.mkdir(parents=True, exist_ok=True)
        args += ["--state", str(state_file), "--state-interval", "1"]
    if block_time is not None:
        args += ["--block-time", str(block_time)]
    args += extra_args or []
    out = open(log_file, "ab") if log_file else subprocess.DEVNULL  # noqa: SIM115 - owned by the process
    process = subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
                               preexec_fn=die_with_parent)
    anvil = AnvilProcess(
        port=port, process=process, state_file=state_file, log_file=log_file, extra_args=extra_args or []
    )
    deadline = time.monotonic() + startup_timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AnvilError(f"anvil exited with code {process.returncode} (args: {' '.join(args)})")
        try:
            rpc_call(anvil.url, "eth_chainId", timeout=1.0)
            return anvil
        except (urllib.error.URLError, ConnectionError, TimeoutError, OSError):
            time.sleep(0.05)
    anvil.kill()
    raise AnvilError(f"anvil did not answer on {anvil.url} within {startup_timeout:.0f} s")
