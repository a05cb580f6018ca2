"""EIP-2612 permits and `redeemWithPermit` (R13, R16), and the account word they share with the balance."""

from __future__ import annotations

from typing import Any

import pytest
from eth_abi import encode as abi_encode
from eth_account.signers.local import LocalAccount
from web3 import Web3

from issuer_service.chain.compiler import load_artifact
from issuer_service.chain.permit import PermitSignature, recover_permit_signer
from tests.chain_fixtures import TokenEnv
from tests.contracts.helpers import (
    MAX_UINT128,
    ZERO,
    assert_reverts,
    events,
    fund_holder,
    set_next_block_timestamp,
    sign_token_permit,
)

INVALID_SIGNER = "ERC2612InvalidSigner(address,address)"
EXPIRED = "ERC2612ExpiredSignature(uint256)"
NO_ALLOWANCE = "ERC20InsufficientAllowance(address,uint256,uint256)"
REQUEST_ID = Web3.keccak(text="redemption-request-42")


def _permit_call(env: TokenEnv, holder: LocalAccount, spender: str, value: int, sig: PermitSignature) -> Any:
    return env.token.functions.permit(holder.address, spender, value, sig.deadline, sig.v, sig.r, sig.s)


def _redeem_call(env: TokenEnv, holder: LocalAccount, amount: int, sig: PermitSignature,
                 request_id: bytes = REQUEST_ID) -> Any:
    return env.token.functions.redeemWithPermit(holder.address, amount, request_id, sig.deadline, sig.v, sig.r, sig.s)


def _nonce(env: TokenEnv, account: LocalAccount) -> int:
    return int(env.token.functions.nonces(account.address).call())


def _allowance(env: TokenEnv, owner: LocalAccount, spender: str) -> int:
    return int(env.token.functions.allowance(owner.address, spender).call())


# --------------------------------------------------------------------------------------------------
# permit
# --------------------------------------------------------------------------------------------------

def test_permit_sets_the_allowance_emits_approval_and_increments_the_nonce(token_env: TokenEnv) -> None:
    env = token_env
    holder, spender, relayer = fund_holder(env, 1_000), env.new_account(), env.new_account()
    assert env.token.functions.DOMAIN_SEPARATOR().call() == bytes(Web3.keccak(abi_encode(
        ["bytes32", "bytes32", "bytes32", "uint256", "address"],
        [Web3.keccak(text="EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)"),
         Web3.keccak(text="Sandbox Offshore RMB"), Web3.keccak(text="1"), env.w3.eth.chain_id, env.token.address])))
    for expected_nonce, value in enumerate([300, 5, 2**256 - 1]):
        assert _nonce(env, holder) == expected_nonce
        sig = sign_token_permit(env, holder, spender.address, value)
        receipt = env.send(relayer, _permit_call(env, holder, spender.address, value, sig))
        assert events(env, receipt) == [("Approval", (holder.address, spender.address, value))]
        assert _allowance(env, holder, spender.address) == value
    assert _nonce(env, holder) == 3
    assert env.balance(holder.address) == 1_000


def test_permit_with_an_expired_deadline_is_refused(token_env: TokenEnv) -> None:
    env = token_env
    holder, spender = fund_holder(env, 1_000), env.new_account()
    deadline = env.now() - 1
    sig = sign_token_permit(env, holder, spender.address, 10, deadline=deadline)
    assert_reverts(env, spender, _permit_call(env, holder, spender.address, 10, sig), EXPIRED, deadline)
    assert _nonce(env, holder) == 0


def test_permit_is_valid_in_the_block_of_its_deadline(token_env: TokenEnv) -> None:
    env = token_env
    holder, spender = fund_holder(env, 1_000), env.new_account()
    deadline = env.now() + 100
    sig = sign_token_permit(env, holder, spender.address, 10, deadline=deadline)
    set_next_block_timestamp(env, deadline)
    env.send(spender, _permit_call(env, holder, spender.address, 10, sig))
    assert _allowance(env, holder, spender.address) == 10


def test_permit_signed_by_another_key_is_refused_naming_that_signer(token_env: TokenEnv) -> None:
    env = token_env
    holder, spender, forger = fund_holder(env, 1_000), env.new_account(), env.new_account()
    sig = sign_token_permit(env, holder, spender.address, 10, signer=forger)
    assert_reverts(env, spender, _permit_call(env, holder, spender.address, 10, sig), INVALID_SIGNER,
                   forger.address, holder.address)
    assert _nonce(env, holder) == 0
    assert _allowance(env, holder, spender.address) == 0


