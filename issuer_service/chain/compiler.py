"""Compile the Solidity sources with py-solc-x through the solcjs wrapper, cached by source hash.

Tests, the deploy script and the service all call `load_artifacts()`; only the first call after a
source change pays for the ~2 s compile. Test-only contracts (contracts/test/, e.g. an ERC-1271
wallet) are compiled apart by `load_test_artifact()`, so they never reach the deployment or Slither.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
CONTRACTS_DIR = ROOT / "contracts"
SOLC_WRAPPER = ROOT / "tools" / "solc"
OZ_DIR = ROOT / "node_modules" / "@openzeppelin" / "contracts"
CACHE_DIR = ROOT / "build" / "artifacts"

SOLC_SETTINGS: dict[str, Any] = {
    "optimizer": {"enabled": True, "runs": 1_000_000},
    "viaIR": False,
    "evmVersion": "cancun",
    "remappings": ["@openzeppelin/=node_modules/@openzeppelin/"],
    "outputSelection": {"*": {"*": ["abi", "evm.bytecode.object", "evm.deployedBytecode.object", "storageLayout"]}},
}


class CompilationError(RuntimeError):
    """Solidity did not compile; the message holds each error with its file and line."""


@dataclass(frozen=True)
class Artifact:
    name: str
    source: str
    abi: list[dict[str, Any]]
    bytecode: str
    deployed_bytecode: str
    storage_layout: dict[str, Any]


def _source_files(*, tests: bool = False) -> list[Path]:
    """The production sources, or with `tests` only the test-only ones under a `test` folder."""
    return sorted(p for p in CONTRACTS_DIR.rglob("*.sol") if ("test" in p.relative_to(CONTRACTS_DIR).parts) == tests)


def source_hash(*, tests: bool = False) -> str:
    """Hash of everything that determines the output: our sources, OZ's version, solc settings."""
    digest = hashlib.sha256()
    for path in _source_files(tests=tests):
        digest.update(str(path.relative_to(ROOT)).encode())
        digest.update(path.read_bytes())
    oz_package = OZ_DIR / "package.json"
    if oz_package.exists():
        digest.update(json.loads(oz_package.read_text())["version"].encode())
    solc_package = ROOT / "node_modules" / "solc" / "package.json"
    if solc_package.exists():
        digest.update(json.loads(solc_package.read_text())["version"].encode())
    digest.update(json.dumps(SOLC_SETTINGS, sort_keys=True).encode())
    return digest.hexdigest()[:16]


def standard_input(*, tests: bool = False) -> dict[str, Any]:
    """The solc standard-JSON input for our sources (also what Slither analyses, without `tests`)."""
    sources = {str(p.relative_to(ROOT)): {"content": p.read_text()} for p in _source_files(tests=tests)}
    return {"language": "Solidity", "sources": sources, "settings": SOLC_SETTINGS}


def _compile(*, tests: bool) -> dict[str, Any]:
    import solcx  # imported here: only a cache miss needs the compiler
    from solcx.exceptions import SolcError

    if not (ROOT / "node_modules" / "solc").exists():
        raise CompilationError("solcjs is not installed: run `bash scripts/bootstrap.sh`")
    try:
        output = solcx.compile_standard(
            standard_input(tests=tests), base_path=str(ROOT), allow_paths=str(ROOT), solc_binary=str(SOLC_WRAPPER)
        )
    except SolcError as exc:
        raise CompilationError(_format_errors(exc)) from None
    errors = [e for e in output.get("errors", []) if e.get("severity") == "error"]
    if errors:
        raise CompilationError("\n".join(e.get("formattedMessage", e.get("message", "")) for e in errors))
    return output


def _format_errors(exc: Exception) -> str:
    text = str(exc)
    # solcx puts the compiler's formatted messages ("contracts/X.sol:12:5: ...") first.
    return text.split("> command:")[0].strip() or text


def load_artifacts(*, force: bool = False, tests: bool = False) -> dict[str, Artifact]:
    """All contract artifacts by contract name, compiling only when the sources changed; with
    `tests`, the test-only contracts instead (cached apart)."""
    cache_file = CACHE_DIR / f"{'test-' if tests else ''}{source_hash(tests=tests)}.json"
    if cache_file.exists() and not force:
        raw = json.loads(cache_file.read_text())
    else:
        output = _compile(tests=tests)
        raw = {}
        for source, contracts in output["contracts"].items():
            if not source.startswith("contracts/"):
                continue
            for name, data in contracts.items():
                raw[name] = {
                    "name": name,
                    "source": source,
                    "abi": data["abi"],
                    "bytecode": "0x" + data["evm"]["bytecode"]["object"],
                    "deployed_bytecode": "0x" + data["evm"]["deployedBytecode"]["object"],
                    "storage_layout": data.get("storageLayout", {}),
                }
        CACHE_DIR.mkdir(parents=True, exist_ok=True)
        tmp = cache_file.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps(raw))
        tmp.replace(cache_file)  # atomic: concurrent test workers never read half a file
    return {name: Artifact(**data) for name, data in raw.items()}


def load_artifact(name: str) -> Artifact:
    return _named(load_artifacts(), name)


def load_test_artifact(name: str) -> Artifact:
    """A test-only contract from contracts/test/, for tests that need one deployed beside the token."""
    return _named(load_artifacts(tests=True), name)


def _named(artifacts: dict[str, Artifact], name: str) -> Artifact:
    if name not in artifacts:
        raise CompilationError(f"no contract named {name!r}; have {sorted(artifacts)}")
    return artifacts[name]


if __name__ == "__main__":
    import sys

    if sys.argv[1:2] == ["--standard-input"]:
        # Without our outputSelection, so Slither asks for the ASTs and source maps it needs.
        data = standard_input()
        data["settings"] = {k: v for k, v in data["settings"].items() if k != "outputSelection"}
        print(json.dumps(data, indent=1))
    else:
        for artifact in load_artifacts(force="--force" in sys.argv).values():
            print(f"{artifact.name}: {len(artifact.deployed_bytecode) // 2 - 1} bytes runtime")
