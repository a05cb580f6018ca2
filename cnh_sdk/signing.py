"""Signing with the holder's own key, locally: the key never leaves the client.

- `sign_challenge`: the EIP-191 `personal_sign` of the wallet-binding challenge (R21).
- `sign_permit`: the EIP-2612 permit that lets the issuer burn the tokens of a redemption (R13),
  over the EIP-712 domain the service publishes in `GET /v1/token` (`permit_domain`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Union

from cnh_sdk.models import Permit

# eth-account is imported when first needed: it takes most of a second to import, and most SDK and
# CLI calls never sign anything.
if TYPE_CHECKING:
    from eth_account.signers.local import LocalAccount

AccountLike = Union["LocalAccount", str, bytes]  # noqa: UP007 - a forward reference
"""An eth-account `LocalAccount`, or a private key as 0x-hex text or 32 bytes."""


def as_account(key: AccountLike) -> LocalAccount:
    from eth_account import Account
    from eth_account.signers.local import LocalAccount

    if isinstance(key, LocalAccount):
        return key
    account: LocalAccount = Account.from_key(key)
    return account


def sign_challenge(key: AccountLike, message: str) -> str:
    """0x-hex EIP-191 signature of `message` (exactly the challenge text, unchanged)."""
    from eth_account.messages import encode_defunct

    signed = as_account(key).sign_message(encode_defunct(text=message))
    return "0x" + bytes(signed.signature).hex()


def permit_typed_data(
    domain: Mapping[str, Any], *, owner: str, spender: str, value: int, nonce: int, deadline: int
) -> dict[str, Any]:
    """The EIP-712 document of an EIP-2612 permit."""
    return {
        "types": {
            "EIP712Domain": [
                {"name": "name", "type": "string"},
                {"name": "version", "type": "string"},
                {"name": "chainId", "type": "uint256"},
                {"name": "verifyingContract", "type": "address"},
            ],
            "Permit": [
                {"name": "owner", "type": "address"},
                {"name": "spender", "type": "address"},
                {"name": "value", "type": "uint256"},
                {"name": "nonce", "type": "uint256"},
                {"name": "deadline", "type": "uint256"},
            ],
        },
        "primaryType": "Permit",
        "domain": {
            "name": domain["name"],
            "version": domain["version"],
            "chainId": int(domain["chainId"]),
            "verifyingContract": domain["verifyingContract"],
        },
        "message": {"owner": owner, "spender": spender, "value": value, "nonce": nonce, "deadline": deadline},
    }


def sign_permit(
    key: AccountLike, *, domain: Mapping[str, Any], spender: str, value: int, nonce: int, deadline: int
) -> Permit:
    """Sign a permit for `value` token units to `spender`; `nonce` is the holder's current
    `nonces(owner)`, `deadline` a unix time (the chain's clock decides)."""
    from eth_account.messages import encode_typed_data

    account = as_account(key)
    typed = permit_typed_data(
        domain, owner=account.address, spender=spender, value=value, nonce=nonce, deadline=deadline
    )
    signed = account.sign_message(encode_typed_data(full_message=typed))
    return Permit(
        deadline=deadline,
        v=signed.v,
        r="0x" + signed.r.to_bytes(32, "big").hex(),
        s="0x" + signed.s.to_bytes(32, "big").hex(),
    )
