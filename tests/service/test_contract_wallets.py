"""A contract wallet proves control through ERC-1271 (R21, design.md: "EIP-191 signature; ERC-1271
for contract wallets"), is allow-listed on chain like any wallet (R22) and can be minted to (R11).

The wallet is contracts/test/OwnerWallet1271.sol: it answers the ERC-1271 magic value only for its
owner key's signature over the hash it is asked about, here the EIP-191 personal_sign hash of the
challenge message (`issuer_service/chain/gateway.py:erc1271_valid`)."""

from __future__ import annotations

from typing import Any

from eth_account import Account
from eth_account.messages import encode_defunct
from eth_account.signers.local import LocalAccount
from sqlalchemy import Engine, func, select

from issuer_service.chain.compiler import load_artifacts, load_test_artifact, standard_input
from issuer_service.chain.gateway import ChainGateway, encode_defunct_hash
from issuer_service.chain.tx import send_and_wait
from issuer_service.outbox.models import ChainTx
from issuer_service.wallets.models import Wallet
from tests.chain_fixtures import TokenEnv
from tests.service.flow import Staff, add_buffer_capital, deposit_fiat, onboard, wait_for
from tests.service.service_helpers import assert_problem, bearer

UNITS_PER_CNH = 1_000_000
ERC1271_MAGIC = bytes.fromhex("1626ba7e")


def _deploy_owner_wallet(token_env: TokenEnv, owner: LocalAccount) -> Any:
    """An OwnerWallet1271 whose only accepted signer is `owner`, deployed by a throwaway account."""
    artifact = load_test_artifact("OwnerWallet1271")
    deployer = token_env.new_account()
    factory = token_env.w3.eth.contract(abi=artifact.abi, bytecode=artifact.bytecode)
    receipt = send_and_wait(token_env.w3, deployer, factory.constructor(owner.address), gas=1_000_000)
    return token_env.w3.eth.contract(address=receipt["contractAddress"], abi=artifact.abi)


def _signed(signer: LocalAccount, message: str) -> str:
    return "0x" + bytes(signer.sign_message(encode_defunct(text=message)).signature).hex()


def _wallet_audit(client: Any, staff: Staff) -> list[dict[str, Any]]:
    """The wallet audit records, oldest first."""
    response = client.get("/v1/audit-log", params={"entity_type": "wallet", "limit": 50}, headers=bearer(staff.auditor))
    assert response.status_code == 200, response.text
    return sorted(response.json()["items"], key=lambda r: r["seq"])


def _count(engine: Engine, model: Any) -> int:
    with engine.connect() as connection:
        return int(connection.execute(select(func.count()).select_from(model)).scalar_one())


def test_a_contract_wallet_binds_only_with_its_owners_erc1271_signature_and_can_then_be_minted_to(
    chain_client: Any, staff: Staff, gateway: ChainGateway, token_env: TokenEnv, db_engine: Engine
) -> None:  # R21, R22, R11
    client = chain_client
    add_buffer_capital(client, staff, "100.00")
    customer_id, key = onboard(client, staff, name="Contracty Ltd")
    owner = Account.create()
    wallet = _deploy_owner_wallet(token_env, owner)
    address = wallet.address

    challenge = client.get("/v1/wallets/challenge", params={"address": address}, headers=bearer(key))
    assert challenge.status_code == 200, challenge.text
    message = challenge.json()["message"]
    # The wallet itself agrees with the service on what is being signed: the EIP-191 hash.
    digest = encode_defunct_hash(message)
    owner_signature = _signed(owner, message)
    assert bytes(wallet.functions.isValidSignature(digest, bytes.fromhex(owner_signature[2:])).call()) == ERC1271_MAGIC

    # A stranger's signature: the contract answers "invalid", so control is not proven and nothing is written.
    before = (_count(db_engine, Wallet), _count(db_engine, ChainTx), _wallet_audit(client, staff))
    stranger = _signed(Account.create(), message)
    refused = client.post("/v1/wallets", json={"address": address, "signature": stranger}, headers=bearer(key))
    assert_problem(refused, 422, field="body.signature")
    assert (_count(db_engine, Wallet), _count(db_engine, ChainTx), _wallet_audit(client, staff)) == before
    assert client.get(f"/v1/wallets/{address}", headers=bearer(key)).status_code == 404
    assert gateway.account_state(address).allow_listed is False

    # The owner's signature over the same challenge binds it, as a contract wallet.
    bound = client.post("/v1/wallets", json={"address": address, "signature": owner_signature}, headers=bearer(key))
    assert bound.status_code == 201, bound.text
    assert (bound.json()["kind"], bound.json()["customer_id"]) == ("contract", customer_id)
    active = wait_for(client, f"/v1/wallets/{address}", key, {"active", "revoked"})
    assert (active["status"], active["kind"]) == ("active", "contract")
    assert active["on_chain"]["allow_listed"] is True
    assert token_env.token.functions.isAllowListed(address).call() is True
    audit = _wallet_audit(client, staff)
    assert [r["action"] for r in audit] == ["wallet.bound", "wallet.allow_listed"]
    assert (audit[0]["data"]["address"], audit[0]["data"]["kind"]) == (address, "contract")

    # And a mint to it confirms on chain.
    deposit_fiat(client, staff, customer_id, "5.00")
    mint = client.post(
        "/v1/mints", json={"wallet": address, "amount": "5.00"}, headers=bearer(key, **{"Idempotency-Key": "c1"})
    )
    assert mint.status_code == 202, mint.text
    done = wait_for(client, f"/v1/mints/{mint.json()['id']}", key, {"confirmed", "failed"})
    assert done["status"] == "confirmed", done
    assert gateway.balance_of(address) == 5 * UNITS_PER_CNH


def test_the_test_wallet_is_compiled_apart_and_never_reaches_the_deployment_or_slither() -> None:
    """contracts/test/ is for tests only: the production artifacts (deploy, service) and the
    standard-JSON input Slither analyses leave it out."""
    assert load_test_artifact("OwnerWallet1271").source == "contracts/test/OwnerWallet1271.sol"
    assert "OwnerWallet1271" not in load_artifacts() and "TCNHToken" in load_artifacts()
    assert not [source for source in standard_input()["sources"] if source.startswith("contracts/test/")]
    assert "TCNHToken" not in load_artifacts(tests=True)
