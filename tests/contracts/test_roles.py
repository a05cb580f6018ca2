"""R42: separated on-chain roles. Every gated function refuses everyone but its role's holder."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from eth_account.signers.local import LocalAccount

from issuer_service.chain.compiler import load_artifact
from issuer_service.chain.tx import TransactionFailed, send_and_wait
from tests.chain_fixtures import TokenEnv
from tests.contracts.helpers import DEPLOY_GAS, ZERO, assert_reverts, encode_error, events, role_id, sign_token_permit

UNAUTHORIZED = "AccessControlUnauthorizedAccount(address,bytes32)"
ROLE_KEYS = ("admin", "minter_admin", "pauser", "compliance", "attestor", "minter", "deployer")

# function name -> (the role that may call it, builder of the call)
Builder = Callable[[TokenEnv, LocalAccount], Any]
GATED: dict[str, tuple[str, Builder]] = {
    "grantRole": ("DEFAULT_ADMIN_ROLE",
                  lambda e, t: e.token.functions.grantRole(role_id(e, "PAUSER_ROLE"), t.address)),
    "revokeRole": ("DEFAULT_ADMIN_ROLE",
                   lambda e, t: e.token.functions.revokeRole(role_id(e, "PAUSER_ROLE"), e.keys.pauser.address)),
    "setReservePolicy": ("DEFAULT_ADMIN_ROLE", lambda e, t: e.token.functions.setReservePolicy(100, 3600)),
    "configureMinter": ("MINTER_ADMIN_ROLE", lambda e, t: e.token.functions.configureMinter(t.address, 5)),
    "removeMinter": ("MINTER_ADMIN_ROLE", lambda e, t: e.token.functions.removeMinter(e.keys.minter.address)),
    "pause": ("PAUSER_ROLE", lambda e, t: e.token.functions.pause()),
    "unpause": ("PAUSER_ROLE", lambda e, t: e.token.functions.unpause()),
    "addToAllowList": ("COMPLIANCE_ROLE", lambda e, t: e.token.functions.addToAllowList(t.address)),
    "removeFromAllowList": ("COMPLIANCE_ROLE", lambda e, t: e.token.functions.removeFromAllowList(t.address)),
    "freeze": ("COMPLIANCE_ROLE", lambda e, t: e.token.functions.freeze(t.address)),
    "unfreeze": ("COMPLIANCE_ROLE", lambda e, t: e.token.functions.unfreeze(t.address)),
    "burnFrozen": ("COMPLIANCE_ROLE", lambda e, t: e.token.functions.burnFrozen(t.address, 0, b"\x01" * 32)),
    "attestReserves": ("ATTESTOR_ROLE", lambda e, t: e.token.functions.attestReserves(1, e.now())),
    "mint": ("minter", lambda e, t: e.token.functions.mint(t.address, 1)),
    "redeemWithPermit": ("minter", lambda e, t: e.token.functions.redeemWithPermit(
        t.address, 1, b"\x02" * 32, e.now() + 3600, 27, b"\x00" * 32, b"\x00" * 32)),
}

HOLDER_OF = {"DEFAULT_ADMIN_ROLE": "admin", "MINTER_ADMIN_ROLE": "minter_admin", "PAUSER_ROLE": "pauser",
             "COMPLIANCE_ROLE": "compliance", "ATTESTOR_ROLE": "attestor", "minter": "minter"}


@pytest.mark.parametrize("function", sorted(GATED))
def test_gated_function_refuses_every_other_role_holder_and_a_stranger(token_env: TokenEnv, function: str) -> None:
    """R42: only the role's own key may call; the error names the caller and the missing role."""
    env = token_env
    role, build = GATED[function]
    stranger = env.new_account(allow=True)
    target = env.new_account(allow=True)
    callers = {name: getattr(env.keys, name) for name in ROLE_KEYS if name != HOLDER_OF[role]}
    callers["stranger"] = stranger
    assert len(callers) == 7
    for caller in callers.values():
        if role == "minter":
            assert_reverts(env, caller, build(env, target), "NotMinter(address)", caller.address)
        else:
            assert_reverts(env, caller, build(env, target), UNAUTHORIZED, caller.address, role_id(env, role))


def test_admin_sets_reserve_policy(token_env: TokenEnv) -> None:
    env = token_env
    receipt = env.send(env.keys.admin, env.token.functions.setReservePolicy(150, 7200))
    assert env.token.functions.reserveState().call()[2:] == [7200, 150]
    assert events(env, receipt, "ReservePolicyUpdated") == [("ReservePolicyUpdated", (150, 7200))]


