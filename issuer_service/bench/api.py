"""End-to-end mint throughput and accept latency of the real service, beside a raw-send baseline.

One run, one Anvil:

1. Spawn Anvil and deploy tCNH for the service; deploy a second tCNH for the baseline (so the
   baseline's supply never enters the service's ledger or reconciliation).
2. **Raw baseline**: the baseline token's minter signs, sends and waits for the receipt of one
   `mint` at a time (the same call and gas limit the service's outbox sends), from one key. It is
   measured before and again after the API run; the better of the two is the figure to beat.
3. Create a fresh PostgreSQL database and start the real service (`python -m issuer_service serve`,
   uvicorn) in a subprocess against that chain, with the outbox worker in-process (the default) or
   as a separate `python -m issuer_service worker` process.
4. Through the API, as a client would: staff keys, buffer capital, one onboarded customer with a
   bound, allow-listed wallet and deposited fiat per client; one warm-up mint per client.
5. `clients` threads (one keep-alive HTTP connection each, the standard library's client, so the
   load generator itself stays light) request `mints` mints back to back. Each
   request's accept latency is `POST /v1/mints` → `202`. The run ends when every mint is
   `confirmed` in the database; confirmed mints/s = mints / (first request → last confirmation).

CPU time per mint of each process group (API, worker, Anvil, PostgreSQL backends, the bench's own
clients) is measured over the same phase from /proc: unlike rates, it barely moves when other work
shares the host, so it shows where the time goes and compares runs fairly. The load average before
and after is reported for the same reason.

6. **The floor**: the same clients, in the same closed loop, send the cheapest authenticated request
   there is, `GET /v1/customers/{own id}` (key lookup, one row, its JSON, the commit). What it
   reaches is what the HTTP stack and authentication alone allow on this machine; a mint, which
   also claims an idempotency key, locks and moves money and writes five rows and two audit
   records, cannot be faster. With clients sending back to back, mean latency is clients ÷ rate
   (Little's law), so this also shows which accept latency the machine allows at all.

Everything is torn down afterwards (service, Anvil, database).
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager, suppress
from dataclasses import asdict, dataclass, field
from http.client import HTTPConnection
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import psycopg
from eth_account import Account
from eth_account.messages import encode_defunct
from eth_account.signers.local import LocalAccount
from web3 import Web3

from issuer_service.chain.anvil import AnvilProcess, free_port, start_anvil
from issuer_service.chain.deploy import DeployConfig, Deployment, deploy
from issuer_service.chain.gateway import GAS_LIMITS
from issuer_service.chain.keys import RoleKeys
from issuer_service.chain.tx import send_and_wait

ROOT = Path(__file__).resolve().parents[2]
DEFAULT_PG_SERVER = os.environ.get("CNH_BENCH_PG_URL", "postgresql://root@127.0.0.1:5432/postgres")
ADMIN_KEY = "cnh_bench-" + secrets.token_urlsafe(24)
PEPPER = "bench-" + secrets.token_urlsafe(24)

Progress = Callable[[str], None]


class BenchError(RuntimeError):
    """The benchmark could not run to the end (a request failed, a mint failed, a timeout)."""


@dataclass(frozen=True)
class BenchConfig:
    mints: int = 300  # measured mints: the default run stays under a minute on the 2-core machine kind
    clients: int = 50  # concurrent HTTP clients, one connection each
    raw_txs: int = 300  # baseline transactions, measured before and after the API run
    floor_requests: int = 1000  # authenticated one-row reads after the mints (`measure_floor`); 0 skips
    amount: str = "1.00"  # CNH per mint, below the maker-checker threshold
    buffer_capital: str = "1000000.00"  # treasury's own capital (R1 buffer), recorded through the API
    separate_worker: bool = False  # run the outbox worker as its own process
    api_processes: int = 1  # API processes behind the clients (each client talks to one, round robin)
    pg_server_url: str = DEFAULT_PG_SERVER
    timeout_s: float = 300.0
    log_dir: Path | None = None  # keep the service's logs here (default: a temporary directory)


@dataclass
class BenchResult:
    mints: int
    clients: int
    separate_worker: bool
    api_processes: int
    mints_per_s: float
    accepts_per_s: float
    elapsed_s: float  # first request → last mint confirmed
    accept_elapsed_s: float  # first request → last 202
    p50_ms: float
    p95_ms: float
    p99_ms: float
    max_ms: float
    mean_ms: float
    raw_txs: int
    raw_tx_per_s: float  # the better of the two baseline runs (the harder one to beat)
    raw_runs_tx_per_s: list[float]  # before and after the API run
    # CPU time per measured mint, by process group (barely moved by other load; postgres is a lower bound)
    cpu_ms_per_mint: dict[str, float]
    load_avg: list[float]  # 1-minute load average before and after the measured phase (other work on the host)
    # the cheapest authenticated request at the same concurrency (`Floor`), empty if not measured
    floor: dict[str, float] = field(default_factory=dict)

    @property
    def ratio(self) -> float:
        return self.mints_per_s / self.raw_tx_per_s if self.raw_tx_per_s else 0.0

    def summary(self) -> dict[str, float]:
        """The figures `--json` prints (issue 4, item 10)."""
        return {
            "mints_per_s": round(self.mints_per_s, 1),
            "raw_tx_per_s": round(self.raw_tx_per_s, 1),
            "p50_ms": round(self.p50_ms, 1),
            "p95_ms": round(self.p95_ms, 1),
            "p99_ms": round(self.p99_ms, 1),
        }

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "ratio": round(self.ratio, 3)}


# --------------------------------------------------------------------------------- statistics
def percentile(values: list[float], pct: float) -> float:
    """Nearest-rank percentile (pct in 0..100) of a non-empty list."""
    ordered = sorted(values)
    rank = max(1, -(-len(ordered) * pct // 100))  # ceil(n * pct / 100), at least 1
    return ordered[int(rank) - 1]


# --------------------------------------------------------------------------------- raw baseline
class RawBaseline:
    """Sign, send and wait for the receipt of tCNH mints one at a time from one key.

    Uses its own deployment of tCNH (same contract, same `mint` call and gas limit as the service
    sends), so its supply never enters the service's ledger or reconciliation."""

    def __init__(self, w3: Web3) -> None:
        self.w3 = w3
        keys = RoleKeys.generate()
        keys.fund_on_anvil(w3)
        deployment = deploy(w3, DeployConfig(keys=keys))
        self.token = w3.eth.contract(address=Web3.to_checksum_address(deployment.token_address), abi=deployment.abi)
        now = int(w3.eth.get_block("latest")["timestamp"])
        send_and_wait(w3, keys.attestor, self.token.functions.attestReserves(10**30, now))
        self.holder = Account.create()
        send_and_wait(w3, keys.compliance, self.token.functions.addToAllowList(self.holder.address))
        self.minter = keys.minter
        self.chain_id = w3.eth.chain_id

    def measure(self, count: int) -> float:
        """tx/s over `count` transactions, each signed, sent and awaited before the next."""
        w3, token = self.w3, self.token
        nonce = int(w3.eth.get_transaction_count(self.minter.address, "pending"))
        base_fee = int(w3.eth.get_block("latest").get("baseFeePerGas", 0) or 0)
        tip = 1_000_000_000 if base_fee else 0
        fees = {"maxFeePerGas": 4 * base_fee + tip + 1, "maxPriorityFeePerGas": tip}
        started = time.perf_counter()
        for i in range(count):
            tx = {
                "chainId": self.chain_id,
                "nonce": nonce + i,
                "to": token.address,
                "value": 0,
                "data": token.encode_abi("mint", args=[self.holder.address, 10_000 + i]),
                "gas": GAS_LIMITS["mint"],
                "type": 2,
                **fees,
            }
            signed = self.minter.sign_transaction(tx)
            tx_hash = w3.eth.send_raw_transaction(signed.raw_transaction)
            receipt = w3.eth.wait_for_transaction_receipt(tx_hash, timeout=30, poll_latency=0.005)
            if receipt["status"] != 1:
                raise BenchError(f"baseline mint {i} reverted")
        return count / (time.perf_counter() - started)


