"""The SDK against the real service (in process, on Anvil): the whole client journey, the typed
errors the API's refusals become, and the async client on an ASGI transport."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import httpx
import pytest
from eth_account import Account

from cnh_sdk import (
    AsyncClient,
    Client,
    Conflict,
    Forbidden,
    NotFound,
    RuleRejected,
    Unauthorized,
    ValidationFailed,
)
from tests.sdk.flow import add_buffer_capital, onboard, staff_clients
from tests.service.service_helpers import ADMIN_KEY

pytestmark = pytest.mark.chain


def test_sdk_onboards_deposits_mints_redeems_and_audits_end_to_end(admin: Client) -> None:
    staff = staff_clients(admin)
    add_buffer_capital(staff)
    lotus = onboard(admin, staff)
    assert lotus.client.get_wallet(lotus.wallet.address).status == "active"

    bank_reference = f"HKBANK-{uuid.uuid4().hex[:8]}"
    deposit = staff.operator.create_deposit(lotus.customer_id, "5000.00", bank_reference, idempotency_key="dep-1")
    replayed = staff.operator.create_deposit(lotus.customer_id, "5000.00", bank_reference, idempotency_key="dep-1")
    assert replayed.id == deposit.id  # the same key and body: the original answer, no second credit
    assert lotus.client.get_balance(lotus.customer_id).available == "5000.00"

    mint = lotus.client.wait_for_mint(lotus.client.create_mint(lotus.wallet.address, "3000.00").id)
    assert mint.status == "confirmed" and mint.tx_hash and mint.block_number
    assert lotus.client.token_balance(lotus.wallet.address) == 3_000 * 10**6
    assert [m.id for m in lotus.client.iter_mints(page_size=1)] == [mint.id]

    redemption = lotus.client.wait_for_redemption(lotus.client.redeem(lotus.wallet, "1000.00").id)
    assert redemption.status == "paid" and redemption.burn_tx_hash
    assert lotus.client.token_balance(lotus.wallet.address) == 2_000 * 10**6

    verification = staff.auditor.verify_audit_log()
    assert verification.ok and verification.entries > 10
    actions = {record.action for record in staff.auditor.iter_audit_log(page_size=5, entity_id=mint.id)}
    assert "mint.confirmed" in actions or any(action.startswith("mint.") for action in actions)


def test_idempotency_key_reused_with_another_body_is_a_conflict(admin: Client) -> None:
    staff = staff_clients(admin)
    customer = staff.operator.create_customer("Harbour Payments Ltd", "institution", "HK")
    staff.operator.create_deposit(customer.id, "10.00", "REF-A", idempotency_key="same-key")
    with pytest.raises(Conflict) as refused:
        staff.operator.create_deposit(customer.id, "20.00", "REF-B", idempotency_key="same-key")
    assert refused.value.status == 409 and "Idempotency-Key" in refused.value.detail


def test_redeem_retried_with_its_idempotency_key_replays_the_first_redemption_and_burns_once(admin: Client) -> None:
    """A retry of `redeem` signs a new permit (a later deadline by the chain's clock, the next nonce
    once the first burn landed): the permit authorises the burn, it is not what is asked, so the
    retry is the same request and gets the first answer, not a 409."""
    staff = staff_clients(admin)
    add_buffer_capital(staff)
    lotus = onboard(admin, staff, deposit="500.00")
    lotus.client.wait_for_mint(lotus.client.create_mint(lotus.wallet.address, "500.00").id)
    first = lotus.client.redeem(lotus.wallet, "100.00", idempotency_key="redeem-retry-1")
    assert lotus.client.wait_for_redemption(first.id).status == "paid"

    again = lotus.client.redeem(lotus.wallet, "100.00", idempotency_key="redeem-retry-1")
    assert again.id == first.id
    assert [r.id for r in lotus.client.iter_redemptions()] == [first.id]
    assert lotus.client.token_balance(lotus.wallet.address) == 400 * 10**6
    with pytest.raises(Conflict):  # another amount under the same key is another request
        lotus.client.redeem(lotus.wallet, "50.00", idempotency_key="redeem-retry-1")


def test_api_refusals_arrive_as_typed_problems_with_every_member(admin: Client) -> None:
    staff = staff_clients(admin)
    with pytest.raises(Unauthorized) as no_key:
        admin.with_key(None).list_customers()
    with pytest.raises(Forbidden) as wrong_role:
        staff.operator.create_api_key("operator", "not allowed")
    with pytest.raises(NotFound):
        staff.operator.get_customer("cus_does_not_exist")
    for problem in (no_key.value, wrong_role.value):
        assert problem.request_id and problem.request_id.startswith("req_")
        assert problem.type.startswith("urn:cnh-sandbox:problem:") and problem.title and problem.detail

    lotus = onboard(admin, staff, deposit="100.00")
    with pytest.raises(ValidationFailed) as invalid:
        lotus.client.create_mint(lotus.wallet.address, "1.001")
    assert [error.field for error in invalid.value.errors] == ["body.amount"]
    assert not isinstance(invalid.value, RuleRejected)

    with pytest.raises(RuleRejected) as rule:
        lotus.client.create_mint(lotus.wallet.address, "500.00")  # more than the confirmed fiat (R10)
    assert (rule.value.reason_code, rule.value.rule_id) == ("insufficient_fiat", "R10")
    assert "R10" in str(rule.value) and rule.value.request_id in str(rule.value)


def test_async_client_binds_and_mints_through_an_asgi_transport(app_client: Any) -> None:
    async def journey() -> tuple[str, int]:
        transport = httpx.ASGITransport(app=app_client.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
            admin = AsyncClient(api_key=ADMIN_KEY, http=http)
            operator = admin.with_key((await admin.create_api_key("operator", "async operator")).key)
            compliance = admin.with_key((await admin.create_api_key("compliance", "async compliance")).key)
            treasury = admin.with_key((await admin.create_api_key("treasury", "async maker")).key)
            checker = admin.with_key((await admin.create_api_key("treasury", "async checker")).key)
            asset = await treasury.record_reserve_asset("cash", "Sandbox Bank HK", "100.00", "CAPITAL-ASYNC")
            await checker.approve_reserve_asset(asset.id)
            customer = await operator.create_customer("Lotus Trading Ltd", "institution", "HK")
            await compliance.decide_kyc(customer.id, "approved", "low", "KYC-ASYNC")
            lotus = admin.with_key((await admin.create_customer_api_key(customer.id)).key)
            wallet = Account.create()
            await lotus.bind_wallet_with_key(wallet)
            await operator.create_deposit(customer.id, "200.00", "ASYNC-0001")
            mint = await lotus.wait_for_mint((await lotus.create_mint(wallet.address, "200.00")).id)
            balance = await lotus.token_balance(wallet.address)
            await admin.aclose()
            return mint.status, balance

    assert asyncio.run(journey()) == ("confirmed", 200 * 10**6)


def test_webhook_subscriptions_are_created_listed_and_deleted(admin: Client) -> None:
    staff = staff_clients(admin)
    customer = staff.operator.create_customer("Lotus Trading Ltd", "institution", "HK")
    lotus = admin.with_key(admin.create_customer_api_key(customer.id).key)
    created = lotus.create_webhook("http://127.0.0.1:9/hooks", events=["mint.confirmed"], description="bot")
    assert created.secret.startswith("whsec_") and created.events == ["mint.confirmed"]
    assert [hook.id for hook in lotus.list_webhooks().items] == [created.id]
    assert lotus.list_webhook_deliveries(created.id).items == []
    assert lotus.delete_webhook(created.id).status == "deleted"
    with pytest.raises(ValidationFailed) as unknown_event:
        lotus.create_webhook("http://127.0.0.1:9/hooks", events=["mint.exploded"])
    assert unknown_event.value.errors[0].field.startswith("body.events")


def test_a_role_change_asked_through_the_sdk_applies_once_a_second_admin_approves(admin: Client) -> None:
    # R40, R42: one admin asks, a different admin approves, and only then does the key's role change.
    created = admin.create_api_key("operator", "ops desk, moving to treasury")
    moving = admin.with_key(created.key)
    second_admin = admin.with_key(admin.create_api_key("admin", "second admin").key)
    change = admin.request_role_change(created.id, "treasury", "moved to the treasury team")
    assert (change.status, change.payload["role_before"], change.payload["role"]) == ("pending", "operator", "treasury")
    with pytest.raises(Forbidden) as own:
        admin.approve_request(change.id)
    assert own.value.reason_code == "same_principal"
    assert moving.list_customers().items == []  # still an operator

    assert second_admin.approve_request(change.id, note="confirmed with HR").status == "approved"
    assert admin.get_approval(change.id).approvals[0].note == "confirmed with HR"
    assert moving.list_reserve_assets().items == []  # now treasury
    with pytest.raises(Forbidden):
        moving.list_customers()