def test_a_used_permit_cannot_be_replayed(token_env: TokenEnv) -> None:
    """The nonce moved on, so the old signature now recovers to an unrelated address."""
    env = token_env
    holder, spender = fund_holder(env, 1_000), env.new_account()
    sig = sign_token_permit(env, holder, spender.address, 10)
    env.send(spender, _permit_call(env, holder, spender.address, 10, sig))
    env.send(holder, env.token.functions.approve(spender.address, 0))
    recovered = recover_permit_signer(chain_id=env.w3.eth.chain_id, token=env.token.address, owner=holder.address,
                                      spender=spender.address, value=10, nonce=1, signature=sig)
    assert recovered != holder.address
    assert_reverts(env, spender, _permit_call(env, holder, spender.address, 10, sig), INVALID_SIGNER,
                   recovered, holder.address)
    assert _allowance(env, holder, spender.address) == 0
    assert _nonce(env, holder) == 1


def test_permit_submitted_for_another_spender_is_refused(token_env: TokenEnv) -> None:
    env = token_env
    holder, spender, thief = fund_holder(env, 1_000), env.new_account(), env.new_account()
    sig = sign_token_permit(env, holder, spender.address, 10)
    recovered = recover_permit_signer(chain_id=env.w3.eth.chain_id, token=env.token.address, owner=holder.address,
                                      spender=thief.address, value=10, nonce=0, signature=sig)
    assert_reverts(env, thief, _permit_call(env, holder, thief.address, 10, sig), INVALID_SIGNER,
                   recovered, holder.address)


def test_permit_with_a_malformed_signature_fails_inside_ecdsa(token_env: TokenEnv) -> None:
    """Same errors as OpenZeppelin's ERC20Permit: a high-s or zero signature is not 'some signer'."""
    env = token_env
    holder, spender = fund_holder(env, 1_000), env.new_account()
    sig = sign_token_permit(env, holder, spender.address, 10)
    n = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141
    high_s = (n - int(sig.s, 16)).to_bytes(32, "big")
    flipped_v = 55 - sig.v  # 27 <-> 28: the malleable twin of the same signature
    call = env.token.functions.permit(holder.address, spender.address, 10, sig.deadline, flipped_v, sig.r, high_s)
    assert_reverts(env, spender, call, "ECDSAInvalidSignatureS(bytes32)", high_s)
    call = env.token.functions.permit(holder.address, spender.address, 10, sig.deadline, 27, b"\x00" * 32,
                                      b"\x00" * 32)
    assert_reverts(env, spender, call, "ECDSAInvalidSignature()")


# --------------------------------------------------------------------------------------------------
# redeemWithPermit
# --------------------------------------------------------------------------------------------------

def test_redeem_with_permit_burns_emits_redeemed_and_consumes_the_nonce(token_env: TokenEnv) -> None:
    """R13/R16: the holder's permit authorises exactly this burn; Redeemed carries the request id."""
    env = token_env
    holder, bystander = fund_holder(env, 1_000), fund_holder(env, 1_000)
    minter = env.keys.minter.address
    sig = sign_token_permit(env, holder, minter, 400)
    receipt = env.send(env.keys.minter, _redeem_call(env, holder, 400, sig))
    assert events(env, receipt) == [
        ("Transfer", (holder.address, ZERO, 400)),
        ("Redeemed", (holder.address, 400, bytes(REQUEST_ID))),
    ]
    assert env.balance(holder.address) == 600
    assert env.balance(bystander.address) == 1_000
    assert env.token.functions.totalSupply().call() == 1_600
    assert _nonce(env, holder) == 1
    assert _allowance(env, holder, minter) == 0  # verified, never stored


def test_redeem_signature_cannot_be_replayed(token_env: TokenEnv) -> None:
    env = token_env
    holder = fund_holder(env, 1_000)
    minter = env.keys.minter.address
    sig = sign_token_permit(env, holder, minter, 400)
    env.send(env.keys.minter, _redeem_call(env, holder, 400, sig))
    assert_reverts(env, env.keys.minter, _redeem_call(env, holder, 400, sig), NO_ALLOWANCE, minter, 0, 400)
    # Nor can the consumed signature be turned into an allowance through permit().
    recovered = recover_permit_signer(chain_id=env.w3.eth.chain_id, token=env.token.address, owner=holder.address,
                                      spender=minter, value=400, nonce=1, signature=sig)
    assert_reverts(env, env.keys.minter, _permit_call(env, holder, minter, 400, sig), INVALID_SIGNER,
                   recovered, holder.address)
    assert env.balance(holder.address) == 600
    assert _nonce(env, holder) == 1


