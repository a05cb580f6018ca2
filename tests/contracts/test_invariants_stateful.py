"""Stateful invariants of tCNH (R1, R22, R24, R41, R42) over random operation sequences on Anvil.

A Hypothesis `RuleBasedStateMachine` drives role changes, allow-listing, freezes, pause, reserve
attestations, time, minter configuration, mints, transfers, approvals, permits, transferFroms,
redemptions and seizures. A plain Python model predicts every outcome, down to the exact custom
error and its arguments; each run starts from an `evm_snapshot` and is reverted at teardown.

Invariants checked after every step (and after set-up):

I1  sum(balanceOf(u) for every actor u) == totalSupply == the model's supply (only actors can hold).
I2  every balance, allow-list bit, freeze bit, permit nonce, allowance, minter allowance, the pause
    flag and the reserve state equal the model (the packed account word never corrupts a field).
I3  R1 at the last mint: let (R_m, b_m) be the attested reserve and buffer in force at the last
    successful mint. Then totalSupply * (10000 + b_m) <= R_m * 10000. (Between mints supply only
    falls, through redemptions and seizures, so the bound proven by the mint keeps holding.)
I4  R1 now, unless an attestation or policy change legitimately dropped the bound below supply:
    let (R, b) be the current attestation and buffer. If supply was within (R, b) when they were set
    (or a mint has succeeded since), then totalSupply * (10000 + b) <= R * 10000 still holds.
    A shortfall attested on purpose (R < supply * (1 + b)) is a recorded fact; it must block every
    mint, which the mint rule checks exactly (ReserveCapExceeded with the mintable bound).
"""

from __future__ import annotations

import copy
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from eth_account import Account
from eth_account.signers.local import LocalAccount
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule, run_state_machine_as_test

from tests.chain_fixtures import TokenEnv
from tests.contracts.helpers import (
    BPS,
    MAX_UINT256,
    ZERO,
    ErrorDecoder,
    EventDecoder,
    Rpc,
    TxReverted,
    encode_error,
    hypothesis_profile,
    sign_permit_as,
)

N_USERS = 4
MAX_AGE = 86_400
# Time jumps are chosen so an attestation's age is never within hours of MAX_AGE: k * 11_220 never
# lands near 86_400 and any two-day jump is past it. A few seconds of wall clock between the
# eth_call that predicts and the block that mines can therefore never flip freshness.
SMALL_JUMP, BIG_JUMP = 11_220, 2 * 86_400
UNAUTHORIZED = "AccessControlUnauthorizedAccount(address,bytes32)"

Expected = tuple[str, tuple[Any, ...]] | None  # (error signature, args) or None for success

# How often each call succeeded or failed with which error, across one test run (coverage guard).
OUTCOMES: Counter[str] = Counter()


@dataclass
class Model:
    allowed: set[str] = field(default_factory=set)
    frozen: set[str] = field(default_factory=set)
    balance: dict[str, int] = field(default_factory=dict)
    nonce: dict[str, int] = field(default_factory=dict)
    allowance: dict[tuple[str, str], int] = field(default_factory=dict)
    supply: int = 0
    paused: bool = False
    reserve: int = 0
    attested_at: int = 0
    buffer: int = 200
    minters: dict[str, int] = field(default_factory=dict)
    pausers: set[str] = field(default_factory=set)
    last_mint_policy: tuple[int, int] | None = None  # (reserve, buffer) at the last successful mint
    covered: bool = True  # supply was within the current (reserve, buffer) when they were set

    def mintable(self) -> int:
        return self.reserve * BPS // (BPS + self.buffer)

    def within(self, supply: int) -> bool:
        return supply * (BPS + self.buffer) <= self.reserve * BPS

    def can_move(self, account: str) -> Expected:
        if account not in self.allowed:
            return ("AccountNotAllowListed(address)", (account,))
        if account in self.frozen:
            return ("AccountFrozen(address)", (account,))
        return None

    def transfer_error(self, source: str, to: str, amount: int) -> Expected:
        """The checks of `_transfer`, in the contract's order."""
        if to == ZERO:
            return ("ERC20InvalidReceiver(address)", (ZERO,))
        if self.paused:
            return ("EnforcedPause()", ())
        for party in (source, to):
            error = self.can_move(party)
            if error:
                return error
        if self.balance[source] < amount:
            return ("ERC20InsufficientBalance(address,uint256,uint256)", (source, self.balance[source], amount))
        return None


