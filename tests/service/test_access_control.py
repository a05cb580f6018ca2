"""Access control (issue: reliability, item 6; R42, R43).

- Every route the app serves is walked with every role's key (admin, operator, compliance,
  treasury, auditor, customer), with no key, with a revoked staff key, with a revoked customer key
  and with another customer's key, and answers what design.md's "HTTP API v1" table says. The route
  list comes from `app.routes`, so a new endpoint without a line in ACCESS fails the test.
- Customer B can neither see nor move customer A's money.
- API keys are stored only as peppered hashes: no key appears anywhere in the database.
- No API key, the pepper, or a private key ever reaches the logs (captured at DEBUG during a full
  flow: onboarding, keys issued and revoked, mint, redemption, attestation, webhooks, the walk).
- Repeated authentication failures are rate limited (429) per client, and that blocks a valid key
  from the same client too, but not other clients.

Runs on PostgreSQL against the session's Anvil; one world (database + chain snapshot) per module.
"""

from __future__ import annotations

import logging
import secrets
import uuid
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.routing import iter_route_contexts
from sqlalchemy import Engine, create_engine, text

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

from issuer_service.app import create_app
from issuer_service.auth import hash_api_key
from issuer_service.chain.gateway import ChainGateway
from issuer_service.logging_setup import JsonFormatter
from tests.chain_fixtures import TokenEnv
from tests.service.attestation_helpers import attest
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
from tests.service.service_helpers import ADMIN_KEY, TEST_PEPPER, assert_problem, bearer, make_settings

ROLES = ("admin", "operator", "compliance", "treasury", "auditor", "customer")
STAFF = ROLES[:-1]
ROLE_DENIED = "needs a key with role"  # the wording of a 403 for the wrong role (auth.require)


# --- the expectation table ---------------------------------------------------------------------


@dataclass(frozen=True)
class Access:
    """Who may call a route. `own`: a customer only on its own records or wallets, so another
    customer's key is refused (403/404 when reading, a 4xx that changes nothing when writing).
    `note` says where the code deliberately reaches beyond design.md's table, and why."""

    roles: frozenset[str] = frozenset()
    public: bool = False
    own: bool = False
    note: str = ""


def allow(*roles: str, own: bool = False, note: str = "") -> Access:
    unknown = set(roles) - set(ROLES)
    assert not unknown, unknown
    return Access(roles=frozenset(roles), own=own, note=note)


PUBLIC = Access(public=True)
READERS = ("operator", "auditor")

