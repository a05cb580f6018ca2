"""The deploy command's promise (issue 3): a bad RPC URL, a wrong key file or unfunded keys end in
one line saying what to fix, a non-zero exit and no traceback, before any transaction is sent."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from eth_account import Account
from web3 import Web3

from issuer_service.chain.anvil import AnvilProcess, free_port, start_anvil
from issuer_service.chain.deploy import Deployment
from issuer_service.chain.deploy_cli import main
from issuer_service.chain.keys import KeyFileError, RoleKeys
from tests.chain_fixtures import TokenEnv

ROOT = Path(__file__).resolve().parents[2]
SENDERS = ("deployer", "minter_admin", "attestor")


@pytest.fixture(autouse=True)
def _no_debug(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CNH_DEBUG", raising=False)  # CNH_DEBUG=1 re-raises instead of one line


def run_deploy(capsys: pytest.CaptureFixture[str], tmp_path: Path, *args: str) -> tuple[int, str]:
    """Run the CLI in-process; return its exit code and its stderr."""
    code = main(["--out", str(tmp_path / "out" / "deployment.json"), *args])
    return code, capsys.readouterr().err


def deploy_with_key_file(capsys: pytest.CaptureFixture[str], tmp_path: Path, env: TokenEnv, key_file: Path) -> str:
    """Run the CLI against the test chain with `key_file`; return its one failure line."""
    return one_line_failure(*run_deploy(capsys, tmp_path, "--rpc-url", env.anvil.url, "--keys-file", str(key_file)))


def one_line_failure(code: int, stderr: str) -> str:
    """The CLI failed with exactly one error line (the last line) and no traceback."""
    assert code != 0
    assert "Traceback" not in stderr
    lines = [line for line in stderr.splitlines() if line.strip()]
    failures = [line for line in lines if line.startswith("deploy failed: ")]
    assert failures == [lines[-1]], stderr
    assert "CNH_DEBUG" not in failures[0], f"an untranslated exception: {failures[0]}"
    return failures[0]


def write_keys(path: Path, keys: dict[str, str]) -> Path:
    path.write_text(json.dumps({"keys": keys}))
    return path


def fresh_hex_keys() -> dict[str, str]:
    return {name: "0x" + bytes(Account.create().key).hex() for name in RoleKeys.__dataclass_fields__}


def fund(w3: Web3, hex_keys: dict[str, str], wei: int) -> None:
    for key in hex_keys.values():
        w3.provider.make_request("anvil_setBalance", [Account.from_key(key).address, hex(wei)])


# --------------------------------------------------------------------------------------------------
# The RPC URL
# --------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("url", ["not a url", "http://127.0.0.1:{port}"])
def test_a_bad_or_unreachable_rpc_url_says_check_rpc_url(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, url: str
) -> None:
    url = url.format(port=free_port())
    line = one_line_failure(*run_deploy(capsys, tmp_path, "--rpc-url", url))
    assert url in line and "check --rpc-url" in line


# --------------------------------------------------------------------------------------------------
# The key file
# --------------------------------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("{not json", "is not valid JSON"),
        ('["0xabc", "0xdef"]', '"keys": {role: private key}'),
        ('{"deployer": "0x01"}', '"keys": {role: private key}'),
        ('{"keys": {"deployer": "0x01"}}', "missing private keys for roles: admin, minter_admin"),
    ],
    ids=["not-json", "list-shaped", "keys-not-nested", "roles-missing"],
)
def test_a_malformed_key_file_says_what_is_wrong_with_it(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, token_env: TokenEnv, content: str, expected: str
) -> None:
    key_file = tmp_path / "keys.json"
    key_file.write_text(content)
    line = deploy_with_key_file(capsys, tmp_path, token_env, key_file)
    assert str(key_file) in line or "missing" in line
    assert expected in line


def test_a_malformed_private_key_says_the_expected_format(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, token_env: TokenEnv
) -> None:
    keys = fresh_hex_keys() | {"pauser": "0x1234"}
    key_file = write_keys(tmp_path / "keys.json", keys)
    line = deploy_with_key_file(capsys, tmp_path, token_env, key_file)
    assert "0x + 64 hex digits" in line


@pytest.mark.parametrize(
    "shared", [("pauser", "compliance"), ("minter", "admin"), ("deployer", "admin"), ("attestor", "minter_admin")]
)
def test_a_key_file_giving_one_key_two_roles_is_refused_naming_the_roles(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, token_env: TokenEnv, shared: tuple[str, str]
) -> None:
    """R42: refused before anything is sent, naming both roles (the chain would only say 0xbcf353a2)."""
    env = token_env
    keys = fresh_hex_keys()
    keys[shared[1]] = keys[shared[0]]
    fund(env.w3, keys, 10**21)  # funded, so only the sharing can stop it
    block_before = env.w3.eth.block_number
    key_file = write_keys(tmp_path / "keys.json", keys)
    line = deploy_with_key_file(capsys, tmp_path, env, key_file)
    assert "R42" in line and "own key" in line
    assert f"{shared[0]} and {shared[1]}" in line or f"{shared[1]} and {shared[0]}" in line
    assert Account.from_key(keys[shared[0]]).address in line
    assert env.w3.eth.block_number == block_before


def test_role_keys_refuse_one_address_in_two_roles_however_they_are_built() -> None:
    """R42 in the library too: from_hex (settings) and the constructor, not only key files."""
    keys = fresh_hex_keys()
    keys["compliance"] = keys["pauser"]
    with pytest.raises(KeyFileError, match="pauser and compliance share"):
        RoleKeys.from_hex(keys)
    generated = RoleKeys.generate()
    accounts = {name: getattr(generated, name) for name in RoleKeys.__dataclass_fields__}
    with pytest.raises(KeyFileError, match="admin and minter share"):
        RoleKeys(**accounts | {"minter": generated.admin})


# --------------------------------------------------------------------------------------------------
# Gas money
# --------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("wei", [0, 1000], ids=["unfunded", "under-funded"])
def test_keys_without_enough_gas_money_are_named_with_the_amounts_needed(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, token_env: TokenEnv, wei: int
) -> None:
    env = token_env
    keys = fresh_hex_keys()
    fund(env.w3, keys, wei)
    block_before = env.w3.eth.block_number
    key_file = write_keys(tmp_path / "keys.json", keys)
    line = deploy_with_key_file(capsys, tmp_path, env, key_file)
    assert line.endswith("fund them first")
    for name in SENDERS:
        assert f"{name} ({Account.from_key(keys[name]).address}) has {wei} wei, needs at least " in line, name
    for name in ("admin", "pauser", "compliance", "minter"):  # they send nothing at deployment
        assert Account.from_key(keys[name]).address not in line, name
    assert env.w3.eth.block_number == block_before


def test_only_the_short_key_is_named_when_the_others_are_funded(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, token_env: TokenEnv
) -> None:
    env = token_env
    keys = fresh_hex_keys()
    fund(env.w3, keys, 10**21)
    attestor = Account.from_key(keys["attestor"]).address
    env.w3.provider.make_request("anvil_setBalance", [attestor, hex(10**9)])
    key_file = write_keys(tmp_path / "keys.json", keys)
    line = deploy_with_key_file(capsys, tmp_path, env, key_file)
    assert f"attestor ({attestor}) has {10**9} wei" in line
    assert "deployer" not in line and "minter_admin" not in line


# --------------------------------------------------------------------------------------------------
# A spawned Anvil and a main-net
# --------------------------------------------------------------------------------------------------

def test_a_key_file_without_rpc_url_deploys_on_a_spawned_anvil_with_those_keys(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """The Anvil the CLI spawns funds the file's keys, so `--keys-file` alone works."""
    keys = fresh_hex_keys()
    key_file = write_keys(tmp_path / "keys.json", keys)
    code, stderr = run_deploy(capsys, tmp_path, "--keys-file", str(key_file))
    assert code == 0, stderr
    deployment = Deployment.load(tmp_path / "out" / "deployment.json")
    addresses = {name: Account.from_key(key).address for name, key in keys.items()}
    assert deployment.deployer == addresses["deployer"]
    assert deployment.roles == {name: addresses[name] for name in deployment.roles}
    assert list(deployment.minters) == [addresses["minter"]]
    assert not (tmp_path / "out" / "keys.json").exists()  # no sandbox keys generated over the user's


