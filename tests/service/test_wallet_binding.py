"""Binding an EOA wallet as a client does it in practice, with the retries and repeats that come with
it: each challenge is one-time proof of control (R21), and a refusal says what really happened."""

from __future__ import annotations

from typing import Any

from eth_account import Account
from eth_account.messages import encode_defunct
from eth_account.signers.local import LocalAccount

from tests.service.flow import Staff, onboard, wait_for
from tests.service.service_helpers import assert_problem, bearer


def _challenge(client: Any, key: str, wallet: LocalAccount) -> str:
    response = client.get("/v1/wallets/challenge", params={"address": wallet.address}, headers=bearer(key))
    assert response.status_code == 200, response.text
    return str(response.json()["message"])


def _signed(wallet: LocalAccount, message: str) -> str:
    return "0x" + bytes(wallet.sign_message(encode_defunct(text=message)).signature).hex()


def test_a_wallet_binds_with_the_signature_of_an_earlier_challenge_still_open(
    chain_client: Any, staff: Staff
) -> None:  # R21
    """Asking for the challenge twice (a script run again, a retried GET) and signing the first one
    is proof of control all the same: it is not refused as a signature that proves nothing."""
    _, key = onboard(chain_client, staff, name="Twice Asked Ltd")
    wallet = Account.create()
    first, second = _challenge(chain_client, key, wallet), _challenge(chain_client, key, wallet)
    assert first != second

    bound = chain_client.post(
        "/v1/wallets", json={"address": wallet.address, "signature": _signed(wallet, first)}, headers=bearer(key)
    )
    assert bound.status_code == 201, bound.text
    assert wait_for(chain_client, f"/v1/wallets/{wallet.address}", key, {"active"})["status"] == "active"
    # One-time: the used challenge proves nothing a second time.
    replay = chain_client.post(
        "/v1/wallets", json={"address": wallet.address, "signature": _signed(wallet, first)}, headers=bearer(key)
    )
    assert_problem(replay, 422, field="body.signature")
    # A stranger's signature over an open challenge still proves nothing.
    stranger = chain_client.post(
        "/v1/wallets",
        json={"address": wallet.address, "signature": _signed(Account.create(), second)},
        headers=bearer(key),
    )
    assert_problem(stranger, 422, field="body.signature")


def test_only_the_newest_open_challenges_are_tried_so_piling_them_up_costs_a_bind_no_more_work(
    chain_client: Any, staff: Staff
) -> None:  # R21
    """Each open challenge is a signature recovery (an ERC-1271 call for a contract wallet) when a
    signature is checked: a client that asks a thousand times must not make one bind do a thousand."""
    from issuer_service.wallets.repository import OPEN_CHALLENGES_TRIED

    _, key = onboard(chain_client, staff, name="Many Times Asked Ltd")
    wallet = Account.create()
    messages = [_challenge(chain_client, key, wallet) for _ in range(OPEN_CHALLENGES_TRIED + 1)]
    too_old = chain_client.post(
        "/v1/wallets", json={"address": wallet.address, "signature": _signed(wallet, messages[0])}, headers=bearer(key)
    )
    assert_problem(too_old, 422, field="body.signature")
    oldest_tried = chain_client.post(
        "/v1/wallets", json={"address": wallet.address, "signature": _signed(wallet, messages[1])}, headers=bearer(key)
    )
    assert oldest_tried.status_code == 201, oldest_tried.text
