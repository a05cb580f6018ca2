"""The container files agree with the code and the README.

There is no Docker engine on these machines, so nothing is built or started: Debian's
docker-compose validates docker-compose.yml, and these tests check that every command the
Dockerfile, the compose file and the README give is one the real argument parsers accept, and that
the paths, ports and settings the services share line up.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shlex
import shutil
import subprocess
import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml  # type: ignore[import-untyped]

from compliance.profiles import load_profile
from issuer_service.__main__ import parse_args as issuer_service_args
from issuer_service.chain.deploy_cli import _parser as deploy_parser
from issuer_service.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
COMPOSE_FILE = ROOT / "docker-compose.yml"
DOCKERFILE = ROOT / "Dockerfile"
README = ROOT / "README.md"
DOCKERIGNORE = ROOT / ".dockerignore"
PYPROJECT = ROOT / "pyproject.toml"
PROJECT_SERVICES = ("deploy", "service", "worker")  # built from the Dockerfile
ALL_INTERFACES = "0.0.0.0"  # noqa: S104 - inside a container, so the published port can reach it


def docker_compose(*args: str) -> subprocess.CompletedProcess[str]:
    binary = shutil.which("docker-compose")
    if binary is None:
        pytest.fail(
            "docker-compose is not installed; run `bash scripts/bootstrap.sh` (it installs Debian's docker-compose)",
            pytrace=False,
        )
    return subprocess.run(
        [binary, "-f", str(COMPOSE_FILE), *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
        env={"PATH": "/usr/bin:/bin"},
    )  # no CNH_* from the caller's shell


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    """The compose file as docker-compose resolves it (anchors merged, variables filled in)."""
    result = docker_compose("config")
    assert result.returncode == 0, result.stderr
    config: dict[str, Any] = yaml.safe_load(result.stdout)
    return config


def service(compose: dict[str, Any], name: str) -> dict[str, Any]:
    found: dict[str, Any] = compose["services"][name]
    return found


def python_command(argv: list[str]) -> list[str]:
    """`python -m issuer_service serve` → the arguments after the program, which must be one of
    the project's two entry points."""
    if argv[:2] == ["sh", "-c"]:  # `test ... || exec python ...`: the python part
        argv = shlex.split(argv[2].split("||")[-1].replace("exec ", "", 1))
    assert Path(argv[0]).name in ("python", "python3"), argv
    return argv[1:]


def parse_entry_point(args: list[str]) -> tuple[str, argparse.Namespace]:
    """Parse with the real parsers; argparse exits on anything they do not accept."""
    try:
        if args[:2] == ["-m", "issuer_service"]:
            return "issuer_service", issuer_service_args(args[2:])
        if args and args[0] == "scripts/deploy.py":
            return "deploy", deploy_parser().parse_args(args[1:])
    except SystemExit:
        pytest.fail(f"`python {shlex.join(args)}` is not a command the code accepts", pytrace=False)
    pytest.fail(
        f"`python {shlex.join(args)}` is neither `python -m issuer_service` nor scripts/deploy.py", pytrace=False
    )


def dockerfile_instructions() -> list[tuple[str, str]]:
    text = DOCKERFILE.read_text().replace("\\\n", " ")
    return [
        (line.split(None, 1)[0].upper(), line.split(None, 1)[1].strip())
        for line in text.splitlines()
        if line.strip() and not line.lstrip().startswith("#")
    ]


def test_the_compose_file_is_valid_for_docker_compose() -> None:
    result = docker_compose("config", "-q")
    assert result.returncode == 0, result.stderr


def test_the_stack_has_a_chain_a_database_a_one_shot_deploy_a_service_and_a_worker(compose: dict[str, Any]) -> None:
    assert set(compose["services"]) == {"anvil", "postgres", "deploy", "service", "worker"}
    anvil = service(compose, "anvil")
    assert anvil["image"].startswith("ghcr.io/foundry-rs/foundry:")
    assert anvil["entrypoint"] == ["anvil"] and "--state" in anvil["command"]
    assert anvil["command"][anvil["command"].index("--host") + 1] == ALL_INTERFACES
    # The chain image is the Anvil version the npm toolchain pins (one truth for the version).
    pinned = json.loads((ROOT / "package.json").read_text())["devDependencies"]["@foundry-rs/anvil"]
    assert anvil["image"].endswith(f":v{pinned}")
    assert service(compose, "postgres")["image"] == "postgres:15"
    assert "pg_isready" in " ".join(service(compose, "postgres")["healthcheck"]["test"])
    assert "/healthz" in " ".join(service(compose, "service")["healthcheck"]["test"])
    assert service(compose, "deploy")["restart"] == "no"
    for name in PROJECT_SERVICES:
        assert service(compose, name)["build"]["context"] == str(ROOT)
        assert service(compose, name)["image"] == "cnh-sandbox:local"


def test_services_start_in_order_behind_health_checks(compose: dict[str, Any]) -> None:
    conditions = {
        name: {dep: spec["condition"] for dep, spec in service(compose, name).get("depends_on", {}).items()}
        for name in compose["services"]
    }
    assert conditions["deploy"] == {"anvil": "service_healthy"}
    for name in ("service", "worker"):
        assert conditions[name]["postgres"] == "service_healthy"
        assert conditions[name]["anvil"] == "service_healthy"
        assert conditions[name]["deploy"] == "service_completed_successfully"


def settings_from(environment: dict[str, str | None], monkeypatch: pytest.MonkeyPatch) -> Settings:
    """The settings a container with this environment gets: read by the real Settings, so a
    misspelt variable name is caught as surely as a wrong value."""
    for name in list(os.environ):
        if name.startswith("CNH_") or name in ("DATABASE_URL", "RPC_URL"):
            monkeypatch.delenv(name)
    for name, value in environment.items():
        if value is not None:
            monkeypatch.setenv(name, value)
    return Settings(_env_file=None)  # type: ignore[call-arg]