@pytest.fixture(scope="module")
def mainnet_anvil() -> Iterator[AnvilProcess]:
    """A local chain that reports Ethereum main-net's chain id (1)."""
    with start_anvil(chain_id=1) as process:
        yield process


@pytest.mark.parametrize("with_keys", [False, True], ids=["no-key-file", "key-file"])
def test_mainnet_is_refused_before_keys_are_asked_for_or_read(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, mainnet_anvil: AnvilProcess, with_keys: bool
) -> None:
    """R55 comes first: on chain id 1 the fix is another chain, not a key file."""
    args = ["--rpc-url", mainnet_anvil.url]
    if with_keys:
        args += ["--keys-file", str(tmp_path / "absent.json")]
    line = one_line_failure(*run_deploy(capsys, tmp_path, *args))
    assert "main-net" in line and "R55" in line and "--i-know-this-is-mainnet" in line
    assert "keys-file" not in line and "absent.json" not in line


# --------------------------------------------------------------------------------------------------
# The real entry point
# --------------------------------------------------------------------------------------------------

def test_the_script_prints_one_line_and_no_traceback(tmp_path: Path, token_env: TokenEnv) -> None:
    """`python scripts/deploy.py` as a user runs it: exit 1, one stderr line, nothing on stdout."""
    keys = fresh_hex_keys()
    keys["minter"] = keys["admin"]
    fund(token_env.w3, keys, 10**21)
    key_file = write_keys(tmp_path / "keys.json", keys)
    result = subprocess.run(  # noqa: S603 - our own script
        [sys.executable, str(ROOT / "scripts" / "deploy.py"), "--rpc-url", token_env.anvil.url,
         "--keys-file", str(key_file), "--out", str(tmp_path / "deployment.json")],
        capture_output=True, text=True, timeout=120, check=False, cwd=ROOT,
        env={k: v for k, v in os.environ.items() if k != "CNH_DEBUG"},
    )
    assert result.returncode == 1
    assert result.stdout == ""
    assert "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines() == [result.stderr.strip()]
    assert result.stderr.startswith("deploy failed: each role needs its own key (R42): admin and minter share")


