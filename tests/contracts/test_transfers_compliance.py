"""R22 allow-list and R24 freeze/seize on every path that moves value, with the exact errors."""

from __future__ import annotations

from typing import Any

import pytest
from eth_account.signers.local import LocalAccount

from tests.chain_fixtures import TokenEnv
from tests.contracts.helpers import ZERO, assert_reverts, events, fund_holder, sign_token_permit

NOT_ALLOWED = "AccountNotAllowListed(address)"
FROZEN = "AccountFrozen(address)"
CASE_ID = bytes.fromhex("c0ffee" + "00" * 29)


def _compliance(env: TokenEnv, action: str, account: LocalAccount) -> None:
    env.send(env.keys.compliance, getattr(env.token.functions, action)(account.address))


# (compliance action applied to the victim, expected error)
RESTRICTIONS = [("removeFromAllowList", NOT_ALLOWED), ("freeze", FROZEN)]


# --------------------------------------------------------------------------------------------------
# transfer
# --------------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("action", "error"), RESTRICTIONS)
def test_transfer_refuses_a_restricted_sender(token_env: TokenEnv, action: str, error: str) -> None:
    """R22/R24: a sender off the allow-list or frozen cannot send."""
    env = token_env
    sender, receiver = fund_holder(env, 1_000), env.new_account(allow=True)
    _compliance(env, action, sender)
    assert_reverts(env, sender, env.token.functions.transfer(receiver.address, 1), error, sender.address)
    assert (env.balance(sender.address), env.balance(receiver.address)) == (1_000, 0)


@pytest.mark.parametrize(("action", "error"), RESTRICTIONS)
def test_transfer_refuses_a_restricted_receiver(token_env: TokenEnv, action: str, error: str) -> None:
    """R22/R24: a receiver off the allow-list or frozen cannot receive."""
    env = token_env
    sender, receiver = fund_holder(env, 1_000), env.new_account(allow=True)
    _compliance(env, action, receiver)
    assert_reverts(env, sender, env.token.functions.transfer(receiver.address, 1), error, receiver.address)
    assert (env.balance(sender.address), env.balance(receiver.address)) == (1_000, 0)


def test_transfer_to_a_never_listed_wallet_is_refused(token_env: TokenEnv) -> None:
    """R22: the default for an unknown wallet is 'not allow-listed'."""
    env = token_env
    sender, outsider = fund_holder(env, 1_000), env.new_account(allow=False)
    assert_reverts(env, sender, env.token.functions.transfer(outsider.address, 1), NOT_ALLOWED, outsider.address)


def test_a_frozen_account_off_the_allow_list_reports_the_allow_list_first(token_env: TokenEnv) -> None:
    env = token_env
    sender, receiver = fund_holder(env, 1_000), env.new_account(allow=True)
    _compliance(env, "freeze", sender)
    _compliance(env, "removeFromAllowList", sender)
    assert_reverts(env, sender, env.token.functions.transfer(receiver.address, 1), NOT_ALLOWED, sender.address)


def test_transfer_between_allow_listed_accounts_moves_value(token_env: TokenEnv) -> None:
    env = token_env
    sender, receiver = fund_holder(env, 1_000), env.new_account(allow=True)
    receipt = env.send(sender, env.token.functions.transfer(receiver.address, 400))
    assert events(env, receipt) == [("Transfer", (sender.address, receiver.address, 400))]
    assert (env.balance(sender.address), env.balance(receiver.address)) == (600, 400)


# --------------------------------------------------------------------------------------------------
# transferFrom
# --------------------------------------------------------------------------------------------------

def _approved(env: TokenEnv) -> tuple[LocalAccount, LocalAccount, LocalAccount]:
    owner, spender, receiver = fund_holder(env, 1_000), env.new_account(allow=True), env.new_account(allow=True)
    env.send(owner, env.token.functions.approve(spender.address, 500))
    return owner, spender, receiver


@pytest.mark.parametrize(("action", "error"), RESTRICTIONS)
def test_transfer_from_refuses_a_restricted_owner(token_env: TokenEnv, action: str, error: str) -> None:
    """R22/R24: an allowance does not let value leave a restricted account."""
    env = token_env
    owner, spender, receiver = _approved(env)
    _compliance(env, action, owner)
    call = env.token.functions.transferFrom(owner.address, receiver.address, 100)
    assert_reverts(env, spender, call, error, owner.address)
    assert env.token.functions.allowance(owner.address, spender.address).call() == 500


