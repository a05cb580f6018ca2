"""R1: the on-chain mint cap. Supply may not exceed the latest fresh attestation less the buffer."""

from __future__ import annotations

import pytest
from eth_account.signers.local import LocalAccount

from issuer_service.chain.tx import TransactionFailed
from tests.chain_fixtures import TokenEnv
from tests.contracts.helpers import (
    BPS,
    MAX_UINT128,
    assert_reverts,
    events,
    increase_time,
    mine_at,
    set_next_block_timestamp,
)

CAP = "ReserveCapExceeded(uint256,uint256)"
STALE = "AttestationStale(uint256,uint256,uint256)"
POLICY = "InvalidReservePolicy(uint256,uint256)"
MAX_AGE = 86_400  # DeployConfig default


def mintable(reserve: int, buffer_bps: int) -> int:
    """R1 with buffer: the largest supply S with S * (1 + b) <= R, in integers."""
    return reserve * BPS // (BPS + buffer_bps)


def _mint(env: TokenEnv, to: LocalAccount, amount: int) -> None:
    env.send(env.keys.minter, env.token.functions.mint(to.address, amount))


def _supply(env: TokenEnv) -> int:
    return int(env.token.functions.totalSupply().call())


def test_fresh_deployment_attests_zero_reserves_so_nothing_can_be_minted(token_env: TokenEnv) -> None:
    """R1/R10: no reserves, no tokens."""
    env = token_env
    holder = env.new_account(allow=True)
    assert env.token.functions.mintableSupply().call() == 0
    assert_reverts(env, env.keys.minter, env.token.functions.mint(holder.address, 1), CAP, 1, 0)


@pytest.mark.parametrize("reserve", [1_000_000_007, 10_200, 10_199, 51, 1])
def test_mint_up_to_the_buffered_reserve_succeeds_and_one_unit_more_is_refused(
    token_env: TokenEnv, reserve: int
) -> None:
    """R1 exact boundary with the HK 2% buffer: floor(R * 10000 / 10200) in total, not one unit more."""
    env = token_env
    a, b = env.new_account(allow=True), env.new_account(allow=True)
    env.attest(reserve)
    limit = mintable(reserve, 200)
    assert env.token.functions.mintableSupply().call() == limit
    first = limit // 3
    if first:
        _mint(env, a, first)
    if limit - first:
        _mint(env, b, limit - first)
    assert _supply(env) == limit
    assert limit * (BPS + 200) <= reserve * BPS < (limit + 1) * (BPS + 200)
    assert_reverts(env, env.keys.minter, env.token.functions.mint(a.address, 1), CAP, limit + 1, limit)
    assert _supply(env) == limit


def test_buffer_zero_and_buffer_two_percent_move_the_boundary(token_env: TokenEnv) -> None:
    """R1/R60: the buffer is configuration; 0 bps caps at the reserve itself, 200 bps below it."""
    env = token_env
    holder = env.new_account(allow=True)
    reserve = 1_000_000
    env.attest(reserve)
    assert env.token.functions.mintableSupply().call() == 980_392  # floor(1e6 / 1.02)
    assert_reverts(env, env.keys.minter, env.token.functions.mint(holder.address, 980_393), CAP, 980_393, 980_392)

    receipt = env.send(env.keys.admin, env.token.functions.setReservePolicy(0, MAX_AGE))
    assert events(env, receipt) == [("ReservePolicyUpdated", (0, MAX_AGE))]
    assert env.token.functions.mintableSupply().call() == reserve
    _mint(env, holder, 980_393)
    _mint(env, holder, reserve - 980_393)
    assert _supply(env) == reserve
    assert_reverts(env, env.keys.minter, env.token.functions.mint(holder.address, 1), CAP, reserve + 1, reserve)

    # Raising the buffer again does not un-mint anything, but blocks further mints.
    env.send(env.keys.admin, env.token.functions.setReservePolicy(200, MAX_AGE))
    assert_reverts(env, env.keys.minter, env.token.functions.mint(holder.address, 1), CAP, reserve + 1, 980_392)


