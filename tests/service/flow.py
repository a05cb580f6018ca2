"""Helpers that walk the API the way a client does: staff keys, onboarding, wallets, polling."""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from typing import Any

from eth_account import Account
from eth_account.messages import encode_defunct
from eth_account.signers.local import LocalAccount

from issuer_service.chain.permit import sign_permit
from tests.service.service_helpers import ADMIN_KEY, bearer


@dataclass
class Staff:
    admin: str
    operator: str
    compliance: str
    treasury: str
    treasury2: str
    auditor: str


@dataclass
class Customer:
    id: str
    key: str
    wallet: LocalAccount


def staff_keys(client: Any) -> Staff:
    def make(role: str) -> str:
        response = client.post("/v1/api-keys", json={"role": role, "label": f"flow {role}"}, headers=bearer(ADMIN_KEY))
        assert response.status_code == 201, response.text
        return str(response.json()["key"])

    return Staff(
        admin=ADMIN_KEY,
        operator=make("operator"),
        compliance=make("compliance"),
        treasury=make("treasury"),
        treasury2=make("treasury"),
        auditor=make("auditor"),
    )


def add_buffer_capital(client: Any, staff: Staff, amount: str) -> dict[str, Any]:
    """Treasury records the issuer's buffer capital; a second treasury key approves it (R1, R40)."""
    body = {
        "kind": "cash",
        "custodian": "Sandbox Bank HK - reserve a/c 001",
        "currency": "CNH",
        "nominal": amount,
        "reference": f"CAPITAL-{uuid.uuid4().hex[:8]}",
    }
    recorded = client.post("/v1/reserves/assets", json=body, headers=bearer(staff.treasury))
    assert recorded.status_code == 201, recorded.text
    approved = client.post(f"/v1/reserves/assets/{recorded.json()['id']}/approve", headers=bearer(staff.treasury2))
    assert approved.status_code == 200, approved.text
    return dict(approved.json())


def onboard(
    client: Any, staff: Staff, *, name: str = "Lotus Trading Ltd", risk: str = "low", approve: bool = True
) -> tuple[str, str]:
    created = client.post(
        "/v1/customers",
        json={"name": name, "kind": "institution", "jurisdiction": "HK"},
        headers=bearer(staff.operator),
    )
    assert created.status_code == 201, created.text
    customer_id = str(created.json()["id"])
    if approve:
        kyc = client.post(
            f"/v1/customers/{customer_id}/kyc",
            json={"decision": "approved", "risk": risk, "reference": f"KYC-{name}"},
            headers=bearer(staff.compliance),
        )
        assert kyc.status_code == 200, kyc.text
    key = client.post(f"/v1/customers/{customer_id}/api-keys", json={}, headers=bearer(staff.admin))
    assert key.status_code == 201, key.text
    return customer_id, str(key.json()["key"])


def bind_wallet(client: Any, key: str, wallet: LocalAccount | None = None, *, wait: bool = True) -> LocalAccount:
    wallet = wallet or Account.create()
    challenge = client.get("/v1/wallets/challenge", params={"address": wallet.address}, headers=bearer(key))
    assert challenge.status_code == 200, challenge.text
    signed = wallet.sign_message(encode_defunct(text=challenge.json()["message"]))
    bound = client.post(
        "/v1/wallets", json={"address": wallet.address, "signature": "0x" + signed.signature.hex()}, headers=bearer(key)
    )
    assert bound.status_code == 201, bound.text
    if wait:
        wait_for(client, f"/v1/wallets/{wallet.address}", key, {"active"})
    return wallet


def new_customer(
    client: Any, staff: Staff, *, name: str = "Lotus Trading Ltd", deposit: str | None = None, risk: str = "low"
) -> Customer:
    customer_id, key = onboard(client, staff, name=name, risk=risk)
    wallet = bind_wallet(client, key)
    if deposit is not None:
        deposit_fiat(client, staff, customer_id, deposit)
    return Customer(id=customer_id, key=key, wallet=wallet)


def deposit_fiat(client: Any, staff: Staff, customer_id: str, amount: str) -> dict[str, Any]:
    response = client.post(
        "/v1/deposits",
        json={
            "customer_id": customer_id,
            "amount": amount,
            "currency": "CNH",
            "bank_reference": f"BANK-{uuid.uuid4().hex[:10]}",
        },
        headers=bearer(staff.operator, **{"Idempotency-Key": uuid.uuid4().hex}),
    )
    assert response.status_code == 201, response.text
    return dict(response.json())


def request_mint(client: Any, customer: Customer, amount: str, *, key: str | None = None) -> Any:
    return client.post(
        "/v1/mints",
        json={"wallet": customer.wallet.address, "amount": amount},
        headers=bearer(customer.key, **{"Idempotency-Key": key or uuid.uuid4().hex}),
    )


def redemption_body(
    client: Any,
    customer: Customer,
    amount: str,
    *,
    units: int | None = None,
    deadline_s: int = 3600,
    nonce: int | None = None,
    signer: LocalAccount | None = None,
    chain_now: int | None = None,
) -> dict[str, Any]:
    token = client.get("/v1/token").json()
    from web3 import Web3

    w3 = Web3(Web3.HTTPProvider(token["rpc_url"]))
    contract = w3.eth.contract(
        address=token["address"],
        abi=[
            {
                "name": "nonces",
                "type": "function",
                "stateMutability": "view",
                "inputs": [{"name": "owner", "type": "address"}],
                "outputs": [{"name": "", "type": "uint256"}],
            }
        ],
    )
    if nonce is None:
        nonce = contract.functions.nonces(customer.wallet.address).call()
    now = chain_now if chain_now is not None else w3.eth.get_block("latest")["timestamp"]
    value = units if units is not None else int(round_fen(amount)) * 10_000
    permit = sign_permit(
        signer or customer.wallet,
        chain_id=token["chain_id"],
        token=token["address"],
        spender=token["redemption_spender"],
        value=value,
        nonce=nonce,
        deadline=now + deadline_s,
    )
    if signer is not None:  # a permit signed by someone else, claimed for this wallet
        pass
    return {"wallet": customer.wallet.address, "amount": amount, "permit": permit.as_dict()}


def round_fen(amount: str) -> int:
    whole, _, frac = amount.partition(".")
    return int(whole) * 100 + int((frac + "00")[:2])


def wait_for(client: Any, path: str, key: str, statuses: set[str], timeout: float = 30.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    last: dict[str, Any] = {}
    while time.monotonic() < deadline:
        response = client.get(path, headers=bearer(key))
        assert response.status_code == 200, response.text
        last = response.json()
        if last["status"] in statuses:
            return last
        time.sleep(0.05)
    # What the service says about itself (the outbox check names a transaction the node keeps refusing).
    ready = client.get("/readyz")
    raise AssertionError(
        f"{path} stayed {last.get('status')!r}, expected one of {statuses}: {last}; /readyz {ready.status_code}: "
        f"{ready.text[:2000]}"
    )
