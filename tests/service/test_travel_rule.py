"""Travel rule through the API (R25): a redemption from the profile threshold must carry the full
originator and beneficiary data (422 naming each missing field); transfers between customer wallets
at or above the threshold need a record linking their tx hash within the window, or the compliance
report flags them."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from compliance.money import fen_to_units
from issuer_service.clock import utc_now
from issuer_service.indexer.models import ChainEvent
from tests.service.compliance_helpers import add_active_wallet
from tests.service.flow import Staff, add_buffer_capital, new_customer, redemption_body, request_mint, wait_for
from tests.service.service_helpers import ADMIN_KEY, assert_problem, bearer

FULL: dict[str, dict[str, Any]] = {
    "originator": {"name": "Alice Ltd", "account": None, "id_number": "LEI 5493001KJTIIGC8Y1R12"},
    "beneficiary": {
        "name": "Alice Ltd",
        "account": "HK-SANDBOX-BANK 012-345678-001",
        "address": "1 Sandbox Road, Central, Hong Kong",
    },
}
MISSING_ALL = [
    f"body.travel_rule.{party}.{name}"
    for party in ("originator", "beneficiary")
    for name in ("name", "account", "address")
]


def _fields(problem: dict[str, Any]) -> list[str]:
    return [error["field"] for error in problem["errors"]]


def _transfer(app: FastAPI, sender: str, receiver: str, cnh: int, *, age: timedelta) -> str:
    """An indexed Transfer between two customer wallets, observed `age` ago."""
    tx_hash = "0x" + secrets.token_hex(32)
    with app.state.sessionmaker.begin() as session:
        session.add(
            ChainEvent(
                block_number=100,
                block_hash="0x" + secrets.token_hex(32),
                tx_hash=tx_hash,
                log_index=0,
                event="Transfer",
                from_address=sender,
                to_address=receiver,
                amount_units=fen_to_units(cnh * 100),
                request_id=None,
                explained=None,
                created_at=utc_now() - age,
            )
        )
    return tx_hash


def test_transfers_between_customers_without_a_timely_record_are_flagged_in_the_compliance_report(
    app: FastAPI,
    client: TestClient,
    make_key: Callable[..., str],
    make_customer: Callable[..., dict[str, Any]],
    make_customer_key: Callable[[str], str],
) -> None:
    compliance, auditor = make_key("compliance"), make_key("auditor")
    alice, bob = make_customer(name="Alice Ltd"), make_customer(name="Bob Ltd")
    alice_key = make_customer_key(alice["id"])
    a_wallet = add_active_wallet(app.state.sessionmaker, alice["id"])
    b_wallet = add_active_wallet(app.state.sessionmaker, bob["id"])
    two_days = timedelta(days=2)  # hk: a record is due within 86,400 s of the transfer
    missing = _transfer(app, a_wallet, b_wallet, 8_000, age=two_days)
    recorded = _transfer(app, a_wallet, b_wallet, 7_300, age=timedelta(hours=1))  # exactly at the threshold
    _transfer(app, a_wallet, b_wallet, 7_299, age=two_days)  # below: no record needed
    awaiting = _transfer(app, b_wallet, a_wallet, 9_000, age=timedelta(minutes=5))
    _transfer(app, a_wallet, "0x" + "00" * 20, 50_000, age=two_days)  # a burn, not a customer transfer

    record: dict[str, Any] = {
        "tx_hash": recorded,
        "originator": {**FULL["originator"], "account": a_wallet},
        "beneficiary": {"name": "Bob Ltd", "account": b_wallet, "id_number": "BR 12345678"},
    }
    incomplete = {**record, "beneficiary": {"name": "Bob Ltd"}}
    problem = assert_problem(client.post("/v1/travel-rule/records", json=incomplete, headers=bearer(alice_key)), 422)
    assert (problem["rule_id"], _fields(problem)) == ("R25", ["body.beneficiary.account", "body.beneficiary.address"])
    not_hers = {**record, "originator": {**record["originator"], "account": b_wallet}}
    assert_problem(client.post("/v1/travel-rule/records", json=not_hers, headers=bearer(alice_key)), 403)
    # R25: a record is of a real transfer, names its two wallets, and is the only one.
    made_up = {**record, "tx_hash": "0x" + "de" * 32}
    unknown = assert_problem(
        client.post("/v1/travel-rule/records", json=made_up, headers=bearer(alice_key)), 422, field="body.tx_hash"
    )
    assert unknown["reason_code"] == "transfer_not_found"
    elsewhere = {**record, "beneficiary": {**record["beneficiary"], "account": add_active_wallet(
        app.state.sessionmaker, bob["id"])}}
    mismatch = assert_problem(
        client.post("/v1/travel-rule/records", json=elsewhere, headers=bearer(alice_key)),
        422,
        field="body.originator.account",
    )
    assert mismatch["reason_code"] == "travel_rule_parties_mismatch" and b_wallet in mismatch["detail"]
    not_an_account = {**record, "beneficiary": {**record["beneficiary"], "account": "b"}}
    assert_problem(
        client.post("/v1/travel-rule/records", json=not_an_account, headers=bearer(compliance)),
        422,
        field="body.beneficiary.account",
    )
    created = client.post("/v1/travel-rule/records", json=record, headers=bearer(alice_key))
    assert created.status_code == 201, created.text
    assert (created.json()["complete"], created.json()["tx_hash"]) == (True, recorded)
    again = assert_problem(client.post("/v1/travel-rule/records", json=record, headers=bearer(compliance)), 409)
    assert created.json()["id"] in again["detail"]

    report = client.get("/v1/compliance/report", headers=bearer(compliance)).json()["travel_rule"]
    assert (
        report["threshold"],
        report["transfers_at_or_above_threshold"],
        report["recorded"],
        report["awaiting_record"],
    ) == ("7300.00", 3, 1, 1)
    assert [(f["tx_hash"], f["problem"], f["amount"]) for f in report["flagged"]] == [
        (missing, "missing", "8000.000000")
    ]
    assert awaiting not in [f["tx_hash"] for f in report["flagged"]]
    # A record made after the window no longer clears it: it is late.
    late = {**record, "tx_hash": missing}
    assert client.post("/v1/travel-rule/records", json=late, headers=bearer(compliance)).status_code == 201
    flagged = client.get("/v1/compliance/report", headers=bearer(auditor)).json()["travel_rule"]["flagged"]
    assert [(f["tx_hash"], f["problem"]) for f in flagged] == [(missing, "late")]
    metrics = client.get("/metrics").text
    assert "cnh_travel_rule_flagged_transfers 1.0" in metrics



def test_a_transfer_record_keeps_the_wallets_in_eip55_form_however_they_were_typed(
    app: FastAPI, client: TestClient, make_key: Callable[..., str], make_customer: Callable[..., dict[str, Any]]
) -> None:  # R25
    """Records of one wallet read the same whether it was typed in lower case or checksummed, so an
    auditor searching for the wallet finds all of them."""
    compliance = make_key("compliance")
    alice, bob = make_customer(name="Alice Ltd"), make_customer(name="Bob Ltd")
    a_wallet = add_active_wallet(app.state.sessionmaker, alice["id"])
    b_wallet = add_active_wallet(app.state.sessionmaker, bob["id"])
    tx_hash = _transfer(app, a_wallet, b_wallet, 8_000, age=timedelta(minutes=5))
    record = {
        "tx_hash": tx_hash,
        "originator": {**FULL["originator"], "account": a_wallet.lower()},
        "beneficiary": {"name": "Bob Ltd", "account": b_wallet.lower(), "id_number": "BR 12345678"},
    }
    created = client.post("/v1/travel-rule/records", json=record, headers=bearer(compliance))
    assert created.status_code == 201, created.text
    assert (created.json()["originator"]["account"], created.json()["beneficiary"]["account"]) == (a_wallet, b_wallet)


@pytest.mark.parametrize("database_url", [pytest.param("pg", id="postgresql")], indirect=True)
def test_one_transfer_sent_twenty_times_at_once_keeps_one_travel_rule_record(
    app: FastAPI,
    client: TestClient,
    make_customer: Callable[..., dict[str, Any]],
    make_customer_key: Callable[[str], str],
    make_key: Callable[..., str],
) -> None:  # R25
    """The "recorded already" check and the insert are two statements: without the unique index,
    concurrent requests all pass the check and each stores a record of the same transfer."""
    alice, bob = make_customer(name="Alice Ltd"), make_customer(name="Bob Ltd")
    alice_key, auditor = make_customer_key(alice["id"]), make_key("auditor")
    a_wallet = add_active_wallet(app.state.sessionmaker, alice["id"])
    b_wallet = add_active_wallet(app.state.sessionmaker, bob["id"])
    tx_hash = _transfer(app, a_wallet, b_wallet, 8_000, age=timedelta(minutes=1))
    record = {
        "tx_hash": tx_hash,
        "originator": {**FULL["originator"], "account": a_wallet},
        "beneficiary": {"name": "Bob Ltd", "account": b_wallet, "id_number": "BR 12345678"},
    }

    with ThreadPoolExecutor(20) as pool:
        responses = list(
            pool.map(
                lambda _: client.post("/v1/travel-rule/records", json=record, headers=bearer(alice_key)), range(20)
            )
        )

    statuses = sorted(r.status_code for r in responses)
    assert statuses == [201] + [409] * 19, [r.text for r in responses if r.status_code != 409]
    kept = next(r.json()["id"] for r in responses if r.status_code == 201)
    for refused in (assert_problem(r, 409, field="body.tx_hash") for r in responses if r.status_code == 409):
        assert kept in refused["detail"]
    stored = client.get("/v1/travel-rule/records", params={"tx_hash": tx_hash}, headers=bearer(auditor)).json()
    assert [r["id"] for r in stored["items"]] == [kept]


@pytest.mark.chain
def test_a_redemption_at_the_threshold_needs_the_full_data_set_and_the_record_is_kept(
    chain_client: Any, staff: Staff
) -> None:
    client = chain_client
    add_buffer_capital(client, staff, "200.00")
    alice = new_customer(client, staff, name="Alice Ltd", deposit="8000.00")
    minted = request_mint(client, alice, "8000.00")
    assert (
        wait_for(client, f"/v1/mints/{minted.json()['id']}", alice.key, {"confirmed", "failed"})["status"]
        == "confirmed"
    )
    requirements = client.get("/v1/travel-rule/requirements", params={"amount": "7300.00"}).json()
    assert requirements["full_data_required"] is True and len(requirements["required_fields"]) == 6

    def redeem(amount: str, travel_rule: dict[str, Any] | None) -> Any:
        body = redemption_body(client, alice, amount)
        if travel_rule is not None:
            body["travel_rule"] = travel_rule
        return client.post(
            "/v1/redemptions", json=body, headers=bearer(alice.key, **{"Idempotency-Key": secrets.token_hex(8)})
        )

    none_given = assert_problem(redeem("7300.00", None), 422)
    assert (none_given["reason_code"], none_given["rule_id"], _fields(none_given)) == (
        "travel_rule_data_missing",
        "R25",
        MISSING_ALL,
    )
    partial = {"originator": FULL["originator"], "beneficiary": {"name": "Alice Ltd"}}
    assert _fields(assert_problem(redeem("7300.00", partial), 422)) == [
        "body.travel_rule.originator.account",
        "body.travel_rule.beneficiary.account",
        "body.travel_rule.beneficiary.address",
    ]
    full = {"originator": {**FULL["originator"], "account": alice.wallet.address}, "beneficiary": FULL["beneficiary"]}
    accepted = redeem("7300.00", full)
    assert accepted.status_code == 202, accepted.text
    paid = wait_for(client, f"/v1/redemptions/{accepted.json()['id']}", alice.key, {"paid", "failed"})
    assert (paid["status"], paid["fee"], paid["payout"]) == ("paid", "0.00", "7300.00")  # R14: fee on the receipt
    small = redeem("100.00", None)  # below the threshold: data comes from the KYC file
    assert small.status_code == 202, small.text

    records = client.get(
        "/v1/travel-rule/records", params={"kind": "redemption"}, headers=bearer(staff.auditor)
    ).json()["items"]
    by_subject = {r["subject_id"]: r for r in records}
    kept = by_subject[accepted.json()["id"]]
    assert (kept["full_data_required"], kept["complete"]) == (True, True)
    assert kept["beneficiary"]["address"] == FULL["beneficiary"]["address"]
    filled = by_subject[small.json()["id"]]
    assert (filled["full_data_required"], filled["originator"]["name"], filled["originator"]["id_number"]) == (
        False,
        "Alice Ltd",
        alice.id,
    )
    mints = client.get("/v1/travel-rule/records", params={"kind": "mint"}, headers=bearer(staff.auditor)).json()
    assert [(r["subject_id"], r["beneficiary"]["account"]) for r in mints["items"]] == [
        (minted.json()["id"], alice.wallet.address)
    ]
    # A paused service says so before it asks for travel-rule data (R41 first, then R25).
    assert wait_for(client, f"/v1/redemptions/{small.json()['id']}", alice.key, {"paid", "failed"})["status"] == "paid"
    assert client.post("/v1/admin/pause", headers=bearer(ADMIN_KEY)).status_code == 200
    paused = assert_problem(redeem("7300.00", None), 422)
    assert (paused["reason_code"], paused["rule_id"]) == ("paused", "R41")


@pytest.mark.chain
def test_a_redemption_s_travel_rule_record_names_the_wallet_it_burns_from_not_another(
    chain_client: Any, staff: Staff
) -> None:  # R25
    """The originator of a redemption is the wallet the tokens are burned from: a record naming
    another customer's wallet would keep false data for a transfer the service paid out."""
    client = chain_client
    add_buffer_capital(client, staff, "200.00")
    alice = new_customer(client, staff, name="Alice Ltd", deposit="8000.00")
    bob = new_customer(client, staff, name="Bob Ltd")
    minted = request_mint(client, alice, "8000.00")
    assert (
        wait_for(client, f"/v1/mints/{minted.json()['id']}", alice.key, {"confirmed", "failed"})["status"]
        == "confirmed"
    )

    def redeem(originator_account: str) -> Any:
        body = redemption_body(client, alice, "7300.00")
        body["travel_rule"] = {
            "originator": {**FULL["originator"], "account": originator_account},
            "beneficiary": FULL["beneficiary"],
        }
        return client.post(
            "/v1/redemptions", json=body, headers=bearer(alice.key, **{"Idempotency-Key": secrets.token_hex(8)})
        )

    elsewhere = assert_problem(redeem(bob.wallet.address), 422, field="body.travel_rule.originator.account")
    assert (elsewhere["reason_code"], elsewhere["rule_id"]) == ("travel_rule_parties_mismatch", "R25")
    assert alice.wallet.address in elsewhere["detail"]
    accepted = redeem(alice.wallet.address.lower())  # the same wallet, spelled lower-case
    assert accepted.status_code == 202, accepted.text
    records = client.get(
        "/v1/travel-rule/records", params={"kind": "redemption"}, headers=bearer(staff.auditor)
    ).json()["items"]
    assert [(r["subject_id"], r["originator"]["account"]) for r in records] == [
        (accepted.json()["id"], alice.wallet.address)
    ]