def test_admin_grants_and_revokes_roles(token_env: TokenEnv) -> None:
    """R42: the default admin moves a role; the new holder can act, the old one no longer can."""
    env = token_env
    pauser_role = role_id(env, "PAUSER_ROLE")
    new_pauser = env.new_account()
    receipt = env.send(env.keys.admin, env.token.functions.grantRole(pauser_role, new_pauser.address))
    assert events(env, receipt, "RoleGranted") == [
        ("RoleGranted", (pauser_role, new_pauser.address, env.keys.admin.address))]
    receipt = env.send(env.keys.admin, env.token.functions.revokeRole(pauser_role, env.keys.pauser.address))
    assert events(env, receipt, "RoleRevoked") == [
        ("RoleRevoked", (pauser_role, env.keys.pauser.address, env.keys.admin.address))]
    assert env.token.functions.getRoleMembers(pauser_role).call() == [new_pauser.address]

    env.send(new_pauser, env.token.functions.pause())
    assert env.token.functions.paused().call() is True
    assert_reverts(env, env.keys.pauser, env.token.functions.unpause(), UNAUTHORIZED,
                   env.keys.pauser.address, pauser_role)


def test_minter_admin_configures_lists_and_removes_minters(token_env: TokenEnv) -> None:
    env = token_env
    token = env.token.functions
    second = env.new_account()
    receipt = env.send(env.keys.minter_admin, token.configureMinter(second.address, 500))
    assert events(env, receipt) == [("MinterConfigured", (second.address, 500, True))]
    assert token.isMinter(second.address).call() is True
    assert token.minterAllowance(second.address).call() == 500
    assert sorted(token.minters().call()) == sorted([env.keys.minter.address, second.address])

    # Reconfiguring replaces the allowance rather than adding to it, and does not duplicate the entry.
    receipt = env.send(env.keys.minter_admin, token.configureMinter(second.address, 7))
    assert events(env, receipt) == [("MinterConfigured", (second.address, 7, False))]
    assert token.minterAllowance(second.address).call() == 7
    assert len(token.minters().call()) == 2

    receipt = env.send(env.keys.minter_admin, token.removeMinter(second.address))
    assert events(env, receipt) == [("MinterRemoved", (second.address,))]
    assert token.isMinter(second.address).call() is False
    assert token.minterAllowance(second.address).call() == 0
    assert token.minters().call() == [env.keys.minter.address]
    holder = env.new_account(allow=True)
    env.attest(10**9)
    assert_reverts(env, second, token.mint(holder.address, 1), "NotMinter(address)", second.address)


def test_configure_minter_event_reports_the_allowance_actually_stored(token_env: TokenEnv) -> None:
    """The minter word keeps 255 bits of allowance; the event must carry what was stored, not the input."""
    env = token_env
    minter = env.new_account()
    receipt = env.send(env.keys.minter_admin, env.token.functions.configureMinter(minter.address, 2**256 - 1))
    stored = env.token.functions.minterAllowance(minter.address).call()
    assert stored == 2**255 - 1  # still practically unlimited; the reserve cap is the real limit (R1)
    assert events(env, receipt) == [("MinterConfigured", (minter.address, stored, True))]
    assert env.token.functions.isMinter(minter.address).call() is True


def test_minter_admin_cannot_remove_a_non_minter_or_configure_the_zero_address(token_env: TokenEnv) -> None:
    env = token_env
    stranger = env.new_account()
    assert_reverts(env, env.keys.minter_admin, env.token.functions.removeMinter(stranger.address),
                   "NotMinter(address)", stranger.address)
    assert_reverts(env, env.keys.minter_admin, env.token.functions.configureMinter(ZERO, 1), "ZeroAddress()")


def test_pauser_pauses_and_unpauses(token_env: TokenEnv) -> None:
    env = token_env
    env.send(env.keys.pauser, env.token.functions.pause())
    assert env.token.functions.paused().call() is True
    env.send(env.keys.pauser, env.token.functions.unpause())
    assert env.token.functions.paused().call() is False


def test_compliance_maintains_allow_list_and_freezes(token_env: TokenEnv) -> None:
    """R22, R24: compliance's four switches, each idempotent and each with its event."""
    env = token_env
    token = env.token.functions
    account = env.new_account()
    receipt = env.send(env.keys.compliance, token.addToAllowList(account.address))
    assert events(env, receipt) == [("AllowListed", (account.address,))]
    assert events(env, env.send(env.keys.compliance, token.addToAllowList(account.address))) == []
    assert token.isAllowListed(account.address).call() is True

    receipt = env.send(env.keys.compliance, token.freeze(account.address))
    assert events(env, receipt) == [("Frozen", (account.address,))]
    assert events(env, env.send(env.keys.compliance, token.freeze(account.address))) == []
    assert token.isFrozen(account.address).call() is True

    receipt = env.send(env.keys.compliance, token.unfreeze(account.address))
    assert events(env, receipt) == [("Unfrozen", (account.address,))]
    assert events(env, env.send(env.keys.compliance, token.unfreeze(account.address))) == []
    assert token.isFrozen(account.address).call() is False

    receipt = env.send(env.keys.compliance, token.removeFromAllowList(account.address))
    assert events(env, receipt) == [("RemovedFromAllowList", (account.address,))]
    assert events(env, env.send(env.keys.compliance, token.removeFromAllowList(account.address))) == []
    assert token.isAllowListed(account.address).call() is False

    assert_reverts(env, env.keys.compliance, token.addToAllowList(ZERO), "ZeroAddress()")


