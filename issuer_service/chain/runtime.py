"""Turn settings into a ChainGateway: an Anvil the service spawns (the embedded default, R55) or a
configured JSON-RPC endpoint with a deployment file and keys from settings (R43)."""

from __future__ import annotations

import fcntl
import logging
import os
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from web3 import Web3

from issuer_service.chain.anvil import AnvilProcess, rpc_call, start_anvil
from issuer_service.chain.deploy import DeployConfig, Deployment, deploy
from issuer_service.chain.gateway import ChainGateway
from issuer_service.chain.keys import ROLE_NAMES, KeyFileError, RoleKeys
from issuer_service.chain.networks import check_chain_allowed
from issuer_service.chain.tx import send_and_wait
from issuer_service.settings import Settings

log = logging.getLogger(__name__)


class ChainSetupError(RuntimeError):
    """The service cannot reach or use the configured chain; the message says what to fix."""


@dataclass(frozen=True)
class StartUpChange:
    """A change start-up made on chain, for the audit log (R50): written by the service's start-up
    transaction once the database is there (`issuer_service.app._bootstrap`)."""

    action: str
    entity_type: str
    entity_id: str
    data: dict[str, Any]
    rule_ids: tuple[str, ...]


@dataclass
class ChainRuntime:
    gateway: ChainGateway
    anvil: AnvilProcess | None = None
    sandbox_lock: int | None = None  # the locked descriptor of the sandbox directory's lock file
    changes: list[StartUpChange] = field(default_factory=list)

    def close(self) -> None:
        if self.anvil is not None:
            self.anvil.stop()
        if self.sandbox_lock is not None:
            os.close(self.sandbox_lock)  # only once Anvil has written its state file
            self.sandbox_lock = None


def keys_from_settings(settings: Settings) -> RoleKeys:
    if settings.key_file is not None:
        return RoleKeys.load(settings.key_file)
    values = {name: getattr(settings, f"{name}_private_key") for name in ROLE_NAMES}
    if all(v is None for v in values.values()):
        raise KeyFileError("no signing keys: set CNH_KEY_FILE or CNH_<ROLE>_PRIVATE_KEY for each role (R43)")
    return RoleKeys.from_hex({k: v.get_secret_value() if v is not None else "" for k, v in values.items()})


def _sandbox_dir(settings: Settings) -> Path:
    return Path(settings.deployment_file).parent


SANDBOX_LOCK = "service.lock"


def sandbox_holder(folder: Path) -> int | None:
    """The pid of the service running on a sandbox directory, or None if none is."""
    try:
        fd = os.open(folder / SANDBOX_LOCK, os.O_RDONLY)
    except FileNotFoundError:
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        text = os.read(fd, 32).decode("ascii", "replace").strip()
        return int(text) if text.isdigit() else 0
    finally:
        os.close(fd)
    return None


