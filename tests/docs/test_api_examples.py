"""docs/api.md cannot rot: its titled examples run against a real service started once for this
module (`python -m issuer_service serve`, which spawns Anvil and deploys tCNH, on SQLite).

The ```bash title="…"``` blocks run in order as one bash script (set -euo pipefail) with `cnh`,
`curl` and `jq` on the PATH; the ```python title="…"``` blocks run in order as one program. Each
block must succeed, and the examples assert what they claim.
"""

from __future__ import annotations

import os
import re
import secrets
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from issuer_service.chain.anvil import free_port

pytestmark = pytest.mark.chain

ROOT = Path(__file__).resolve().parents[2]
API_MD = ROOT / "docs" / "api.md"
BLOCK = re.compile(r'^```(python|bash) title="([^"]+)"\n(.*?)^```$', re.MULTILINE | re.DOTALL)


@dataclass(frozen=True)
class Example:
    language: str
    title: str
    code: str
    line: int


def examples(language: str) -> list[Example]:
    text = API_MD.read_text()
    return [
        Example(m[1], m[2], m[3], text.count("\n", 0, m.start()) + 1) for m in BLOCK.finditer(text) if m[1] == language
    ]


@dataclass(frozen=True)
class Service:
    url: str
    admin_key: str
    log: Path

    def env(self) -> dict[str, str]:
        bin_dir = str(Path(sys.executable).parent)  # cnh and python of this environment
        return {
            **os.environ,
            "PATH": f"{bin_dir}:{os.environ.get('PATH', '')}",
            "CNH_API_URL": self.url,
            "CNH_ADMIN_API_KEY": self.admin_key,
            "PYTHONPATH": str(ROOT),
        }


@pytest.fixture
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    """A fresh service per test: the guide's flow starts with one admin (section 1), and the bash
    and the Python walk each take it from there."""
    home = tmp_path_factory.mktemp("docs-service")
    port = free_port()
    admin_key = "cnh_docs_" + secrets.token_urlsafe(16)
    env = {
        **os.environ,
        "CNH_ADMIN_API_KEY": admin_key,
        "CNH_DATABASE_URL": f"sqlite:///{home / 'issuer.db'}",
        "CNH_DEPLOYMENT_FILE": str(home / "deployment.json"),
        "CNH_PORT": str(port),
        "CNH_API_KEY_PEPPER": secrets.token_urlsafe(24),
    }
    for name in ("RPC_URL", "CNH_RPC_URL", "DATABASE_URL"):
        env.pop(name, None)
    log = home / "service.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "issuer_service", "serve"],
            cwd=home,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            if process.poll() is not None:
                pytest.fail(f"the service exited early:\n{log.read_text()[-3000:]}")
            try:
                if httpx.get(f"{url}/readyz", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"the service was not ready in 90 s:\n{log.read_text()[-3000:]}")
            time.sleep(0.2)
        yield Service(url=url, admin_key=admin_key, log=log)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()


def test_the_guide_has_a_curl_and_a_python_example_for_every_flow() -> None:
    text = API_MD.read_text()
    sections = re.split(r"^## ", text, flags=re.MULTILINE)
    flows = [section for section in sections if re.match(r"\d+\. ", section)]
    assert len(flows) >= 12
    for flow in flows:
        name = flow.splitlines()[0]
        assert '```bash title="' in flow and '```python title="' in flow, f"section {name!r} lacks an example"


def test_the_curl_and_cli_examples_run(service: Service, tmp_path: Path) -> None:
    script = "\n".join(
        f'echo "### $EPOCHREALTIME {example.title} (docs/api.md line {example.line})" >&2\n{example.code}'
        for example in examples("bash")
    )
    result = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", script],
        cwd=tmp_path,
        env=service.env(),
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert result.returncode == 0, (
        f"a bash example failed (the last ### line names it):\n{result.stderr[-4000:]}\n"
        f"stdout:\n{result.stdout[-2000:]}\nservice log:\n{service.log.read_text()[-2000:]}"
    )


def test_the_python_examples_run(service: Service, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("CNH_API_URL", service.url)
    monkeypatch.setenv("CNH_ADMIN_API_KEY", service.admin_key)
    namespace: dict[str, object] = {"__name__": "docs_api_examples"}
    for example in examples("python"):
        code = compile(example.code, f"docs/api.md:{example.line} ({example.title})", "exec")
        try:
            exec(code, namespace)  # noqa: S102 - running our own documentation is the point
        except Exception as exc:
            raise AssertionError(
                f"the python example {example.title!r} (docs/api.md line {example.line}) "
                f"failed: {type(exc).__name__}: {exc}"
            ) from exc