user = st.integers(0, N_USERS - 1)
allowance_amount = st.one_of(st.integers(0, 2_000_000), st.just(MAX_UINT256))
receiver = st.sampled_from([0, 1, 2, 3, 0, 1, 2, 3, "ZERO"])  # the zero address one time in nine
# An amount is absolute, or a percentage of the relevant balance (over 100 means more than it holds).
amount_spec = st.one_of(st.tuples(st.just("abs"), st.integers(0, 500_000)),
                        st.tuples(st.just("pct"), st.integers(0, 110)),
                        st.tuples(st.just("pct"), st.integers(0, 100)))


@dataclass
class World:
    """What every run starts from: set up once per test, restored by evm_revert after each run."""

    env: TokenEnv
    rpc: Rpc
    users: list[LocalAccount]
    model: Model


def prepare_world(env: TokenEnv) -> World:
    """Fresh attestation, four allow-listed users with balances and a ring of allowances."""
    rpc, token, keys = Rpc(env.w3), env.token, env.keys
    users = [Account.create() for _ in range(N_USERS)]
    rpc.fund(*(u.address for u in users))
    # A fresh attestation: every run then starts with an age of seconds, far from MAX_AGE (R1).
    now = rpc.now()
    rpc.send(keys.attestor, token, "attestReserves", 2_000_000, now)
    reserve, attested_at, max_age, buffer = rpc.read(token, "reserveState")
    assert (reserve, attested_at, max_age) == (2_000_000, now, MAX_AGE)
    m = Model(reserve=reserve, attested_at=attested_at, buffer=buffer)
    m.minters[keys.minter.address] = rpc.read(token, "minterAllowance", keys.minter.address)
    m.pausers.add(keys.pauser.address)
    spenders = [u.address for u in users] + [keys.minter.address]
    for u in users:
        m.balance[u.address] = 0
        m.nonce[u.address] = 0
        for s in spenders:
            m.allowance[(u.address, s)] = 0
    # Every user starts allow-listed with a balance, so value-moving rules are reachable at once.
    for i, u in enumerate(users):
        rpc.send(keys.compliance, token, "addToAllowList", u.address)
        rpc.send(keys.minter, token, "mint", u.address, 100_000 * (i + 1))
        m.allowed.add(u.address)
        m.balance[u.address] = 100_000 * (i + 1)
        m.minters[keys.minter.address] -= 100_000 * (i + 1)
        m.supply += 100_000 * (i + 1)
    m.last_mint_policy = (m.reserve, m.buffer)
    # A ring of allowances (one infinite, one finite), so transferFrom has something to spend.
    for i, u in enumerate(users):
        for offset, value in ((1, MAX_UINT256), (2, 500_000)):
            spender = users[(i + offset) % N_USERS].address
            rpc.send(u, token, "approve", spender, value)
            m.allowance[(u.address, spender)] = value
    return World(env=env, rpc=rpc, users=users, model=m)


