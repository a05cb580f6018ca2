"""EIP-2612 permits: build the typed data a holder signs to authorise a redemption burn."""

from __future__ import annotations

from dataclasses import dataclass

from eth_account import Account
from eth_account.messages import encode_typed_data
from eth_account.signers.local import LocalAccount

TOKEN_NAME = "Sandbox Offshore RMB"  # noqa: S105 - EIP-712 domain name
TOKEN_VERSION = "1"  # noqa: S105 - EIP-712 domain version


@dataclass(frozen=True)
class PermitSignature:
    deadline: int
    v: int
    r: str  # 0x-prefixed 32-byte hex
    s: str

    def as_dict(self) -> dict[str, object]:
        return {"deadline": self.deadline, "v": self.v, "r": self.r, "s": self.s}


def permit_typed_data(
    *,
    chain_id: int,
    token: str,
    owner: str,
    spender: str,
    value: int,
    nonce: int,
    deadline: int,
    name: str = TOKEN_NAME,
    version: str = TOKEN_VERSION,
) -> dict[str, object]:
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
        "domain": {"name": name, "version": version, "chainId": chain_id, "verifyingContract": token},
        "message": {"owner": owner, "spender": spender, "value": value, "nonce": nonce, "deadline": deadline},
    }


def sign_permit(
    holder: LocalAccount,
    *,
    chain_id: int,
    token: str,
    spender: str,
    value: int,
    nonce: int,
    deadline: int,
    name: str = TOKEN_NAME,
    version: str = TOKEN_VERSION,
) -> PermitSignature:
    typed = permit_typed_data(
        chain_id=chain_id,
        token=token,
        owner=holder.address,
        spender=spender,
        value=value,
        nonce=nonce,
        deadline=deadline,
        name=name,
        version=version,
    )
    signed = Account.sign_message(encode_typed_data(full_message=typed), holder.key)
    return PermitSignature(
        deadline=deadline,
        v=signed.v,
        r="0x" + signed.r.to_bytes(32, "big").hex(),
        s="0x" + signed.s.to_bytes(32, "big").hex(),
    )


def recover_permit_signer(
    *,
    chain_id: int,
    token: str,
    owner: str,
    spender: str,
    value: int,
    nonce: int,
    signature: PermitSignature,
    name: str = TOKEN_NAME,
    version: str = TOKEN_VERSION,
) -> str:
    """Who signed this permit: the service checks it before spending gas on a burn (R13)."""
    typed = permit_typed_data(
        chain_id=chain_id,
        token=token,
        owner=owner,
        spender=spender,
        value=value,
        nonce=nonce,
        deadline=signature.deadline,
        name=name,
        version=version,
    )
    vrs = (signature.v, int(signature.r, 16), int(signature.s, 16))
    return str(Account.recover_message(encode_typed_data(full_message=typed), vrs=vrs))
