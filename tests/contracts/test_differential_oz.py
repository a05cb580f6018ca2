"""Differential test: tCNH's in-house ERC-20 core against OpenZeppelin v5 ERC20 + ERC20Permit.

Hypothesis draws one sequence of ERC-20 operations and runs it on both tokens, deployed on the same
Anvil. With every actor allow-listed and reserves attested far above any supply, the compliance
layer (R1, R22, R24) must be invisible: the same successes, the same reverts with the same error and
arguments, the same Transfer/Approval events, balances, allowances, totalSupply and permit nonces.

Normalisation, and why each is needed:
- each token's own address and its issuer (tCNH's minter key, OZ's owner) are labelled TOKEN and
  ISSUER, since they are different accounts doing the same job;
- tCNH's `NotMinter(x)` and OZ's `OwnableUnauthorizedAccount(x)` are the same refusal of a mint by
  a non-issuer (the one intended difference: who may mint);
- an ERC2612InvalidSigner's recovered address is UNRELATED when it is none of our accounts: a
  signature over a wrong message recovers to a pseudo-random address that depends on the token's
  EIP-712 domain, so it differs between the two tokens by construction.
- tCNH's `Minted` event has no OZ counterpart; only Transfer and Approval are compared, and
  `mint`'s return value (true on tCNH, none on the reference) is not ERC-20 and not compared.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from eth_account.signers.local import LocalAccount
from hypothesis import event, given, settings
from hypothesis import strategies as st

from tests.chain_fixtures import TokenEnv
from tests.contracts.helpers import (
    MAX_UINT128,
    MAX_UINT256,
    ZERO,
    ErrorDecoder,
    EventDecoder,
    Rpc,
    TxReverted,
    deploy_plain_oz,
    hypothesis_profile,
    sign_permit_as,
)

N_ACTORS = 4
SECP256K1_N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141

# --------------------------------------------------------------------------------------------------
# Operations
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Transfer:
    sender: int
    to: int | str
    amount: int


@dataclass(frozen=True)
class Approve:
    owner: int
    spender: int | str
    amount: int


@dataclass(frozen=True)
class TransferFrom:
    spender: int
    source: int | str
    to: int | str
    amount: int


@dataclass(frozen=True)
class Permit:
    owner: int | str  # "ZERO" included: a signature can never be the zero address's
    spender: int | str
    value: int
    submitter: int
    variant: str


@dataclass(frozen=True)
class Mint:
    caller: int | str  # "ISSUER" or an actor (refused on both)
    to: int | str
    amount: int


PERMIT_VARIANTS = ["valid", "valid", "valid", "expired", "wrong_signer", "wrong_nonce", "stale_nonce",
                   "tampered_value", "high_s", "bad_v", "zero_signature"]

actor = st.integers(0, N_ACTORS - 1)
# Mostly actors; the token's own address and the zero address a quarter of the time.
target = st.one_of(actor, actor, actor, st.sampled_from(["TOKEN", "ZERO"]))
small = st.integers(0, 1_200)
amount = st.one_of(small, small, small, st.sampled_from([MAX_UINT256, MAX_UINT128 + 1, 2**255]))
allowance_amount = st.one_of(small, small, st.just(MAX_UINT256))
mint_amount = st.one_of(st.integers(0, 3_000), st.just(10**12))

operation = st.one_of(
    st.builds(Transfer, actor, target, amount),
    st.builds(Approve, actor, target, allowance_amount),
    st.builds(TransferFrom, actor, target, target, amount),
    st.builds(Permit, st.one_of(actor, actor, actor, st.just("ZERO")), target, allowance_amount, actor,
              st.sampled_from(PERMIT_VARIANTS)),
    st.builds(Mint, st.one_of(st.just("ISSUER"), st.just("ISSUER"), actor), target, mint_amount),
)

# --------------------------------------------------------------------------------------------------
# The two sides
# --------------------------------------------------------------------------------------------------


@dataclass
class Side:
    name: str
    token: Any
    issuer: LocalAccount
    domain_name: str


class Differential:
    def __init__(self, env: TokenEnv) -> None:
        self.env = env
        self.rpc = Rpc(env.w3)
        self.actors = [env.new_account(allow=True) for _ in range(N_ACTORS)]
        # tCNH: reserves attested far above anything the sequences mint, a practically unlimited minter.
        env.send(env.keys.compliance, env.token.functions.addToAllowList(env.token.address))
        env.send(env.keys.minter_admin, env.token.functions.configureMinter(env.keys.minter.address, 2**250))
        env.attest(MAX_UINT128)
        oz_owner = env.new_account()
        oz = deploy_plain_oz(env, oz_owner)
        self.sides = [
            Side("tCNH", env.token, env.keys.minter, "Sandbox Offshore RMB"),
            Side("OZ", oz, oz_owner, "Plain OZ Token"),
        ]
        self.errors = ErrorDecoder(env.token.abi, oz.abi)
        self.event_decoders = {side.name: EventDecoder(side.token.abi) for side in self.sides}
        self.forger = env.new_account()
        # A common starting point where most transfers and transferFroms can succeed: balances and a
        # ring of finite and infinite allowances, identical on both sides.
        for side in self.sides:
            for i, holder in enumerate(self.actors):
                self.rpc.send(side.issuer, side.token, "mint", holder.address, 5_000 + i)
                self.rpc.send(holder, side.token, "approve", self.actors[(i + 1) % N_ACTORS].address, 3_000)
                self.rpc.send(holder, side.token, "approve", self.actors[(i + 2) % N_ACTORS].address, MAX_UINT256)
        assert self.state(self.sides[0]) == self.state(self.sides[1])

    # -- addresses ---------------------------------------------------------------------------------

    def address(self, side: Side, party: int | str) -> str:
        if party == "TOKEN":
            return str(side.token.address)
        if party == "ZERO":
            return ZERO
        if party == "ISSUER":
            return str(side.issuer.address)
        return str(self.actors[int(party)].address)

    def label(self, side: Side, value: Any) -> Any:
        """Replace every address by a side-independent label."""
        if isinstance(value, tuple):
            return tuple(self.label(side, v) for v in value)
        if not (isinstance(value, str) and value.startswith("0x") and len(value) == 42):
            return value
        for i, a in enumerate(self.actors):
            if value == a.address:
                return f"A{i}"
        names = {side.token.address: "TOKEN", ZERO: "ZERO", side.issuer.address: "ISSUER",
                 self.forger.address: "FORGER"}
        return names.get(value, "UNRELATED")

    def normalise_error(self, side: Side, data: str) -> tuple[str, Any]:
        name, args = self.errors.decode(data)
        if name in ("NotMinter", "OwnableUnauthorizedAccount"):
            name = "MintByNonIssuer"
        return name, self.label(side, args)

    # -- running one operation on one side ---------------------------------------------------------

    def _signature(self, side: Side, op: Permit, now: int) -> tuple[str, int, int, int, Any, Any]:
        """(owner, spender, value, deadline, v, r, s) for the permit variant on this side's domain."""
        owner = self.address(side, op.owner)
        spender = self.address(side, op.spender)
        nonce = int(self.rpc.read(side.token, "nonces", owner))
        deadline = now - 1 if op.variant == "expired" else now + 3_600
        signer = self.forger if op.variant == "wrong_signer" else (
            self.actors[op.owner] if isinstance(op.owner, int) else self.actors[0])
        signed_nonce = {"wrong_nonce": nonce + 1, "stale_nonce": nonce - 1 if nonce else nonce + 7}.get(op.variant,
                                                                                                      nonce)
        signed_value = op.value ^ 1 if op.variant == "tampered_value" else op.value
        sig = sign_permit_as(signer, owner=owner, chain_id=self.rpc.chain_id, token=side.token.address,
                             spender=spender, value=signed_value, nonce=signed_nonce, deadline=deadline,
                             name=side.domain_name)
        v, r, s = sig.v, bytes.fromhex(sig.r[2:]), bytes.fromhex(sig.s[2:])
        if op.variant == "high_s":  # fixed values: the error names s, which must not depend on the side
            v, r, s = 27, b"\x11" * 32, (SECP256K1_N - 1).to_bytes(32, "big")
        elif op.variant == "bad_v":
            v = 29
        elif op.variant == "zero_signature":
            r = s = b"\x00" * 32
        return owner, spender, op.value, deadline, v, r, s

    def call_for(self, side: Side, op: Any, now: int) -> tuple[LocalAccount, str, tuple[Any, ...]]:
        a = lambda party: self.address(side, party)  # noqa: E731 - local shorthand
        if isinstance(op, Transfer):
            return self.actors[op.sender], "transfer", (a(op.to), op.amount)
        if isinstance(op, Approve):
            return self.actors[op.owner], "approve", (a(op.spender), op.amount)
        if isinstance(op, TransferFrom):
            return self.actors[op.spender], "transferFrom", (a(op.source), a(op.to), op.amount)
        if isinstance(op, Permit):
            return self.actors[op.submitter], "permit", self._signature(side, op, now)
        if isinstance(op, Mint):
            caller = side.issuer if op.caller == "ISSUER" else self.actors[int(op.caller)]
            return caller, "mint", (a(op.to), op.amount)
        raise AssertionError(op)

    def run(self, side: Side, op: Any, now: int) -> tuple[Any, ...]:
        caller, fn, args = self.call_for(side, op, now)
        outcome = self.rpc.try_call(side.token, fn, *args, sender=caller.address)
        if not outcome.ok:
            assert outcome.revert is not None
            return ("reverted", self.normalise_error(side, outcome.revert))
        try:
            receipt = self.rpc.send(caller, side.token, fn, *args)
        except TxReverted as exc:  # pragma: no cover - would mean eth_call and the mined tx disagree
            raise AssertionError(f"{side.name}: {op} passed eth_call but reverted when mined") from exc
        logs = self.event_decoders[side.name].decode(receipt, side.token.address, {"Transfer", "Approval"})
        # mint is not ERC-20: tCNH's returns true (as USDC's does), OZ's reference returns nothing.
        returned = None if fn == "mint" else self.label(side, outcome.value)
        return ("ok", returned, [(name, self.label(side, args)) for name, args in logs])

    # -- state -------------------------------------------------------------------------------------

    def _state_calls(self, side: Side) -> tuple[list[str], list[tuple[Any, str, list[Any]]]]:
        holders = [*range(N_ACTORS), "TOKEN"]
        keys = ["totalSupply"]
        calls: list[tuple[Any, str, list[Any]]] = [(side.token, "totalSupply", [])]
        for h in holders:
            keys += [f"balance[{h}]", f"nonce[{h}]"]
            address = self.address(side, h)
            calls += [(side.token, "balanceOf", [address]), (side.token, "nonces", [address])]
        for o in range(N_ACTORS):
            for sp in holders:
                keys.append(f"allowance[{o}][{sp}]")
                calls.append((side.token, "allowance", [self.address(side, o), self.address(side, sp)]))
        return keys, calls

    def state(self, side: Side) -> dict[str, Any]:
        keys, calls = self._state_calls(side)
        return dict(zip(keys, self.rpc.reads(calls), strict=True))

    def states(self) -> list[dict[str, Any]]:
        """Both sides' observable state, read in one JSON-RPC batch."""
        plans = [self._state_calls(side) for side in self.sides]
        values = self.rpc.reads([call for _, calls in plans for call in calls])
        out, offset = [], 0
        for keys, calls in plans:
            out.append(dict(zip(keys, values[offset:offset + len(calls)], strict=True)))
            offset += len(calls)
        return out

    def check(self, ops: list[Any], *, record_events: bool = False) -> None:
        snapshot = self.rpc.snapshot()
        try:
            for step, op in enumerate(ops):
                now = self.rpc.now()
                results = [self.run(side, op, now) for side in self.sides]
                assert results[0] == results[1], f"step {step} {op}: tCNH {results[0]} != OZ {results[1]}"
                # Visible with --hypothesis-show-statistics: how often each operation succeeds or why it fails.
                if record_events:
                    outcome = results[0][1][0] if results[0][0] == "reverted" else "ok"
                    event(f"{type(op).__name__} -> {outcome}")
                states = self.states()
                diff = {k: (states[0][k], states[1][k]) for k in states[0] if states[0][k] != states[1][k]}
                assert not diff, f"after step {step} {op}: (tCNH, OZ) differ in {diff}"
        finally:
            self.rpc.revert(snapshot)


