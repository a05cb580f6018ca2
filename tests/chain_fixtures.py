"""Shared chain fixtures: one Anvil per test session, a deployed tCNH, snapshot/revert per test."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from eth_account import Account
from eth_account.signers.local import LocalAccount
from web3 import Web3

from issuer_service.chain.anvil import AnvilProcess, start_anvil
from issuer_service.chain.deploy import DeployConfig, Deployment, deploy
from issuer_service.chain.keys import RoleKeys
from issuer_service.chain.tx import send_and_wait


@dataclass
class TokenEnv:
    """A deployed tCNH with its role keys and helpers to act as any account."""

    w3: Web3
    anvil: AnvilProcess
    keys: RoleKeys
    deployment: Deployment
    token: Any

    def fund(self, *accounts: LocalAccount) -> None:
        for account in accounts:
            self.w3.provider.make_request("anvil_setBalance", [account.address, hex(10**21)])

    def new_account(self, *, allow: bool = False, fund: bool = True) -> LocalAccount:
        account = Account.create()
        if fund:
            self.fund(account)
        if allow:
            self.send(self.keys.compliance, self.token.functions.addToAllowList(account.address))
        return account

    def send(self, account: LocalAccount, call: Any) -> Any:
        return send_and_wait(self.w3, account, call, gas=1_000_000)

    def attest(self, reserve_units: int) -> Any:
        now = self.now()
        return self.send(self.keys.attestor, self.token.functions.attestReserves(reserve_units, now))

    def now(self) -> int:
        return int(self.w3.eth.get_block("latest")["timestamp"])

    def balance(self, address: str) -> int:
        return int(self.token.functions.balanceOf(address).call())


@pytest.fixture(scope="session")
def anvil() -> Iterator[AnvilProcess]:
    with start_anvil() as process:
        yield process


@pytest.fixture(scope="session")
def _deployed_token(anvil: AnvilProcess) -> TokenEnv:
    w3 = Web3(Web3.HTTPProvider(anvil.url))
    keys = RoleKeys.generate()
    keys.fund_on_anvil(w3)
    deployment = deploy(w3, DeployConfig(keys=keys))
    token = w3.eth.contract(address=deployment.token_address, abi=deployment.abi)
    return TokenEnv(w3=w3, anvil=anvil, keys=keys, deployment=deployment, token=token)


@pytest.fixture
def token_env(_deployed_token: TokenEnv) -> Iterator[TokenEnv]:
    """The deployed token, reverted to its just-deployed state after each test, with nothing left
    in the node's transaction pool: `evm_revert` keeps queued transactions (a worker stopped between
    two batches leaves a nonce gap), and the next test would see them mined into its chain."""
    w3 = _deployed_token.w3
    snapshot = w3.provider.make_request("evm_snapshot", [])["result"]
    try:
        yield _deployed_token
    finally:
        w3.provider.make_request("evm_revert", [snapshot])
        w3.provider.make_request("anvil_dropAllTransactions", [])
