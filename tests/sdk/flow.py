"""The sandbox's set-up steps through the SDK, shared by the SDK and CLI tests."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from eth_account import Account
from eth_account.signers.local import LocalAccount

from cnh_sdk import Client


@dataclass
class Staff:
    operator: Client
    compliance: Client
    treasury: Client
    treasury_checker: Client
    auditor: Client


@dataclass
class Onboarded:
    customer_id: str
    client: Client
    wallet: LocalAccount


def staff_clients(admin: Client) -> Staff:
    def key(role: str) -> Client:
        return admin.with_key(admin.create_api_key(role, f"sdk test {role}").key)  # type: ignore[arg-type]

    return Staff(
        operator=key("operator"),
        compliance=key("compliance"),
        treasury=key("treasury"),
        treasury_checker=key("treasury"),
        auditor=key("auditor"),
    )


def add_buffer_capital(staff: Staff, amount: str = "1000.00") -> None:
    asset = staff.treasury.record_reserve_asset(
        "cash", "Sandbox Bank HK - reserve a/c 001", amount, f"CAPITAL-{uuid.uuid4().hex[:8]}"
    )
    staff.treasury_checker.approve_reserve_asset(asset.id)


def onboard(admin: Client, staff: Staff, *, deposit: str | None = None) -> Onboarded:
    customer = staff.operator.create_customer("Lotus Trading Ltd", "institution", "HK")
    staff.compliance.decide_kyc(customer.id, "approved", "low", "KYC-TEST")
    client = admin.with_key(admin.create_customer_api_key(customer.id).key)
    wallet: LocalAccount = Account.create()
    client.bind_wallet_with_key(wallet)
    if deposit is not None:
        staff.operator.create_deposit(customer.id, deposit, f"BANK-{uuid.uuid4().hex[:10]}")
    return Onboarded(customer_id=customer.id, client=client, wallet=wallet)