def test_compliance_burns_a_frozen_balance(token_env: TokenEnv) -> None:
    """R24: the compliance role's seizure power (details in test_transfers_compliance)."""
    env = token_env
    holder = env.new_account(allow=True)
    env.attest(10**9)
    env.send(env.keys.minter, env.token.functions.mint(holder.address, 300))
    env.send(env.keys.compliance, env.token.functions.freeze(holder.address))
    env.send(env.keys.compliance, env.token.functions.burnFrozen(holder.address, 300, b"\x07" * 32))
    assert env.balance(holder.address) == 0


def test_attestor_posts_reserves(token_env: TokenEnv) -> None:
    env = token_env
    now = env.now()
    receipt = env.send(env.keys.attestor, env.token.functions.attestReserves(12_345, now))
    assert events(env, receipt) == [("ReservesAttested", (env.keys.attestor.address, 12_345, now))]
    assert env.token.functions.reserveState().call()[:2] == [12_345, now]


def test_minter_mints_and_redeems_within_its_role(token_env: TokenEnv) -> None:
    env = token_env
    holder = env.new_account(allow=True)
    env.attest(10**9)
    env.send(env.keys.minter, env.token.functions.mint(holder.address, 1_000))
    permit = sign_token_permit(env, holder, env.keys.minter.address, 400)
    env.send(env.keys.minter, env.token.functions.redeemWithPermit(
        holder.address, 400, b"\x03" * 32, permit.deadline, permit.v, permit.r, permit.s))
    assert env.balance(holder.address) == 600


# --------------------------------------------------------------------------------------------------
# Constructor: R42 separation is enforced at deployment
# --------------------------------------------------------------------------------------------------

def _constructor_revert(env: TokenEnv, holders: list[str], buffer_bps: int = 200, max_age: int = 86_400) -> Any:
    artifact = load_artifact("TCNHToken")
    factory = env.w3.eth.contract(abi=artifact.abi, bytecode=artifact.bytecode)
    constructor = factory.constructor(*holders, buffer_bps, max_age)
    data = constructor.data_in_transaction
    reply = env.w3.provider.make_request("eth_call", [{"from": env.keys.deployer.address, "data": data}, "latest"])
    return constructor, reply


def _five_distinct(env: TokenEnv) -> list[str]:
    return [env.new_account(fund=False).address for _ in range(5)]


@pytest.mark.parametrize("position", range(5))
def test_constructor_refuses_a_zero_address_in_any_role(token_env: TokenEnv, position: int) -> None:
    """R42: every role needs a real key."""
    env = token_env
    holders = _five_distinct(env)
    holders[position] = ZERO
    constructor, reply = _constructor_revert(env, holders)
    assert reply.get("error", {}).get("data") == encode_error("ZeroAddress()")
    with pytest.raises(TransactionFailed):
        send_and_wait(env.w3, env.keys.deployer, constructor, gas=DEPLOY_GAS)


@pytest.mark.parametrize("pair", [(i, j) for i in range(5) for j in range(i + 1, 5)])
def test_constructor_refuses_any_two_roles_on_one_key(token_env: TokenEnv, pair: tuple[int, int]) -> None:
    """R42: no single key holds two of admin, minter admin, pauser, compliance, attestor."""
    env = token_env
    holders = _five_distinct(env)
    holders[pair[1]] = holders[pair[0]]
    constructor, reply = _constructor_revert(env, holders)
    assert reply.get("error", {}).get("data") == encode_error("RolesNotSeparated()")
    with pytest.raises(TransactionFailed):
        send_and_wait(env.w3, env.keys.deployer, constructor, gas=DEPLOY_GAS)


def test_constructor_refuses_an_invalid_reserve_policy(token_env: TokenEnv) -> None:
    """R1: a buffer over 100% or a zero maximum attestation age is refused at deployment too."""
    env = token_env
    _, reply = _constructor_revert(env, _five_distinct(env), buffer_bps=10_001)
    assert reply["error"]["data"] == encode_error("InvalidReservePolicy(uint256,uint256)", 10_001, 86_400)
    _, reply = _constructor_revert(env, _five_distinct(env), max_age=0)
    assert reply["error"]["data"] == encode_error("InvalidReservePolicy(uint256,uint256)", 200, 0)


