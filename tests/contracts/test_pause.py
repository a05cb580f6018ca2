"""R41: pause is immediate and single-signer; it stops every value movement but not approvals."""

from __future__ import annotations

from typing import Any

import pytest
from eth_account.signers.local import LocalAccount

from tests.chain_fixtures import TokenEnv
from tests.contracts.helpers import assert_reverts, events, role_id, sign_token_permit

PAUSED = "EnforcedPause()"


class World:
    """A holder with a balance, a spender with an allowance, and a receiver — then a pause."""

    def __init__(self, env: TokenEnv) -> None:
        self.env = env
        self.holder: LocalAccount = env.new_account(allow=True)
        self.spender: LocalAccount = env.new_account(allow=True)
        self.receiver: LocalAccount = env.new_account(allow=True)
        env.attest(10**12)
        env.send(env.keys.minter, env.token.functions.mint(self.holder.address, 1_000))
        env.send(self.holder, env.token.functions.approve(self.spender.address, 500))

    def pause(self) -> Any:
        return self.env.send(self.env.keys.pauser, self.env.token.functions.pause())

    def redeem_call(self, amount: int) -> Any:
        env = self.env
        sig = sign_token_permit(env, self.holder, env.keys.minter.address, amount)
        return env.token.functions.redeemWithPermit(self.holder.address, amount, b"\x05" * 32, sig.deadline,
                                                   sig.v, sig.r, sig.s)


@pytest.fixture
def world(token_env: TokenEnv) -> World:
    return World(token_env)


def test_pause_emits_paused_with_the_pauser(world: World) -> None:
    receipt = world.pause()
    assert events(world.env, receipt) == [("Paused", (world.env.keys.pauser.address,))]
    assert world.env.token.functions.paused().call() is True


def test_pause_blocks_transfer(world: World) -> None:
    env = world.env
    world.pause()
    assert_reverts(env, world.holder, env.token.functions.transfer(world.receiver.address, 1), PAUSED)
    assert env.balance(world.holder.address) == 1_000


def test_pause_blocks_transfer_from(world: World) -> None:
    env = world.env
    world.pause()
    call = env.token.functions.transferFrom(world.holder.address, world.receiver.address, 1)
    assert_reverts(env, world.spender, call, PAUSED)
    assert env.token.functions.allowance(world.holder.address, world.spender.address).call() == 500


def test_pause_blocks_mint(world: World) -> None:
    env = world.env
    world.pause()
    assert_reverts(env, env.keys.minter, env.token.functions.mint(world.receiver.address, 1), PAUSED)
    assert env.token.functions.totalSupply().call() == 1_000


def test_pause_blocks_redeem_with_permit(world: World) -> None:
    env = world.env
    world.pause()
    assert_reverts(env, env.keys.minter, world.redeem_call(100), PAUSED)
    assert env.balance(world.holder.address) == 1_000
    assert env.token.functions.nonces(world.holder.address).call() == 0


def test_approve_and_permit_still_work_while_paused(world: World) -> None:
    """Approvals move no value, so a pause leaves them alone."""
    env = world.env
    world.pause()
    receipt = env.send(world.holder, env.token.functions.approve(world.receiver.address, 42))
    assert events(env, receipt) == [("Approval", (world.holder.address, world.receiver.address, 42))]
    sig = sign_token_permit(env, world.holder, world.spender.address, 77)
    env.send(world.receiver, env.token.functions.permit(world.holder.address, world.spender.address, 77,
                                                        sig.deadline, sig.v, sig.r, sig.s))
    assert env.token.functions.allowance(world.holder.address, world.spender.address).call() == 77
    assert env.token.functions.nonces(world.holder.address).call() == 1


def test_unpause_restores_every_movement(world: World) -> None:
    env = world.env
    world.pause()
    receipt = env.send(env.keys.pauser, env.token.functions.unpause())
    assert events(env, receipt) == [("Unpaused", (env.keys.pauser.address,))]
    assert env.token.functions.paused().call() is False
    env.send(world.holder, env.token.functions.transfer(world.receiver.address, 100))
    env.send(world.spender, env.token.functions.transferFrom(world.holder.address, world.receiver.address, 200))
    env.send(env.keys.minter, env.token.functions.mint(world.receiver.address, 300))
    env.send(env.keys.minter, world.redeem_call(50))
    assert env.balance(world.holder.address) == 650
    assert env.balance(world.receiver.address) == 600
    assert env.token.functions.totalSupply().call() == 1_250


def test_pausing_twice_is_refused(world: World) -> None:
    env = world.env
    world.pause()
    assert_reverts(env, env.keys.pauser, env.token.functions.pause(), PAUSED)


def test_unpausing_when_not_paused_is_refused(world: World) -> None:
    env = world.env
    assert_reverts(env, env.keys.pauser, env.token.functions.unpause(), "ExpectedPause()")


@pytest.mark.parametrize("caller", ["admin", "minter_admin", "compliance", "attestor", "minter", "stranger"])
def test_only_the_pauser_pauses_and_unpauses(world: World, caller: str) -> None:
    """R41/R42: a single signer, but only the pauser's key."""
    env = world.env
    account = world.holder if caller == "stranger" else getattr(env.keys, caller)
    pauser_role = role_id(env, "PAUSER_ROLE")
    error = "AccessControlUnauthorizedAccount(address,bytes32)"
    assert_reverts(env, account, env.token.functions.pause(), error, account.address, pauser_role)
    world.pause()
    assert_reverts(env, account, env.token.functions.unpause(), error, account.address, pauser_role)
    assert env.token.functions.paused().call() is True
