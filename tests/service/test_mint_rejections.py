"""Every way a mint or redemption is refused: a clear problem naming the field and the rule, and
nothing moves — no mint row, no outbox row, fiat where it was (R1, R10, R11, R12, R20, R40, R41)."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from typing import Any

import pytest
from eth_account import Account
from eth_account.messages import encode_defunct
from sqlalchemy import Engine, func, select

from issuer_service.admin import service as admin_service
from issuer_service.auth import Principal
from issuer_service.mints.models import Mint
from issuer_service.outbox.models import ChainTx
from issuer_service.redemptions.models import Redemption
from tests.service.flow import (
    Customer,
    Staff,
    add_buffer_capital,
    deposit_fiat,
    new_customer,
    onboard,
    redemption_body,
    request_mint,
    wait_for,
)
from tests.service.service_helpers import assert_problem, bearer


def _until(predicate: Any, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "condition not reached in time"
        time.sleep(0.05)


def _count(engine: Engine, model: Any) -> int:
    with engine.connect() as connection:
        return int(connection.execute(select(func.count()).select_from(model)).scalar_one())


def _balance(client: Any, customer: Customer) -> dict[str, str]:
    body = client.get(f"/v1/customers/{customer.id}/balance", headers=bearer(customer.key)).json()
    return {"available": body["available"], "reserved": body["reserved"]}


def _assert_refused(
    client: Any,
    response: Any,
    db_engine: Engine,
    *,
    reason: str,
    rule: str,
    field: str | None,
    customer: Customer,
    balance_before: dict[str, str],
) -> None:
    problem = assert_problem(response, 422, field=field)
    assert problem["reason_code"] == reason
    assert problem["rule_id"] == rule
    assert _count(db_engine, Mint) == 0
    assert _count(db_engine, ChainTx.__table__.select().where(ChainTx.function == "mint").subquery()) == 0
    assert _balance(client, customer) == balance_before


def test_mint_without_confirmed_fiat_is_rejected_insufficient_fiat(
    chain_client: Any, staff: Staff, db_engine: Engine
) -> None:  # R10
    add_buffer_capital(chain_client, staff, "100.00")
    alice = new_customer(chain_client, staff, deposit="10.00")
    before = _balance(chain_client, alice)
    _assert_refused(
        chain_client,
        request_mint(chain_client, alice, "10.01"),
        db_engine,
        reason="insufficient_fiat",
        rule="R10",
        field="body.amount",
        customer=alice,
        balance_before=before,
    )


def test_mint_to_a_wallet_not_bound_to_the_customer_is_rejected(
    chain_client: Any, staff: Staff, db_engine: Engine
) -> None:  # R11
    add_buffer_capital(chain_client, staff, "100.00")
    alice = new_customer(chain_client, staff, deposit="10.00")
    bob = new_customer(chain_client, staff, name="Bob Ltd")
    before = _balance(chain_client, alice)
    stranger = Customer(id=alice.id, key=alice.key, wallet=Account.create())
    _assert_refused(
        chain_client,
        request_mint(chain_client, stranger, "1.00"),
        db_engine,
        reason="wallet_not_owned",
        rule="R11",
        field="body.wallet",
        customer=alice,
        balance_before=before,
    )
    other = Customer(id=alice.id, key=alice.key, wallet=bob.wallet)  # Bob's active wallet
    _assert_refused(
        chain_client,
        request_mint(chain_client, other, "1.00"),
        db_engine,
        reason="wallet_not_owned",
        rule="R11",
        field="body.wallet",
        customer=alice,
        balance_before=before,
    )


def test_mint_for_a_customer_without_approved_kyc_is_rejected(
    chain_client: Any, staff: Staff, db_engine: Engine
) -> None:  # R20
    customer_id, key = onboard(chain_client, staff, approve=False)
    deposit_fiat(chain_client, staff, customer_id, "10.00")
    pending = Customer(id=customer_id, key=key, wallet=Account.create())
    before = _balance(chain_client, pending)
    _assert_refused(
        chain_client,
        request_mint(chain_client, pending, "1.00"),
        db_engine,
        reason="kyc_not_approved",
        rule="R20",
        field=None,
        customer=pending,
        balance_before=before,
    )
    # Nor can such a customer bind a wallet.
    challenge = chain_client.get(
        "/v1/wallets/challenge", params={"address": pending.wallet.address}, headers=bearer(key)
    )
    assert challenge.status_code == 200
    signature = pending.wallet.sign_message(encode_defunct(text=challenge.json()["message"])).signature
    bound = chain_client.post(
        "/v1/wallets",
        json={"address": pending.wallet.address, "signature": "0x" + signature.hex()},
        headers=bearer(key),
    )
    assert assert_problem(bound, 422)["reason_code"] == "kyc_not_approved"


def test_mint_beyond_reserves_plus_buffer_is_rejected(chain_client: Any, staff: Staff, db_engine: Engine) -> None:
    # R1: with no buffer capital, 2% buffer cannot be met by the customer's fiat alone.
    alice = new_customer(chain_client, staff, deposit="100.00")
    before = _balance(chain_client, alice)
    _assert_refused(
        chain_client,
        request_mint(chain_client, alice, "100.00"),
        db_engine,
        reason="reserve_insufficient",
        rule="R1",
        field="body.amount",
        customer=alice,
        balance_before=before,
    )
    add_buffer_capital(chain_client, staff, "2.00")  # exactly 2% of 100.00
    accepted = request_mint(chain_client, alice, "100.00")
    assert accepted.status_code == 202, accepted.text


def test_pause_stops_mints_and_the_token_and_only_two_admins_resume_both(
    chain_client: Any, staff: Staff, db_engine: Engine, make_key: Any, gateway: Any
) -> None:  # R41
    add_buffer_capital(chain_client, staff, "100.00")
    alice = new_customer(chain_client, staff, deposit="10.00")
    before = _balance(chain_client, alice)
    assert chain_client.post("/v1/admin/pause", headers=bearer(staff.admin)).status_code == 200
    _assert_refused(
        chain_client,
        request_mint(chain_client, alice, "1.00"),
        db_engine,
        reason="paused",
        rule="R41",
        field=None,
        customer=alice,
        balance_before=before,
    )
    _until(lambda: gateway.paused())  # the token itself stops too
    second_admin = make_key("admin")
    assert chain_client.post("/v1/admin/resume", headers=bearer(staff.admin)).status_code == 202
    assert gateway.paused()  # one admin is not enough (R41)
    assert chain_client.post("/v1/admin/resume", headers=bearer(second_admin)).status_code == 200
    _until(lambda: not gateway.paused())
    assert request_mint(chain_client, alice, "1.00").status_code == 202


def test_mint_above_the_single_mint_limit_is_rejected(chain_client: Any, staff: Staff, db_engine: Engine) -> None:
    # R12: hk profile caps one mint at 10,000,000.00 CNH.
    add_buffer_capital(chain_client, staff, "1000000.00")
    alice = new_customer(chain_client, staff, deposit="10000000.01")
    before = _balance(chain_client, alice)
    _assert_refused(
        chain_client,
        request_mint(chain_client, alice, "10000000.01"),
        db_engine,
        reason="over_single_mint_limit",
        rule="R12",
        field="body.amount",
        customer=alice,
        balance_before=before,
    )


def test_mint_at_the_approval_threshold_waits_for_an_operator_who_is_not_the_requester(
    chain_client: Any, staff: Staff, gateway: Any
) -> None:  # R12, R40
    add_buffer_capital(chain_client, staff, "20000.00")
    alice = new_customer(chain_client, staff, deposit="1000000.00")
    accepted = request_mint(chain_client, alice, "1000000.00")
    assert accepted.status_code == 202, accepted.text
    mint = accepted.json()
    assert mint["status"] == "pending_approval"
    assert gateway.total_supply() == 0
    refused = chain_client.post(f"/v1/mints/{mint['id']}/approve", headers=bearer(alice.key))
    assert_problem(refused, 403)
    approved = chain_client.post(f"/v1/mints/{mint['id']}/approve", headers=bearer(staff.operator))
    assert approved.status_code == 200, approved.text
    assert approved.json()["approved_by"]
    final = wait_for(chain_client, f"/v1/mints/{mint['id']}", alice.key, {"confirmed", "failed"})
    assert final["status"] == "confirmed"
    assert gateway.total_supply() == 1_000_000 * 10**6


def _pause_held_open(client: Any) -> Any:
    """A pause written but not committed yet: its transaction holds the flag's row."""
    session = client.app.state.sessionmaker()
    admin_service.pause(session, actor=Principal(id="key_pausing", role="admin", customer_id=None, label="pausing"))
    session.flush()
    return session