@pytest.mark.parametrize(("action", "error"), RESTRICTIONS)
def test_transfer_from_refuses_a_restricted_receiver(token_env: TokenEnv, action: str, error: str) -> None:
    env = token_env
    owner, spender, receiver = _approved(env)
    _compliance(env, action, receiver)
    call = env.token.functions.transferFrom(owner.address, receiver.address, 100)
    assert_reverts(env, spender, call, error, receiver.address)
    assert env.balance(owner.address) == 1_000


def test_transfer_from_refuses_a_frozen_spender(token_env: TokenEnv) -> None:
    """R24: a frozen wallet cannot move others' value either (as USDC refuses a blacklisted spender)."""
    env = token_env
    owner, spender, receiver = _approved(env)
    _compliance(env, "freeze", spender)
    call = env.token.functions.transferFrom(owner.address, receiver.address, 100)
    assert_reverts(env, spender, call, FROZEN, spender.address)
    assert env.token.functions.allowance(owner.address, spender.address).call() == 500


def test_transfer_from_by_a_spender_off_the_allow_list_moves_value_between_listed_accounts(
    token_env: TokenEnv,
) -> None:
    """R22 constrains holders, senders and receivers; a spender that never holds value needs no listing."""
    env = token_env
    owner, spender, receiver = _approved(env)
    _compliance(env, "removeFromAllowList", spender)
    receipt = env.send(spender, env.token.functions.transferFrom(owner.address, receiver.address, 100))
    assert events(env, receipt) == [("Transfer", (owner.address, receiver.address, 100))]
    assert env.balance(receiver.address) == 100
    assert env.token.functions.allowance(owner.address, spender.address).call() == 400


# --------------------------------------------------------------------------------------------------
# permit, then spend
# --------------------------------------------------------------------------------------------------

def _permit(env: TokenEnv, owner: LocalAccount, spender: LocalAccount, value: int, submitter: LocalAccount) -> Any:
    sig = sign_token_permit(env, owner, spender.address, value)
    return env.send(submitter, env.token.functions.permit(owner.address, spender.address, value, sig.deadline,
                                                          sig.v, sig.r, sig.s))


@pytest.mark.parametrize(("action", "error"), RESTRICTIONS)
def test_permit_spend_refuses_a_restricted_owner(token_env: TokenEnv, action: str, error: str) -> None:
    """R22/R24: a permit is an approval (allowed), but spending it from a restricted owner is not."""
    env = token_env
    owner, spender, receiver = fund_holder(env, 1_000), env.new_account(allow=True), env.new_account(allow=True)
    _compliance(env, action, owner)
    _permit(env, owner, spender, 300, submitter=spender)
    assert env.token.functions.allowance(owner.address, spender.address).call() == 300
    call = env.token.functions.transferFrom(owner.address, receiver.address, 300)
    assert_reverts(env, spender, call, error, owner.address)
    assert env.balance(owner.address) == 1_000


@pytest.mark.parametrize(("action", "error"), RESTRICTIONS)
def test_permit_spend_refuses_a_restricted_receiver(token_env: TokenEnv, action: str, error: str) -> None:
    env = token_env
    owner, spender, receiver = fund_holder(env, 1_000), env.new_account(allow=True), env.new_account(allow=True)
    _compliance(env, action, receiver)
    _permit(env, owner, spender, 300, submitter=spender)
    call = env.token.functions.transferFrom(owner.address, receiver.address, 300)
    assert_reverts(env, spender, call, error, receiver.address)


def test_permit_spend_refuses_a_frozen_spender(token_env: TokenEnv) -> None:
    env = token_env
    owner, spender, receiver = fund_holder(env, 1_000), env.new_account(allow=True), env.new_account(allow=True)
    _permit(env, owner, spender, 300, submitter=receiver)
    _compliance(env, "freeze", spender)
    call = env.token.functions.transferFrom(owner.address, receiver.address, 300)
    assert_reverts(env, spender, call, FROZEN, spender.address)


