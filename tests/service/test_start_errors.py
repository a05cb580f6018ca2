"""`python -m issuer_service` with bad settings stops with one line naming what to fix and a
non-zero exit, never a traceback: a bad port, an unknown regime profile (R60), a placeholder
secret in production mode (R43), a database that is not there or a URL that is not one."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from issuer_service.chain.anvil import free_port

ROOT = Path(__file__).resolve().parents[2]
PG = os.environ.get("CNH_TEST_PG_URL", "postgresql+psycopg://root@127.0.0.1:5432/postgres").rsplit("/", 1)[0]


def _start(tmp_path: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("CNH_") and k not in ("DATABASE_URL", "RPC_URL")}
    return subprocess.run(
        [sys.executable, "-m", "issuer_service", *args],
        env={**clean, "CNH_DATABASE_URL": f"sqlite:///{tmp_path}/issuer.db", **env},
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.parametrize(
    ("args", "env", "says"),
    [
        (("--port", "99999"), {}, "cannot start: --port: Input should be less than or equal to 65535"),
        ((), {"CNH_PORT": "abc"}, "cannot start: CNH_PORT: Input should be a valid integer"),
        ((), {"CNH_REGIME_PROFILE": "atlantis"}, "unknown regime profile 'atlantis'; choose one of: eu-mica, hk"),
        ((), {"CNH_MODE": "production"}, "CNH_API_KEY_PEPPER is the sandbox placeholder"),
        ((), {"CNH_DATABASE_URL": "not a url"}, "cannot start: DATABASE_URL is not a database URL"),
        (
            ("worker",),
            {"CNH_DATABASE_URL": f"{PG}/cnh_no_such_database", "RPC_URL": "http://127.0.0.1:9"},
            'database "cnh_no_such_database" does not exist',
        ),
    ],
    ids=["port-range", "port-not-a-number", "unknown-profile", "placeholder-pepper", "bad-url", "missing-database"],
)
def test_bad_settings_stop_the_service_with_one_line_and_no_traceback(
    tmp_path: Path, args: tuple[str, ...], env: dict[str, str], says: str
) -> None:
    result = _start(tmp_path, *args, **env)
    assert result.returncode != 0
    output = (result.stdout + result.stderr).strip()
    assert "Traceback" not in output, output
    assert len(output.splitlines()) == 1 and says in output, output
    assert not (tmp_path / ".sandbox").exists(), "nothing was set up before the refusal"


# Runs the service with compliance/profiles/ pointed at a folder holding one edited hk.json.
_WITH_PROFILES_DIR = (
    "import sys; from pathlib import Path; import compliance.profiles as p; p.PROFILES_DIR = Path(sys.argv[1]); "
    "from issuer_service.__main__ import main; raise SystemExit(main([]))"
)


@pytest.mark.parametrize(
    ("edit", "says"),
    [
        (('"reserve_buffer_bps": 200', '"reserve_buffer_bps": 2.5'), "hk.json: profile numbers must be integers"),
        (('"concentration_limit_bps": 5000', '"concentration_limit_bps": -1'), "concentration_limit_bps must not be"),
        (('"attestation_cadence": "daily"', '"attestation_cadnce": "daily"'), "unknown keys ['attestation_cadnce']"),
        (('"hk_holidays.json"', '"hk_holidayz.json"'), "hk_holidayz.json"),
        (("{", "["), "hk.json: not valid JSON"),
    ],
    ids=["float", "negative", "typo-key", "missing-calendar", "not-json"],
)
def test_a_malformed_profile_file_stops_the_service_with_one_line_naming_the_setting_and_the_file(
    tmp_path: Path, edit: tuple[str, str], says: str
) -> None:
    """R60: a profile file an operator broke stops start-up, not the first mint or redemption."""
    profiles = tmp_path / "profiles"
    profiles.mkdir()
    shipped = (ROOT / "compliance" / "profiles" / "hk.json").read_text(encoding="utf-8")
    assert edit[0] in shipped
    (profiles / "hk.json").write_text(shipped.replace(edit[0], edit[1], 1), encoding="utf-8")
    clean = {k: v for k, v in os.environ.items() if not k.startswith("CNH_") and k not in ("DATABASE_URL", "RPC_URL")}
    result = subprocess.run(
        [sys.executable, "-c", _WITH_PROFILES_DIR, str(profiles)],
        env={**clean, "CNH_DATABASE_URL": f"sqlite:///{tmp_path}/issuer.db", "PYTHONPATH": str(ROOT)},
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    output = (result.stdout + result.stderr).strip()
    assert "Traceback" not in output, output
    assert len(output.splitlines()) == 1, output
    assert output.startswith("cannot start: CNH_REGIME_PROFILE: ") and says in output, output


def test_a_port_in_use_is_refused_in_one_line_before_a_chain_is_spawned_or_a_key_shown(tmp_path: Path) -> None:
    """A busy port used to be found only after Anvil was spawned, tCNH deployed and the shown-once admin key
    printed, and then the service died with uvicorn's exit 3 (the CLI's "the API refused")."""
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        result = _start(tmp_path, "--port", str(port))
    output = (result.stdout + result.stderr).strip()
    assert result.returncode == 1, output
    assert len(output.splitlines()) == 1 and f"cannot start: port {port} on 127.0.0.1 is in use" in output, output
    assert "--port" in output and "Admin API key" not in output
    assert not (tmp_path / ".sandbox").exists(), "nothing was set up before the refusal"


@pytest.mark.parametrize(
    ("args", "env", "says"),
    [
        (("--port", "99999"), {}, "--port: Input should be less than or equal to 65535"),
        (("--port", "0"), {}, "--port: Input should be greater than or equal to 1"),
        ((), {"CNH_PORT": "abc"}, "CNH_PORT: Input should be a valid integer"),
        ((), {"CNH_DATABASE_URL": "not a url"}, "cannot start: DATABASE_URL is not a database URL"),
        (("worker",), {}, "the standalone worker needs RPC_URL"),
    ],
    ids=["port-range", "port-zero", "port-env-not-a-number", "bad-database-url", "worker-without-rpc-url"],
)
def test_a_bad_or_missing_setting_is_a_usage_error_with_exit_2(
    tmp_path: Path, args: tuple[str, ...], env: dict[str, str], says: str
) -> None:
    """Exit 2 is bad usage (docs/runbook.md §7), as for `--port abc`; 1 is kept for work that failed."""
    result = _start(tmp_path, *args, **env)
    output = (result.stdout + result.stderr).strip()
    assert result.returncode == 2, output
    assert len(output.splitlines()) == 1 and says in output, output


@pytest.mark.parametrize(
    ("env", "says"),
    [
        ({"CNH_DATABASE_URL": "sqlite:///.sandbox/issuer.db"}, "cannot start: the database at sqlite:///.sandbox/"),
        (
            {"CNH_DATABASE_URL": "sqlite:///issuer.db"},
            "cannot start: cannot use the sandbox directory .sandbox for the chain state, keys and deployment",
        ),
    ],
    ids=["database-directory", "chain-directory"],
)
def test_a_data_directory_that_cannot_be_made_stops_the_service_with_one_line(
    tmp_path: Path, env: dict[str, str], says: str
) -> None:
    (tmp_path / ".sandbox").write_text("a file where the sandbox directory goes")
    result = _start(tmp_path, "--port", str(free_port()), CNH_LOG_LEVEL="WARNING", **env)
    output = (result.stdout + result.stderr).strip()
    assert result.returncode == 1, output
    assert "Traceback" not in output, output
    assert len(output.splitlines()) == 1 and says in output and "File exists" in output, output


@pytest.mark.parametrize("command", ["serve", "worker"])
def test_a_chain_without_the_deployed_token_stops_the_service_with_one_line(tmp_path: Path, command: str) -> None:
    """An Anvil restarted without its --state file (or RPC_URL at another chain with the same id) keeps
    the chain id but has no tCNH at the deployment's address: the service and the worker used to stop
    with web3's BadFunctionCallOutput traceback from the first call to the token."""
    from web3 import Web3

    from issuer_service.chain.anvil import start_anvil
    from issuer_service.chain.deploy import DeployConfig, deploy
    from issuer_service.chain.keys import RoleKeys

    with start_anvil() as anvil:
        w3 = Web3(Web3.HTTPProvider(anvil.url))
        fresh = w3.provider.make_request("evm_snapshot", [])["result"]
        keys = RoleKeys.generate()
        keys.fund_on_anvil(w3)
        deployment = deploy(w3, DeployConfig(keys=keys))
        deployment.save(tmp_path / "deployment.json")
        keys.save(tmp_path / "keys.json")
        w3.provider.make_request("evm_revert", [fresh])  # the chain as a restart without its state leaves it
        port = ("--port", str(free_port())) if command == "serve" else ()
        result = _start(
            tmp_path,
            command,
            *port,
            RPC_URL=anvil.url,
            CNH_DEPLOYMENT_FILE=str(tmp_path / "deployment.json"),
            CNH_KEY_FILE=str(tmp_path / "keys.json"),
            CNH_LOG_LEVEL="WARNING",
        )
    output = (result.stdout + result.stderr).strip()
    assert result.returncode == 1, output
    assert "Traceback" not in output, output
    assert len(output.splitlines()) == 1, output
    assert f"has no contract at {deployment.token_address}" in output and "RPC_URL" in output, output