ACCESS: dict[tuple[str, str], Access] = {
    # none (design.md): liveness, readiness, metrics, token facts, public reserves; docs and the schema
    ("GET", "/healthz"): PUBLIC,
    ("GET", "/readyz"): PUBLIC,
    ("GET", "/metrics"): PUBLIC,
    ("GET", "/openapi.json"): PUBLIC,
    ("GET", "/docs"): PUBLIC,
    ("GET", "/docs/oauth2-redirect"): PUBLIC,
    ("GET", "/redoc"): PUBLIC,
    ("GET", "/v1/token"): PUBLIC,
    ("GET", "/v1/reserves"): PUBLIC,
    ("GET", "/transparency"): PUBLIC,  # the public disclosure page (R52)
    ("GET", "/v1/redemptions/quote"): PUBLIC,  # fees disclosed before any request (R14)
    # keys: admin only
    ("POST", "/v1/api-keys"): allow("admin"),
    ("DELETE", "/v1/api-keys/{key_id}"): allow("admin"),
    ("POST", "/v1/api-keys/{key_id}/role"): allow("admin"),  # a second admin approves it (R40)
    ("POST", "/v1/customers/{customer_id}/api-keys"): allow("admin"),
    # customers
    ("POST", "/v1/customers"): allow("operator"),
    ("GET", "/v1/customers"): allow("operator", "compliance", "auditor"),
    ("GET", "/v1/customers/{customer_id}"): allow("operator", "compliance", "auditor", "customer", own=True),
    ("POST", "/v1/customers/{customer_id}/kyc"): allow("compliance"),
    ("GET", "/v1/customers/{customer_id}/balance"): allow(
        "operator", "compliance", "treasury", "auditor", "customer", own=True
    ),
    ("POST", "/v1/deposits"): allow("operator"),
    # wallets, faucet
    ("POST", "/v1/sandbox/faucet"): allow("customer", own=True),
    ("GET", "/v1/wallets/challenge"): allow("customer"),
    ("POST", "/v1/wallets"): allow("customer"),
    ("GET", "/v1/wallets/{address}"): allow(
        *READERS, "compliance", "customer", own=True, note="compliance reads wallets it may freeze (R23, R24)"
    ),
    # mints and redemptions
    ("POST", "/v1/mints"): allow("customer", own=True),
    ("GET", "/v1/mints"): allow(*READERS, "customer"),
    ("GET", "/v1/mints/{mint_id}"): allow(*READERS, "customer", own=True),
    ("POST", "/v1/mints/{mint_id}/approve"): allow("operator"),
    ("POST", "/v1/mints/{mint_id}/reject"): allow("operator"),
    ("POST", "/v1/redemptions"): allow("customer", own=True),
    ("GET", "/v1/redemptions"): allow(*READERS, "customer"),
    ("GET", "/v1/redemptions/{redemption_id}"): allow(*READERS, "customer", own=True),
    # reserves: treasury records, a second principal (treasury or admin) approves (R40)
    ("POST", "/v1/reserves/assets"): allow("treasury"),
    ("GET", "/v1/reserves/assets"): allow("treasury", "auditor", "admin"),
    ("GET", "/v1/reserves/assets/{asset_id}"): allow("treasury", "auditor", "admin"),
    ("POST", "/v1/reserves/assets/{asset_id}/approve"): allow(
        "treasury", "admin", note="design.md: treasury + second approver; an admin may be that approver"
    ),
    ("POST", "/v1/reserves/assets/{asset_id}/reject"): allow("treasury", "admin"),
    ("POST", "/v1/reserves/assets/{asset_id}/valuations"): allow("treasury"),
    ("GET", "/v1/reserves/assets/{asset_id}/valuations"): allow("treasury", "auditor", "admin"),
    ("POST", "/v1/reserves/valuations/{valuation_id}/approve"): allow("treasury", "admin"),
    ("POST", "/v1/reserves/valuations/{valuation_id}/reject"): allow("treasury", "admin"),
    ("POST", "/v1/reserves/statements"): allow("treasury", "admin"),
    ("GET", "/v1/reserves/statements"): allow("treasury", "auditor", "admin"),
    # attestations: the auditor; a holder may fetch its own proof of liabilities (R54)
    ("POST", "/v1/attestations"): allow("auditor"),
    ("GET", "/v1/attestations"): allow("auditor"),
    ("GET", "/v1/attestations/{attestation_id}"): allow("auditor"),
    ("GET", "/v1/attestations/{attestation_id}/report.json"): allow("auditor"),
    ("GET", "/v1/attestations/{attestation_id}/report.html"): allow("auditor"),
    ("GET", "/v1/attestations/{attestation_id}/report.pdf"): allow("auditor"),
    ("GET", "/v1/attestations/{attestation_id}/proofs/{address}"): allow("auditor", "customer", own=True),
    # audit log (R50)
    ("GET", "/v1/audit-log"): allow(
        "auditor", "admin", note="design.md: auditor; admins read it to review key changes"
    ),
    ("GET", "/v1/audit-log/verify"): allow("auditor", "admin", note="design.md: auditor; verifying is read-only"),
    ("GET", "/v1/audit-log/export"): allow("auditor"),
    # pause and resume (R41)
    ("GET", "/v1/admin/state"): allow("admin", *READERS),
    ("POST", "/v1/admin/pause"): allow("admin"),
    ("POST", "/v1/admin/resume"): allow("admin"),
    # webhooks: a customer's own subscriptions
    ("POST", "/v1/webhooks"): allow("customer"),
    ("GET", "/v1/webhooks"): allow("customer"),
    ("GET", "/v1/webhooks/{webhook_id}"): allow("customer", own=True),
    ("DELETE", "/v1/webhooks/{webhook_id}"): allow("customer", own=True),
    ("GET", "/v1/webhooks/{webhook_id}/deliveries"): allow("customer", own=True),
    # maker-checker requests (R40): every staff role reads them; the read-only auditor cannot decide
    ("GET", "/v1/approvals/policy"): allow(*STAFF),
    ("GET", "/v1/approvals"): allow(*STAFF),
    ("GET", "/v1/approvals/{approval_id}"): allow(*STAFF),
    ("POST", "/v1/approvals/{approval_id}/approve"): allow("admin", "operator", "compliance", "treasury"),
    ("POST", "/v1/approvals/{approval_id}/reject"): allow("admin", "operator", "compliance", "treasury"),
    # customer limits (R12) and due diligence (R20)
    ("GET", "/v1/customers/{customer_id}/limits"): allow("operator", "compliance", "auditor"),
    ("POST", "/v1/customers/{customer_id}/limits"): allow("operator", "compliance"),
    ("GET", "/v1/customers/{customer_id}/due-diligence"): allow("operator", "compliance", "auditor"),
    # sanctions screening (R23): compliance acts, the auditor reads
    ("GET", "/v1/screening/list"): allow("compliance", "auditor"),
    ("PUT", "/v1/screening/list"): allow("compliance"),
    ("POST", "/v1/screening/rescreen"): allow("compliance"),
    ("GET", "/v1/screening/cases"): allow("compliance", "auditor"),
    ("GET", "/v1/screening/cases/{case_id}"): allow("compliance", "auditor"),
    ("POST", "/v1/screening/cases/{case_id}/clear"): allow("compliance"),
    ("POST", "/v1/screening/cases/{case_id}/confirm"): allow("compliance"),
    # freeze and seize (R24): compliance acts; operators and the auditor read
    ("POST", "/v1/wallets/{address}/freeze"): allow("compliance"),
    ("POST", "/v1/wallets/{address}/unfreeze"): allow("compliance"),
    ("GET", "/v1/wallets/{address}/freezes"): allow("compliance", *READERS),
    ("POST", "/v1/seizures"): allow("compliance"),
    ("GET", "/v1/seizures"): allow("compliance", *READERS),
    ("GET", "/v1/seizures/{seizure_id}"): allow("compliance", *READERS),
    # travel rule (R25): the thresholds are public; records are kept by the parties and read by compliance
    ("GET", "/v1/travel-rule/requirements"): PUBLIC,
    ("POST", "/v1/travel-rule/records"): allow("customer", "operator", "compliance"),
    ("GET", "/v1/travel-rule/records"): allow("compliance", "auditor"),
    ("GET", "/v1/compliance/report"): allow("compliance", "auditor"),
    ("GET", "/v1/compliance/report.html"): allow("compliance", "auditor"),
}
# Path parameters whose object the world does not create (yet): those routes are still walked with
# every caller, but a permitted read may answer 404 instead of 200.
NO_OBJECT_IN_THE_WORLD = {"case_id", "seizure_id"}