def test_permit_spend_between_listed_accounts_moves_value(token_env: TokenEnv) -> None:
    env = token_env
    owner, spender, receiver = fund_holder(env, 1_000), env.new_account(allow=True), env.new_account(allow=True)
    _permit(env, owner, spender, 300, submitter=receiver)
    receipt = env.send(spender, env.token.functions.transferFrom(owner.address, receiver.address, 300))
    assert events(env, receipt) == [("Transfer", (owner.address, receiver.address, 300))]
    assert (env.balance(owner.address), env.balance(receiver.address)) == (700, 300)


# --------------------------------------------------------------------------------------------------
# mint and redeem
# --------------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("action", "error"), RESTRICTIONS)
def test_mint_refuses_a_restricted_receiver(token_env: TokenEnv, action: str, error: str) -> None:
    """R11/R22/R24: mint only to an allow-listed, unfrozen wallet."""
    env = token_env
    receiver = env.new_account(allow=True)
    env.attest(10**15)
    _compliance(env, action, receiver)
    assert_reverts(env, env.keys.minter, env.token.functions.mint(receiver.address, 10), error, receiver.address)
    assert env.token.functions.totalSupply().call() == 0


def test_mint_to_a_never_listed_wallet_is_refused(token_env: TokenEnv) -> None:
    env = token_env
    outsider = env.new_account(allow=False)
    env.attest(10**15)
    assert_reverts(env, env.keys.minter, env.token.functions.mint(outsider.address, 10), NOT_ALLOWED,
                   outsider.address)


def test_mint_to_the_zero_address_is_refused(token_env: TokenEnv) -> None:
    env = token_env
    env.attest(10**15)
    assert_reverts(env, env.keys.minter, env.token.functions.mint(ZERO, 10), "ERC20InvalidReceiver(address)", ZERO)


@pytest.mark.parametrize(("action", "error"), RESTRICTIONS)
def test_redeem_refuses_a_restricted_holder_and_keeps_the_permit_unused(
    token_env: TokenEnv, action: str, error: str
) -> None:
    """R22/R24: a frozen or de-listed holder cannot redeem (seizure goes through burnFrozen instead)."""
    env = token_env
    holder = fund_holder(env, 1_000)
    _compliance(env, action, holder)
    sig = sign_token_permit(env, holder, env.keys.minter.address, 100)
    call = env.token.functions.redeemWithPermit(holder.address, 100, b"\x01" * 32, sig.deadline, sig.v, sig.r, sig.s)
    assert_reverts(env, env.keys.minter, call, error, holder.address)
    assert env.balance(holder.address) == 1_000
    assert env.token.functions.nonces(holder.address).call() == 0


@pytest.mark.parametrize("spend", ["signature", "front-run permit allowance"])
def test_redeem_refuses_a_frozen_minter_as_transfer_from_refuses_a_frozen_spender(
    token_env: TokenEnv, spend: str
) -> None:
    """R24: the minter is the spender of the holder's permit; frozen, it spends nothing."""
    env = token_env
    holder, minter = fund_holder(env, 1_000), env.keys.minter
    sig = sign_token_permit(env, holder, minter.address, 100)
    if spend != "signature":
        env.send(holder, env.token.functions.permit(holder.address, minter.address, 100, sig.deadline,
                                                    sig.v, sig.r, sig.s))
    _compliance(env, "freeze", minter)
    call = env.token.functions.redeemWithPermit(holder.address, 100, b"\x01" * 32, sig.deadline, sig.v, sig.r, sig.s)
    assert_reverts(env, minter, call, FROZEN, minter.address)
    assert env.balance(holder.address) == 1_000
    assert env.token.functions.totalSupply().call() == 1_000


# --------------------------------------------------------------------------------------------------
# immobilise and restore
# --------------------------------------------------------------------------------------------------

def test_removing_from_the_allow_list_immobilises_the_balance_until_relisted(token_env: TokenEnv) -> None:
    """R22: the balance stays (and still counts in supply) but cannot move in or out."""
    env = token_env
    holder, other = fund_holder(env, 1_000), fund_holder(env, 1_000)
    _compliance(env, "removeFromAllowList", holder)
    assert env.balance(holder.address) == 1_000
    assert env.token.functions.totalSupply().call() == 2_000
    assert_reverts(env, holder, env.token.functions.transfer(other.address, 1), NOT_ALLOWED, holder.address)
    assert_reverts(env, other, env.token.functions.transfer(holder.address, 1), NOT_ALLOWED, holder.address)

    _compliance(env, "addToAllowList", holder)
    env.send(holder, env.token.functions.transfer(other.address, 250))
    assert (env.balance(holder.address), env.balance(other.address)) == (750, 1_250)