def test_a_mint_approval_racing_a_pause_waits_for_it_and_is_refused_once_it_commits(
    chain_client: Any, staff: Staff, gateway: Any
) -> None:  # R41
    """An approval read the flag without a lock, so it could approve (and send) a mint after a pause
    had committed. It now holds the flag to its commit: it waits for the pause, then sees it."""
    add_buffer_capital(chain_client, staff, "20000.00")
    alice = new_customer(chain_client, staff, deposit="1000000.00")
    mint = request_mint(chain_client, alice, "1000000.00").json()
    assert mint["status"] == "pending_approval"
    pausing = _pause_held_open(chain_client)
    with ThreadPoolExecutor(1) as pool:
        approving = pool.submit(chain_client.post, f"/v1/mints/{mint['id']}/approve", headers=bearer(staff.operator))
        time.sleep(0.5)
        assert not approving.done()  # waiting for the pause to commit or roll back
        pausing.commit()
        pausing.close()
        refused = approving.result(timeout=30)
    assert assert_problem(refused, 422)["reason_code"] == "paused"
    assert wait_for(chain_client, f"/v1/mints/{mint['id']}", alice.key, {"pending_approval"})["approved_by"] is None
    assert _balance(chain_client, alice) == {"available": "0.00", "reserved": "1000000.00"}
    assert gateway.total_supply() == 0