@pytest.fixture(scope="module")
def world(_deployed_token: TokenEnv) -> Iterator[Differential]:
    """Both tokens set up once for the module; every example runs between evm_snapshot and evm_revert."""
    rpc = Rpc(_deployed_token.w3)
    snapshot = rpc.snapshot()
    try:
        yield Differential(_deployed_token)
    finally:
        rpc.revert(snapshot)


@settings(hypothesis_profile())
@given(ops=st.lists(operation, min_size=8, max_size=24))
def test_tcnh_and_openzeppelin_agree_on_random_erc20_sequences(world: Differential, ops: list[Any]) -> None:
    """R22/R24 invisible to compliant users: same balances, allowances, nonces, events and reverts as OZ."""
    world.check(ops, record_events=True)


def test_differential_harness_sees_a_difference_when_there_is_one(world: Differential) -> None:
    """Guard against a vacuous comparison: a mint to a de-listed actor succeeds on OZ only."""
    env = world.env
    snapshot = world.rpc.snapshot()
    try:
        env.send(env.keys.compliance, env.token.functions.removeFromAllowList(world.actors[1].address))
        now = world.rpc.now()
        tcnh, oz = (world.run(side, Mint("ISSUER", 1, 5), now) for side in world.sides)
        assert tcnh == ("reverted", ("AccountNotAllowListed", ("A1",)))
        assert oz == ("ok", None, [("Transfer", ("ZERO", "A1", 5))])
    finally:
        world.rpc.revert(snapshot)


