"""Hostile input (issue: reliability, item 5). Nothing a client sends may produce a 5xx, a response
that breaks the API's own schema, or any change of state when it is refused.

- schemathesis 4 generates valid and invalid requests for every operation of `/openapi.json`, sent
  with the key of each role the operation admits (and none for public ones): zero 5xx, zero
  response-schema or content-type violations, and invalid input is never accepted.
- Hand-written hostile cases, each answered with a clear 4xx problem+json that names the field,
  with the database and the chain unchanged: oversized bodies (413), malformed JSON (400), unicode
  confusables and control characters in names and addresses, 78-digit numbers, negative, zero and
  sub-fen amounts, badly checksummed addresses, replayed and expired permits (R13, R16) and
  replayed and expired wallet signatures (R21).

Runs on PostgreSQL against the session's Anvil; one world (database + chain snapshot) per module.
Size: CNH_FUZZ_EXAMPLES valid examples per operation and admitted role, one more invalid example per
operation (default 2; the full-size run uses 25). The schemathesis test runs last in the module:
its generated admin requests pause the service and change reserve records.
"""

from __future__ import annotations

import secrets
import uuid
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import httpx
import pytest
import schemathesis
from eth_account import Account
from eth_account.messages import encode_defunct
from fastapi import FastAPI
from fastapi.routing import iter_route_contexts
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import (
    content_type_conformance,
    negative_data_rejection,
    not_a_server_error,
    response_schema_conformance,
)
from schemathesis.core.failures import FailureGroup
from sqlalchemy import Engine, create_engine, text

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

from issuer_service.app import create_app
from issuer_service.chain.gateway import ChainGateway
from issuer_service.clock import utc_now
from tests.chain_fixtures import TokenEnv
from tests.service.flow import (
    Customer,
    Staff,
    add_buffer_capital,
    new_customer,
    redemption_body,
    request_mint,
    staff_keys,
    wait_for,
)
from tests.service.service_helpers import assert_problem, bearer, make_settings
from tests.sizes import size

FUZZ_EXAMPLES = size("CNH_FUZZ_EXAMPLES", ci=2, full=25)
HUGE = "9" * 78  # a 78-digit number: more than uint256 holds, far more than BIGINT
# Written by the background worker on its own schedule, not by requests: left out of "nothing changed".
BACKGROUND_TABLES = (
    "alembic",
    "chain_events",
    "indexer",
    "webhook_deliver",
    "reserve_statements",
)


# A table's row count and a digest of every row's content, in a stable order.
DIGEST_SQL = 'SELECT count(*), md5(coalesce(string_agg(r::text, \',\' ORDER BY r::text), \'\')) FROM "{table}" r'


@dataclass
class World:
    app: FastAPI
    client: TestClient
    engine: Engine
    token: TokenEnv
    staff: Staff
    alice: Customer
    bob: Customer
    ids: dict[str, str]
    fuzz_stats: dict[str, int] = field(default_factory=dict)

    def keys(self) -> dict[str, str]:
        staff = self.staff
        return {
            "admin": staff.admin,
            "operator": staff.operator,
            "compliance": staff.compliance,
            "treasury": staff.treasury,
            "auditor": staff.auditor,
            "customer": self.alice.key,
        }

    def state(self) -> tuple[Any, ...]:
        """Everything a refused request must leave alone: the rows of every business table (not
        background bookkeeping such as the indexer's cursor), fiat balances and the chain."""
        with self.engine.connect() as db:
            tables = sorted(
                db.execute(text("SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'"))
                .scalars()
                .all()
            )
            # Each table's rows, as a count and a digest of their content: an UPDATE of an existing
            # row moves the digest even where the count stays the same.
            counts = {
                t: tuple(db.execute(text(DIGEST_SQL.format(table=t))).one())
                for t in tables
                if not t.startswith(BACKGROUND_TABLES)
            }
            fiat = db.execute(text("SELECT sum(available_fen), sum(reserved_fen) FROM fiat_accounts")).one()
        supply = self.token.token.functions.totalSupply().call()
        return counts, tuple(fiat), supply, self.token.balance(self.alice.wallet.address)