def test_a_mint_request_racing_a_pause_waits_for_it_and_is_refused_once_it_commits(
    chain_client: Any, staff: Staff, db_engine: Engine
) -> None:  # R41
    add_buffer_capital(chain_client, staff, "100.00")
    alice = new_customer(chain_client, staff, deposit="10.00")
    before = _balance(chain_client, alice)
    pausing = _pause_held_open(chain_client)
    with ThreadPoolExecutor(1) as pool:
        requesting = pool.submit(request_mint, chain_client, alice, "1.00")
        time.sleep(0.5)
        assert not requesting.done()
        pausing.commit()
        pausing.close()
        refused = requesting.result(timeout=30)
    _assert_refused(
        chain_client, refused, db_engine, reason="paused", rule="R41", field=None, customer=alice, balance_before=before
    )


def test_a_pending_mint_is_not_approved_once_the_customers_kyc_is_rejected(
    chain_client: Any, staff: Staff, gateway: Any
) -> None:  # R20, R40
    add_buffer_capital(chain_client, staff, "20000.00")
    alice = new_customer(chain_client, staff, deposit="1000000.00")
    mint = request_mint(chain_client, alice, "1000000.00").json()
    rejected = chain_client.post(
        f"/v1/customers/{alice.id}/kyc",
        json={"decision": "rejected", "risk": "high", "reference": "KYC-REVIEW-2"},
        headers=bearer(staff.compliance),
    )
    assert rejected.status_code == 200, rejected.text
    refused = chain_client.post(f"/v1/mints/{mint['id']}/approve", headers=bearer(staff.operator))
    problem = assert_problem(refused, 422)
    assert (problem["reason_code"], problem["rule_id"]) == ("kyc_not_approved", "R20")
    assert "stays pending approval" in problem["detail"]
    assert chain_client.get(f"/v1/mints/{mint['id']}", headers=bearer(alice.key)).json()["status"] == "pending_approval"
    declined = chain_client.post(f"/v1/mints/{mint['id']}/reject", headers=bearer(staff.operator))
    assert declined.status_code == 200 and declined.json()["status"] == "rejected"
    assert _balance(chain_client, alice) == {"available": "1000000.00", "reserved": "0.00"}
    assert gateway.total_supply() == 0