def test_stale_attestation_blocks_minting_until_reattested(token_env: TokenEnv) -> None:
    """R1/R5: an attestation older than maxAttestationAge no longer backs new mints."""
    env = token_env
    holder = env.new_account(allow=True)
    env.attest(10**9)
    attested_at = env.token.functions.reserveState().call()[1]
    _mint(env, holder, 100)

    now = increase_time(env, MAX_AGE + 60)
    assert now > attested_at + MAX_AGE
    assert_reverts(env, env.keys.minter, env.token.functions.mint(holder.address, 1), STALE,
                   attested_at, MAX_AGE, now, mined=False)
    with pytest.raises(TransactionFailed):
        _mint(env, holder, 1)
    # Transfers do not depend on attestation freshness.
    other = env.new_account(allow=True)
    env.send(holder, env.token.functions.transfer(other.address, 40))
    assert env.balance(other.address) == 40

    env.attest(10**9)
    _mint(env, holder, 1)
    assert env.balance(holder.address) == 61


def test_attestation_is_fresh_at_exactly_max_age_and_stale_one_second_later(token_env: TokenEnv) -> None:
    """R1: `block.timestamp > attestedAt + maxAge` is stale; equality is still fresh."""
    env = token_env
    holder = env.new_account(allow=True)
    asof = env.now()
    env.send(env.keys.attestor, env.token.functions.attestReserves(10**9, asof))
    set_next_block_timestamp(env, asof + MAX_AGE)
    _mint(env, holder, 5)
    assert env.w3.eth.get_block("latest")["timestamp"] == asof + MAX_AGE
    assert env.balance(holder.address) == 5

    mine_at(env, asof + MAX_AGE + 1)
    assert_reverts(env, env.keys.minter, env.token.functions.mint(holder.address, 5), STALE,
                   asof, MAX_AGE, asof + MAX_AGE + 1, mined=False)


def test_attestation_dated_in_the_future_is_refused(token_env: TokenEnv) -> None:
    env = token_env
    now = env.now()
    assert_reverts(env, env.keys.attestor, env.token.functions.attestReserves(10**9, now + 1_000),
                   "AttestationInFuture(uint256,uint256)", now + 1_000, now, mined=False)
    with pytest.raises(TransactionFailed):
        env.send(env.keys.attestor, env.token.functions.attestReserves(10**9, now + 1_000))


def test_attestation_out_of_order_is_refused_but_the_same_time_is_accepted(token_env: TokenEnv) -> None:
    """Attestations move forward in time only, so an old report cannot replace a newer one."""
    env = token_env
    asof = env.now()
    env.send(env.keys.attestor, env.token.functions.attestReserves(5_000, asof))
    assert_reverts(env, env.keys.attestor, env.token.functions.attestReserves(9_000, asof - 1),
                   "AttestationOutOfOrder(uint256,uint256)", asof, asof - 1)
    env.send(env.keys.attestor, env.token.functions.attestReserves(6_000, asof))
    assert env.token.functions.reserveState().call()[:2] == [6_000, asof]


def test_reserve_above_uint128_is_refused(token_env: TokenEnv) -> None:
    """The reserve is packed as uint128 (which also bounds every balance to 128 bits)."""
    env = token_env
    now = env.now()
    assert_reverts(env, env.keys.attestor, env.token.functions.attestReserves(MAX_UINT128 + 1, now),
                   "ReserveTooLarge(uint256)", MAX_UINT128 + 1)
    env.send(env.keys.attestor, env.token.functions.attestReserves(MAX_UINT128, now))
    assert env.token.functions.reserveState().call()[0] == MAX_UINT128


def test_attestation_below_supply_blocks_mints_but_not_transfers_or_redemptions(token_env: TokenEnv) -> None:
    """R1/R5: a shortfall is recorded as a fact; it stops minting and nothing else."""
    env = token_env
    holder, other = env.new_account(allow=True), env.new_account(allow=True)
    env.attest(10**6)
    _mint(env, holder, 900_000)
    receipt = env.attest(500_000)
    assert events(env, receipt, "ReservesAttested")[0][1][1] == 500_000
    assert_reverts(env, env.keys.minter, env.token.functions.mint(other.address, 1), CAP,
                   900_001, mintable(500_000, 200))
    env.send(holder, env.token.functions.transfer(other.address, 100_000))
    assert (env.balance(holder.address), env.balance(other.address)) == (800_000, 100_000)
    assert _supply(env) == 900_000