def served_routes(app: FastAPI) -> set[tuple[str, str]]:
    routes = set()
    for route in iter_route_contexts(app.routes):
        for method in route.methods or ():
            if method != "HEAD":
                routes.add((method, str(route.path)))
    return routes


# --- the world: one database, one chain snapshot, two customers with money ----------------------


class LogCapture(logging.Handler):
    """Every log record of the module, formatted as the service formats it (exceptions included)."""

    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.lines: list[str] = []
        self.setFormatter(JsonFormatter())

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))

    @property
    def text(self) -> str:
        return "\n".join(self.lines)


@dataclass
class World:
    app: FastAPI
    client: TestClient
    engine: Engine
    staff: Staff
    alice: Customer
    bob: Customer
    ids: dict[str, str]
    revoked_staff_key: str
    revoked_customer_key: str
    logs: LogCapture
    token: TokenEnv
    issued: list[str] = field(default_factory=list)  # every API key and webhook secret handed out

    def callers(self, access: Access) -> dict[str, str | None]:
        """Who walks a route: every role, no key, another customer, and the revoked key of the kind
        the route admits. A public route: a staff key, a customer key, no key and a revoked key."""
        everyone = self.all_callers()
        if access.public:
            names = ["admin", "customer", "no key", "revoked staff key"]
        else:
            names = [*ROLES, "another customer", "no key"]
            if access.roles - {"customer"}:
                names.append("revoked staff key")
            if "customer" in access.roles:
                names.append("revoked customer key")
        return {name: everyone[name] for name in names}

    def all_callers(self) -> dict[str, str | None]:
        return {
            "admin": self.staff.admin,
            "operator": self.staff.operator,
            "compliance": self.staff.compliance,
            "treasury": self.staff.treasury,
            "auditor": self.staff.auditor,
            "customer": self.alice.key,
            "another customer": self.bob.key,
            "no key": None,
            "revoked staff key": self.revoked_staff_key,
            "revoked customer key": self.revoked_customer_key,
        }

    def keep_secrets(self, body: Any) -> None:
        if isinstance(body, dict):
            self.issued.extend(str(body[k]) for k in ("key", "secret") if isinstance(body.get(k), str))