def _lock_sandbox(folder: Path) -> int:
    """One service per sandbox directory: a second one would run its own Anvil on the same state file
    and share the database with a chain that is not its own. The lock goes when the process does."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd = os.open(folder / SANDBOX_LOCK, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as exc:
        raise ChainSetupError(
            f"cannot use the sandbox directory {folder} for the chain state, keys and deployment: {exc}; "
            "make it a writable directory or point CNH_DEPLOYMENT_FILE elsewhere"
        ) from None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        holder = os.read(fd, 32).decode("ascii", "replace").strip() or "unknown"
        os.close(fd)
        raise ChainSetupError(
            f"another service (pid {holder}) is running on {folder}, with its own Anvil on that chain state; "
            "stop it first, or give this one its own directory (CNH_DEPLOYMENT_FILE) and DATABASE_URL"
        ) from None
    os.ftruncate(fd, 0)
    os.write(fd, str(os.getpid()).encode())
    return fd


def _refuse_new_token_over_history(settings: Settings, reason: str) -> None:
    """A new deployment is refused once the database has sent transactions: its balances, mints and
    redemptions would then all be on a token that no longer exists."""
    from sqlalchemy import inspect, select
    from sqlalchemy.engine import make_url

    from issuer_service.db import make_engine
    from issuer_service.outbox.models import ChainTx

    engine = make_engine(settings.database_url)
    try:
        with engine.connect() as connection:
            # A database not migrated yet has no outbox and so no history.
            sent = inspect(connection).has_table(ChainTx.__tablename__) and (
                connection.execute(select(ChainTx.id).limit(1)).first() is not None
            )
    finally:
        engine.dispose()
    if sent:
        shown = make_url(settings.database_url).render_as_string(hide_password=True)
        raise ChainSetupError(
            f"{reason}, but the database at {shown} holds transactions sent on that chain's tCNH; restore the "
            f"file(s), or start afresh with a new chain and database: delete {_sandbox_dir(settings)} and the "
            "database (or point CNH_DEPLOYMENT_FILE and DATABASE_URL elsewhere)"
        )


def spawn_sandbox_chain(settings: Settings) -> ChainRuntime:
    """Spawn Anvil with persistent state; deploy on first start, reuse the deployment after."""
    folder = _sandbox_dir(settings)
    lock = _lock_sandbox(folder)
    state_file = folder / "anvil-state.json"
    key_file = folder / "keys.json"
    deployment_file = Path(settings.deployment_file)
    reuse = state_file.exists() and key_file.exists() and deployment_file.exists()
    try:
        if not reuse:
            missing = [str(path) for path in (state_file, key_file, deployment_file) if not path.exists()]
            _refuse_new_token_over_history(
                settings, f"{' and '.join(missing)} {'is' if len(missing) == 1 else 'are'} missing"
            )
        anvil = start_anvil(port=settings.anvil_port or None, state_file=state_file, log_file=folder / "anvil.log")
    except BaseException:
        os.close(lock)
        raise
    w3 = Web3(Web3.HTTPProvider(anvil.url))
    if reuse:
        keys = RoleKeys.load(key_file)
        deployment = Deployment.load(deployment_file)
        if not w3.eth.get_code(deployment.token_address):
            try:
                _refuse_new_token_over_history(
                    settings, f"the chain in {state_file} has no tCNH at {deployment.token_address}"
                )
            except ChainSetupError:
                anvil.stop()
                os.close(lock)
                raise
            reuse = False  # the state file did not hold the contract and nothing was sent on it: deploy again
    if not reuse:
        keys = RoleKeys.generate()
        keys.fund_on_anvil(w3)
        keys.save(key_file)
        profile_buffer, max_age = settings.chain_buffer_bps(), settings.chain_max_attestation_age()
        deployment = deploy(w3, DeployConfig(keys=keys, buffer_bps=profile_buffer, max_attestation_age_s=max_age))
        deployment.save(deployment_file)
        log.info("deployed tCNH at %s on a spawned Anvil (%s)", deployment.token_address, anvil.url)
    rpc_call(anvil.url, "anvil_setAutomine", [True])
    changes = []
    if reuse:
        deployment, change = _follow_profile_policy(w3, keys, deployment, settings)
        changes += [change] if change else []
    gateway = ChainGateway(anvil.url, deployment, keys, confirmations=settings.confirmations)
    return ChainRuntime(gateway=gateway, anvil=anvil, sandbox_lock=lock, changes=changes)


def _follow_profile_policy(
    w3: Web3, keys: RoleKeys, deployment: Deployment, settings: Settings
) -> tuple[Deployment, StartUpChange | None]:
    """R1, R60: a sandbox token kept from an earlier start takes the selected profile's buffer and
    attestation age (the sandbox holds the admin key), so the on-chain mint cap is the profile's.
    The change is returned for the audit log: a mint cap moved by start-up is a governance fact."""
    wanted = (settings.chain_buffer_bps(), settings.chain_max_attestation_age())
    token = w3.eth.contract(address=deployment.token_address, abi=deployment.abi)
    _, _, max_age, buffer = token.functions.reserveState().call()
    if (buffer, max_age) == wanted:
        return deployment, None
    receipt = send_and_wait(w3, keys.admin, token.functions.setReservePolicy(*wanted))
    log.info(
        "reserve policy of the sandbox token %s set to the %s profile's: buffer %s bps, attestation age %s s",
        deployment.token_address, settings.regime_profile, *wanted,
    )
    change = StartUpChange(
        action="token.reserve_policy_set",
        entity_type="token",
        entity_id=deployment.token_address,
        data={
            "regime_profile": settings.regime_profile,
            "buffer_bps_before": int(buffer),
            "buffer_bps": wanted[0],
            "max_attestation_age_s_before": int(max_age),
            "max_attestation_age_s": wanted[1],
            "tx_hash": "0x" + bytes(receipt["transactionHash"]).hex(),
            "block_number": int(receipt["blockNumber"]),
        },
        rule_ids=("R1", "R60"),
    )
    deployment = replace(deployment, buffer_bps=wanted[0], max_attestation_age_s=wanted[1])
    deployment.save(Path(settings.deployment_file))
    return deployment, change


def connect_configured_chain(settings: Settings) -> ChainRuntime:
    assert settings.rpc_url is not None
    deployment_file = Path(settings.deployment_file)
    if not deployment_file.exists():
        raise ChainSetupError(
            f"RPC_URL is set but the deployment file {deployment_file} does not exist; "
            "deploy with `python scripts/deploy.py --rpc-url ...` or set CNH_DEPLOYMENT_FILE"
        )
    deployment = Deployment.load(deployment_file)
    keys = keys_from_settings(settings)
    gateway = ChainGateway(settings.rpc_url, deployment, keys, confirmations=settings.confirmations)
    try:
        chain_id = gateway.w3.eth.chain_id
    except Exception as exc:  # noqa: BLE001
        raise ChainSetupError(f"cannot reach the chain at {settings.rpc_url}: {exc.__class__.__name__}") from exc
    if chain_id != deployment.chain_id:
        raise ChainSetupError(
            f"the chain at {settings.rpc_url} has id {chain_id}, the deployment says "
            f"{deployment.chain_id}; point RPC_URL at the right chain"
        )
    check_chain_allowed(chain_id, allow_mainnet=settings.allow_mainnet)
    # A chain with the right id but not the deployment's token (an Anvil restarted without its
    # --state file, another chain on the same id): every call to the token would fail.
    code = gateway.w3.eth.get_code(deployment.token_address)
    if "0x" + Web3.keccak(code).hex().removeprefix("0x") != deployment.code_hash:
        found = "no contract" if not code else "a contract other than the deployed tCNH"
        raise ChainSetupError(
            f"the chain at {settings.rpc_url} has {found} at {deployment.token_address}, where the deployment file "
            f"{deployment_file} puts tCNH: the chain was reset (e.g. an Anvil restarted without its --state file) or "
            "RPC_URL points at another chain with the same id; point RPC_URL at the deployment's chain"
        )
    # R1, R60: the token's mint cap must use the profile's buffer; one set by a deploy for another
    # regime would refuse mints the service accepts (or allow ones it should not back).
    buffer = gateway.reserve_state().buffer_bps
    if buffer != settings.chain_buffer_bps():
        raise ChainSetupError(
            f"the token {deployment.token_address} has an on-chain reserve buffer of {buffer} bps, the regime "
            f"profile {settings.regime_profile!r} {settings.chain_buffer_bps()} bps (R1); set CNH_REGIME_PROFILE "
            f"to the token's regime, or have the admin key call setReservePolicy({settings.chain_buffer_bps()}, "
            f"{settings.chain_max_attestation_age()}) on the token"
        )
    return ChainRuntime(gateway=gateway)


def chain_from_settings(settings: Settings) -> ChainRuntime:
    return spawn_sandbox_chain(settings) if settings.rpc_url is None else connect_configured_chain(settings)