def test_a_pending_mint_is_not_approved_once_reserves_no_longer_cover_it(
    chain_client: Any, staff: Staff, gateway: Any, caplog: pytest.LogCaptureFixture
) -> None:  # R1, R5, R40
    """Written down after the request, the reserves no longer back the supply with its buffer.
    Approved, the mint would wait at the worker's on-chain gate with no way back (only a pending mint
    can be rejected); the approval is refused and the mint stays pending, so it can be."""
    capital = add_buffer_capital(chain_client, staff, "20000.00")
    alice = new_customer(chain_client, staff, deposit="1000000.00")
    mint = request_mint(chain_client, alice, "1000000.00").json()
    written_down = chain_client.post(
        f"/v1/reserves/assets/{capital['id']}/valuations",
        json={"market_value": "0.01", "reference": "CUSTODIAN-DEFAULT-1"},
        headers=bearer(staff.treasury),
    )
    assert written_down.status_code == 201, written_down.text
    approved = chain_client.post(
        f"/v1/reserves/valuations/{written_down.json()['id']}/approve", headers=bearer(staff.treasury2)
    )
    assert approved.status_code == 200, approved.text
    # R5: the write-down that caused the breach is alerted now, not at the next day's statement.
    breach = [r for r in caplog.records if getattr(r, "fields", {}).get("event") == "reserve_breach"]
    assert [r.fields["cause"] for r in breach] == [  # type: ignore[attr-defined]
        f"revaluation {written_down.json()['id']} of {capital['id']}"
    ]
    audited = chain_client.get(
        "/v1/audit-log", params={"action": "reserve.breach"}, headers=bearer(staff.auditor)
    ).json()["items"]
    assert [r["data"]["shortfall_fen"] for r in audited] == [1_020_000_00 - 1_000_000_01]
    refused = chain_client.post(f"/v1/mints/{mint['id']}/approve", headers=bearer(staff.operator))
    problem = assert_problem(refused, 422)
    assert (problem["reason_code"], problem["rule_id"]) == ("reserve_insufficient", "R1")
    assert chain_client.get(f"/v1/mints/{mint['id']}", headers=bearer(alice.key)).json()["status"] == "pending_approval"
    declined = chain_client.post(f"/v1/mints/{mint['id']}/reject", headers=bearer(staff.operator))
    assert declined.status_code == 200 and declined.json()["status"] == "rejected"
    assert _balance(chain_client, alice) == {"available": "1000000.00", "reserved": "0.00"}
    assert gateway.total_supply() == 0


def test_declined_mint_releases_the_fiat(chain_client: Any, staff: Staff) -> None:  # R40, R10
    add_buffer_capital(chain_client, staff, "20000.00")
    alice = new_customer(chain_client, staff, deposit="1000000.00")
    mint = request_mint(chain_client, alice, "1000000.00").json()
    assert _balance(chain_client, alice) == {"available": "0.00", "reserved": "1000000.00"}
    declined = chain_client.post(f"/v1/mints/{mint['id']}/reject", headers=bearer(staff.operator))
    assert declined.status_code == 200 and declined.json()["status"] == "rejected"
    assert _balance(chain_client, alice) == {"available": "1000000.00", "reserved": "0.00"}


def test_same_idempotency_key_replays_one_mint_and_a_different_body_conflicts(
    chain_client: Any, staff: Staff, db_engine: Engine
) -> None:
    add_buffer_capital(chain_client, staff, "100.00")
    alice = new_customer(chain_client, staff, deposit="10.00")
    first = request_mint(chain_client, alice, "5.00", key="mint-once")
    again = request_mint(chain_client, alice, "5.00", key="mint-once")
    assert first.status_code == again.status_code == 202
    assert again.json()["id"] == first.json()["id"]
    assert_problem(request_mint(chain_client, alice, "6.00", key="mint-once"), 409, field="header.Idempotency-Key")
    assert _count(db_engine, Mint) == 1
    assert _balance(chain_client, alice)["available"] == "5.00"