def _created(response: Any, status: int = 201) -> dict[str, Any]:
    assert response.status_code == status, response.text
    return dict(response.json())


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
    logs = LogCapture()
    root = logging.getLogger()
    previous_level = root.level
    root.addHandler(logs)
    root.setLevel(logging.DEBUG)
    engine = create_engine(url)
    try:
        gateway = ChainGateway(token.anvil.url, token.deployment, token.keys, confirmations=1)
        # A high auth-failure limit: the walk sends many deliberately unauthenticated requests.
        settings = make_settings(url, tmp_path_factory.mktemp("access"), auth_failure_limit=100_000)
        app = create_app(settings, gateway=gateway)
        with TestClient(app) as client:
            yield _build_world(app, client, engine, logs, token)
    finally:
        root.removeHandler(logs)
        root.setLevel(previous_level)
        engine.dispose()
        token.w3.provider.make_request("evm_revert", [snapshot])
        with pg_server.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def _build_world(app: FastAPI, client: TestClient, engine: Engine, logs: LogCapture, token: TokenEnv) -> World:
    staff = staff_keys(client)
    add_buffer_capital(client, staff, "1000.00")
    alice = new_customer(client, staff, name="Alice Trading Ltd", deposit="500.00")
    bob = new_customer(client, staff, name="Bob Shipping Ltd", deposit="500.00")
    for customer, amount in ((alice, "100.00"), (bob, "50.00")):
        mint = _created(request_mint(client, customer, amount), 202)
        wait_for(client, f"/v1/mints/{mint['id']}", customer.key, {"confirmed"}, 60)
    redemption = _created(
        client.post(
            "/v1/redemptions",
            json=redemption_body(client, alice, "10.00"),
            headers=bearer(alice.key, **{"Idempotency-Key": uuid.uuid4().hex}),
        ),
        202,
    )
    wait_for(client, f"/v1/redemptions/{redemption['id']}", alice.key, {"paid"}, 60)
    last_mint = _created(request_mint(client, alice, "1.00"), 202)
    confirmed = wait_for(client, f"/v1/mints/{last_mint['id']}", alice.key, {"confirmed"}, 60)
    # At the last mint's block, once the indexer has reached it (the newest indexed block may lag).
    attestation = _created(attest(client, staff.auditor, confirmed["block_number"]))
    webhook = _created(
        client.post("/v1/webhooks", json={"url": "http://127.0.0.1:9/cnh-hook"}, headers=bearer(alice.key))
    )
    # Pending reserve changes recorded by the *second* treasury key, so the walk's treasury key is a
    # different principal and may approve them (maker-checker, R40).
    asset = _created(
        client.post(
            "/v1/reserves/assets",
            headers=bearer(staff.treasury2),
            json={
                "kind": "cash",
                "custodian": "Sandbox Bank HK - a/c 002",
                "currency": "CNH",
                "nominal": "10.00",
                "reference": "WALK-ASSET",
            },
        )
    )
    approved_asset_id = client.get("/v1/reserves/assets", headers=bearer(staff.auditor)).json()["items"][0]["id"]
    valuation = _created(
        client.post(
            f"/v1/reserves/assets/{approved_asset_id}/valuations",
            headers=bearer(staff.treasury2),
            json={"market_value": "1000.00", "reference": "WALK-VALUATION"},
        )
    )
    approval = _created(
        client.post(
            f"/v1/customers/{bob.id}/limits",
            headers=bearer(staff.compliance),
            json={"daily_mint_limit": "600.00", "reason": "a pending approval for the walk"},
        ),
        202,
    )
    throwaway = _created(
        client.post("/v1/api-keys", json={"role": "auditor", "label": "revoked by the walk"}, headers=bearer(ADMIN_KEY))
    )
    revoked_staff = _created(
        client.post("/v1/api-keys", json={"role": "operator", "label": "revoked"}, headers=bearer(ADMIN_KEY))
    )
    revoked_customer = _created(client.post(f"/v1/customers/{alice.id}/api-keys", json={}, headers=bearer(ADMIN_KEY)))
    for key in (revoked_staff, revoked_customer):
        assert client.delete(f"/v1/api-keys/{key['id']}", headers=bearer(ADMIN_KEY)).status_code == 200
    world = World(
        app=app,
        client=client,
        engine=engine,
        staff=staff,
        alice=alice,
        bob=bob,
        token=token,
        logs=logs,
        revoked_staff_key=revoked_staff["key"],
        revoked_customer_key=revoked_customer["key"],
        ids={
            "customer_id": alice.id,
            "mint_id": last_mint["id"],
            "redemption_id": redemption["id"],
            "address": alice.wallet.address,
            "key_id": throwaway["id"],
            "asset_id": asset["id"],
            "valuation_id": valuation["id"],
            "attestation_id": attestation["id"],
            "webhook_id": webhook["id"],
            "approval_id": approval["id"],
        },
    )
    world.issued += [
        ADMIN_KEY,
        *(getattr(staff, role) for role in ("operator", "compliance", "treasury", "treasury2", "auditor")),
        alice.key,
        bob.key,
        throwaway["key"],
        revoked_staff["key"],
        revoked_customer["key"],
        webhook["secret"],
    ]
    return world