def test_zero_address_edge_cases_agree(world: Differential) -> None:
    """The EIP-6093 errors for the zero address, pinned explicitly (Hypothesis also draws them)."""
    ops = [
        Mint("ISSUER", 0, 1_000),
        Transfer(0, "ZERO", 1),
        Transfer(0, "ZERO", 0),
        Approve(0, "ZERO", 5),
        TransferFrom(1, "ZERO", 2, 0),  # spends the zero address's allowance: ERC20InvalidApprover(0)
        TransferFrom(1, "ZERO", 2, 1),
        Approve(0, 1, 10),
        TransferFrom(1, 0, "ZERO", 10),
        Permit(0, "ZERO", 5, 2, "valid"),
        Permit("ZERO", 1, 5, 2, "valid"),
        Mint("ISSUER", "ZERO", 1),
        Mint(3, 0, 1),
    ]
    expected = [
        ("ok", None, [("Transfer", ("ZERO", "A0", 1_000))]),
        ("reverted", ("ERC20InvalidReceiver", ("ZERO",))),
        ("reverted", ("ERC20InvalidReceiver", ("ZERO",))),
        ("reverted", ("ERC20InvalidSpender", ("ZERO",))),
        ("reverted", ("ERC20InvalidApprover", ("ZERO",))),
        ("reverted", ("ERC20InsufficientAllowance", ("A1", 0, 1))),
        ("ok", True, [("Approval", ("A0", "A1", 10))]),
        ("reverted", ("ERC20InvalidReceiver", ("ZERO",))),
        ("reverted", ("ERC20InvalidSpender", ("ZERO",))),
        ("reverted", ("ERC2612InvalidSigner", ("A0", "ZERO"))),
        ("reverted", ("ERC20InvalidReceiver", ("ZERO",))),
        ("reverted", ("MintByNonIssuer", ("A3",))),
    ]
    snapshot = world.rpc.snapshot()
    try:
        for op, want in zip(ops, expected, strict=True):
            now = world.rpc.now()
            results = [world.run(side, op, now) for side in world.sides]
            assert results[0] == results[1] == want, f"{op}: tCNH {results[0]}, OZ {results[1]}"
        assert world.state(world.sides[0]) == world.state(world.sides[1])
    finally:
        world.rpc.revert(snapshot)