@pytest.fixture(scope="module")
def world(
    pg_server: Engine, pg_template: str, _deployed_token: TokenEnv, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[World]:
    name = f"cnh_t_{secrets.token_hex(8)}"
    with pg_server.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{pg_template}"'))
    url = pg_server.url.set(database=name).render_as_string(hide_password=False)
    token = _deployed_token
    snapshot = token.w3.provider.make_request("evm_snapshot", [])["result"]
    engine = create_engine(url)
    try:
        gateway = ChainGateway(token.anvil.url, token.deployment, token.keys, confirmations=1)
        settings_ = make_settings(url, tmp_path_factory.mktemp("hostile"), auth_failure_limit=100_000)
        app = create_app(settings_, gateway=gateway)
        with TestClient(app) as client:
            staff = staff_keys(client)
            add_buffer_capital(client, staff, "1000.00")
            alice = new_customer(client, staff, name="Alice Trading Ltd", deposit="500.00")
            bob = new_customer(client, staff, name="Bob Shipping Ltd", deposit="500.00")
            mint = request_mint(client, alice, "100.00")
            assert mint.status_code == 202, mint.text
            wait_for(client, f"/v1/mints/{mint.json()['id']}", alice.key, {"confirmed"}, 60)
            yield World(
                app=app,
                client=client,
                engine=engine,
                token=token,
                staff=staff,
                alice=alice,
                bob=bob,
                ids={"customer_id": alice.id, "mint_id": mint.json()["id"], "address": alice.wallet.address},
            )
    finally:
        engine.dispose()
        token.w3.provider.make_request("evm_revert", [snapshot])
        with pg_server.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def assert_unchanged(before: tuple[Any, ...], after: tuple[Any, ...]) -> None:
    """The world's state is what it was; on failure, name what moved."""
    if before != after:
        moved = {t: (n, after[0].get(t)) for t, n in before[0].items() if after[0].get(t) != n}
        raise AssertionError(
            f"state changed: tables {moved}, fiat {before[1]}->{after[1]}, "
            f"supply {before[2]}->{after[2]}, Alice's tokens {before[3]}->{after[3]}"
        )


def post(world: World, path: str, body: Any, key: str, **kwargs: Any) -> httpx.Response:
    headers = bearer(key, **{"Idempotency-Key": uuid.uuid4().hex})
    return world.client.post(path, json=body, headers=headers, **kwargs)


# --- hand-written hostile input -----------------------------------------------------------------


def _body_operations(world: World) -> list[tuple[str, str, str | None]]:
    """(method, path, a key it admits) for every operation that takes a request body."""
    admitted = _admitted_roles(world.app)
    keys = world.keys()
    found = []
    for path, operations in world.app.openapi()["paths"].items():
        for method, spec in operations.items():
            if "requestBody" in spec:
                roles = sorted(admitted[(method.upper(), path)])
                found.append((method.upper(), path, keys[roles[0]] if roles else None))
    assert len(found) >= 15, found
    return found


def _concrete(world: World, path: str) -> str:
    for name, value in world.ids.items():
        path = path.replace("{" + name + "}", value)
    return path.replace("{", "x_").replace("}", "")  # any other id: one that does not exist


def test_oversized_bodies_are_refused_with_413_on_every_write_and_change_nothing(world: World) -> None:
    before = world.state()
    limit = world.app.state.settings.max_body_bytes
    padding = "x" * (limit + 1)
    for method, path, key in _body_operations(world):
        headers = {**bearer(key or ""), "Idempotency-Key": uuid.uuid4().hex, "Content-Type": "application/json"}
        body = ('{"name": "' + padding + '"}').encode()
        declared = world.client.request(method, _concrete(world, path), content=body, headers=headers)
        assert_problem(declared, 413)

        def chunks() -> Iterator[bytes]:  # no Content-Length: the size is only known while reading
            yield b'{"name": "'
            for _ in range(limit // 4096 + 2):
                yield b"x" * 4096
            yield b'"}'

        streamed = world.client.request(method, _concrete(world, path), content=chunks(), headers=headers)
        assert_problem(streamed, 413)
    assert_unchanged(before, world.state())


MALFORMED = [b'{"amount": "1.00",', b"{'amount': '1.00'}", b'{"amount": "1.00"}}', b"\xff\xfe{", b"[", b"nul"]


def test_malformed_json_on_every_write_is_a_400_problem_and_changes_nothing(world: World) -> None:
    before = world.state()
    for method, path, key in _body_operations(world):
        for raw in MALFORMED:
            headers = {**bearer(key or ""), "Idempotency-Key": uuid.uuid4().hex, "Content-Type": "application/json"}
            response = world.client.request(method, _concrete(world, path), content=raw, headers=headers)
            problem = assert_problem(response, 400)
            # Not JSON: our own message; not even UTF-8: Starlette's "error parsing the body".
            assert "JSON" in problem["detail"] or "parsing the body" in problem["detail"], (path, raw, problem)
    assert_unchanged(before, world.state())


CONFUSABLE_NAMES = {
    "Lоtus Trading Ltd": "Cyrillic о inside a Latin word",
    "Аlice Trading Ltd": "Cyrillic А inside a Latin word",  # looks exactly like the existing customer
    "Lotus\u202eLtd gnidarT": "a right-to-left override",
    "Lotus\u200bTrading Ltd": "a zero-width space",
    "Lotus\x00Trading Ltd": "a NUL character",
    "Lotus\x1bTrading Ltd": "an escape character",
}
HONEST_NAMES = ["李小龍貿易有限公司", "Иван Петров", "Αθηνά Ναυτιλιακή", "Lotus 貿易 Ltd", "Zoë Ångström-Nuñez"]


def test_confusable_or_control_characters_in_names_are_refused_but_honest_names_in_any_script_are_accepted(
    world: World,
) -> None:
    before = world.state()
    for name, why in CONFUSABLE_NAMES.items():
        body = {"name": name, "kind": "institution", "jurisdiction": "HK"}
        response = post(world, "/v1/customers", body, world.staff.operator)
        assert response.status_code == 422, f"{why}: {response.status_code} {response.text}"
        assert_problem(response, 422, field="body.name")
    assert_unchanged(before, world.state())
    for name in HONEST_NAMES:
        response = post(
            world, "/v1/customers", {"name": name, "kind": "individual", "jurisdiction": "HK"}, world.staff.operator
        )
        assert response.status_code == 201, response.text
        assert response.json()["name"] == name


HIDDEN_CHARACTERS = {
    "A\\u0000B": "U+0000",  # NUL: PostgreSQL cannot store it in text, and it ends strings in C
    "exe.txt\\u202e": "U+202E",  # right-to-left override
    "A\\u001bB": "U+001B",  # escape
    "A\\u0085B": "U+0085",  # a C1 control (next line)
    "A\\ud800B": "U+D800",  # a lone UTF-16 surrogate
    "BANK-\\u200bX": "U+200B",  # zero-width space: a second bank reference that looks like "BANK-X"
    "BA\\u00adNK-X": "U+00AD",  # soft hyphen
    "\\ufeffBANK-X": "U+FEFF",  # byte order mark
}


def test_hidden_characters_and_repeated_members_in_any_body_are_refused_naming_the_field(world: World) -> None:
    """Every operation that takes a body, whatever its schema: the check runs before the endpoint."""
    before = world.state()
    for method, path, key in _body_operations(world):
        headers = {**bearer(key or ""), "Idempotency-Key": uuid.uuid4().hex, "Content-Type": "application/json"}
        for escaped, code_point in HIDDEN_CHARACTERS.items():
            raw = ('{"outer": {"reason": ["fine", "' + escaped + '"]}}').encode()
            response = world.client.request(method, _concrete(world, path), content=raw, headers=headers)
            problem = assert_problem(response, 422, field="body.outer.reason.1")
            assert code_point in problem["errors"][0]["message"], (path, problem)
        raw = b'{"amount": "1.00", "amount": "2.00"}'
        response = world.client.request(method, _concrete(world, path), content=raw, headers=headers)
        assert "more than once" in assert_problem(response, 422, field="body.amount")["errors"][0]["message"]
        # More digits than Python converts: the body would not parse, and no field would be named.
        raw = b'{"as_of_block": ' + b"9" * 5000 + b"}"
        response = world.client.request(method, _concrete(world, path), content=raw, headers=headers)
        assert "5000 digits" in assert_problem(response, 422, field="body.as_of_block")["errors"][0]["message"]
    assert_unchanged(before, world.state())


def test_text_stored_as_json_takes_no_nul_and_a_mint_no_second_amount(world: World) -> None:
    """The cases PostgreSQL itself let through, since its JSON columns take "\u0000": a travel-rule
    party's name, and a limit change's reason (whose approval then failed for the approver)."""
    before = world.state()
    party = {"name": "A\u0000B", "account": world.alice.wallet.address, "address": "1 Sandbox Road"}
    record = {"tx_hash": "0x" + "ab" * 32, "originator": party, "beneficiary": {**party, "name": "Bob"}}
    response = post(world, "/v1/travel-rule/records", record, world.staff.compliance)
    assert_problem(response, 422, field="body.originator.name")
    limits = {"daily_mint_limit": "10.00", "reason": "A\u0000B"}
    response = post(world, f"/v1/customers/{world.alice.id}/limits", limits, world.staff.compliance)
    assert_problem(response, 422, field="body.reason")
    raw = ('{"wallet": "' + world.alice.wallet.address + '", "amount": "1.00", "amount": "2.00"}').encode()
    headers = {**bearer(world.alice.key), "Idempotency-Key": uuid.uuid4().hex, "Content-Type": "application/json"}
    assert_problem(world.client.post("/v1/mints", content=raw, headers=headers), 422, field="body.amount")
    assert_unchanged(before, world.state())
    honest = {"daily_mint_limit": "10.00", "reason": "verified turnover:\n\tCNH 50m a month\r\n"}
    response = post(world, f"/v1/customers/{world.alice.id}/limits", honest, world.staff.compliance)
    assert response.status_code == 202, response.text


def _bad_addresses(world: World) -> dict[str, str]:
    good = world.alice.wallet.address
    body = good[2:]
    flipped_index = next(i for i, ch in enumerate(body) if ch.isalpha())
    flipped = body[:flipped_index] + body[flipped_index].swapcase() + body[flipped_index + 1 :]
    fullwidth = "".join(chr(ord(ch) + 0xFEE0) if "!" <= ch <= "~" else ch for ch in good)
    return {
        "bad EIP-55 checksum": "0x" + flipped,
        "fullwidth characters": fullwidth,
        "Cyrillic а for a": "0x" + body.lower().replace("a", "а", 1) if "a" in body.lower() else "0x" + "а" * 40,
        "Arabic-Indic digits": "0x" + "".join("٣" if ch == "3" else ch for ch in body.lower()).replace("0", "٠"),
        "41 hex digits": "0x" + body.lower() + "a",
        "no 0x": body.lower() + "00",
        "78-digit number": HUGE,
    }


def test_confusable_and_badly_checksummed_addresses_are_refused_everywhere_and_change_nothing(world: World) -> None:
    alice = world.alice
    before = world.state()
    for why, address in _bad_addresses(world).items():
        cases = [
            ("POST", "/v1/mints", {"wallet": address, "amount": "1.00"}, "body.wallet"),
            ("POST", "/v1/wallets", {"address": address, "signature": "0x" + "11" * 65}, "body.address"),
            ("POST", "/v1/sandbox/faucet", {"address": address}, "body.address"),
            ("GET", "/v1/wallets/challenge", {"address": address}, "query.address"),
        ]
        for method, path, payload, named in cases:
            if method == "POST":
                response = post(world, path, payload, alice.key)
            else:
                response = world.client.get(path, params=payload, headers=bearer(alice.key))
            assert response.status_code == 422, f"{why} at {path}: {response.status_code} {response.text}"
            assert_problem(response, 422, field=named)
        looked_up = world.client.get(f"/v1/wallets/{address}", headers=bearer(world.staff.operator))
        assert looked_up.status_code in (404, 422), f"{why}: {looked_up.status_code} {looked_up.text}"
        assert_problem(looked_up, looked_up.status_code)
    assert_unchanged(before, world.state())


BAD_AMOUNTS = [
    "-1.00",
    "-0.01",
    "0",
    "0.00",
    "0.001",
    "1.005",
    "1e2",
    "0x10",
    "１００.00",
    "١٠٠",
    HUGE,
    HUGE + ".00",
    "1" + "0" * 77,
    10**78,
    -1,
    1.5,
    0,
]


WRITE_OFF = ("0", "0.00")


def test_negative_zero_sub_fen_and_78_digit_amounts_are_refused_on_every_amount_field(world: World) -> None:
    alice, staff = world.alice, world.staff
    asset_id = world.client.get("/v1/reserves/assets", headers=bearer(staff.auditor)).json()["items"][0]["id"]
    before = world.state()
    for amount in BAD_AMOUNTS:
        cases = [
            ("/v1/mints", {"wallet": alice.wallet.address, "amount": amount}, alice.key, "body.amount"),
            (
                "/v1/redemptions",
                {
                    "wallet": alice.wallet.address,
                    "amount": amount,
                    "permit": {"deadline": 2**40, "v": 27, "r": "0x" + "11" * 32, "s": "0x" + "22" * 32},
                },
                alice.key,
                "body.amount",
            ),
            (
                "/v1/deposits",
                {"customer_id": alice.id, "amount": amount, "currency": "CNH", "bank_reference": "B-X"},
                staff.operator,
                "body.amount",
            ),
            (
                "/v1/reserves/assets",
                {"kind": "cash", "custodian": "Sandbox Bank", "currency": "CNH", "nominal": amount, "reference": "R-X"},
                staff.treasury,
                "body.nominal",
            ),
        ]
        if amount not in WRITE_OFF:  # a revaluation to zero writes an asset off (R2, R5): not an amount to move
            cases.append(
                (
                    f"/v1/reserves/assets/{asset_id}/valuations",
                    {"market_value": amount, "reference": "V-X"},
                    staff.treasury,
                    "body.market_value",
                )
            )
        for path, body, key, named in cases:
            response = post(world, path, body, key)
            assert response.status_code == 422, f"{amount!r} at {path}: {response.status_code} {response.text}"
            assert_problem(response, 422, field=named)
        if not isinstance(amount, float):  # a query string has no JSON types: "1.5" is a fine amount there
            quote = world.client.get("/v1/redemptions/quote", params={"amount": str(amount)})
            assert_problem(quote, 422, field="query.amount")
    assert_unchanged(before, world.state())


def test_78_digit_numbers_anywhere_else_are_refused_and_change_nothing(world: World) -> None:
    alice, staff = world.alice, world.staff
    before = world.state()
    permit = {"deadline": 2**40, "v": 27, "r": "0x" + "11" * 32, "s": "0x" + "22" * 32}
    for name, value in (("deadline", 10**78), ("v", 10**78), ("deadline", -(10**78)), ("v", -1)):
        body = {"wallet": alice.wallet.address, "amount": "1.00", "permit": {**permit, name: value}}
        assert_problem(post(world, "/v1/redemptions", body, alice.key), 422, field=f"body.permit.{name}")
    # A block that will never exist: refused naming the field, as not mined.
    attestation = post(world, "/v1/attestations", {"as_of_block": 10**78}, staff.auditor)
    assert_problem(attestation, 422, field="body.as_of_block")
    for path, key in (("/v1/mints", alice.key), ("/v1/customers", staff.operator), ("/v1/audit-log", staff.auditor)):
        response = world.client.get(path, params={"limit": HUGE}, headers=bearer(key))
        assert_problem(response, 422, field="query.limit")
    for path in (f"/v1/mints/{HUGE}", f"/v1/customers/{HUGE}", f"/v1/redemptions/{HUGE}"):
        response = world.client.get(path, headers=bearer(staff.operator))
        assert 400 <= response.status_code < 500, f"{path}: {response.status_code} {response.text}"
        assert_problem(response, response.status_code)
    assert_unchanged(before, world.state())


def test_booleans_and_numeric_strings_are_not_read_as_integers(world: World) -> None:
    """JSON true is not block 1 and "27" is not 27: integer fields take JSON integers only (found by
    schemathesis: {"as_of_block": true} built an attestation at block 1)."""
    alice, staff = world.alice, world.staff
    before = world.state()
    permit = {"deadline": 2**40, "v": 27, "r": "0x" + "11" * 32, "s": "0x" + "22" * 32}
    for name, value in (("deadline", True), ("v", True), ("deadline", "1099511627776"), ("v", "27")):
        body = {"wallet": alice.wallet.address, "amount": "1.00", "permit": {**permit, name: value}}
        assert_problem(post(world, "/v1/redemptions", body, alice.key), 422, field=f"body.permit.{name}")
    for value in (True, False, "1", 1.0):
        attestation = post(world, "/v1/attestations", {"as_of_block": value}, staff.auditor)
        assert_problem(attestation, 422, field="body.as_of_block")
    assert_unchanged(before, world.state())


def _chain_now(world: World) -> int:
    return world.token.now()


def _with_permit(world: World, body: dict[str, Any], **changes: Any) -> dict[str, Any]:
    return {**body, "permit": {**body["permit"], **changes}}


def test_replayed_expired_foreign_and_malleable_permits_are_refused_and_burn_nothing(world: World) -> None:  # R13
    client, alice, bob = world.client, world.alice, world.bob
    spent = redemption_body(client, alice, "1.00")
    accepted = post(world, "/v1/redemptions", spent, alice.key)
    assert accepted.status_code == 202, accepted.text
    wait_for(client, f"/v1/redemptions/{accepted.json()['id']}", alice.key, {"paid"}, 60)
    before = world.state()

    fresh = redemption_body(client, alice, "1.00")
    signature_s = int(fresh["permit"]["s"], 16)
    curve_order = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141
    # Each refusal names the field and carries a stable reason code a client can act on (re-sign).
    hostile = {
        "replayed (its nonce is used)": (spent, "body.permit", "permit_invalid"),
        "expired": (redemption_body(client, alice, "1.00", deadline_s=-60), "body.permit.deadline", "permit_expired"),
        "expiring before the burn can land": (
            redemption_body(client, alice, "1.00", deadline_s=30), "body.permit.deadline", "permit_expired"
        ),
        "signed for another amount": ({**fresh, "amount": "2.00"}, "body.permit", "permit_invalid"),
        "signed by another wallet": (
            redemption_body(client, alice, "1.00", signer=bob.wallet), "body.permit", "permit_invalid"
        ),
        "malleable twin (high s)": (
            _with_permit(world, fresh, s="0x%064x" % (curve_order - signature_s), v=55 - fresh["permit"]["v"]),
            "body.permit.s",
            "permit_invalid",
        ),
        "v outside 27/28": (_with_permit(world, fresh, v=fresh["permit"]["v"] - 27), "body.permit.v", "permit_invalid"),
        "zero r and s": (
            _with_permit(world, fresh, r="0x" + "00" * 32, s="0x" + "00" * 32), "body.permit", "permit_invalid"
        ),
    }
    for why, (body, named, reason_code) in hostile.items():
        response = post(world, "/v1/redemptions", body, alice.key)
        assert response.status_code == 422, f"{why}: {response.status_code} {response.text}"
        problem = assert_problem(response, 422, field=named)
        assert problem["reason_code"] == reason_code, f"{why}: {problem}"
    # Another customer presenting Alice's own valid permit: not theirs to spend.
    stolen = post(world, "/v1/redemptions", fresh, bob.key)
    assert assert_problem(stolen, 422)["reason_code"] == "wallet_not_owned"
    assert_unchanged(before, world.state())


def test_replayed_foreign_and_expired_wallet_signatures_bind_nothing(world: World, monkeypatch: Any) -> None:  # R21
    client, alice, bob = world.client, world.alice, world.bob
    wallet = Account.create()
    challenge = client.get("/v1/wallets/challenge", params={"address": wallet.address}, headers=bearer(alice.key))
    signature = "0x" + wallet.sign_message(encode_defunct(text=challenge.json()["message"])).signature.hex()
    bound = client.post(
        "/v1/wallets", json={"address": wallet.address, "signature": signature}, headers=bearer(alice.key)
    )
    assert bound.status_code == 201, bound.text
    wait_for(client, f"/v1/wallets/{wallet.address}", alice.key, {"active"}, 60)

    # Replayed by its owner: the challenge was used up.
    before = world.state()
    replay = client.post(
        "/v1/wallets", json={"address": wallet.address, "signature": signature}, headers=bearer(alice.key)
    )
    assert_problem(replay, 422, field="body.address")
    assert_unchanged(before, world.state())
    # Replayed by another customer, even with an open challenge of their own: it signs Alice's text.
    client.get("/v1/wallets/challenge", params={"address": wallet.address}, headers=bearer(bob.key))
    before = world.state()  # the challenge row is the only thing Bob may create
    stolen = client.post(
        "/v1/wallets", json={"address": wallet.address, "signature": signature}, headers=bearer(bob.key)
    )
    assert_problem(stolen, 422, field="body.signature")
    assert_unchanged(before, world.state())

    # Signed too late: the one-time challenge expired (10 minutes).
    late_wallet = Account.create()
    late = client.get("/v1/wallets/challenge", params={"address": late_wallet.address}, headers=bearer(alice.key))
    late_signature = late_wallet.sign_message(encode_defunct(text=late.json()["message"])).signature.hex()
    before = world.state()
    import issuer_service.wallets.service as wallets_service

    monkeypatch.setattr(wallets_service, "utc_now", lambda: utc_now() + timedelta(minutes=11))
    expired = client.post(
        "/v1/wallets",
        json={"address": late_wallet.address, "signature": "0x" + late_signature},
        headers=bearer(alice.key),
    )
    assert_problem(expired, 422, field="body.signature")
    monkeypatch.undo()
    # A signature over another wallet's challenge proves nothing for this one.
    crossed = client.post(
        "/v1/wallets", json={"address": late_wallet.address, "signature": signature}, headers=bearer(alice.key)
    )
    assert_problem(crossed, 422, field="body.signature")
    assert_unchanged(before, world.state())
    assert client.get(f"/v1/wallets/{late_wallet.address}", headers=bearer(alice.key)).status_code == 404


# --- schemathesis over the whole schema (last: its admin cases pause the service) ---------------


def _admitted_roles(app: FastAPI) -> dict[tuple[str, str], set[str]]:
    """The roles each route's `require(...)` admits (read from its dependency), so every generated
    request gets past authentication and exercises the handler."""

    def roles_of(dependant: Any) -> set[str]:
        found: set[str] = set()
        for dependency in dependant.dependencies:
            code = getattr(dependency.call, "__code__", None)
            if code is not None and "allowed" in code.co_freevars:
                found |= set(dependency.call.__closure__[code.co_freevars.index("allowed")].cell_contents)
            found |= roles_of(dependency)
        return found

    admitted = {}
    for route in iter_route_contexts(app.routes):
        dependant = getattr(route, "dependant", None)
        for method in route.methods or ():
            admitted[(method, str(route.path))] = roles_of(dependant) if dependant is not None else set()
    return admitted


def _send(client: TestClient, case: Any, key: str | None) -> httpx.Response | None:
    """Send a generated case through the in-process client; None if it cannot go on the wire at all
    (e.g. a header value that is not Latin-1)."""
    kwargs = case.as_transport_kwargs(base_url="http://testserver", headers=bearer(key) if key else {})
    body: dict[str, Any] = {}
    if "json" in kwargs:
        body["json"] = kwargs["json"]
    elif isinstance(kwargs.get("data"), (bytes, str)):
        body["content"] = kwargs["data"]
    elif kwargs.get("data") is not None:
        body["data"] = kwargs["data"]
    try:
        return client.request(
            kwargs["method"],
            kwargs["url"],
            params=kwargs.get("params"),
            headers=kwargs.get("headers"),
            cookies=kwargs.get("cookies") or None,
            **body,
        )
    except (httpx.InvalidURL, UnicodeEncodeError, ValueError, TypeError):
        return None


def _fuzz(
    client: TestClient,
    operation: Any,
    mode: GenerationMode,
    key: str | None,
    label: str,
    failures: list[str],
    examples: int,
) -> int:
    """`examples` generated cases of one operation in one mode with one key; findings are collected
    (no shrinking: the report names the request, which is enough to reproduce it)."""
    checks = [not_a_server_error, response_schema_conformance, content_type_conformance]
    if mode is GenerationMode.NEGATIVE:
        checks.append(negative_data_rejection)  # invalid input must never be accepted
    sent = 0

    @settings(
        max_examples=examples,
        deadline=None,
        database=None,
        derandomize=True,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=operation.as_strategy(generation_mode=mode))
    def run(case: Any) -> None:
        nonlocal sent
        response = _send(client, case, key)
        if response is None:
            return
        sent += 1
        try:
            case.validate_response(response, checks=checks)
        except (Exception, FailureGroup) as exc:  # noqa: BLE001 - collect every finding, report them all
            failures.append(
                f"{operation.method.upper()} {operation.path} as {label} ({mode.value}): "
                f"{response.status_code} {type(exc).__name__}: {str(exc)[:500]}"
            )

    try:
        run()
    except Unsatisfiable:  # nothing to make invalid (no parameters, no body): nothing to send
        assert mode is GenerationMode.NEGATIVE, operation.path
    return sent


def test_schemathesis_over_every_operation_with_each_admitted_role_finds_no_5xx_and_no_schema_violation(
    world: World,
) -> None:
    schema = schemathesis.openapi.from_dict(world.app.openapi())
    # The key is ours to send (each admitted role's), so schemathesis must not "negate" it; and
    # unknown query parameters are ignored by design (forward compatibility), not a violation.
    schema.config.generation.update(with_security_parameters=False, allow_extra_parameters=False)
    admitted = _admitted_roles(world.app)
    keys = world.keys()
    failures: list[str] = []
    sent = 0
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 40, "the schema lost its operations"
    for index, operation in enumerate(operations):
        roles = sorted(admitted[(operation.method.upper(), operation.path)]) or ["public"]
        # Valid requests with the key of every role the operation admits ...
        for role in roles:
            sent += _fuzz(
                world.client, operation, GenerationMode.POSITIVE, keys.get(role), role, failures, FUZZ_EXAMPLES
            )
        # ... and invalid ones (refused before the role matters) with one of them, in turn.
        role = roles[index % len(roles)]
        sent += _fuzz(
            world.client, operation, GenerationMode.NEGATIVE, keys.get(role), role, failures, FUZZ_EXAMPLES + 1
        )
    world.fuzz_stats.update(operations=len(operations), requests=sent)
    print(f"\nschemathesis: {len(operations)} operations, {sent} requests, {len(failures)} findings")
    assert not failures, f"{len(failures)} findings:\n" + "\n".join(dict.fromkeys(failures))