# --- the walk ----------------------------------------------------------------------------------


def _request(world: World, method: str, path: str) -> tuple[str, dict[str, Any], Any]:
    """A concrete, valid-looking request for the route, aimed at customer A's records."""
    concrete = path
    for name in [part[1:-1] for part in path.split("/") if part.startswith("{")]:
        if name in NO_OBJECT_IN_THE_WORLD:
            concrete = concrete.replace("{" + name + "}", f"x_no_such_{name}")
            continue
        assert name in world.ids, f"no test value for path parameter {{{name}}} of {path}: add one to world.ids"
        concrete = concrete.replace("{" + name + "}", world.ids[name])
    params: dict[str, Any] = {}
    if path == "/v1/wallets/challenge":
        params["address"] = world.alice.wallet.address
    if path in ("/v1/redemptions/quote", "/v1/travel-rule/requirements"):
        params["amount"] = "1.00"
    alice = world.alice
    bodies: dict[str, Any] = {
        "/v1/api-keys": {"role": "auditor", "label": "from the walk"},
        "/v1/api-keys/{key_id}/role": {"role": "operator", "reason": "from the walk"},
        "/v1/customers": {"name": "Walk Customer Ltd", "kind": "institution", "jurisdiction": "HK"},
        "/v1/customers/{customer_id}/kyc": {"decision": "approved", "risk": "low", "reference": "KYC-WALK"},
        "/v1/deposits": {"customer_id": alice.id, "amount": "1.00", "currency": "CNH", "bank_reference": "B-WALK"},
        "/v1/sandbox/faucet": {"address": alice.wallet.address},
        "/v1/mints": {"wallet": alice.wallet.address, "amount": "1.00"},
        "/v1/reserves/assets": {
            "kind": "cash",
            "custodian": "Sandbox Bank HK - a/c 003",
            "currency": "CNH",
            "nominal": "1.00",
            "reference": "WALK",
        },
        "/v1/reserves/assets/{asset_id}/valuations": {"market_value": "10.00", "reference": "WALK"},
        "/v1/webhooks": {"url": "http://127.0.0.1:9/walk-hook"},
    }
    body = bodies.get(path, {}) if method in ("POST", "PUT", "PATCH") else None
    return concrete, params, body


def _expected(access: Access, caller: str, method: str, path: str) -> str:
    """One of: "any-same" (public), "401", "role-403", "ok" (2xx), "authorized" (past auth: any
    outcome but 401, a role 403 or a 5xx), "not-yours" (403/404 when reading; a refusal when writing)."""
    if access.public:
        return "public"
    if caller in ("no key", "revoked staff key", "revoked customer key"):
        return "401"
    role = "customer" if caller in ("customer", "another customer") else caller
    if role not in access.roles:
        return "role-403"
    if caller == "another customer" and access.own:
        return "not-yours"
    if method != "GET" or any("{" + name + "}" in path for name in NO_OBJECT_IN_THE_WORLD):
        return "authorized"
    return "ok"


