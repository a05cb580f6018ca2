"""Local signing (wallet challenge, redemption permit) and Standard Webhooks verification."""

from __future__ import annotations

import base64
import json
import time

import pytest
from eth_account import Account
from eth_account.messages import encode_defunct

from cnh_sdk import WebhookVerificationError, amount_units, sign_challenge, sign_permit, sign_webhook, verify_webhook
from issuer_service.chain.permit import TOKEN_NAME, TOKEN_VERSION, PermitSignature, recover_permit_signer

SECRET = "whsec_" + base64.b64encode(b"a sandbox webhook secret of 32 by").decode()
BODY = json.dumps({"type": "mint.confirmed", "data": {"id": "mnt_1", "status": "confirmed"}}).encode()
TOKEN = "0x" + "22" * 20
SPENDER = "0x" + "33" * 20


def delivery(body: bytes = BODY, *, secret: str = SECRET, at: int | None = None) -> dict[str, str]:
    timestamp = int(time.time()) if at is None else at
    return {
        "webhook-id": "msg_1",
        "webhook-timestamp": str(timestamp),
        "webhook-signature": sign_webhook(secret, "msg_1", timestamp, body),
    }


def test_challenge_signature_recovers_to_the_wallet_address() -> None:
    wallet = Account.create()
    message = "CNH sandbox wallet binding\nWallet: " + wallet.address
    signature = sign_challenge(wallet.key.hex(), message)
    assert Account.recover_message(encode_defunct(text=message), signature=signature) == wallet.address


def test_permit_is_the_one_the_service_recovers_to_the_holder() -> None:
    holder = Account.create()
    domain = {"name": TOKEN_NAME, "version": TOKEN_VERSION, "chainId": 31337, "verifyingContract": TOKEN}
    permit = sign_permit(holder, domain=domain, spender=SPENDER, value=1_000_000, nonce=3, deadline=2_000_000_000)
    signer = recover_permit_signer(
        chain_id=31337,
        token=TOKEN,
        owner=holder.address,
        spender=SPENDER,
        value=1_000_000,
        nonce=3,
        signature=PermitSignature(**permit.model_dump()),
    )
    assert signer == holder.address


@pytest.mark.parametrize(("amount", "units"), [("1.00", 1_000_000), ("0.01", 10_000), ("1250.5", 1_250_500_000)])
def test_amount_units_converts_cnh_to_token_units(amount: str, units: int) -> None:
    assert amount_units(amount) == units


@pytest.mark.parametrize("amount", ["1.001", "0", "-1.00", "abc", "NaN"])
def test_amount_units_refuses_what_is_not_a_positive_two_decimal_amount(amount: str) -> None:
    with pytest.raises(ValueError, match="amount|decimal"):
        amount_units(amount)


def test_a_correctly_signed_fresh_webhook_verifies_and_returns_its_payload() -> None:
    assert verify_webhook(SECRET, delivery(), BODY) == json.loads(BODY)


def test_webhook_headers_are_matched_case_insensitively_and_any_listed_signature_counts() -> None:
    headers = {key.title(): value for key, value in delivery().items()}
    headers["Webhook-Signature"] = "v1,bm90IGl0 " + headers["Webhook-Signature"]  # rotated secret: two sigs
    assert verify_webhook(SECRET, headers, BODY.decode())["type"] == "mint.confirmed"


def test_a_modified_body_is_rejected() -> None:
    with pytest.raises(WebhookVerificationError, match="no webhook-signature matches"):
        verify_webhook(SECRET, delivery(), BODY.replace(b"confirmed", b"failed"))


def test_a_signature_made_with_another_secret_is_rejected() -> None:
    other = "whsec_" + base64.b64encode(b"another secret").decode()
    with pytest.raises(WebhookVerificationError):
        verify_webhook(SECRET, delivery(secret=other), BODY)


@pytest.mark.parametrize("skew", [-301, 301])
def test_a_delivery_outside_the_five_minute_tolerance_is_rejected(skew: int) -> None:
    now = 1_800_000_000
    with pytest.raises(WebhookVerificationError, match="timestamp"):
        verify_webhook(SECRET, delivery(at=now + skew), BODY, now=now)
    assert verify_webhook(SECRET, delivery(at=now + skew // 2), BODY, now=now)["type"] == "mint.confirmed"


def test_missing_headers_and_malformed_secrets_are_rejected_with_a_reason() -> None:
    headers = delivery()
    del headers["webhook-id"]
    with pytest.raises(WebhookVerificationError, match="missing webhook-id"):
        verify_webhook(SECRET, headers, BODY)
    with pytest.raises(WebhookVerificationError, match="whsec_"):
        verify_webhook("whsec_not base64!", delivery(), BODY)


def test_a_delivery_signed_by_the_service_verifies_with_the_sdk() -> None:
    from issuer_service.webhooks import signing

    secret = signing.generate_secret()
    headers = signing.headers(secret, "msg_2", int(time.time()), BODY)
    assert verify_webhook(secret, headers, BODY)["data"]["id"] == "mnt_1"