def test_unfreeze_restores_sending_and_receiving(token_env: TokenEnv) -> None:
    """R24: a freeze is lifted by unfreeze and nothing else changes."""
    env = token_env
    holder, other = fund_holder(env, 1_000), fund_holder(env, 1_000)
    _compliance(env, "freeze", holder)
    assert_reverts(env, other, env.token.functions.transfer(holder.address, 1), FROZEN, holder.address)
    _compliance(env, "unfreeze", holder)
    assert env.token.functions.isAllowListed(holder.address).call() is True
    env.send(other, env.token.functions.transfer(holder.address, 10))
    env.send(holder, env.token.functions.transfer(other.address, 510))
    assert (env.balance(holder.address), env.balance(other.address)) == (500, 1_500)


# --------------------------------------------------------------------------------------------------
# burnFrozen (R24 seizure)
# --------------------------------------------------------------------------------------------------

def test_burn_frozen_refuses_an_account_that_is_not_frozen(token_env: TokenEnv) -> None:
    env = token_env
    holder = fund_holder(env, 1_000)
    call = env.token.functions.burnFrozen(holder.address, 1, CASE_ID)
    assert_reverts(env, env.keys.compliance, call, "AccountNotFrozen(address)", holder.address)
    assert env.balance(holder.address) == 1_000


def test_burn_frozen_refuses_more_than_the_balance(token_env: TokenEnv) -> None:
    env = token_env
    holder = fund_holder(env, 1_000)
    _compliance(env, "freeze", holder)
    call = env.token.functions.burnFrozen(holder.address, 1_001, CASE_ID)
    assert_reverts(env, env.keys.compliance, call, "ERC20InsufficientBalance(address,uint256,uint256)",
                   holder.address, 1_000, 1_001)


def test_burn_frozen_refuses_a_zero_amount_instead_of_recording_an_empty_seizure(token_env: TokenEnv) -> None:
    """R24: a seizure event with nothing seized would stand in the case's record as if it were one."""
    env = token_env
    holder = fund_holder(env, 1_000)
    _compliance(env, "freeze", holder)
    supply = env.token.functions.totalSupply().call()
    assert_reverts(env, env.keys.compliance, env.token.functions.burnFrozen(holder.address, 0, CASE_ID), "ZeroAmount()")
    assert env.balance(holder.address) == 1_000 and env.token.functions.totalSupply().call() == supply


def test_burn_frozen_reduces_balance_and_supply_and_records_the_case(token_env: TokenEnv) -> None:
    """R24: seizure burns, emits Transfer to zero and FrozenBalanceBurned with the legal-basis case id."""
    env = token_env
    holder, bystander = fund_holder(env, 1_000), fund_holder(env, 1_000)
    _compliance(env, "freeze", holder)
    receipt = env.send(env.keys.compliance, env.token.functions.burnFrozen(holder.address, 700, CASE_ID))
    assert events(env, receipt) == [
        ("Transfer", (holder.address, ZERO, 700)),
        ("FrozenBalanceBurned", (holder.address, 700, CASE_ID)),
    ]
    assert env.balance(holder.address) == 300
    assert env.balance(bystander.address) == 1_000
    assert env.token.functions.totalSupply().call() == 1_300
    assert env.token.functions.isFrozen(holder.address).call() is True


def test_burn_frozen_works_while_paused_and_off_the_allow_list(token_env: TokenEnv) -> None:
    """R24 + R41: an incident response must be able to seize during a pause."""
    env = token_env
    holder = fund_holder(env, 1_000)
    _compliance(env, "freeze", holder)
    _compliance(env, "removeFromAllowList", holder)
    env.send(env.keys.pauser, env.token.functions.pause())
    receipt = env.send(env.keys.compliance, env.token.functions.burnFrozen(holder.address, 1_000, CASE_ID))
    assert events(env, receipt, "FrozenBalanceBurned") == [("FrozenBalanceBurned", (holder.address, 1_000, CASE_ID))]
    assert env.balance(holder.address) == 0
    assert env.token.functions.totalSupply().call() == 0