@pytest.mark.parametrize(
    ("option", "value", "says"),
    [
        ("--buffer-bps", "-1", "-1 is outside 0-10000"),
        ("--buffer-bps", "10001", "10001 is outside 0-10000"),
        ("--max-attestation-age", "0", "0 is outside 1-4294967295"),
        ("--max-attestation-age", "4294967296", "4294967296 is outside 1-4294967295"),
        ("--buffer-bps", "two", "'two' is not a whole number"),
    ],
)
def test_a_reserve_policy_the_token_would_refuse_is_refused_before_anything_is_deployed(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, option: str, value: str, says: str
) -> None:  # R1: the constructor reverts InvalidReservePolicy on these
    with pytest.raises(SystemExit) as exited:
        main(["--out", str(tmp_path / "deployment.json"), option, value])
    assert exited.value.code == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and says in err and option in err, err
    assert not (tmp_path / "deployment.json").exists()


def test_the_reserve_policy_defaults_to_the_regime_profile_the_service_will_run_under(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, token_env: TokenEnv, monkeypatch: pytest.MonkeyPatch
) -> None:  # R1, R60: deploy, then serve with the same CNH_REGIME_PROFILE, and the buffers agree
    from issuer_service.chain.runtime import chain_from_settings
    from issuer_service.settings import Settings

    monkeypatch.setenv("CNH_REGIME_PROFILE", "eu-mica")
    keys = fresh_hex_keys()
    fund(token_env.w3, keys, 10**21)
    key_file = write_keys(tmp_path / "keys.json", keys)
    code, err = run_deploy(capsys, tmp_path, "--rpc-url", token_env.anvil.url, "--keys-file", str(key_file))
    assert code == 0, err
    out = tmp_path / "out" / "deployment.json"
    deployment = Deployment.load(out)
    assert (deployment.buffer_bps, deployment.max_attestation_age_s) == (0, 86_400)
    settings = Settings(_env_file=None, rpc_url=token_env.anvil.url, deployment_file=out, key_file=key_file)  # type: ignore[call-arg]
    chain_from_settings(settings).close()  # starts: the token's buffer is the profile's

    monkeypatch.setenv("CNH_REGIME_PROFILE", "atlantis")
    with pytest.raises(SystemExit) as exited:
        main(["--out", str(tmp_path / "other.json")])
    assert exited.value.code == 2
    err = capsys.readouterr().err
    assert "CNH_REGIME_PROFILE" in err and "unknown regime profile 'atlantis'" in err, err


# --------------------------------------------------------------------------------------------------
# The files it writes
# --------------------------------------------------------------------------------------------------

def test_an_existing_deployment_file_is_never_overwritten(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, token_env: TokenEnv
) -> None:
    """The file is the only record of a live token's address: a second deploy must not replace it."""
    env = token_env
    keys = fresh_hex_keys()
    fund(env.w3, keys, 10**21)
    out = tmp_path / "out" / "deployment.json"
    out.parent.mkdir()
    out.write_text('{"token_address": "0x1111111111111111111111111111111111111111"}\n')
    block_before = env.w3.eth.block_number
    line = deploy_with_key_file(capsys, tmp_path, env, write_keys(tmp_path / "keys.json", keys))
    assert str(out) in line and "already exists" in line and "--out" in line
    assert out.read_text() == '{"token_address": "0x1111111111111111111111111111111111111111"}\n'
    assert env.w3.eth.block_number == block_before


def test_generated_sandbox_keys_never_overwrite_an_existing_key_file(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """keys.json beside --out may hold the keys of an earlier token: losing them loses that token (R43)."""
    key_file = tmp_path / "out" / "keys.json"
    key_file.parent.mkdir()
    key_file.write_text('{"keys": {}}')
    line = one_line_failure(*run_deploy(capsys, tmp_path))
    assert str(key_file) in line and "already exists" in line
    assert key_file.read_text() == '{"keys": {}}'
    assert not (tmp_path / "out" / "deployment.json").exists()


def test_an_out_path_that_cannot_be_written_is_named_before_anything_is_deployed(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, token_env: TokenEnv
) -> None:
    """Not blamed on the RPC URL, and not found out only after the token is on chain."""
    env = token_env
    keys = fresh_hex_keys()
    fund(env.w3, keys, 10**21)
    (tmp_path / "a-file").write_text("")
    out = tmp_path / "a-file" / "deployment.json"
    block_before = env.w3.eth.block_number
    code, stderr = main(["--out", str(out), "--rpc-url", env.anvil.url,
                         "--keys-file", str(write_keys(tmp_path / "keys.json", keys))]), capsys.readouterr().err
    line = one_line_failure(code, stderr)
    assert str(out) in line and "rpc-url" not in line
    assert env.w3.eth.block_number == block_before