class TokenMachine(RuleBasedStateMachine):
    def __init__(self, world: World) -> None:
        super().__init__()
        env = world.env
        self.token = env.token
        self.keys = env.keys
        self.rpc = world.rpc
        self.snapshot = self.rpc.snapshot()
        self.model = copy.deepcopy(world.model)
        self.users = world.users
        self.errors = ErrorDecoder(env.token.abi)
        self.events = EventDecoder(env.token.abi)
        self.forger = Account.create()
        self.pauser_role = bytes(self.rpc.read(self.token, "PAUSER_ROLE"))
        self.accounts = {"minter": self.keys.minter, "pauser": self.keys.pauser,
                         **{f"U{i}": u for i, u in enumerate(self.users)}}
        self.spenders = [u.address for u in self.users] + [self.keys.minter.address]

    def teardown(self) -> None:
        self.rpc.revert(self.snapshot)

    # -- plumbing ----------------------------------------------------------------------------------

    def u(self, i: int) -> str:
        return str(self.users[i].address)

    def resolve(self, spec: tuple[str, int], base: int) -> int:
        kind, n = spec
        return n if kind == "abs" else base * n // 100

    def execute(self, account: LocalAccount, fn: str, args: tuple[Any, ...], expected: Expected) -> Any:
        """Check the call against the prediction; on predicted success send it and return the receipt.

        A predicted revert is checked with eth_call (exact error data); a predicted success is sent
        straight away, and only if it reverts is eth_call used to say why.
        """
        OUTCOMES[f"{fn} -> {expected[0].split('(')[0] if expected else 'ok'}"] += 1
        if expected is None:
            try:
                return self.rpc.send(account, self.token, fn, *args)
            except TxReverted:
                outcome = self.rpc.try_call(self.token, fn, *args, sender=account.address)
                raise AssertionError(f"{fn}{args}: expected success, got "
                                     f"{self.errors.decode(outcome.revert or '')}") from None
        outcome = self.rpc.try_call(self.token, fn, *args, sender=account.address)
        assert not outcome.ok, f"{fn}{args}: expected {expected}, but it succeeds"
        want = encode_error(expected[0], *expected[1])
        assert outcome.revert == want, f"{fn}{args}: expected {expected}, got {self.errors.decode(outcome.revert)}"
        return None

    def logged(self, receipt: Any) -> list[tuple[str, tuple[Any, ...]]]:
        return self.events.decode(receipt, self.token.address)

    # -- compliance (R22, R24) ---------------------------------------------------------------------

    @rule(i=user, flag=st.sampled_from(["allow", "allow", "allow", "delist", "freeze", "unfreeze", "unfreeze"]))
    def set_compliance_flag(self, i: int, flag: str) -> None:
        """R22/R24 switches; all idempotent, so they always succeed."""
        m, account = self.model, self.u(i)
        fn = {"allow": "addToAllowList", "delist": "removeFromAllowList", "freeze": "freeze",
              "unfreeze": "unfreeze"}[flag]
        self.execute(self.keys.compliance, fn, (account,), None)
        {"allow": m.allowed.add, "delist": m.allowed.discard, "freeze": m.frozen.add,
         "unfreeze": m.frozen.discard}[flag](account)

    @rule(i=user, spec=amount_spec, case=st.binary(min_size=32, max_size=32),
          freeze_first=st.booleans(), unfreeze_after=st.booleans())
    def burn_frozen(self, i: int, spec: tuple[str, int], case: bytes, freeze_first: bool,
                    unfreeze_after: bool) -> None:
        """R24 seizure as compliance does it (freeze, burn, maybe release), or on an unfrozen account."""
        m, account = self.model, self.u(i)
        if freeze_first:
            self.execute(self.keys.compliance, "freeze", (account,), None)
            m.frozen.add(account)
        amount = self.resolve(spec, m.balance[account])
        expected: Expected = None
        if amount == 0:
            expected = ("ZeroAmount()", ())
        elif account not in m.frozen:
            expected = ("AccountNotFrozen(address)", (account,))
        elif m.balance[account] < amount:
            expected = ("ERC20InsufficientBalance(address,uint256,uint256)", (account, m.balance[account], amount))
        receipt = self.execute(self.keys.compliance, "burnFrozen", (account, amount, case), expected)
        if receipt is not None:
            assert self.logged(receipt) == [("Transfer", (account, ZERO, amount)),
                                            ("FrozenBalanceBurned", (account, amount, case))]
            m.balance[account] -= amount
            m.supply -= amount
        if unfreeze_after:
            self.execute(self.keys.compliance, "unfreeze", (account,), None)
            m.frozen.discard(account)

    # -- roles and pause (R41, R42) ----------------------------------------------------------------

    @rule(grant=st.booleans())
    def set_second_pauser(self, grant: bool) -> None:
        """The admin hands PAUSER_ROLE to U1 or takes it back (idempotent either way)."""
        second = self.u(1)
        self.execute(self.keys.admin, "grantRole" if grant else "revokeRole", (self.pauser_role, second), None)
        (self.model.pausers.add if grant else self.model.pausers.discard)(second)

    @rule(who=st.sampled_from(["pauser", "U1", "U2"]), on=st.sampled_from([True, False, False]))
    def pause_or_unpause(self, who: str, on: bool) -> None:
        m, account = self.model, self.accounts[who]
        expected: Expected = None
        if account.address not in m.pausers:
            expected = (UNAUTHORIZED, (account.address, self.pauser_role))
        elif on and m.paused:
            expected = ("EnforcedPause()", ())
        elif not on and not m.paused:
            expected = ("ExpectedPause()", ())
        if self.execute(account, "pause" if on else "unpause", (), expected) is not None:
            m.paused = on

    # -- reserves (R1) -----------------------------------------------------------------------------

    @rule(reserve=st.one_of(st.integers(0, 4_000_000), st.sampled_from([-1, 0, 1]).map(lambda d: ("tight", d))),
          when=st.sampled_from(["now", "now", "same", "out_of_order"]))
    def attest(self, reserve: int | tuple[str, int], when: str) -> None:
        m = self.model
        if isinstance(reserve, tuple):  # the smallest reserve that still covers supply, +/- one unit
            reserve = max(0, -(-m.supply * (BPS + m.buffer) // BPS) + reserve[1])
        as_of = {"now": self.rpc.now(), "same": m.attested_at, "out_of_order": m.attested_at - 1}[when]
        expected: Expected = None
        if as_of < m.attested_at:
            expected = ("AttestationOutOfOrder(uint256,uint256)", (m.attested_at, as_of))
        receipt = self.execute(self.keys.attestor, "attestReserves", (reserve, as_of), expected)
        if receipt is not None:
            assert self.logged(receipt) == [("ReservesAttested", (self.keys.attestor.address, reserve, as_of))]
            m.reserve, m.attested_at = reserve, as_of
            m.covered = m.within(m.supply)

    @rule(buffer=st.sampled_from([0, 200, 500]))
    def set_buffer(self, buffer: int) -> None:
        m = self.model
        self.execute(self.keys.admin, "setReservePolicy", (buffer, MAX_AGE), None)
        m.buffer = buffer
        m.covered = m.within(m.supply)

    @rule(seconds=st.sampled_from([SMALL_JUMP, SMALL_JUMP, SMALL_JUMP, BIG_JUMP]))
    def advance_time(self, seconds: int) -> None:
        self.rpc.increase_time(seconds)

    # -- minters -----------------------------------------------------------------------------------

    @rule(who=st.sampled_from(["minter", "U0"]), allowance=st.integers(0, 3_000_000), remove=st.booleans())
    def configure_minter(self, who: str, allowance: int, remove: bool) -> None:
        m, address = self.model, self.accounts[who].address
        if remove:
            expected: Expected = None if address in m.minters else ("NotMinter(address)", (address,))
            if self.execute(self.keys.minter_admin, "removeMinter", (address,), expected) is not None:
                del m.minters[address]
        else:
            self.execute(self.keys.minter_admin, "configureMinter", (address, allowance), None)
            m.minters[address] = allowance

    @rule(who=st.sampled_from(["minter", "minter", "minter", "U0", "U3"]), to=receiver,
          amount=st.one_of(st.tuples(st.just("abs"), st.integers(0, 1_500_000)),
                           st.tuples(st.just("cap"), st.sampled_from([-1, 0, 1]))))
    def mint(self, who: str, to: int | str, amount: tuple[str, int]) -> None:
        m, caller = self.model, self.accounts[who]
        receiver = ZERO if to == "ZERO" else self.u(int(to))
        kind, n = amount
        value = n if kind == "abs" else max(0, m.mintable() - m.supply + n)  # right at the R1 boundary
        now = self.rpc.now()  # eth_call runs with the latest block's timestamp
        expected: Expected = None
        if caller.address not in m.minters:
            expected = ("NotMinter(address)", (caller.address,))
        elif value > m.minters[caller.address]:
            expected = ("MinterAllowanceExceeded(address,uint256,uint256)",
                        (caller.address, m.minters[caller.address], value))
        elif m.paused:
            expected = ("EnforcedPause()", ())
        elif now > m.attested_at + MAX_AGE:
            expected = ("AttestationStale(uint256,uint256,uint256)", (m.attested_at, MAX_AGE, now))
        elif not m.within(m.supply + value):
            expected = ("ReserveCapExceeded(uint256,uint256)", (m.supply + value, m.mintable()))
        elif receiver == ZERO:
            expected = ("ERC20InvalidReceiver(address)", (ZERO,))
        else:
            expected = m.can_move(receiver)
        receipt = self.execute(caller, "mint", (receiver, value), expected)
        if receipt is not None:
            assert self.logged(receipt) == [("Minted", (caller.address, receiver, value)),
                                            ("Transfer", (ZERO, receiver, value))]
            m.minters[caller.address] -= value
            m.balance[receiver] += value
            m.supply += value
            m.last_mint_policy = (m.reserve, m.buffer)
            m.covered = True

    # -- ERC-20 ------------------------------------------------------------------------------------

    @rule(sender=user, to=receiver, spec=amount_spec)
    def transfer(self, sender: int, to: int | str, spec: tuple[str, int]) -> None:
        m, source = self.model, self.u(sender)
        receiver = ZERO if to == "ZERO" else self.u(int(to))
        amount = self.resolve(spec, m.balance[source])
        receipt = self.execute(self.users[sender], "transfer", (receiver, amount),
                               m.transfer_error(source, receiver, amount))
        if receipt is not None:
            assert self.logged(receipt) == [("Transfer", (source, receiver, amount))]
            m.balance[source] -= amount
            m.balance[receiver] += amount

    @rule(owner=user, spender=st.integers(0, N_USERS), amount=allowance_amount)
    def approve(self, owner: int, spender: int, amount: int) -> None:
        """Approvals are never restricted (no value moves), not even while paused or frozen."""
        holder, spender_address = self.u(owner), self.spenders[spender]
        receipt = self.execute(self.users[owner], "approve", (spender_address, amount), None)
        assert self.logged(receipt) == [("Approval", (holder, spender_address, amount))]
        self.model.allowance[(holder, spender_address)] = amount

    @rule(owner=user, spender=st.integers(0, N_USERS), submitter=user,
          amount=allowance_amount)
    def permit(self, owner: int, spender: int, submitter: int, amount: int) -> None:
        m, holder, spender_address = self.model, self.users[owner], self.spenders[spender]
        deadline = self.rpc.now() + 3_600
        sig = sign_permit_as(holder, owner=holder.address, chain_id=self.rpc.chain_id, token=self.token.address,
                             spender=spender_address, value=amount, nonce=m.nonce[holder.address], deadline=deadline)
        args = (holder.address, spender_address, amount, deadline, sig.v, bytes.fromhex(sig.r[2:]),
                bytes.fromhex(sig.s[2:]))
        self.execute(self.users[submitter], "permit", args, None)
        m.nonce[holder.address] += 1
        m.allowance[(holder.address, spender_address)] = amount

    @rule(spender=user, owner=user, to=receiver, spec=amount_spec)
    def transfer_from(self, spender: int, owner: int, to: int | str, spec: tuple[str, int]) -> None:
        m, caller, source = self.model, self.u(spender), self.u(owner)
        receiver = ZERO if to == "ZERO" else self.u(int(to))
        amount = self.resolve(spec, m.balance[source])
        current = m.allowance[(source, caller)]
        expected: Expected
        if caller in m.frozen:
            expected = ("AccountFrozen(address)", (caller,))
        elif current != MAX_UINT256 and current < amount:
            expected = ("ERC20InsufficientAllowance(address,uint256,uint256)", (caller, current, amount))
        else:
            expected = m.transfer_error(source, receiver, amount)
        receipt = self.execute(self.users[spender], "transferFrom", (source, receiver, amount), expected)
        if receipt is not None:
            assert self.logged(receipt) == [("Transfer", (source, receiver, amount))]
            if current != MAX_UINT256:
                m.allowance[(source, caller)] -= amount
            m.balance[source] -= amount
            m.balance[receiver] += amount

    # -- redemption (R13, R16) ---------------------------------------------------------------------

    @rule(who=st.sampled_from(["minter", "minter", "minter", "U0"]), holder=user, spec=amount_spec,
          signed=st.sampled_from([True, True, False]), request=st.binary(min_size=32, max_size=32))
    def redeem(self, who: str, holder: int, spec: tuple[str, int], signed: bool, request: bytes) -> None:
        """`signed=False` is a forged permit: the contract falls back to an existing allowance."""
        m, caller, account = self.model, self.accounts[who], self.users[holder]
        amount = self.resolve(spec, m.balance[account.address])
        deadline = self.rpc.now() + 3_600
        sig = sign_permit_as(account if signed else self.forger, owner=account.address, chain_id=self.rpc.chain_id,
                             token=self.token.address, spender=caller.address, value=amount,
                             nonce=m.nonce[account.address], deadline=deadline)
        args = (account.address, amount, request, deadline, sig.v, bytes.fromhex(sig.r[2:]), bytes.fromhex(sig.s[2:]))
        current = m.allowance.get((account.address, caller.address), 0)
        expected: Expected = None
        if caller.address not in m.minters:
            expected = ("NotMinter(address)", (caller.address,))
        elif caller.address in m.frozen:  # R24: a frozen minter spends no permit, as a frozen spender none
            expected = ("AccountFrozen(address)", (caller.address,))
        elif amount == 0:
            expected = ("ZeroAmount()", ())
        elif m.paused:
            expected = ("EnforcedPause()", ())
        elif not signed and current != MAX_UINT256 and current < amount:
            expected = ("ERC20InsufficientAllowance(address,uint256,uint256)", (caller.address, current, amount))
        elif m.can_move(account.address):
            expected = m.can_move(account.address)
        elif m.balance[account.address] < amount:
            expected = ("ERC20InsufficientBalance(address,uint256,uint256)",
                        (account.address, m.balance[account.address], amount))
        receipt = self.execute(caller, "redeemWithPermit", args, expected)
        if receipt is not None:
            assert self.logged(receipt) == [("Transfer", (account.address, ZERO, amount)),
                                            ("Redeemed", (account.address, amount, request))]
            if signed:
                m.nonce[account.address] += 1
            elif current != MAX_UINT256:
                m.allowance[(account.address, caller.address)] -= amount
            m.balance[account.address] -= amount
            m.supply -= amount

    # -- invariants --------------------------------------------------------------------------------

    @invariant()
    def chain_matches_model_and_reserve_cap_holds(self) -> None:
        m, t = self.model, self.token
        calls: list[tuple[Any, str, list[Any]]] = []
        for u in self.users:
            a = u.address
            calls += [(t, "balanceOf", [a]), (t, "isAllowListed", [a]), (t, "isFrozen", [a]), (t, "nonces", [a])]
            calls += [(t, "allowance", [a, s]) for s in self.spenders]
        minter_candidates = [self.keys.minter.address, self.u(0)]
        calls += [(t, "isMinter", [a]) for a in minter_candidates]
        calls += [(t, "minterAllowance", [a]) for a in minter_candidates]
        calls += [(t, "totalSupply", []), (t, "paused", []), (t, "reserveState", []), (t, "mintableSupply", []),
                  (t, "hasRole", [self.pauser_role, self.u(1)])]
        values = iter(self.rpc.reads(calls))

        balances = []
        for u in self.users:
            a = u.address
            observed = (next(values), next(values), next(values), next(values))
            assert observed == (m.balance[a], a in m.allowed, a in m.frozen, m.nonce[a]), f"I2 account {a}"
            balances.append(observed[0])
            for s in self.spenders:
                assert next(values) == m.allowance[(a, s)], f"I2 allowance {a} -> {s}"
        assert [next(values) for _ in minter_candidates] == [a in m.minters for a in minter_candidates], "I2 minters"
        assert [next(values) for _ in minter_candidates] == [m.minters.get(a, 0) for a in minter_candidates]
        supply, paused, reserve_state, mintable, second_pauser = (next(values) for _ in range(5))
        assert paused == m.paused, "I2 pause flag"
        assert tuple(reserve_state) == (m.reserve, m.attested_at, MAX_AGE, m.buffer), "I2 reserve state"
        assert mintable == m.mintable()
        assert second_pauser == (self.u(1) in m.pausers), "I2 pauser role"

        assert sum(balances) == supply == m.supply, "I1: sum of balances == totalSupply"
        reserve, _, _, buffer = reserve_state
        if m.last_mint_policy is not None:
            mint_reserve, mint_buffer = m.last_mint_policy
            assert supply * (BPS + mint_buffer) <= mint_reserve * BPS, "I3: R1 bound of the last mint"
        if m.covered:
            assert supply * (BPS + buffer) <= reserve * BPS, "I4: R1 under the current attestation"


def test_random_operation_sequences_keep_the_token_consistent_and_within_reserves(token_env: TokenEnv) -> None:
    """R1, R22, R24, R41, R42: see the module docstring for the invariants I1-I4."""
    OUTCOMES.clear()
    world = prepare_world(token_env)
    run_state_machine_as_test(lambda: TokenMachine(world), settings=hypothesis_profile())
    # Guard against a vacuous run: the main value movements must actually have happened.
    for must_succeed in ("mint", "transfer", "redeemWithPermit"):
        assert OUTCOMES[f"{must_succeed} -> ok"] > 0, f"no successful {must_succeed}: {sorted(OUTCOMES.items())}"