def test_compose_commands_are_ones_the_code_accepts_with_matching_paths_and_settings(
    compose: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    commands = {name: parse_entry_point(python_command(service(compose, name)["command"])) for name in PROJECT_SERVICES}
    assert (commands["service"][0], commands["service"][1].command) == ("issuer_service", "serve")
    assert (commands["worker"][0], commands["worker"][1].command) == ("issuer_service", "worker")
    kind, deploy = commands["deploy"]
    assert kind == "deploy"
    assert deploy.keys_file is None  # generated for the local chain by the deploy step, never committed (R43)

    for name in ("service", "worker"):
        settings = settings_from(service(compose, name)["environment"], monkeypatch)
        assert settings.worker_in_process is False  # the worker runs as its own container
        assert settings.database_url.startswith("postgresql://") and "@postgres:5432/" in settings.database_url
        # Both read what the deploy step writes: the deployment file, and the keys it generates
        # beside it (deploy.py saves them as keys.json next to --out), on the shared volume.
        assert settings.rpc_url == deploy.rpc_url == "http://anvil:8545"
        assert settings.deployment_file == deploy.out
        assert settings.key_file == deploy.out.parent / "keys.json"
        assert any(volume.split(":")[1] == str(deploy.out.parent) for volume in service(compose, name)["volumes"])
        # The token's on-chain buffer and attestation age are the regime profile's (R1, R60).
        profile = load_profile(settings.regime_profile)
        assert (deploy.buffer_bps, deploy.max_attestation_age) == (
            profile.reserve_buffer_bps,
            profile.attestation_max_age_seconds,
        )


def test_the_dockerfile_runs_the_service_as_compose_does_and_copies_what_the_commands_need(
    compose: dict[str, Any],
) -> None:
    instructions = dockerfile_instructions()
    [cmd] = [json.loads(arg) for op, arg in instructions if op == "CMD"]
    assert cmd == service(compose, "service")["command"]
    assert parse_entry_point(python_command(cmd))[1].command == "serve"

    env = dict(re.findall(r"(CNH_\w+)=(\S+)", " ".join(arg for op, arg in instructions if op == "ENV")))
    [exposed] = [arg for op, arg in instructions if op == "EXPOSE"]
    assert env["CNH_HOST"] == ALL_INTERFACES
    assert env["CNH_PORT"] == exposed
    assert env["CNH_DEPLOYMENT_FILE"] == service(compose, "service")["environment"]["CNH_DEPLOYMENT_FILE"]
    [published] = service(compose, "service")["ports"]
    assert published.split(":")[-1].split("/")[0] == exposed
    assert f"127.0.0.1:{exposed}/healthz" in " ".join(service(compose, "service")["healthcheck"]["test"])

    copied = {arg.split()[-2] for op, arg in instructions if op == "COPY" and "--from" not in arg}
    ignored = {line.strip() for line in DOCKERIGNORE.read_text().splitlines() if line.strip()[:1] not in ("", "#")}
    deploy_args = python_command(service(compose, "deploy")["command"])
    for needed in ("issuer_service", "compliance", "contracts", "tools", deploy_args[0].split("/")[0]):
        assert needed in copied, f"the Dockerfile does not COPY {needed}"
        assert needed not in ignored, f".dockerignore drops {needed}"
    for secret in (".sandbox", ".env", ".venv", "node_modules", ".git"):
        assert secret in ignored, f".dockerignore must keep {secret} out of the image"


def test_the_image_installs_and_copies_every_package_the_project_ships() -> None:
    """Each top-level package of pyproject.toml is stubbed before the editable install and copied
    after it; a package left out installs nothing and fails at import (the `cnh` CLI needs cnh_sdk)."""
    include = tomllib.loads(PYPROJECT.read_text())["tool"]["setuptools"]["packages"]["find"]["include"]
    packages = sorted({pattern.rstrip("*") for pattern in include})
    instructions = dockerfile_instructions()
    copied = {arg.split()[-2] for op, arg in instructions if op == "COPY" and "--from" not in arg}
    [install] = [arg for op, arg in instructions if op == "RUN" and "pip install -e ." in arg]
    for package in packages:
        assert package in copied, f"the Dockerfile does not COPY {package}"
        assert f"{package}/__init__.py" in install, f"{package} is not stubbed before `pip install -e .`"


def readme_commands() -> list[list[str]]:
    """Every README code line that runs `python -m issuer_service` or scripts/deploy.py."""
    blocks = re.findall(r"```[a-z]*\n(.*?)```", README.read_text(), flags=re.S)
    found = []
    for line in "\n".join(blocks).splitlines():
        line = line.split(" #", 1)[0].strip()
        match = re.search(r"(\S*python3?\s+(?:-m\s+issuer_service|scripts/deploy\.py)\b.*)", line)
        if match:
            found.append(python_command(shlex.split(match.group(1))))
    return found


def test_readme_commands_are_ones_the_code_accepts() -> None:
    commands = readme_commands()
    assert commands, "the README shows no `python -m issuer_service` or scripts/deploy.py command"
    for args in commands:
        parse_entry_point(args)


def test_readme_compose_commands_name_services_that_exist(compose: dict[str, Any]) -> None:
    for line in README.read_text().splitlines():
        match = re.search(r"docker[ -]compose\s+(?:logs|restart|exec|stop|start|run)\s+(?:-\S+\s+)*([a-z][\w-]*)", line)
        if match:
            assert match.group(1) in compose["services"], line
