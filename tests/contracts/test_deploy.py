"""`deploy()` (R42 roles on exactly the intended keys, R55 main-net refusal) and the deployment record."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from web3 import Web3

from issuer_service.chain.anvil import AnvilProcess, start_anvil
from issuer_service.chain.deploy import (
    ROLE_CONSTANTS,
    DeployConfig,
    DeployError,
    Deployment,
    actual_roles,
    deploy,
    verify_roles,
)
from issuer_service.chain.keys import RoleKeys
from issuer_service.chain.networks import MainnetRefused
from tests.chain_fixtures import TokenEnv


def _deploy_fresh(env: TokenEnv, **config: int) -> tuple[RoleKeys, Deployment, object]:
    keys = RoleKeys.generate()
    keys.fund_on_anvil(env.w3)
    deployment = deploy(env.w3, DeployConfig(keys=keys, **config))
    token = env.w3.eth.contract(address=deployment.token_address, abi=deployment.abi)
    return keys, deployment, token


def test_deploy_leaves_exactly_the_intended_roles_on_exactly_the_intended_keys(token_env: TokenEnv) -> None:
    """R42: one holder per role, each role on its own key, and nobody else holds anything."""
    keys, deployment, token = _deploy_fresh(token_env)
    assert actual_roles(token) == {
        "admin": [keys.admin.address],
        "minter_admin": [keys.minter_admin.address],
        "pauser": [keys.pauser.address],
        "compliance": [keys.compliance.address],
        "attestor": [keys.attestor.address],
        "minter": [keys.minter.address],
    }
    assert deployment.roles == {name: getattr(keys, name).address for name in ROLE_CONSTANTS}
    assert deployment.minters == {keys.minter.address: DeployConfig(keys=keys).minter_allowance_units}
    # Every key against every role: true exactly on the diagonal.
    for holder_name, address in keys.addresses().items():
        for role_name, constant in ROLE_CONSTANTS.items():
            role = getattr(token.functions, constant)().call()
            assert token.functions.hasRole(role, address).call() is (holder_name == role_name), (holder_name, role_name)
        assert token.functions.isMinter(address).call() is (holder_name == "minter"), holder_name


def test_the_deployer_holds_no_role_and_is_not_a_minter(token_env: TokenEnv) -> None:
    keys, deployment, token = _deploy_fresh(token_env)
    assert deployment.deployer == keys.deployer.address
    for constant in ROLE_CONSTANTS.values():
        role = getattr(token.functions, constant)().call()
        assert token.functions.hasRole(role, keys.deployer.address).call() is False, constant
    assert token.functions.isMinter(keys.deployer.address).call() is False
    assert keys.deployer.address not in sum(actual_roles(token).values(), [])


def test_deploy_applies_the_reserve_policy_and_first_attestation(token_env: TokenEnv) -> None:
    """R1/R60: buffer, max age and the first attestation come from the config."""
    _, deployment, token = _deploy_fresh(token_env, buffer_bps=0, max_attestation_age_s=3_600,
                                         initial_reserve_units=5_000_000)
    reserve, attested_at, max_age, buffer = token.functions.reserveState().call()
    assert (reserve, max_age, buffer) == (5_000_000, 3_600, 0)
    assert attested_at > 0
    assert (deployment.buffer_bps, deployment.max_attestation_age_s) == (0, 3_600)
    assert token.functions.mintableSupply().call() == 5_000_000
    assert deployment.chain_id == 31337
    assert token.functions.symbol().call() == "tCNH"  # R55


def test_deployment_record_round_trips_through_json(token_env: TokenEnv, tmp_path: Path) -> None:
    _, deployment, _ = _deploy_fresh(token_env)
    path = tmp_path / "nested" / "deployment.json"
    deployment.save(path)
    raw = json.loads(path.read_text())
    assert raw["label"].startswith("SANDBOX")  # R55
    assert "abi" not in raw
    assert all(isinstance(v, str) for v in raw["minters"].values())  # big ints survive any JSON reader
    loaded = Deployment.load(path)
    assert loaded == deployment
    assert loaded.abi == deployment.abi and loaded.abi


def test_verify_roles_rejects_an_extra_role_holder(token_env: TokenEnv) -> None:
    """R42: the post-deploy check fails loudly if anyone else holds a role."""
    keys, deployment, token = _deploy_fresh(token_env)
    intruder = token_env.new_account()
    pauser_role = token.functions.PAUSER_ROLE().call()
    token_env.send(keys.admin, token.functions.grantRole(pauser_role, intruder.address))
    with pytest.raises(DeployError, match="pauser") as excinfo:
        verify_roles(token, deployment.roles, deployment.minters)
    assert intruder.address in str(excinfo.value)


def test_verify_roles_rejects_an_unexpected_minter(token_env: TokenEnv) -> None:
    keys, deployment, token = _deploy_fresh(token_env)
    extra = token_env.new_account()
    token_env.send(keys.minter_admin, token.functions.configureMinter(extra.address, 1))
    with pytest.raises(DeployError, match="minter") as excinfo:
        verify_roles(token, deployment.roles, deployment.minters)
    assert extra.address in str(excinfo.value)


def test_an_unfunded_deployer_fails_naming_the_key(token_env: TokenEnv) -> None:
    env = token_env
    keys = RoleKeys.generate()
    for name, address in keys.addresses().items():
        if name != "deployer":
            env.w3.provider.make_request("anvil_setBalance", [address, hex(10**21)])
    nonce_before = env.w3.eth.get_transaction_count(keys.deployer.address)
    with pytest.raises(DeployError) as excinfo:
        deploy(env.w3, DeployConfig(keys=keys))
    message = str(excinfo.value)
    assert f"deployer ({keys.deployer.address})" in message
    for name in ("admin", "minter_admin", "pauser", "compliance", "attestor", "minter"):
        assert getattr(keys, name).address not in message, name
    assert env.w3.eth.get_transaction_count(keys.deployer.address) == nonce_before


@pytest.fixture(scope="module")
def mainnet_anvil() -> Iterator[AnvilProcess]:
    """A separate local chain that reports Ethereum main-net's chain id (1)."""
    with start_anvil(chain_id=1) as process:
        yield process


