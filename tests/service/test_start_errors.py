"""`python -m issuer_service` with bad settings stops with one line naming what to fix and a
non-zero exit, never a traceback: a bad port, an unknown regime profile (R60), a placeholder
secret in production mode (R43), a database that is not there or a URL that is not one."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

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