def test_minter_allowance_decreases_with_each_mint_and_caps_it(token_env: TokenEnv) -> None:
    """USDC-style per-minter allowance: a stolen minter key can mint at most its allowance."""
    env = token_env
    holder = env.new_account(allow=True)
    env.attest(10**12)
    minter = env.new_account()
    env.send(env.keys.minter_admin, env.token.functions.configureMinter(minter.address, 100))
    env.send(minter, env.token.functions.mint(holder.address, 60))
    assert env.token.functions.minterAllowance(minter.address).call() == 40
    assert_reverts(env, minter, env.token.functions.mint(holder.address, 41),
                   "MinterAllowanceExceeded(address,uint256,uint256)", minter.address, 40, 41)
    env.send(minter, env.token.functions.mint(holder.address, 40))
    assert env.token.functions.minterAllowance(minter.address).call() == 0
    assert_reverts(env, minter, env.token.functions.mint(holder.address, 1),
                   "MinterAllowanceExceeded(address,uint256,uint256)", minter.address, 0, 1)
    assert env.balance(holder.address) == 100
    # The other minter's allowance is untouched.
    assert env.token.functions.minterAllowance(env.keys.minter.address).call() == 10**18


def test_mint_emits_minted_and_transfer(token_env: TokenEnv) -> None:
    env = token_env
    holder = env.new_account(allow=True)
    env.attest(10**9)
    receipt = env.send(env.keys.minter, env.token.functions.mint(holder.address, 777))
    assert events(env, receipt) == [
        ("Minted", (env.keys.minter.address, holder.address, 777)),
        ("Transfer", ("0x0000000000000000000000000000000000000000", holder.address, 777)),
    ]


@pytest.mark.parametrize(("buffer_bps", "max_age"), [(10_001, MAX_AGE), (65_535, MAX_AGE), (200, 0)])
def test_set_reserve_policy_refuses_a_buffer_over_100_percent_or_a_zero_max_age(
    token_env: TokenEnv, buffer_bps: int, max_age: int
) -> None:
    env = token_env
    assert_reverts(env, env.keys.admin, env.token.functions.setReservePolicy(buffer_bps, max_age), POLICY,
                   buffer_bps, max_age)
    assert env.token.functions.reserveState().call()[2:] == [MAX_AGE, 200]


def test_set_reserve_policy_accepts_the_extremes(token_env: TokenEnv) -> None:
    """A 100% buffer (10000 bps) and a one-second max age are valid, if strict."""
    env = token_env
    env.send(env.keys.admin, env.token.functions.setReservePolicy(10_000, 1))
    assert env.token.functions.reserveState().call()[2:] == [1, 10_000]
    env.attest(1_000)
    assert env.token.functions.mintableSupply().call() == 500


def test_an_absurdly_large_mint_is_refused_as_over_the_reserve_cap_not_with_an_overflow_panic(
    token_env: TokenEnv,
) -> None:
    """R1: every over-cap mint must revert with ReserveCapExceeded, the error the service maps.

    A minter admin may configure an allowance up to 2**255 - 1. A mint of 2**244 passes the allowance
    check, and then `supplyAfter * (10000 + bufferBps)` overflows in the cap check, so the mint
    reverts with Panic(0x11) instead of ReserveCapExceeded(supplyAfter, mintable).
    """
    env = token_env
    holder = env.new_account(allow=True)
    env.send(env.keys.minter_admin, env.token.functions.configureMinter(env.keys.minter.address, 2**255 - 1))
    env.attest(10**9)
    amount = 2**244
    assert_reverts(env, env.keys.minter, env.token.functions.mint(holder.address, amount), CAP,
                   amount, mintable(10**9, 200))