def test_every_served_route_has_an_access_rule_and_every_rule_a_route(world: World) -> None:
    served = served_routes(world.app)
    missing = sorted(served - set(ACCESS))
    stale = sorted(set(ACCESS) - served)
    assert not missing, f"routes without an access rule (add them to ACCESS, per design.md): {missing}"
    assert not stale, f"ACCESS lists routes the app does not serve: {stale}"


def test_every_endpoint_answers_every_role_no_key_revoked_keys_and_another_customer_as_the_table_says(
    world: World,
) -> None:  # R42
    served = sorted(served_routes(world.app) & set(ACCESS), key=lambda r: (r[0] != "GET", r[1], r[0]))
    failures: list[str] = []
    public_statuses: dict[tuple[str, str], set[int]] = {}
    walked = 0
    logging.getLogger().setLevel(logging.INFO)  # DEBUG was for the full flow in the fixture; this is faster
    for method, path in served:  # reads first, then writes (a DELETE must not hide a later read)
        access = ACCESS[(method, path)]
        for caller, key in world.callers(access).items():
            url, params, body = _request(world, method, path)
            headers = bearer(key) if key else {}
            headers["Idempotency-Key"] = uuid.uuid4().hex
            response = world.client.request(method, url, params=params, json=body, headers=headers)
            walked += 1
            if response.headers.get("content-type", "").startswith("application/json"):
                world.keep_secrets(response.json())
            expected = _expected(access, caller, method, path)
            status = response.status_code
            detail = (
                response.json().get("detail", "") if "problem+json" in response.headers.get("content-type", "") else ""
            )
            role_denied = status == 403 and ROLE_DENIED in detail
            verdict = {
                "public": status not in (401, 403) and (status < 500 or path == "/readyz"),
                "401": status == 401 and response.headers.get("www-authenticate", "").startswith("Bearer"),
                "role-403": role_denied,
                "ok": 200 <= status < 300,
                "authorized": status not in (401, 429) and not role_denied and status < 500,
                "not-yours": status in (403, 404)
                if method in ("GET", "DELETE")
                else 400 <= status < 500 and status != 401,
            }[expected]
            if expected == "public":
                public_statuses.setdefault((method, path), set()).add(status)
            if not verdict:
                failures.append(f"{method} {path} as {caller}: expected {expected}, got {status} {response.text[:160]}")
    for route, statuses in public_statuses.items():
        if len(statuses) != 1:
            failures.append(f"public route {route} answered differently per caller: {statuses}")
    logging.getLogger().setLevel(logging.DEBUG)
    _resume_if_paused(world)
    print(f"\naccess walk: {len(served)} routes, {walked} calls, {len(failures)} unexpected answers")
    assert not failures, f"{len(failures)} of {walked} calls broke the access table:\n" + "\n".join(failures)


def _resume_if_paused(world: World) -> None:
    """The walk pauses the service as admin; two different admins resume it (R41)."""
    if world.client.get("/v1/admin/state", headers=bearer(ADMIN_KEY)).json().get("paused"):
        second = _created(
            world.client.post(
                "/v1/api-keys", json={"role": "admin", "label": "second admin"}, headers=bearer(ADMIN_KEY)
            )
        )
        world.issued.append(second["key"])
        # The walk's own resume call may already stand as the first approval.
        if world.client.post("/v1/admin/resume", headers=bearer(second["key"])).status_code == 202:
            assert world.client.post("/v1/admin/resume", headers=bearer(ADMIN_KEY)).status_code == 200
        assert world.client.get("/v1/admin/state", headers=bearer(ADMIN_KEY)).json()["paused"] is False


# --- customer A's money is A's ------------------------------------------------------------------


def _fingerprint(world: World, customer: Customer) -> tuple[Any, ...]:
    with world.engine.connect() as db:
        rows = tuple(
            tuple(db.execute(text(sql), {"c": customer.id}).all())
            for sql in (
                "SELECT id, status, amount_fen FROM mints WHERE customer_id = :c ORDER BY id",
                "SELECT id, status, amount_fen FROM redemptions WHERE customer_id = :c ORDER BY id",
                "SELECT available_fen, reserved_fen FROM fiat_accounts WHERE customer_id = :c",
                "SELECT address, status, frozen FROM wallets WHERE customer_id = :c ORDER BY address",
                "SELECT count(*) FROM chain_txs WHERE status NOT IN ('confirmed', 'failed')",
            )
        )
    return (
        *rows,
        world.token.balance(customer.wallet.address),
        world.token.token.functions.nonces(customer.wallet.address).call(),
    )