def test_redeem_with_a_permit_naming_a_different_spender_is_refused(token_env: TokenEnv) -> None:
    """A permit for minter B does not let minter A burn."""
    env = token_env
    holder = fund_holder(env, 1_000)
    other_minter = env.new_account()
    env.send(env.keys.minter_admin, env.token.functions.configureMinter(other_minter.address, 10**6))
    sig = sign_token_permit(env, holder, other_minter.address, 400)
    minter = env.keys.minter.address
    assert_reverts(env, env.keys.minter, _redeem_call(env, holder, 400, sig), NO_ALLOWANCE, minter, 0, 400)
    assert _nonce(env, holder) == 0
    # The named minter can still use it.
    env.send(other_minter, _redeem_call(env, holder, 400, sig))
    assert env.balance(holder.address) == 600


def test_redeem_with_a_permit_for_a_different_amount_is_refused(token_env: TokenEnv) -> None:
    env = token_env
    holder = fund_holder(env, 1_000)
    minter = env.keys.minter.address
    sig = sign_token_permit(env, holder, minter, 100)
    assert_reverts(env, env.keys.minter, _redeem_call(env, holder, 101, sig), NO_ALLOWANCE, minter, 0, 101)
    assert env.balance(holder.address) == 1_000


def test_redeem_after_a_front_run_permit_spends_the_allowance_it_created(token_env: TokenEnv) -> None:
    """Someone copies the holder's signature from the mempool into permit(); the redemption still works."""
    env = token_env
    holder, griefer = fund_holder(env, 1_000), env.new_account()
    minter = env.keys.minter.address
    sig = sign_token_permit(env, holder, minter, 250)
    env.send(griefer, _permit_call(env, holder, minter, 250, sig))
    assert (_allowance(env, holder, minter), _nonce(env, holder)) == (250, 1)

    receipt = env.send(env.keys.minter, _redeem_call(env, holder, 250, sig))
    assert events(env, receipt) == [
        ("Transfer", (holder.address, ZERO, 250)),
        ("Redeemed", (holder.address, 250, bytes(REQUEST_ID))),
    ]
    assert env.balance(holder.address) == 750
    assert _allowance(env, holder, minter) == 0
    assert _nonce(env, holder) == 1  # the nonce was consumed once, by the front-runner
    assert_reverts(env, env.keys.minter, _redeem_call(env, holder, 250, sig), NO_ALLOWANCE, minter, 0, 250)


def test_redeem_of_more_than_the_balance_is_refused_and_the_permit_stays_unused(token_env: TokenEnv) -> None:
    env = token_env
    holder = fund_holder(env, 1_000)
    sig = sign_token_permit(env, holder, env.keys.minter.address, 1_001)
    assert_reverts(env, env.keys.minter, _redeem_call(env, holder, 1_001, sig),
                   "ERC20InsufficientBalance(address,uint256,uint256)", holder.address, 1_000, 1_001)
    assert _nonce(env, holder) == 0
    assert env.balance(holder.address) == 1_000


def test_redeem_with_an_expired_permit_is_refused(token_env: TokenEnv) -> None:
    env = token_env
    holder = fund_holder(env, 1_000)
    deadline = env.now() - 1
    sig = sign_token_permit(env, holder, env.keys.minter.address, 10, deadline=deadline)
    assert_reverts(env, env.keys.minter, _redeem_call(env, holder, 10, sig), EXPIRED, deadline)


def test_redeem_by_a_removed_minter_is_refused(token_env: TokenEnv) -> None:
    env = token_env
    holder = fund_holder(env, 1_000)
    sig = sign_token_permit(env, holder, env.keys.minter.address, 10)
    env.send(env.keys.minter_admin, env.token.functions.removeMinter(env.keys.minter.address))
    assert_reverts(env, env.keys.minter, _redeem_call(env, holder, 10, sig), "NotMinter(address)",
                   env.keys.minter.address)


# --------------------------------------------------------------------------------------------------
# Packing: nonce and flags share the balance's word without corrupting each other
# --------------------------------------------------------------------------------------------------

def _account_word(env: TokenEnv, account: str) -> int:
    layout = load_artifact("TCNHToken").storage_layout["storage"]
    slot = next(int(item["slot"]) for item in layout if item["label"] == "_accounts")
    key = Web3.keccak(abi_encode(["address", "uint256"], [account, slot]))
    return int.from_bytes(env.w3.eth.get_storage_at(env.token.address, key), "big")