def test_a_retry_with_the_customers_other_api_key_replays_the_mint_instead_of_minting_twice(
    chain_client: Any, staff: Staff, db_engine: Engine
) -> None:
    """Idempotency keys belong to the customer, not to one of its API keys: an app that retries
    through a second key of the same customer (key rotation, a second server) gets the first answer."""
    add_buffer_capital(chain_client, staff, "100.00")
    alice = new_customer(chain_client, staff, deposit="10.00")
    other = chain_client.post(f"/v1/customers/{alice.id}/api-keys", json={}, headers=bearer(staff.admin))
    assert other.status_code == 201, other.text
    first = request_mint(chain_client, alice, "5.00", key="rotating-retry")
    again = request_mint(chain_client, replace(alice, key=other.json()["key"]), "5.00", key="rotating-retry")
    assert first.status_code == again.status_code == 202
    assert again.json()["id"] == first.json()["id"] and again.headers["Idempotent-Replayed"] == "true"
    assert _count(db_engine, Mint) == 1
    assert _balance(chain_client, alice)["available"] == "5.00"


def test_a_retry_spelling_the_wallet_in_lower_case_is_the_same_mint_not_a_conflict(
    chain_client: Any, staff: Staff, db_engine: Engine
) -> None:
    """A wallet address in lower case and in its EIP-55 form is one wallet: a retry that spells it
    the other way (one system stores addresses lower-cased) replays the first answer, not a 409."""
    add_buffer_capital(chain_client, staff, "100.00")
    alice = new_customer(chain_client, staff, deposit="10.00")
    first = request_mint(chain_client, alice, "5.00", key="spelling")
    again = chain_client.post(
        "/v1/mints",
        json={"wallet": alice.wallet.address.lower(), "amount": "5.00"},
        headers=bearer(alice.key, **{"Idempotency-Key": "spelling"}),
    )
    assert first.status_code == again.status_code == 202, again.text
    assert again.json()["id"] == first.json()["id"]
    assert _count(db_engine, Mint) == 1


def _funded_holder(client: Any, staff: Staff) -> Customer:
    add_buffer_capital(client, staff, "100.00")
    alice = new_customer(client, staff, deposit="50.00")
    mint = request_mint(client, alice, "50.00").json()
    assert wait_for(client, f"/v1/mints/{mint['id']}", alice.key, {"confirmed", "failed"})["status"] == "confirmed"
    return alice


def test_redemption_with_a_permit_signed_by_another_key_is_rejected(
    chain_client: Any, staff: Staff, db_engine: Engine
) -> None:
    alice = _funded_holder(chain_client, staff)
    body = redemption_body(chain_client, alice, "10.00", signer=Account.create())
    refused = chain_client.post("/v1/redemptions", json=body, headers=bearer(alice.key, **{"Idempotency-Key": "r1"}))
    problem = assert_problem(refused, 422, field="body.permit")
    assert (problem["type"], problem["reason_code"]) == ("urn:cnh-sandbox:problem:validation-failed", "permit_invalid")
    assert _count(db_engine, Redemption) == 0


def test_redemption_with_an_expired_permit_or_wrong_amount_is_rejected(
    chain_client: Any, staff: Staff, db_engine: Engine
) -> None:
    alice = _funded_holder(chain_client, staff)
    expired = redemption_body(chain_client, alice, "10.00", deadline_s=-10)
    refused = chain_client.post("/v1/redemptions", json=expired, headers=bearer(alice.key, **{"Idempotency-Key": "e"}))
    assert assert_problem(refused, 422, field="body.permit.deadline")["reason_code"] == "permit_expired"
    wrong_value = redemption_body(chain_client, alice, "10.00", units=11 * 10**6)
    refused = chain_client.post(
        "/v1/redemptions", json=wrong_value, headers=bearer(alice.key, **{"Idempotency-Key": "w"})
    )
    assert assert_problem(refused, 422, field="body.permit")["reason_code"] == "permit_invalid"
    too_much = redemption_body(chain_client, alice, "50.01")
    refused = chain_client.post("/v1/redemptions", json=too_much, headers=bearer(alice.key, **{"Idempotency-Key": "t"}))
    assert assert_problem(refused, 422, field="body.amount")["reason_code"] == "insufficient_token_balance"
    assert _count(db_engine, Redemption) == 0


