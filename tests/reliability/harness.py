"""Real processes for reliability tests: a state-persisting Anvil, the API server and the worker as
separate OS processes on a fresh PostgreSQL database, each killable with SIGKILL and restartable."""

from __future__ import annotations

import json
import os
import secrets
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from sqlalchemy import create_engine, text
from web3 import Web3

from issuer_service.chain.anvil import AnvilProcess, free_port, start_anvil
from issuer_service.chain.deploy import DeployConfig, Deployment, deploy
from issuer_service.chain.keys import RoleKeys

ROOT = Path(__file__).resolve().parents[2]
PG_SERVER_URL = os.environ.get("CNH_TEST_PG_URL", "postgresql+psycopg://root@127.0.0.1:5432/postgres")


def create_database() -> str:
    name = f"cnh_rel_{secrets.token_hex(6)}"
    engine = create_engine(PG_SERVER_URL, isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    engine.dispose()
    return PG_SERVER_URL.rsplit("/", 1)[0] + "/" + name


def drop_database(url: str) -> None:
    name = url.rsplit("/", 1)[1]
    engine = create_engine(PG_SERVER_URL, isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    engine.dispose()


@dataclass
class Stack:
    """Anvil + deployment + the env the service and worker processes share."""

    folder: Path
    anvil: AnvilProcess
    deployment: Deployment
    keys: RoleKeys
    database_url: str
    admin_key: str
    port: int
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    kills: list[str] = field(default_factory=list)
    # Added to (and overriding) every process's environment, e.g. DATABASE_URL through a proxy.
    extra_env: dict[str, str] = field(default_factory=dict)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def w3(self) -> Web3:
        return Web3(Web3.HTTPProvider(self.anvil.url))

    def env(self) -> dict[str, str]:
        return {
            **os.environ,
            "DATABASE_URL": self.database_url,
            "RPC_URL": self.anvil.url,
            "CNH_DEPLOYMENT_FILE": str(self.folder / "deployment.json"),
            "CNH_KEY_FILE": str(self.folder / "keys.json"),
            "CNH_ADMIN_API_KEY": self.admin_key,
            "CNH_PORT": str(self.port),
            "CNH_LOG_LEVEL": "WARNING",
            **self.extra_env,
        }

    def start(self, name: str) -> None:
        """`api` (HTTP only) or `worker` (outbox worker + indexer), or `api+worker`."""
        env = self.env()
        command = "worker" if name == "worker" else "serve"
        env["CNH_WORKER_IN_PROCESS"] = "true" if name == "api+worker" else "false"
        log = open(self.folder / f"{name}.log", "ab")  # noqa: SIM115 - owned by the child
        self.processes[name] = subprocess.Popen(
            [sys.executable, "-m", "issuer_service", command], env=env, cwd=ROOT, stdout=log,
            stderr=subprocess.STDOUT, start_new_session=True)
        if name != "worker":
            self.wait_healthy()

    def kill(self, name: str) -> None:
        process = self.processes.get(name)
        if process is not None and process.poll() is None:
            process.send_signal(signal.SIGKILL)
            process.wait()
            self.kills.append(name)

    def restart(self, name: str) -> None:
        self.kill(name)
        self.start(name)

    def wait_healthy(self, timeout: float = 60, *, base_url: str | None = None) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                if httpx.get((base_url or self.base_url) + "/healthz", timeout=2).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        raise AssertionError(f"API did not come up; see {self.folder}")

    def start_api(self, name: str, port: int, *, with_worker: bool = True, env: dict[str, str] | None = None) -> str:
        """One more API process (with its in-process worker by default) on `port`, sharing the
        database, the chain and the signing keys with the others; `name` names it and its log file,
        `env` adds to its environment. Returns its base URL once it answers /healthz."""
        env = {
            **self.env(),
            "CNH_PORT": str(port),
            "CNH_WORKER_IN_PROCESS": "true" if with_worker else "false",
            **(env or {}),
        }
        log = open(self.folder / f"{name}.log", "ab")  # noqa: SIM115 - owned by the child
        self.processes[name] = subprocess.Popen(
            [sys.executable, "-m", "issuer_service", "serve"],
            env=env,
            cwd=ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        base_url = f"http://127.0.0.1:{port}"
        self.wait_healthy(base_url=base_url)
        return base_url

    def stop_chain(self) -> None:
        """A chain outage: Anvil stops (mining off, then SIGTERM writes its state file) and its port goes dark."""
        self.anvil.stop()

    def start_chain(self) -> None:
        """The chain comes back on the same port with the state it had when it stopped."""
        self.anvil = start_anvil(port=self.anvil.port, state_file=self.anvil.state_file, log_file=self.anvil.log_file)

    def secrets(self) -> dict[str, str]:
        """Every secret the processes hold, by name: the admin API key, the API-key pepper (when
        set) and each private key in the sandbox key file (R43)."""
        found = {"admin api key": self.admin_key}
        pepper = self.extra_env.get("CNH_API_KEY_PEPPER")
        if pepper:
            found["api key pepper"] = pepper
        keys = json.loads((self.folder / "keys.json").read_text())["keys"]
        for role, key in keys.items():
            found[f"{role} private key"] = key
            found[f"{role} private key (no 0x)"] = key.removeprefix("0x")
        return found

    def log_text(self) -> str:
        """Everything the processes wrote: the API, worker and Anvil log files."""
        return "\n".join(path.read_text(errors="replace") for path in sorted(self.folder.glob("*.log")))

    def stop(self) -> None:
        for process in self.processes.values():
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
                try:
                    process.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    process.kill()
        self.anvil.stop()


def build_stack(folder: Path) -> Stack:
    anvil = start_anvil(state_file=folder / "anvil-state.json", log_file=folder / "anvil.log")
    w3 = Web3(Web3.HTTPProvider(anvil.url))
    keys = RoleKeys.generate()
    keys.fund_on_anvil(w3)
    keys.save(folder / "keys.json")
    deployment = deploy(w3, DeployConfig(keys=keys))
    deployment.save(folder / "deployment.json")
    return Stack(folder=folder, anvil=anvil, deployment=deployment, keys=keys, database_url=create_database(),
                 admin_key="cnh_rel_" + secrets.token_urlsafe(24), port=free_port())