# --------------------------------------------------------------------------------- CPU accounting
def _cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (Linux /proc); 0 if it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _postgres_backends(database: str) -> list[int]:
    """PostgreSQL backend processes serving `database` (their title names it)."""
    pids: list[int] = []
    proc = Path("/proc")
    if not proc.is_dir():
        return pids
    for entry in proc.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        if cmdline.startswith(b"postgres:") and f" {database} ".encode() in cmdline:
            pids.append(int(entry.name))
    return pids


def cpu_sample(groups: dict[str, list[int]]) -> dict[str, dict[int, float]]:
    sample = {name: {pid: _cpu_seconds(pid) for pid in pids} for name, pids in groups.items()}
    times = os.times()
    sample["bench clients"] = {os.getpid(): times.user + times.system}
    return sample


def cpu_used_ms(before: dict[str, dict[int, float]], after: dict[str, dict[int, float]]) -> dict[str, float]:
    """CPU milliseconds per group between two samples. A process that exited in between is left out
    (PostgreSQL backends of overflow connections come and go), so that group is a lower bound."""
    return {
        name: 1000 * sum(used - before.get(name, {}).get(pid, 0.0) for pid, used in pids.items() if used > 0)
        for name, pids in after.items()
    }


# --------------------------------------------------------------------------------- database
@contextmanager
def fresh_database(server_url: str) -> Iterator[str]:
    """A new, empty PostgreSQL database (dropped afterwards); yields its SQLAlchemy URL."""
    conninfo = server_url.replace("postgresql+psycopg://", "postgresql://", 1)
    name = f"cnh_bench_{secrets.token_hex(6)}"
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield conninfo.rsplit("/", 1)[0] + "/" + name
    finally:
        with psycopg.connect(conninfo, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


# --------------------------------------------------------------------------------- the service
@dataclass
class Service:
    urls: list[str]  # one per API process
    processes: list[subprocess.Popen[bytes]]  # the API processes first, then the worker if separate
    log_dir: Path

    @property
    def url(self) -> str:
        return self.urls[0]

    def alive(self) -> bool:
        return all(p.poll() is None for p in self.processes)

    def stop(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in self.processes:
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


@contextmanager
def run_service(
    anvil: AnvilProcess,
    deployment: Deployment,
    keys: RoleKeys,
    database_url: str,
    *,
    separate_worker: bool,
    log_dir: Path,
    api_processes: int = 1,
) -> Iterator[Service]:
    """The real service (uvicorn) in subprocesses, pointed at `anvil` and `database_url`: one or more
    API processes on their own ports (as behind a load balancer; the first one runs the in-process
    outbox worker unless it runs separately) and the separate worker if asked for."""
    log_dir.mkdir(parents=True, exist_ok=True)
    deployment_file, key_file = log_dir / "deployment.json", log_dir / "keys.json"
    deployment.save(deployment_file)
    keys.save(key_file)
    port = free_port()
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
        "DATABASE_URL": database_url.replace("postgresql://", "postgresql+psycopg://", 1),
        "RPC_URL": anvil.url,
        "CNH_DEPLOYMENT_FILE": str(deployment_file),
        "CNH_KEY_FILE": str(key_file),
        "CNH_ADMIN_API_KEY": ADMIN_KEY,
        "CNH_API_KEY_PEPPER": PEPPER,
    }
    processes: list[subprocess.Popen[bytes]] = []

    def spawn(name: str, *args: str, in_process_worker: bool = False) -> None:
        out = open(log_dir / f"{name}.log", "wb")  # noqa: SIM115 - owned by the child process
        processes.append(
            subprocess.Popen(
                [sys.executable, "-m", "issuer_service", *args],
                cwd=log_dir,
                env={**env, "CNH_WORKER_IN_PROCESS": "true" if in_process_worker else "false"},
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        )

    spawn("api", "serve", "--port", str(port), in_process_worker=not separate_worker)
    service = Service(urls=[f"http://127.0.0.1:{port}"], processes=processes, log_dir=log_dir)
    try:
        _wait_healthy(service)  # the first one migrates the database; the others find it ready
        for index in range(1, api_processes):
            port = free_port()
            spawn(f"api-{index}", "serve", "--port", str(port))
            service.urls.append(f"http://127.0.0.1:{port}")
        _wait_healthy(service)
        if separate_worker:  # after the API has migrated the database
            spawn("worker", "worker")
        yield service
    finally:
        service.stop()


def _wait_healthy(service: Service, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not service.alive():
            raise BenchError(f"the service exited; see {service.log_dir / 'api.log'}")
        with suppress(httpx.HTTPError):
            if all(httpx.get(url + "/healthz", timeout=1.0).status_code == 200 for url in service.urls):
                return
        time.sleep(0.1)
    raise BenchError(f"the service did not answer /healthz within {timeout:.0f} s")


# --------------------------------------------------------------------------------- API set-up
def _auth(key: str, idempotency: bool = False) -> dict[str, str]:
    headers = {"Authorization": f"Bearer {key}"}
    if idempotency:
        headers["Idempotency-Key"] = uuid.uuid4().hex
    return headers


def _ok(response: httpx.Response, status: int) -> Any:
    if response.status_code != status:
        raise BenchError(
            f"{response.request.method} {response.request.url.path} → {response.status_code}: {response.text[:300]}"
        )
    return response.json()


@dataclass
class Client:
    customer_id: str
    key: str
    wallet: LocalAccount


def set_up(http: httpx.Client, clients: int, deposit: str, buffer_capital: str) -> list[Client]:
    """Staff keys, buffer capital and one KYC'd customer per client with an active wallet and fiat."""

    def staff(role: str) -> str:
        return str(
            _ok(
                http.post("/v1/api-keys", json={"role": role, "label": f"bench {role}"}, headers=_auth(ADMIN_KEY)), 201
            )["key"]
        )

    operator, compliance, treasury, treasury2 = (staff(r) for r in ("operator", "compliance", "treasury", "treasury"))
    asset = _ok(
        http.post(
            "/v1/reserves/assets",
            headers=_auth(treasury),
            json={
                "kind": "cash",
                "custodian": "Sandbox Bank HK - reserve a/c 001",
                "currency": "CNH",
                "nominal": buffer_capital,
                "reference": f"CAPITAL-{uuid.uuid4().hex[:8]}",
            },
        ),
        201,
    )
    _ok(http.post(f"/v1/reserves/assets/{asset['id']}/approve", headers=_auth(treasury2)), 200)

    def onboard(i: int) -> Client:
        customer = _ok(
            http.post(
                "/v1/customers",
                headers=_auth(operator),
                json={"name": f"Bench Client {i:03d} Ltd", "kind": "institution", "jurisdiction": "HK"},
            ),
            201,
        )
        _ok(
            http.post(
                f"/v1/customers/{customer['id']}/kyc",
                headers=_auth(compliance),
                json={"decision": "approved", "risk": "low", "reference": f"KYC-BENCH-{i}"},
            ),
            200,
        )
        key = str(
            _ok(http.post(f"/v1/customers/{customer['id']}/api-keys", json={}, headers=_auth(ADMIN_KEY)), 201)["key"]
        )
        wallet = Account.create()
        challenge = _ok(http.get("/v1/wallets/challenge", params={"address": wallet.address}, headers=_auth(key)), 200)
        signature = wallet.sign_message(encode_defunct(text=challenge["message"])).signature
        _ok(
            http.post(
                "/v1/wallets",
                headers=_auth(key),
                json={"address": wallet.address, "signature": "0x" + bytes(signature).hex()},
            ),
            201,
        )
        _ok(
            http.post(
                "/v1/deposits",
                headers=_auth(operator, idempotency=True),
                json={
                    "customer_id": customer["id"],
                    "amount": deposit,
                    "currency": "CNH",
                    "bank_reference": f"BANK-{uuid.uuid4().hex[:10]}",
                },
            ),
            201,
        )
        return Client(customer_id=str(customer["id"]), key=key, wallet=wallet)

    with ThreadPoolExecutor(8) as pool:  # set-up is not measured; keep it short
        made = list(pool.map(onboard, range(clients)))
    deadline = time.monotonic() + 60
    for client in made:  # the allow-listing went through the outbox
        path = f"/v1/wallets/{client.wallet.address}"
        while _ok(http.get(path, headers=_auth(client.key)), 200)["status"] != "active":
            if time.monotonic() > deadline:
                raise BenchError(f"wallet {client.wallet.address} did not become active within 60 s")
            time.sleep(0.05)
    return made


# --------------------------------------------------------------------------------- the load
def wait_confirmed(conninfo: str, total: int, timeout: float, *, poll_s: float = 0.01) -> float:
    """Poll the database until `total` mints are confirmed; returns the perf_counter() at that moment."""
    deadline = time.monotonic() + timeout
    with psycopg.connect(conninfo, autocommit=True) as conn:
        while True:
            counts = {str(s): int(n) for s, n in conn.execute("SELECT status, count(*) FROM mints GROUP BY status")}
            now = time.perf_counter()
            bad = {s: n for s, n in counts.items() if s in ("failed", "rejected")}
            if bad:
                raise BenchError(f"mints ended badly: {counts}")
            if counts.get("confirmed", 0) >= total:
                return now
            if time.monotonic() > deadline:
                outbox = conn.execute(
                    "SELECT function, status, count(*), min(nonce), max(nonce), max(attempts), max(last_error) "
                    "FROM chain_txs WHERE status <> 'confirmed' GROUP BY function, status"
                ).fetchall()
                raise BenchError(
                    f"not all mints confirmed within {timeout:.0f} s: mints {counts}, unfinished "
                    f"outbox rows (function, status, count, nonces, attempts, error) {outbox}"
                )
            time.sleep(poll_s)


@dataclass(frozen=True)
class Call:
    """One request a client sends, and the status that counts as success."""

    method: str
    path: str
    body: bytes | None
    status: int
    idempotent: bool = False  # send a fresh Idempotency-Key


def closed_loop(
    base_urls: list[str], clients: list[Client], total: int, call_for: Callable[[Client], Call]
) -> tuple[float, list[float], float]:
    """`total` requests from len(clients) threads, each sending its next as soon as the last one is
    answered (a closed loop), client i talking to API process i mod len(base_urls); returns
    (start, latencies in s, last answer)."""
    shares = [total // len(clients) + (1 if i < total % len(clients) else 0) for i in range(len(clients))]
    latencies: list[list[float]] = [[] for _ in clients]
    last_answer = [0.0] * len(clients)
    errors: list[str] = []
    barrier = threading.Barrier(len(clients) + 1)
    start_box: list[float] = []

    def run(index: int) -> None:
        client = clients[index]
        call = call_for(client)
        url = urlsplit(base_urls[index % len(base_urls)])
        # The standard library's client over one keep-alive connection: a load generator should
        # spend as little CPU as it can (httpx costs ~5 ms per request here, this well under 1 ms).
        http = HTTPConnection(url.hostname or "127.0.0.1", url.port, timeout=30.0)
        try:
            http.request("GET", "/healthz")  # open the connection before the clock starts
            http.getresponse().read()
            barrier.wait()
            for _ in range(shares[index]):
                headers = {**_auth(client.key, idempotency=call.idempotent), "Content-Type": "application/json"}
                sent = time.perf_counter()
                try:
                    http.request(call.method, call.path, body=call.body, headers=headers)
                    response = http.getresponse()
                    text = response.read()
                except OSError as exc:
                    errors.append(f"{type(exc).__name__}: {exc}")
                    return
                done = time.perf_counter()
                if response.status != call.status:
                    errors.append(f"{call.method} {call.path} → {response.status}: {text[:300]!r}")
                    return
                latencies[index].append(done - sent)
                last_answer[index] = done
        finally:
            http.close()

    threads = [threading.Thread(target=run, args=(i,), name=f"bench-client-{i}") for i in range(len(clients))]
    for thread in threads:
        thread.start()
    barrier.wait()
    start_box.append(time.perf_counter())
    for thread in threads:
        thread.join()
    if errors:
        raise BenchError(f"{len(errors)} requests failed, first: {errors[0]}")
    return start_box[0], [x for per in latencies for x in per], max(last_answer)


def request_mints(
    base_urls: list[str], clients: list[Client], total: int, amount: str
) -> tuple[float, list[float], float]:
    """`total` mints (POST /v1/mints → 202), back to back; see `closed_loop`."""

    def mint(client: Client) -> Call:
        body = json.dumps({"wallet": client.wallet.address, "amount": amount}).encode()
        return Call("POST", "/v1/mints", body, 202, idempotent=True)

    return closed_loop(base_urls, clients, total, mint)


@dataclass
class Floor:
    """The cheapest authenticated request, sent the way the mints were: what the HTTP stack, the
    key check and one read cost on this machine, whatever a mint adds to them."""

    requests: int
    per_s: float
    p50_ms: float
    p99_ms: float
    api_cpu_ms: float  # API process CPU per request


def measure_floor(service: Service, clients: list[Client], total: int) -> Floor:
    """`total` GET /v1/customers/{own id} from the same clients: authentication (the key lookup),
    one row read, its JSON and the request's commit; nothing a mint does beyond that."""

    def read_own_customer(client: Client) -> Call:
        return Call("GET", f"/v1/customers/{client.customer_id}", None, 200)

    closed_loop(service.urls, clients, len(clients), read_own_customer)  # warm-up
    api = [p.pid for p in service.processes[: len(service.urls)]]
    before = sum(_cpu_seconds(pid) for pid in api)
    start, latencies, last = closed_loop(service.urls, clients, total, read_own_customer)
    used = sum(_cpu_seconds(pid) for pid in api) - before
    ms = [x * 1000 for x in latencies]
    return Floor(
        requests=total,
        per_s=total / (last - start),
        p50_ms=percentile(ms, 50),
        p99_ms=percentile(ms, 99),
        api_cpu_ms=round(1000 * used / total, 2),
    )


# --------------------------------------------------------------------------------- the run
def run(config: BenchConfig | None = None, progress: Progress | None = None) -> BenchResult:
    config = config or BenchConfig()
    say = progress or (lambda _msg: None)
    if config.clients < 1 or config.mints < config.clients:
        raise ValueError("need at least one client and at least one mint per client")
    per_client = -(-config.mints // config.clients) + 1  # + the warm-up mint
    deposit = _times(config.amount, per_client + 1)
    with tempfile.TemporaryDirectory(prefix="cnh-bench-") as tmp:
        log_dir = config.log_dir or Path(tmp)
        say("starting Anvil")
        with start_anvil() as anvil:
            w3 = Web3(Web3.HTTPProvider(anvil.url))
            say(f"raw baseline: {config.raw_txs} mints signed, sent and awaited one at a time from one key")
            baseline = RawBaseline(w3)
            raw_runs = [baseline.measure(config.raw_txs)]
            say("deploying the service's tCNH")
            keys = RoleKeys.generate()
            keys.fund_on_anvil(w3)
            from compliance.profiles import load_profile

            profile = load_profile("hk")
            deployment = deploy(
                w3,
                DeployConfig(
                    keys=keys,
                    buffer_bps=profile.reserve_buffer_bps,
                    max_attestation_age_s=profile.attestation_max_age_seconds,
                ),
            )
            with fresh_database(config.pg_server_url) as conninfo:
                say(
                    f"starting the service on PostgreSQL ({config.api_processes} API process(es), "
                    f"{'separate' if config.separate_worker else 'in-process'} outbox worker)"
                )
                with (
                    run_service(
                        anvil,
                        deployment,
                        keys,
                        conninfo,
                        separate_worker=config.separate_worker,
                        log_dir=log_dir,
                        api_processes=config.api_processes,
                    ) as service,
                    httpx.Client(base_url=service.url, timeout=30.0) as http,
                ):
                    say(f"setting up {config.clients} customers through the API")
                    clients = set_up(http, config.clients, deposit, config.buffer_capital)
                    say("warm-up: one mint per client")
                    _, _, _ = request_mints(service.urls, clients, config.clients, config.amount)
                    wait_confirmed(conninfo, config.clients, config.timeout_s)
                    say(f"measuring: {config.mints} mints from {config.clients} concurrent clients")
                    groups = {
                        "api": [p.pid for p in service.processes[: config.api_processes]],
                        "worker": [p.pid for p in service.processes[config.api_processes :]],
                        "anvil": [anvil.process.pid],
                        "postgres": _postgres_backends(database := conninfo.rsplit("/", 1)[1]),
                    }
                    load_avg = [os.getloadavg()[0]]
                    cpu_before = cpu_sample(groups)
                    start, latencies, last_accept = request_mints(service.urls, clients, config.mints, config.amount)
                    done = wait_confirmed(conninfo, config.clients + config.mints, config.timeout_s)
                    groups["postgres"] = sorted(set(groups["postgres"]) | set(_postgres_backends(database)))
                    cpu_after = cpu_sample(groups)
                    load_avg.append(os.getloadavg()[0])
                    if not service.alive():
                        raise BenchError(f"the service died during the run; see {log_dir}")
                    floor = None
                    if config.floor_requests:
                        say(f"floor: {config.floor_requests} authenticated one-row reads from the same clients")
                        floor = measure_floor(service, clients, config.floor_requests)
            say("raw baseline again, after the API run")
            raw_runs.append(baseline.measure(config.raw_txs))
    elapsed = done - start
    accept_elapsed = last_accept - start
    ms = [x * 1000 for x in latencies]
    return BenchResult(
        mints=config.mints,
        clients=config.clients,
        separate_worker=config.separate_worker,
        api_processes=config.api_processes,
        mints_per_s=config.mints / elapsed,
        accepts_per_s=config.mints / accept_elapsed,
        elapsed_s=elapsed,
        accept_elapsed_s=accept_elapsed,
        p50_ms=percentile(ms, 50),
        p95_ms=percentile(ms, 95),
        p99_ms=percentile(ms, 99),
        max_ms=max(ms),
        mean_ms=statistics.fmean(ms),
        raw_txs=config.raw_txs,
        raw_tx_per_s=max(raw_runs),
        raw_runs_tx_per_s=raw_runs,
        cpu_ms_per_mint={
            name: round(used / config.mints, 2)
            for name, used in cpu_used_ms(cpu_before, cpu_after).items()
            if name != "worker" or config.separate_worker
        },
        load_avg=load_avg,
        floor=asdict(floor) if floor else {},
    )


def _times(amount: str, factor: int) -> str:
    whole, _, frac = amount.partition(".")
    fen = (int(whole) * 100 + int((frac + "00")[:2])) * factor
    return f"{fen // 100}.{fen % 100:02d}"


def to_json(result: BenchResult) -> str:
    return json.dumps(result.summary())