def test_customer_cannot_read_another_customers_mint(chain_client: Any, staff: Staff) -> None:
    add_buffer_capital(chain_client, staff, "100.00")
    alice = new_customer(chain_client, staff, deposit="10.00")
    bob = new_customer(chain_client, staff, name="Bob Ltd")
    mint = request_mint(chain_client, alice, "1.00").json()
    assert_problem(chain_client.get(f"/v1/mints/{mint['id']}", headers=bearer(bob.key)), 404)
    assert chain_client.get(f"/v1/mints/{mint['id']}", headers=bearer(staff.auditor)).status_code == 200



def test_a_kyc_rejection_committing_while_a_redemption_is_requested_is_never_overtaken_by_it(
    chain_client: Any, staff: Staff, gateway: Any, monkeypatch: pytest.MonkeyPatch
) -> None:  # R20
    """Compliance rejects the customer while their redemption request is between reading the customer
    and committing. The request read the customer without a lock, so it was accepted (and later paid)
    after the rejection had committed. Held to its commit, as a mint holds it, the customer cannot be
    rejected in between: the decision waits for the request, and the request was accepted before it."""
    alice = _funded_holder(chain_client, staff)
    body = redemption_body(chain_client, alice, "10.00")
    read_chain = gateway.account_state
    deciding: list[Any] = []

    def reject(address: str) -> Any:
        if not deciding:  # the request has read the customer and is asking the chain
            decision = threading.Thread(target=lambda: deciding.append(chain_client.post(
                f"/v1/customers/{alice.id}/kyc", json={"decision": "rejected", "risk": "low", "reference": "KYC-2"},
                headers=bearer(staff.compliance))))
            deciding.append(decision)
            decision.start()
            decision.join(1.0)  # committed by now, unless it waits for this request
        return read_chain(address)

    monkeypatch.setattr(gateway, "account_state", reject)
    response = chain_client.post("/v1/redemptions", json=body, headers=bearer(alice.key, **{"Idempotency-Key": "r"}))
    deciding[0].join(30)
    assert deciding[1].status_code == 200, deciding[1].text

    def seqs(action: str) -> list[int]:
        records = chain_client.get("/v1/audit-log", params={"action": action}, headers=bearer(staff.auditor))
        return [r["seq"] for r in records.json()["items"] if r["data"].get("decision", "rejected") == "rejected"]

    (rejected_at,) = seqs("customer.kyc_decided")
    if response.status_code == 202:
        (requested_at,) = seqs("redemption.requested")
        assert requested_at < rejected_at, "a redemption was accepted after the customer's KYC was rejected"
    else:
        assert assert_problem(response, 422)["reason_code"] == "kyc_not_approved"


def test_a_redemption_refused_for_the_pause_or_the_customer_does_not_blame_the_wallet_field(
    chain_client: Any, staff: Staff, db_engine: Engine
) -> None:  # R11, R20, R41
    """As for a mint, only a refusal about the wallet names `body.wallet`: a client that marks the
    named field would otherwise send the holder to fix a wallet that is fine."""
    alice = _funded_holder(chain_client, staff)
    body = redemption_body(chain_client, alice, "10.00")
    not_bound = {**body, "wallet": Account.create().address}
    refused = chain_client.post(
        "/v1/redemptions", json=not_bound, headers=bearer(alice.key, **{"Idempotency-Key": "w"})
    )
    assert assert_problem(refused, 422, field="body.wallet")["reason_code"] == "wallet_not_owned"
    rejected = chain_client.post(
        f"/v1/customers/{alice.id}/kyc",
        json={"decision": "rejected", "risk": "low", "reference": "KYC-REVIEW-4"},
        headers=bearer(staff.compliance),
    )
    assert rejected.status_code == 200, rejected.text
    refused = chain_client.post("/v1/redemptions", json=body, headers=bearer(alice.key, **{"Idempotency-Key": "k"}))
    problem = assert_problem(refused, 422)
    assert (problem["reason_code"], problem.get("errors", [])) == ("kyc_not_approved", [])
    assert chain_client.post("/v1/admin/pause", headers=bearer(staff.admin)).status_code == 200
    refused = chain_client.post("/v1/redemptions", json=body, headers=bearer(alice.key, **{"Idempotency-Key": "p"}))
    problem = assert_problem(refused, 422)
    assert (problem["reason_code"], problem.get("errors", [])) == ("paused", [])
    assert _count(db_engine, Redemption) == 0
