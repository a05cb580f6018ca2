"""The issuer's signing keys, one per on-chain role (R42, R43).

Keys come from settings or a key file, never from code. For a spawned Anvil the sandbox generates
fresh random keys, labels them as sandbox keys and funds them with `anvil_setBalance`; nothing
relies on Anvil's well-known default accounts.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, fields
from pathlib import Path

from eth_account import Account
from eth_account.signers.local import LocalAccount
from web3 import Web3

SANDBOX_LABEL = "SANDBOX KEYS - generated for a local test chain - NOT FOR REAL FUNDS (R43, R55)"
ROLE_NAMES = ("deployer", "admin", "minter_admin", "pauser", "compliance", "attestor", "minter")


class KeyFileError(RuntimeError):
    """The key file is missing, unreadable, incomplete, or gives one key two roles (R42)."""


@dataclass(frozen=True)
class RoleKeys:
    deployer: LocalAccount
    admin: LocalAccount
    minter_admin: LocalAccount
    pauser: LocalAccount
    compliance: LocalAccount
    attestor: LocalAccount
    minter: LocalAccount

    def __post_init__(self) -> None:
        _require_separate_keys(self.addresses())

    @classmethod
    def generate(cls) -> RoleKeys:
        return cls(**{name: Account.create() for name in ROLE_NAMES})

    @classmethod
    def from_hex(cls, keys: dict[str, str]) -> RoleKeys:
        missing = [name for name in ROLE_NAMES if not keys.get(name)]
        if missing:
            raise KeyFileError(f"missing private keys for roles: {', '.join(missing)}")
        try:
            return cls(**{name: Account.from_key(keys[name]) for name in ROLE_NAMES})
        except (ValueError, TypeError) as exc:
            raise KeyFileError(
                f"a private key is malformed ({exc.__class__.__name__}); expect 0x + 64 hex digits"
            ) from None

    @classmethod
    def load(cls, path: Path) -> RoleKeys:
        try:
            data = json.loads(Path(path).read_text())
        except FileNotFoundError:
            raise KeyFileError(f"key file {path} not found") from None
        except json.JSONDecodeError as exc:
            raise KeyFileError(f"key file {path} is not valid JSON: {exc.msg} at line {exc.lineno}") from None
        except (OSError, UnicodeDecodeError) as exc:
            raise KeyFileError(f"cannot read key file {path} ({exc.__class__.__name__})") from None
        keys = data.get("keys") if isinstance(data, dict) else None
        if not isinstance(keys, dict):
            raise KeyFileError(
                f'key file {path} must be a JSON object {{"keys": {{role: private key}}}} '
                f"with the roles {', '.join(ROLE_NAMES)}"
            )
        return cls.from_hex(keys)

    def save(self, path: Path) -> None:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        payload = {
            "label": SANDBOX_LABEL,
            "keys": {f.name: "0x" + bytes(getattr(self, f.name).key).hex() for f in fields(self)},
            "addresses": self.addresses(),
        }
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            json.dump(payload, handle, indent=2)

    def addresses(self) -> dict[str, str]:
        return {f.name: getattr(self, f.name).address for f in fields(self)}

    def fund_on_anvil(self, w3: Web3, wei: int = 10**21) -> None:
        """Give every role gas money on a local Anvil (never on another chain)."""
        for account in self.addresses().values():
            w3.provider.make_request("anvil_setBalance", [account, hex(wei)])

    def __repr__(self) -> str:  # never print a private key (R43)
        return f"RoleKeys({self.addresses()})"


def _require_separate_keys(addresses: dict[str, str]) -> None:
    """R42: every role, the deployer included, needs its own key.

    The contract reverts `RolesNotSeparated` when one key would hold two roles (or a role and the
    minter), and the deployer is meant to hold none; catching it here names the roles to fix and
    sends nothing.
    """
    roles_by_address: dict[str, list[str]] = {}
    for role, address in addresses.items():
        roles_by_address.setdefault(address, []).append(role)
    shared = [(roles, address) for address, roles in roles_by_address.items() if len(roles) > 1]
    if shared:
        details = "; ".join(f"{' and '.join(roles)} share {address}" for roles, address in shared)
        raise KeyFileError(f"each role needs its own key (R42): {details}; give each role a different private key")