def test_deploy_refuses_a_known_mainnet_chain_id(mainnet_anvil: AnvilProcess) -> None:
    """R55: the sandbox will not deploy to a known main-net unless explicitly told so."""
    w3 = Web3(Web3.HTTPProvider(mainnet_anvil.url))
    assert w3.eth.chain_id == 1
    keys = RoleKeys.generate()
    keys.fund_on_anvil(w3)
    with pytest.raises(MainnetRefused, match="Ethereum"):
        deploy(w3, DeployConfig(keys=keys))
    assert w3.eth.get_transaction_count(keys.deployer.address) == 0  # refused before sending anything


def test_deploy_to_mainnet_chain_id_proceeds_only_with_allow_mainnet(mainnet_anvil: AnvilProcess) -> None:
    w3 = Web3(Web3.HTTPProvider(mainnet_anvil.url))
    keys = RoleKeys.generate()
    keys.fund_on_anvil(w3)
    deployment = deploy(w3, DeployConfig(keys=keys, allow_mainnet=True))
    assert deployment.chain_id == 1
    token = w3.eth.contract(address=deployment.token_address, abi=deployment.abi)
    assert actual_roles(token)["admin"] == [keys.admin.address]


def test_a_node_out_of_funds_error_during_deploy_becomes_the_fund_it_first_line(
    token_env: TokenEnv, monkeypatch: pytest.MonkeyPatch
) -> None:
    """If a key runs short after the up-front check (fees rose), the node's raw RPC error is
    translated into a DeployError naming the key, not a Web3RPCError."""
    keys = RoleKeys.generate()
    keys.fund_on_anvil(token_env.w3, wei=1000)
    monkeypatch.setattr("issuer_service.chain.deploy._require_funds", lambda *_args, **_kwargs: None)
    with pytest.raises(DeployError, match="fund it first") as excinfo:
        deploy(token_env.w3, DeployConfig(keys=keys))
    assert f"deployer ({keys.deployer.address}) cannot pay for gas on chain 31337 (balance 1000 wei)" in str(
        excinfo.value
    )