def _expect(env: TokenEnv, account: LocalAccount, *, balance: int, allowed: bool, frozen: bool, nonce: int) -> None:
    token = env.token.functions
    observed = (token.balanceOf(account.address).call(), token.isAllowListed(account.address).call(),
                token.isFrozen(account.address).call(), token.nonces(account.address).call())
    assert observed == (balance, allowed, frozen, nonce)
    word = (int(allowed) << 255) | (int(frozen) << 254) | (nonce << 128) | balance
    assert _account_word(env, account.address) == word, "the documented account word layout"


def test_nonce_flags_and_balance_stay_correct_through_mixed_operations(token_env: TokenEnv) -> None:
    """The account word packs A|F|nonce|balance; exercise every writer at the 128-bit balance limit."""
    env = token_env
    token = env.token.functions
    minter = env.keys.minter
    a, b = env.new_account(allow=True), env.new_account(allow=True)
    env.send(env.keys.admin, token.setReservePolicy(0, 86_400))
    env.send(env.keys.minter_admin, token.configureMinter(minter.address, 2**200))
    env.attest(MAX_UINT128)

    env.send(minter, token.mint(a.address, MAX_UINT128))  # every balance bit set
    _expect(env, a, balance=MAX_UINT128, allowed=True, frozen=False, nonce=0)

    for n in range(1, 4):
        sig = sign_token_permit(env, a, b.address, n)
        env.send(b, _permit_call(env, a, b.address, n, sig))
        _expect(env, a, balance=MAX_UINT128, allowed=True, frozen=False, nonce=n)

    env.send(env.keys.compliance, token.freeze(a.address))
    _expect(env, a, balance=MAX_UINT128, allowed=True, frozen=True, nonce=3)
    env.send(env.keys.compliance, token.removeFromAllowList(a.address))
    _expect(env, a, balance=MAX_UINT128, allowed=False, frozen=True, nonce=3)
    env.send(env.keys.compliance, token.unfreeze(a.address))
    env.send(env.keys.compliance, token.addToAllowList(a.address))
    _expect(env, a, balance=MAX_UINT128, allowed=True, frozen=False, nonce=3)

    env.send(a, token.transfer(b.address, MAX_UINT128 - 5))
    _expect(env, a, balance=5, allowed=True, frozen=False, nonce=3)
    _expect(env, b, balance=MAX_UINT128 - 5, allowed=True, frozen=False, nonce=0)

    env.send(b, token.approve(a.address, 2**256 - 1))
    env.send(a, token.transferFrom(b.address, a.address, 10))  # infinite allowance is not decreased
    assert token.allowance(b.address, a.address).call() == 2**256 - 1
    _expect(env, a, balance=15, allowed=True, frozen=False, nonce=3)

    sig = sign_token_permit(env, b, minter.address, MAX_UINT128 - 15)
    env.send(minter, _redeem_call(env, b, MAX_UINT128 - 15, sig))
    _expect(env, b, balance=0, allowed=True, frozen=False, nonce=1)

    env.send(env.keys.compliance, token.freeze(a.address))
    env.send(env.keys.compliance, token.burnFrozen(a.address, 15, b"\x09" * 32))
    _expect(env, a, balance=0, allowed=True, frozen=True, nonce=3)
    assert token.totalSupply().call() == 0


@pytest.mark.parametrize("holder_balance", [0, 1])
def test_permit_works_for_an_account_removed_from_the_allow_list(token_env: TokenEnv, holder_balance: int) -> None:
    """Approvals are not restricted (R22 restricts movement); the nonce lives in the same word anyway."""
    env = token_env
    holder = env.new_account(allow=True)
    if holder_balance:
        env.attest(10**9)
        env.send(env.keys.minter, env.token.functions.mint(holder.address, holder_balance))
    env.send(env.keys.compliance, env.token.functions.removeFromAllowList(holder.address))
    spender = env.new_account()
    sig = sign_token_permit(env, holder, spender.address, 9)
    env.send(spender, _permit_call(env, holder, spender.address, 9, sig))
    _expect(env, holder, balance=holder_balance, allowed=False, frozen=False, nonce=1)


def test_redeeming_zero_is_refused_so_no_empty_redeemed_event_can_be_forged(token_env: TokenEnv) -> None:
    # A zero amount would pass through a zero allowance without the holder's signature.
    holder = token_env.new_account(allow=True)
    keys = token_env.keys
    deadline = token_env.now() + 3600
    call = token_env.token.functions.redeemWithPermit(holder.address, 0, b"\x01" * 32, deadline, 27,
                                                      b"\x00" * 32, b"\x00" * 32)
    assert_reverts(token_env, keys.minter, call, "ZeroAmount()")