def test_customer_b_can_neither_see_nor_move_customer_a_money(world: World) -> None:  # R10, R11, R42
    client, alice, bob = world.client, world.alice, world.bob
    _resume_if_paused(world)
    before = _fingerprint(world, alice)
    ids = world.ids
    # Reads: A's records do not exist for B (or are plainly forbidden), lists hold only B's own.
    for path in (
        f"/v1/mints/{ids['mint_id']}",
        f"/v1/redemptions/{ids['redemption_id']}",
        f"/v1/wallets/{alice.wallet.address}",
        f"/v1/webhooks/{ids['webhook_id']}",
        f"/v1/webhooks/{ids['webhook_id']}/deliveries",
        f"/v1/attestations/{ids['attestation_id']}/proofs/{alice.wallet.address}",
    ):
        assert_problem(client.get(path, headers=bearer(bob.key)), 404)
    for path in (f"/v1/customers/{alice.id}", f"/v1/customers/{alice.id}/balance"):
        assert_problem(client.get(path, headers=bearer(bob.key)), 403)
    for path in ("/v1/mints", "/v1/redemptions", "/v1/webhooks"):
        listed = client.get(path, headers=bearer(bob.key)).json()["items"]
        assert all(item.get("customer_id", bob.id) == bob.id for item in listed), path
        assert ids["webhook_id"] not in {item["id"] for item in listed}
    # Writes: minting to A's wallet, redeeming from it with A's own valid permit, gas to it, binding it,
    # deleting A's webhook, re-issuing A's keys: all refused.
    idem = uuid.uuid4().hex
    stolen_mint = client.post(
        "/v1/mints",
        json={"wallet": alice.wallet.address, "amount": "5.00"},
        headers=bearer(bob.key, **{"Idempotency-Key": idem}),
    )
    assert assert_problem(stolen_mint, 422)["reason_code"] == "wallet_not_owned"
    permit_of_alice = redemption_body(client, alice, "5.00")
    stolen_redemption = client.post(
        "/v1/redemptions", json=permit_of_alice, headers=bearer(bob.key, **{"Idempotency-Key": uuid.uuid4().hex})
    )
    assert 400 <= stolen_redemption.status_code < 500 and stolen_redemption.status_code != 401
    assert_problem(
        client.post("/v1/sandbox/faucet", json={"address": alice.wallet.address}, headers=bearer(bob.key)), 404
    )
    challenge = client.get("/v1/wallets/challenge", params={"address": alice.wallet.address}, headers=bearer(bob.key))
    signed_by_bob = bob.wallet.sign_message(_defunct(challenge.json()["message"])).signature
    hijack = client.post(
        "/v1/wallets",
        json={"address": alice.wallet.address, "signature": "0x" + signed_by_bob.hex()},
        headers=bearer(bob.key),
    )
    assert_problem(hijack, 422)
    assert_problem(client.delete(f"/v1/webhooks/{ids['webhook_id']}", headers=bearer(bob.key)), 404)
    assert_problem(client.post(f"/v1/customers/{alice.id}/api-keys", json={}, headers=bearer(bob.key)), 403)
    # A's Idempotency-Key used by B does not replay A's response: keys are per principal.
    mine = client.post(
        "/v1/mints",
        json={"wallet": alice.wallet.address, "amount": "1.00"},
        headers=bearer(alice.key, **{"Idempotency-Key": "shared-looking-key"}),
    )
    assert mine.status_code == 202, mine.text
    theirs = client.post(
        "/v1/mints",
        json={"wallet": alice.wallet.address, "amount": "1.00"},
        headers=bearer(bob.key, **{"Idempotency-Key": "shared-looking-key"}),
    )
    assert theirs.status_code == 422 and mine.json()["id"] not in theirs.text
    wait_for(client, f"/v1/mints/{mine.json()['id']}", alice.key, {"confirmed"}, 60)
    after = _fingerprint(world, alice)
    # Only A's own mint changed A's state: one more confirmed mint, 1.00 less fiat, 1.00 more tokens.
    assert set(after[0]) == {*before[0], (mine.json()["id"], "confirmed", 100)}
    assert after[1] == before[1]  # no redemption was created from A's wallet
    assert after[2][0][0] == before[2][0][0] - 100 and after[2][0][1] == before[2][0][1] == 0
    assert after[3] == before[3]
    assert after[5] == before[5] + 10**6 and after[6] == before[6]  # token balance; permit nonce unused