def test_the_embedded_sandbox_restarted_under_another_profile_enforces_that_profile_s_buffer_on_chain(
    tmp_path: Path,
) -> None:
    """R1, R60: the spawned chain and its token are kept across restarts; after CNH_REGIME_PROFILE
    changes, the token's mint cap uses the new profile's buffer, not the first start's (else mints the
    service accepts at 0% would wait forever behind a 2% on-chain cap). R50: the change of the
    mint cap is written to the audit log at start-up, with its transaction."""
    from fastapi.testclient import TestClient
    from sqlalchemy import select

    from issuer_service.app import create_app
    from issuer_service.audit.models import AuditLogEntry
    from issuer_service.audit.service import verify_audit_log
    from issuer_service.chain.runtime import StartUpChange, chain_from_settings
    from issuer_service.db import make_engine, make_sessionmaker
    from issuer_service.settings import Settings

    def settings_for(profile: str) -> Settings:
        return Settings(  # type: ignore[call-arg]
            _env_file=None,
            regime_profile=profile,
            deployment_file=tmp_path / "deployment.json",
            database_url=f"sqlite:///{tmp_path / 'issuer.db'}",
            rpc_url=None,
            worker_in_process=False,
        )

    def start(profile: str) -> tuple[tuple[int, int], Deployment, list[StartUpChange]]:
        settings = settings_for(profile)
        runtime = chain_from_settings(settings)
        try:
            state = runtime.gateway.reserve_state()
            return (state.buffer_bps, state.max_age_s), Deployment.load(settings.deployment_file), runtime.changes
        finally:
            runtime.close()

    (policy, first, changes) = start("hk")
    assert policy == (200, 86_400) and changes == []  # deployed with the profile's policy: nothing changed
    (policy, again, changes) = start("eu-mica")
    assert again.token_address == first.token_address  # the same token, kept
    assert policy == (0, 86_400)
    assert (again.buffer_bps, again.max_attestation_age_s) == (0, 86_400)  # the record says what the chain does
    assert [(c.action, c.entity_id, c.rule_ids) for c in changes] == [
        ("token.reserve_policy_set", again.token_address, ("R1", "R60"))
    ]
    assert start("eu-mica")[2] == []  # already the profile's: nothing sent, nothing to record

    app = create_app(settings_for("eu-mica"))
    app.state.start_up_changes = changes  # as `python -m issuer_service serve` hands them over
    with TestClient(app):
        pass
    engine = make_engine(f"sqlite:///{tmp_path / 'issuer.db'}")
    try:
        with make_sessionmaker(engine)() as session:
            written = select(AuditLogEntry).where(AuditLogEntry.action == "token.reserve_policy_set")
            record = session.scalars(written).one()
            assert record.actor == "system" and record.entity_id == again.token_address
            assert {k: record.data[k] for k in ("regime_profile", "buffer_bps_before", "buffer_bps")} == {
                "regime_profile": "eu-mica",
                "buffer_bps_before": 200,
                "buffer_bps": 0,
            }
            assert record.data["tx_hash"] == changes[0].data["tx_hash"]
            assert verify_audit_log(session).ok
    finally:
        engine.dispose()


def test_a_configured_chain_whose_token_buffer_differs_from_the_profile_s_stops_start_up_naming_both(
    token_env: TokenEnv, tmp_path: Path
) -> None:
    """R1, R60: a token deployed with the hk buffer (200 bps) and a service set to eu-mica (0%) would
    accept mints the token then refuses; start-up says so instead."""
    from issuer_service.chain.runtime import ChainSetupError, chain_from_settings
    from issuer_service.settings import Settings

    token_env.deployment.save(tmp_path / "deployment.json")
    token_env.keys.save(tmp_path / "keys.json")

    def settings(profile: str) -> Settings:
        return Settings(  # type: ignore[call-arg]
            _env_file=None,
            regime_profile=profile,
            rpc_url=token_env.anvil.url,
            deployment_file=tmp_path / "deployment.json",
            key_file=tmp_path / "keys.json",
        )

    chain_from_settings(settings("hk")).close()  # the same buffer: starts
    with pytest.raises(ChainSetupError) as refused:
        chain_from_settings(settings("eu-mica"))
    message = str(refused.value)
    assert "200" in message and "'eu-mica'" in message and "CNH_REGIME_PROFILE" in message, message
    assert "setReservePolicy" in message, message