def test_constructor_gives_each_role_to_its_own_key(token_env: TokenEnv) -> None:
    env = token_env
    holders = _five_distinct(env)
    constructor, reply = _constructor_revert(env, holders)
    assert "error" not in reply
    receipt = send_and_wait(env.w3, env.keys.deployer, constructor, gas=DEPLOY_GAS)
    token = env.w3.eth.contract(address=receipt["contractAddress"], abi=env.token.abi)
    for constant, holder in zip(("DEFAULT_ADMIN_ROLE", "MINTER_ADMIN_ROLE", "PAUSER_ROLE", "COMPLIANCE_ROLE",
                                 "ATTESTOR_ROLE"), holders, strict=True):
        role = getattr(token.functions, constant)().call()
        assert token.functions.getRoleMembers(role).call() == [holder], constant
    assert token.functions.minters().call() == []



def test_admin_cannot_later_grant_a_second_power_to_a_role_holder_or_itself(token_env: TokenEnv) -> None:
    # R42 holds for the token's whole life, not only at construction.
    token, keys = token_env.token, token_env.keys
    minter_admin_role = role_id(token_env, "MINTER_ADMIN_ROLE")
    for account in (keys.admin.address, keys.pauser.address, keys.minter.address):
        assert_reverts(token_env, keys.admin, token.functions.grantRole(minter_admin_role, account),
                       "RolesNotSeparated()")
    newcomer = token_env.new_account()
    token_env.send(keys.admin, token.functions.grantRole(minter_admin_role, newcomer.address))
    assert token.functions.hasRole(minter_admin_role, newcomer.address).call()


def test_minter_admin_cannot_make_a_role_holder_a_minter(token_env: TokenEnv) -> None:  # R42
    token, keys = token_env.token, token_env.keys
    for account in (keys.minter_admin.address, keys.admin.address, keys.compliance.address):
        assert_reverts(token_env, keys.minter_admin, token.functions.configureMinter(account, 1),
                       "RolesNotSeparated()")


def test_renounce_role_needs_the_callers_own_address_as_confirmation(token_env: TokenEnv) -> None:
    """R42: a key can give up only its own role; nobody (not even the admin) renounces for another."""
    env = token_env
    pauser_role = role_id(env, "PAUSER_ROLE")
    for caller, confirmation in ((env.keys.pauser, env.keys.admin.address), (env.keys.admin, env.keys.pauser.address)):
        assert_reverts(env, caller, env.token.functions.renounceRole(pauser_role, confirmation),
                       "AccessControlBadConfirmation()")
    assert env.token.functions.getRoleMembers(pauser_role).call() == [env.keys.pauser.address]

    receipt = env.send(env.keys.pauser, env.token.functions.renounceRole(pauser_role, env.keys.pauser.address))
    assert events(env, receipt) == [("RoleRevoked", (pauser_role, env.keys.pauser.address, env.keys.pauser.address))]
    assert env.token.functions.getRoleMembers(pauser_role).call() == []
    assert_reverts(env, env.keys.pauser, env.token.functions.pause(), UNAUTHORIZED,
                   env.keys.pauser.address, pauser_role)


def test_the_last_admin_can_neither_renounce_nor_revoke_itself_so_roles_stay_manageable(
    token_env: TokenEnv,
) -> None:
    """R42: without an admin no lost or stolen role key could ever be replaced, nor the reserve policy
    changed. Rotating the admin works: grant the new key first, then the old one may go."""
    env = token_env
    admin_role = role_id(env, "DEFAULT_ADMIN_ROLE")
    admin = env.keys.admin
    assert_reverts(env, admin, env.token.functions.renounceRole(admin_role, admin.address),
                   "LastAdmin(address)", admin.address)
    assert_reverts(env, admin, env.token.functions.revokeRole(admin_role, admin.address),
                   "LastAdmin(address)", admin.address)
    assert env.token.functions.getRoleMembers(admin_role).call() == [admin.address]

    new_admin = env.new_account()
    env.send(admin, env.token.functions.grantRole(admin_role, new_admin.address))
    receipt = env.send(admin, env.token.functions.renounceRole(admin_role, admin.address))
    assert events(env, receipt) == [("RoleRevoked", (admin_role, admin.address, admin.address))]
    assert_reverts(env, new_admin, env.token.functions.revokeRole(admin_role, new_admin.address),
                   "LastAdmin(address)", new_admin.address)
    assert env.token.functions.getRoleMembers(admin_role).call() == [new_admin.address]