def _defunct(message: str) -> Any:
    from eth_account.messages import encode_defunct

    return encode_defunct(text=message)


# --- keys at rest and in logs -------------------------------------------------------------------


def _database_text(engine: Engine) -> str:
    with engine.connect() as db:
        tables = (
            db.execute(text("SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'"))
            .scalars()
            .all()
        )
        return "\n".join(
            row
            for table in tables
            for row in db.execute(text(f'SELECT t::text FROM "{table}" t')).scalars().all()  # noqa: S608 - catalog names
        )


def test_api_keys_are_stored_only_as_peppered_hashes(world: World) -> None:  # R42, R43
    api_keys = [secret for secret in world.issued if secret.startswith("cnh_")]
    with world.engine.connect() as db:
        hashes = set(db.execute(text("SELECT key_hash FROM api_keys")).scalars().all())
    assert len(api_keys) >= 12
    for key in api_keys:
        assert hash_api_key(key, TEST_PEPPER) in hashes
    everything = _database_text(world.engine)
    assert len(everything) > 10_000  # the dump is real: customers, mints, audit records...
    leaked = [key[:10] + "…" for key in api_keys if key in everything or key.removeprefix("cnh_") in everything]
    assert not leaked, f"plaintext API keys in the database: {leaked}"
    assert TEST_PEPPER not in everything
    private_keys = [bytes(getattr(world.token.keys, role).key).hex() for role in world.token.keys.addresses()]
    assert not [k for k in private_keys if k in everything], "a private key is stored in the database"


def test_no_api_key_pepper_or_private_key_reaches_the_logs(world: World) -> None:  # R43
    client = world.client
    # A few more paths that log: a wrong key that looks real, an error, a 404 and a refused mint.
    guessed = "cnh_" + secrets.token_urlsafe(32)
    assert client.get("/v1/customers", headers=bearer(guessed)).status_code == 401
    assert client.get("/v1/mints/mnt_missing", headers=bearer(world.alice.key)).status_code == 404
    assert request_mint(client, world.alice, "0.001").status_code == 422
    logs = world.logs.text
    assert len(world.logs.lines) > 200, "the capture saw too little of the flow to prove anything"
    assert "issuer_service.access" in logs  # the request log was captured, at DEBUG for every logger
    secrets_by_name = {f"issued secret {value[:8]}…": value for value in [*world.issued, guessed]}
    secrets_by_name["pepper"] = TEST_PEPPER
    for role in world.token.keys.addresses():
        raw = bytes(getattr(world.token.keys, role).key).hex()
        secrets_by_name[f"{role} private key"] = raw
    leaked = sorted(name for name, value in secrets_by_name.items() if value in logs)
    assert not leaked, f"secrets in the logs: {leaked}"


# --- rate limiting ------------------------------------------------------------------------------


def test_repeated_auth_failures_are_rate_limited_per_client_even_for_a_later_valid_key(
    world: World, tmp_path: Path
) -> None:
    url = world.engine.url.render_as_string(hide_password=False)
    app = create_app(make_settings(url, tmp_path, auth_failure_limit=5))
    # No lifespan needed: the world's database is migrated and holds the keys.
    guesser = TestClient(app, client=("203.0.113.7", 40000))
    bystander = TestClient(app, client=("198.51.100.9", 40000))
    try:
        attempts = [
            None,
            "cnh_" + secrets.token_urlsafe(32),
            world.revoked_staff_key,
            "not-even-a-key",
            world.revoked_customer_key,
        ]
        statuses = [guesser.get("/v1/customers", headers=bearer(a) if a else {}).status_code for a in attempts]
        assert statuses == [401] * 5
        blocked = guesser.get("/v1/customers", headers=bearer(world.staff.operator))
        problem = assert_problem(blocked, 429)
        assert int(blocked.headers["retry-after"]) >= 1 and "retry" in problem["detail"]
        assert bystander.get("/v1/customers", headers=bearer(world.staff.operator)).status_code == 200
    finally:
        app.state.engine.dispose()
