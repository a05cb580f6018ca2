"""Sanctions screening through the API (R20, R23): a hit blocks onboarding and opens a case; a
list update re-screens every customer and wallet and freezes listed wallets on chain; compliance
clears (false positive) or confirms (true match) each case."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from compliance.screening import SANDBOX_LIST_FILE
from issuer_service.chain.gateway import ChainGateway
from tests.service.compliance_helpers import audit_actions, poll
from tests.service.flow import Staff, bind_wallet, new_customer, onboard, request_mint
from tests.service.service_helpers import assert_problem, bearer

KYC_OK = {"decision": "approved", "risk": "low", "reference": "KYC-SCREEN-1"}


def _shipped() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(SANDBOX_LIST_FILE.read_text(encoding="utf-8"))
    return data


def test_a_listed_name_blocks_onboarding_until_compliance_clears_the_case(
    app: FastAPI, client: TestClient, make_key: Callable[..., str], operator_key: str
) -> None:
    compliance, auditor = make_key("compliance"), make_key("auditor")
    # One typo and no legal form away from the shipped entry "Vexmoor Arms Brokerage Ltd".
    created = client.post(
        "/v1/customers",
        headers=bearer(operator_key),
        json={"name": "Vexmore Arms Brokerage", "kind": "institution", "jurisdiction": "HK"},
    )
    assert created.status_code == 201, created.text
    customer = created.json()
    assert customer["status"] == "blocked"  # R23: a hit blocks onboarding
    cases = client.get("/v1/screening/cases", params={"customer_id": customer["id"]}, headers=bearer(auditor)).json()
    assert [(c["entry_id"], c["match_kind"], c["status"]) for c in cases["items"]] == [("SBX-0001", "name", "open")]
    assert cases["items"][0]["score"] >= 85

    refused = assert_problem(
        client.post(f"/v1/customers/{customer['id']}/kyc", json=KYC_OK, headers=bearer(compliance)), 422
    )
    assert (refused["reason_code"], refused["rule_id"], refused["case_ids"]) == (
        "sanctions_hit",
        "R23",
        [cases["items"][0]["id"]],
    )
    after = client.get(f"/v1/customers/{customer['id']}", headers=bearer(operator_key)).json()
    assert (after["kyc_status"], after["status"]) == ("pending", "blocked")  # the approval was not recorded...
    assert "customer.kyc_refused" in [r["action"] for r in audit_actions(client, auditor, entity_id=customer["id"])]

    assert_problem(
        client.post(
            f"/v1/screening/cases/{cases['items'][0]['id']}/clear", json={"note": "x" * 5}, headers=bearer(operator_key)
        ),
        403,
    )
    cleared = client.post(
        f"/v1/screening/cases/{cases['items'][0]['id']}/clear",
        headers=bearer(compliance),
        json={"note": "a different firm: registry number and directors do not match"},
    )
    assert cleared.status_code == 200, cleared.text
    assert cleared.json()["status"] == "cleared"
    assert client.get(f"/v1/customers/{customer['id']}", headers=bearer(operator_key)).json()["status"] == "active"
    approved = client.post(f"/v1/customers/{customer['id']}/kyc", json=KYC_OK, headers=bearer(compliance))
    assert approved.status_code == 200, approved.text
    assert approved.json()["kyc_status"] == "approved"
    # A cleared false positive is not reopened by re-screening against the same list.
    rescreen = client.post("/v1/screening/rescreen", headers=bearer(compliance))
    assert rescreen.status_code == 200, rescreen.text
    assert rescreen.json()["cases_opened"] == []
    assert client.get("/v1/screening/list", headers=bearer(auditor)).json()["shipped"] is True


def test_a_malformed_list_is_refused_naming_the_entry_and_only_compliance_loads_lists(
    client: TestClient, make_key: Callable[..., str], operator_key: str
) -> None:
    compliance = make_key("compliance")
    bad = {"version": "broken-1", "entries": [{"id": "X-1", "name": "Somebody", "addresses": ["0x1234"]}]}
    problem = assert_problem(
        client.put("/v1/screening/list", json=bad, headers=bearer(compliance)), 422, field="body.entries[0].addresses"
    )
    assert "entries[0].addresses" in problem["detail"] and "0x1234" in problem["detail"]
    blank_version = {**bad, "version": "  "}
    assert_problem(client.put("/v1/screening/list", json=blank_version, headers=bearer(compliance)), 422)
    named = client.put("/v1/screening/list", json=blank_version, headers=bearer(compliance)).json()
    assert named["errors"][0]["field"] == "body.version"
    assert_problem(client.put("/v1/screening/list", json=_shipped(), headers=bearer(operator_key)), 403)
    listed = client.get("/v1/screening/list", headers=bearer(compliance)).json()
    assert (listed["version"], listed["shipped"], listed["name_match_threshold"]) == ("sandbox-2026-01", True, 85)


@pytest.mark.chain
def test_a_list_update_rescreens_everyone_freezes_listed_wallets_on_chain_and_clearing_thaws_them(
    chain_client: Any, staff: Staff, gateway: ChainGateway
) -> None:
    client = chain_client
    bob = new_customer(client, staff, name="Bob Shipping Ltd")
    ysolde_id, _ = onboard(client, staff, name="Ysolde Farthingale Trading", approve=False)
    carol_id, carol_key = onboard(client, staff, name="Carol Ltd")
    updated = _shipped()
    updated["version"] = "sandbox-2026-02"
    updated["entries"] += [
        {
            "id": "SBX-0100",
            "name": "Grimwald Oakenshaw",
            "addresses": [bob.wallet.address.lower()],
            "program": "SANDBOX-FICTIONAL",
        },
        {"id": "SBX-0101", "name": "Ysolde Farthingale", "aliases": [], "program": "SANDBOX-FICTIONAL"},
    ]
    loaded = client.put("/v1/screening/list", json=updated, headers=bearer(staff.compliance))
    assert loaded.status_code == 200, loaded.text
    rescreen = loaded.json()["rescreen"]
    assert len(rescreen["cases_opened"]) == 2
    assert sorted(rescreen["customers_blocked"]) == sorted([bob.id, ysolde_id])
    assert rescreen["wallets_frozen"] == [bob.wallet.address]

    poll(
        lambda: client.get(f"/v1/wallets/{bob.wallet.address}", headers=bearer(staff.operator)).json(),
        lambda w: w["frozen"],
        what="listed wallet frozen",
    )
    assert gateway.account_state(bob.wallet.address).frozen is True  # R23: frozen on chain
    blocked = assert_problem(request_mint(client, bob, "1.00"), 422)
    assert (blocked["reason_code"], blocked["rule_id"]) == ("sanctions_hit", "R23")  # blocked customer
    # A listed address is never bound (R23), whoever tries.
    listed_address = _shipped()["entries"][0]["addresses"][0]
    bind = client.post(
        "/v1/wallets", json={"address": listed_address, "signature": "0x" + "00" * 65}, headers=bearer(carol_key)
    )
    assert assert_problem(bind, 422, field="body.address")["reason_code"] == "sanctions_hit"
    # A screening freeze is lifted through its case, never around it.
    around = assert_problem(
        client.post(
            f"/v1/wallets/{bob.wallet.address}/unfreeze", json={"reason": "please"}, headers=bearer(staff.compliance)
        ),
        422,
    )
    assert around["rule_id"] == "R23"

    cases = client.get("/v1/screening/cases", params={"status": "open"}, headers=bearer(staff.compliance)).json()
    by_customer = {c["customer_id"]: c for c in cases["items"]}
    assert (by_customer[bob.id]["match_kind"], by_customer[ysolde_id]["match_kind"]) == ("address", "name")
    confirmed = client.post(
        f"/v1/screening/cases/{by_customer[ysolde_id]['id']}/confirm",
        json={"note": "same person: passport number matches"},
        headers=bearer(staff.compliance),
    )
    assert confirmed.json()["status"] == "confirmed"
    assert (
        assert_problem(
            client.post(f"/v1/customers/{ysolde_id}/kyc", json=KYC_OK, headers=bearer(staff.compliance)), 422
        )["reason_code"]
        == "sanctions_hit"
    )
    cleared = client.post(
        f"/v1/screening/cases/{by_customer[bob.id]['id']}/clear",
        json={"note": "address re-assigned; the listed cluster was mis-attributed"},
        headers=bearer(staff.compliance),
    )
    assert cleared.status_code == 200, cleared.text
    poll(
        lambda: client.get(f"/v1/wallets/{bob.wallet.address}", headers=bearer(staff.operator)).json(),
        lambda w: not w["frozen"],
        what="wallet unfrozen after the case was cleared",
    )
    assert gateway.account_state(bob.wallet.address).frozen is False
    assert client.get(f"/v1/customers/{bob.id}", headers=bearer(staff.operator)).json()["status"] == "active"
    assert client.get(f"/v1/customers/{carol_id}", headers=bearer(staff.operator)).json()["status"] == "active"
    wallet_id = client.get(f"/v1/wallets/{bob.wallet.address}", headers=bearer(staff.operator)).json()["id"]
    actions = [r["action"] for r in audit_actions(client, staff.auditor, entity_id=wallet_id)]
    assert actions == [
        "wallet.bound",
        "wallet.allow_listed",
        "wallet.freeze_requested",
        "wallet.frozen",
        "wallet.unfreeze_requested",
        "wallet.unfrozen",
    ]


@pytest.mark.chain
def test_a_list_update_naming_an_existing_customer_freezes_every_bound_wallet_on_chain(
    chain_client: Any, staff: Staff, gateway: ChainGateway
) -> None:
    """R23: a new list entry that matches a customer's NAME (no address listed) opens a case on the
    customer and freezes each wallet they have bound, on chain, not only the one that matched."""
    client = chain_client
    dara = new_customer(client, staff, name="Marigold Penhallow Exports")
    second = bind_wallet(client, dara.key)
    bound = [dara.wallet.address, second.address]
    for address in bound:
        assert client.get(f"/v1/wallets/{address}", headers=bearer(staff.operator)).json()["status"] == "active"
    updated = _shipped()
    updated["version"] = "sandbox-2026-03"
    updated["entries"] += [
        {"id": "SBX-0200", "name": "Marigold Penhallow Exports", "aliases": [], "program": "SANDBOX-FICTIONAL"}
    ]
    loaded = client.put("/v1/screening/list", json=updated, headers=bearer(staff.compliance))
    assert loaded.status_code == 200, loaded.text
    rescreen = loaded.json()["rescreen"]
    assert (rescreen["customers_blocked"], sorted(rescreen["wallets_frozen"])) == ([dara.id], sorted(bound))
    [case] = rescreen["cases_opened"]
    opened = client.get(f"/v1/screening/cases/{case}", headers=bearer(staff.compliance)).json()
    assert (opened["customer_id"], opened["match_kind"], opened["status"]) == (dara.id, "name", "open")

    for address in bound:
        poll(
            lambda address=address: client.get(f"/v1/wallets/{address}", headers=bearer(staff.operator)).json(),
            lambda w: w["frozen"],
            what=f"wallet {address} of the listed name frozen",
        )
        assert gateway.account_state(address).frozen is True  # R23: frozen on chain
        holds = client.get(f"/v1/wallets/{address}/freezes", headers=bearer(staff.compliance)).json()
        assert [h["case_id"] for h in holds["holds"]] == [case]  # the case, not an officer, holds it


def test_a_wallet_bound_while_a_list_update_blocks_its_customer_is_refused_or_frozen_never_left_free(
    chain_client: Any, staff: Staff, monkeypatch: pytest.MonkeyPatch
) -> None:  # R23
    """A list update naming a customer commits while the customer's wallet binding is between
    reading the customer (active) and committing. Read without a lock, the binding was accepted
    after the block had committed and after the re-screening had listed the customer's wallets: the
    wallet was allow-listed with no hold, free on chain. Held to its commit, the customer cannot be
    blocked in between: the update waits for the binding and then holds the new wallet too."""
    from eth_account import Account
    from eth_account.messages import encode_defunct

    from issuer_service.wallets import service as wallet_service

    client = chain_client
    customer_id, key = onboard(client, staff, name="Wrenfield Tallow Exports")
    wallet = Account.create()
    message = client.get("/v1/wallets/challenge", params={"address": wallet.address}, headers=bearer(key)).json()
    signature = "0x" + bytes(wallet.sign_message(encode_defunct(text=message["message"])).signature).hex()
    updated = _shipped()
    updated["version"] = "sandbox-2026-04"
    updated["entries"] += [{"id": "SBX-0300", "name": "Wrenfield Tallow Exports", "aliases": [], "program": "SBX"}]
    verify = wallet_service._verify_control
    loading: list[Any] = []

    def load_meanwhile(*args: Any) -> Any:
        if not loading:  # the binding has read the customer and is checking the signature
            load = threading.Thread(
                target=lambda: loading.append(
                    client.put("/v1/screening/list", json=updated, headers=bearer(staff.compliance))
                )
            )
            loading.append(load)
            load.start()
            load.join(1.0)  # committed by now, unless it waits for the binding
        return verify(*args)

    monkeypatch.setattr(wallet_service, "_verify_control", load_meanwhile)
    bound = client.post("/v1/wallets", json={"address": wallet.address, "signature": signature}, headers=bearer(key))
    loading[0].join(30)
    assert loading[1].status_code == 200, loading[1].text
    if bound.status_code == 201:
        assert wallet.address in loading[1].json()["rescreen"]["wallets_frozen"]
        holds = client.get(f"/v1/wallets/{wallet.address}/freezes", headers=bearer(staff.compliance)).json()
        assert holds["chain_target"] == "frozen" and [h["case_id"] is not None for h in holds["holds"]] == [True]
    else:
        assert_problem(bound, 404)
    assert client.get(f"/v1/customers/{customer_id}", headers=bearer(staff.operator)).json()["status"] == "blocked"
