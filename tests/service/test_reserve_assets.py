"""Treasury's reserve assets and the daily statement (R1–R6, R40, R50, R52), without a chain."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text

from compliance.approval_policy import ApprovalPolicy, default_policy
from issuer_service.approvals import service as approvals
from issuer_service.reserves.statements import DailyStatementJob
from tests.service.compliance_helpers import audit_actions
from tests.service.service_helpers import assert_problem, bearer


@pytest.fixture
def treasury(make_key: Callable[..., str]) -> tuple[str, str]:
    return make_key("treasury", "treasury maker"), make_key("treasury", "treasury checker")


def _record(client: TestClient, key: str, **fields: Any) -> dict[str, Any]:
    body = {
        "kind": "cash",
        "custodian": "Bank A",
        "currency": "CNH",
        "nominal": "1000.00",
        "reference": "REF-1",
        **fields,
    }
    response = client.post("/v1/reserves/assets", json=body, headers=bearer(key))
    assert response.status_code == 201, response.text
    return dict(response.json())


def _approve(client: TestClient, key: str, asset_id: str) -> dict[str, Any]:
    response = client.post(f"/v1/reserves/assets/{asset_id}/approve", headers=bearer(key))
    assert response.status_code == 200, response.text
    return dict(response.json())


def test_assets_count_after_a_second_approval_with_eligibility_and_haircut_from_the_profile(
    client: TestClient, treasury: tuple[str, str]
) -> None:
    maker, checker = treasury
    usd = _record(
        client,
        maker,
        kind="government_debt",
        custodian="Custodian B",
        account="a/c 9",
        currency="USD",
        nominal="1000.00",
        market_value="990.00",
        maturity=(datetime.now(UTC) + timedelta(days=200)).date().isoformat(),
    )
    assert usd["status"] == "pending_approval" and client.get("/v1/reserves").json()["reserves"] == "0.00"
    assert_problem(client.post(f"/v1/reserves/assets/{usd['id']}/approve", headers=bearer(maker)), 403)  # R40
    approved = _approve(client, checker, usd["id"])
    assert (approved["eligible"], approved["haircut_bps"], approved["counts_toward_backing"]) == (True, 500, "940.50")
    assert approved["account"] == "a/c 9"
    shares = _record(client, maker, kind="other", custodian="Broker C", nominal="500.00")
    shares = _approve(client, checker, shares["id"])
    assert (shares["eligible"], shares["ineligibility_reason"], shares["counts_toward_backing"]) == (
        False,
        "kind_not_eligible",
        "0.00",
    )  # R2: listed, counts zero
    long_deposit = _record(
        client,
        maker,
        kind="time_deposit",
        nominal="300.00",
        maturity=(datetime.now(UTC) + timedelta(days=200)).date().isoformat(),
    )
    assert long_deposit["ineligibility_reason"] == "term_too_long"

    public = client.get("/v1/reserves").json()
    assert public["reserves"] == "940.50"
    assert public["composition"] == [{"kind": "government_debt", "counted": "940.50"}]
    assert public["concentration"] == [
        {"custodian": "Custodian B", "counted": "940.50", "share_bps": 10_000, "over_limit": True}
    ]  # R6: all of it at one custodian
    listed = client.get("/v1/reserves/assets", headers=bearer(checker)).json()["items"]
    assert {a["id"] for a in listed} == {usd["id"], shares["id"], long_deposit["id"]}


def test_revaluation_needs_a_second_principal_and_keeps_the_history(
    client: TestClient, treasury: tuple[str, str], admin_key: str
) -> None:
    maker, checker = treasury
    asset = _approve(client, checker, _record(client, maker)["id"])
    assert_problem(
        client.post(
            f"/v1/reserves/assets/{asset['id']}/valuations",
            json={"market_value": "-1", "reference": "X"},
            headers=bearer(maker),
        ),
        422,
        field="body.market_value",
    )
    future = (datetime.now(UTC) + timedelta(days=1)).isoformat()
    assert_problem(
        client.post(
            f"/v1/reserves/assets/{asset['id']}/valuations",
            json={"market_value": "990.00", "reference": "X", "valued_at": future},
            headers=bearer(maker),
        ),
        422,
        field="body.valued_at",
    )
    pending = client.post(
        f"/v1/reserves/assets/{asset['id']}/valuations",
        json={"market_value": "990.00", "reference": "BANK-STMT-2"},
        headers=bearer(maker),
    )
    assert pending.status_code == 201, pending.text
    assert_problem(
        client.post(
            f"/v1/reserves/assets/{asset['id']}/valuations",
            json={"market_value": "980.00", "reference": "X"},
            headers=bearer(maker),
        ),
        409,
    )
    assert client.get("/v1/reserves").json()["reserves"] == "1000.00"  # not yet approved
    assert_problem(client.post(f"/v1/reserves/valuations/{pending.json()['id']}/approve", headers=bearer(maker)), 403)
    approved = client.post(f"/v1/reserves/valuations/{pending.json()['id']}/approve", headers=bearer(admin_key))
    assert approved.status_code == 200 and approved.json()["status"] == "active", approved.text
    assert client.get("/v1/reserves").json()["reserves"] == "990.00"
    history = client.get(f"/v1/reserves/assets/{asset['id']}/valuations", headers=bearer(checker)).json()
    assert [(v["market_value"], v["status"]) for v in history] == [("1000.00", "active"), ("990.00", "active")]
    rejected = client.post(
        f"/v1/reserves/assets/{asset['id']}/valuations",
        json={"market_value": "1.00", "reference": "TYPO"},
        headers=bearer(maker),
    ).json()
    assert (
        client.post(f"/v1/reserves/valuations/{rejected['id']}/reject", headers=bearer(checker)).json()["status"]
        == "rejected"
    )
    assert client.get("/v1/reserves").json()["reserves"] == "990.00"
    actions = [
        r["action"]
        for r in client.get(
            "/v1/audit-log", params={"entity_type": "reserve_valuation"}, headers=bearer(admin_key)
        ).json()["items"]
    ]
    assert actions == [
        "reserve_valuation.recorded",
        "reserve_valuation.approved",
        "reserve_valuation.recorded",
        "reserve_valuation.rejected",
    ]  # R50


def test_a_revaluation_older_than_the_current_value_is_refused(
    client: TestClient, treasury: tuple[str, str]
) -> None:  # R5
    """An approved valuation from 0001-01-01 became the asset's value although a newer one existed."""
    maker, checker = treasury
    asset = _approve(client, checker, _record(client, maker, valued_at="2026-11-20T09:00:00Z")["id"])
    path = f"/v1/reserves/assets/{asset['id']}/valuations"
    for stale in ("0001-01-01T00:00:00Z", "2026-11-20T08:59:59Z"):
        body = {"market_value": "1.00", "reference": "OLD", "valued_at": stale}
        problem = assert_problem(client.post(path, json=body, headers=bearer(maker)), 422, field="body.valued_at")
        assert "older than the asset's current valuation" in problem["detail"]
    same_time = {"market_value": "999.00", "reference": "RESTATED", "valued_at": "2026-11-20T09:00:00Z"}
    assert client.post(path, json=same_time, headers=bearer(maker)).status_code == 201
    history = client.get(path, headers=bearer(checker)).json()
    assert [v["reference"] for v in history] == ["REF-1", "RESTATED"]


@pytest.mark.parametrize(
    "valued_at", ["0001-01-01T00:00:00+14:00", "0001-01-01T00:00:00+00:01", "9999-12-31T23:59:59-14:00"]
)
def test_a_valuation_time_outside_the_utc_calendar_is_refused_naming_the_field(
    client: TestClient, treasury: tuple[str, str], admin_key: str, valued_at: str
) -> None:
    """Times that exist in their own offset but not in UTC (year 0 or 10000) are the client's to fix."""
    maker, checker = treasury
    body = {"kind": "cash", "custodian": "Bank A", "currency": "CNH", "nominal": "1.00", "reference": "R"}
    problem = assert_problem(
        client.post("/v1/reserves/assets", json={**body, "valued_at": valued_at}, headers=bearer(maker)),
        422,
        field="body.valued_at",
    )
    assert "UTC" in problem["errors"][0]["message"]
    asset = _approve(client, checker, _record(client, maker)["id"])
    assert_problem(
        client.post(
            f"/v1/reserves/assets/{asset['id']}/valuations",
            json={"market_value": "2.00", "reference": "V", "valued_at": valued_at},
            headers=bearer(maker),
        ),
        422,
        field="body.valued_at",
    )
    assets = client.get("/v1/reserves/assets", headers=bearer(admin_key)).json()["items"]
    assert [a["id"] for a in assets] == [asset["id"]]  # the refused asset was not recorded


def test_the_daily_statement_is_drawn_once_a_day_and_a_shortfall_raises_an_alert(
    client: TestClient,
    treasury: tuple[str, str],
    admin_key: str,
    db_engine: Engine,
    caplog: pytest.LogCaptureFixture,
) -> None:
    maker, checker = treasury
    _approve(client, checker, _record(client, maker, nominal="1000.00")["id"])
    with db_engine.begin() as connection:  # 1,000.00 outstanding needs 1,020.00 under the hk buffer (R1)
        connection.execute(text("UPDATE reserve_pool SET outstanding_fen = 100000"))
    with caplog.at_level(logging.WARNING, logger="issuer_service.reserves.alerts"):
        drawn = client.post("/v1/reserves/statements", headers=bearer(checker))
    assert drawn.status_code == 201, drawn.text
    statement = drawn.json()
    assert (statement["breach"], statement["supply"], statement["reserves"], statement["surplus"]) == (
        True,
        "1000.00",
        "1000.00",
        "-20.00",
    )
    assert any(getattr(r, "fields", {}).get("event") == "reserve_breach" for r in caplog.records)  # R5 alert
    breach = client.get(
        "/v1/audit-log", params={"action": "reserve_statement.breach"}, headers=bearer(admin_key)
    ).json()["items"]
    assert [r["seq"] for r in breach] == [statement["audit_seq"]] and "R1" in breach[0]["rule_ids"]
    again = client.post("/v1/reserves/statements", headers=bearer(checker))
    assert again.status_code == 200 and again.json()["id"] == statement["id"]  # one per business date
    job = DailyStatementJob(client.app.state.sessionmaker, None, client.app.state.profile)  # type: ignore[attr-defined]
    assert job.step() == 0  # today's is already drawn
    listed = client.get("/v1/reserves/statements", headers=bearer(checker)).json()["items"]
    assert [s["id"] for s in listed] == [statement["id"]]


def test_the_statement_job_draws_todays_statement_on_its_first_step(client: TestClient, admin_key: str) -> None:
    job = DailyStatementJob(client.app.state.sessionmaker, None, client.app.state.profile)  # type: ignore[attr-defined]
    assert job.step() == 1
    assert job.step() == 0  # and then waits for the next business date
    statements = client.get("/v1/reserves/statements", headers=bearer(admin_key)).json()["items"]
    assert len(statements) == 1 and statements[0]["breach"] is False


def test_one_custodian_spelled_three_ways_counts_once_against_the_concentration_limit(
    client: TestClient, treasury: tuple[str, str]
) -> None:
    maker, checker = treasury
    spellings = [("SANDBOX BANK HK", "400.00"), ("Sandbox Bank  HK", "300.00"), ("Sandbox Bank HK", "200.00")]
    for custodian, nominal in [*spellings, ("Bank A", "100.00")]:
        _approve(client, checker, _record(client, maker, custodian=custodian, nominal=nominal)["id"])
    public = client.get("/v1/reserves").json()
    assert public["reserves"] == "1000.00"
    assert public["concentration"] == [
        # R6: one institution holds 90%; the name shown is the first recorded (the subscription account's)
        {"custodian": "Sandbox Bank HK", "counted": "900.00", "share_bps": 9_000, "over_limit": True},
        {"custodian": "Bank A", "counted": "100.00", "share_bps": 1_000, "over_limit": False},
    ]


def test_readers_and_writers_of_reserve_assets_are_separated(
    client: TestClient, make_key: Callable[..., str], treasury: tuple[str, str]
) -> None:
    auditor, operator = make_key("auditor"), make_key("operator")
    assert_problem(client.post("/v1/reserves/assets", json={}, headers=bearer(auditor)), 403)
    assert_problem(client.post("/v1/reserves/statements", headers=bearer(auditor)), 403)
    assert_problem(client.get("/v1/reserves/assets", headers=bearer(operator)), 403)
    assert client.get("/v1/reserves/assets", headers=bearer(auditor)).status_code == 200


PolicySwap = Callable[..., ApprovalPolicy]


@pytest.fixture
def reserve_policy(monkeypatch: pytest.MonkeyPatch) -> PolicySwap:
    """Swap the `reserve_asset.change` rule of the approval policy (as `two_approver_limit_changes`
    in test_due_diligence_and_approvals.py does for limit changes)."""

    def swap(**changes: Any) -> ApprovalPolicy:
        rules = dict(default_policy().rules)
        rules["reserve_asset.change"] = replace(rules["reserve_asset.change"], **changes)
        policy = ApprovalPolicy(version="test-reserve-changes", rules=rules)
        monkeypatch.setattr(approvals, "policy", lambda: policy)
        return policy

    return swap


def _change_request(client: TestClient, key: str, subject_id: str) -> dict[str, Any]:
    listed = client.get("/v1/approvals", params={"action": "reserve_asset.change"}, headers=bearer(key)).json()
    (request,) = [a for a in listed["items"] if a["subject_id"] == subject_id]
    return dict(request)


def test_with_two_approvers_required_an_asset_counts_only_after_two_distinct_principals_approve(
    client: TestClient,
    treasury: tuple[str, str],
    make_key: Callable[..., str],
    admin_key: str,
    reserve_policy: PolicySwap,
) -> None:  # R2, R40, R50
    reserve_policy(approvals_required=2)
    maker, checker = treasury
    asset = _record(client, maker)
    request = _change_request(client, admin_key, asset["id"])
    assert (request["required_approvals"], request["subject_type"], request["status"]) == (
        2,
        "reserve_asset",
        "pending",
    )
    approve = f"/v1/reserves/assets/{asset['id']}/approve"

    assert assert_problem(client.post(approve, headers=bearer(maker)), 403)["reason_code"] == "same_principal"
    assert_problem(client.post(approve, headers=bearer(make_key("operator"))), 403)  # not a policy role
    first = _approve(client, checker, asset["id"])
    assert (first["status"], first["approved_by"]) == ("pending_approval", None)  # 1 of 2
    assert client.get("/v1/reserves").json()["reserves"] == "0.00"
    assert assert_problem(client.post(approve, headers=bearer(checker)), 403)["reason_code"] == "already_approved"
    again = client.post(f"/v1/approvals/{request['id']}/approve", json={}, headers=bearer(checker))
    assert assert_problem(again, 403)["reason_code"] == "already_approved"  # one count, whichever door

    done = _approve(client, admin_key, asset["id"])
    decided = _change_request(client, admin_key, asset["id"])
    assert (decided["status"], [v["approver_role"] for v in decided["approvals"]]) == (
        "approved",
        ["treasury", "admin"],
    )
    assert (done["status"], done["approved_by"]) == ("active", decided["approvals"][1]["approver_id"])
    assert client.get("/v1/reserves").json()["reserves"] == "1000.00"
    votes = [r for r in audit_actions(client, admin_key, entity_id=request["id"]) if r["action"] == "approval.approved"]
    assert [r["data"]["approvals"] for r in votes] == [1, 2]  # R50: a record per vote
    assert_problem(client.post(approve, headers=bearer(make_key("treasury"))), 409)  # decided


def test_with_two_approvers_required_a_revaluation_needs_two_and_one_rejection_ends_it(
    client: TestClient,
    treasury: tuple[str, str],
    make_key: Callable[..., str],
    admin_key: str,
    reserve_policy: PolicySwap,
) -> None:  # R5, R40
    maker, checker = treasury
    asset = _approve(client, checker, _record(client, maker)["id"])  # the shipped policy: one approver
    reserve_policy(approvals_required=2)
    path = f"/v1/reserves/assets/{asset['id']}/valuations"
    written_down = client.post(path, json={"market_value": "900.00", "reference": "V-1"}, headers=bearer(maker)).json()
    approve = f"/v1/reserves/valuations/{written_down['id']}/approve"
    assert assert_problem(client.post(approve, headers=bearer(maker)), 403)["reason_code"] == "same_principal"
    first = client.post(approve, headers=bearer(checker))
    assert (first.status_code, first.json()["status"]) == (200, "pending_approval")
    assert assert_problem(client.post(approve, headers=bearer(checker)), 403)["reason_code"] == "already_approved"
    assert client.get("/v1/reserves").json()["reserves"] == "1000.00"
    declined = client.post(f"/v1/reserves/valuations/{written_down['id']}/reject", headers=bearer(admin_key))
    assert (declined.status_code, declined.json()["status"]) == (200, "rejected")  # one approval does not save it
    assert _change_request(client, admin_key, written_down["id"])["status"] == "rejected"
    assert client.get("/v1/reserves").json()["reserves"] == "1000.00"

    second = client.post(path, json={"market_value": "950.00", "reference": "V-2"}, headers=bearer(maker)).json()
    approve = f"/v1/reserves/valuations/{second['id']}/approve"
    assert client.post(approve, headers=bearer(checker)).json()["status"] == "pending_approval"
    done = client.post(approve, headers=bearer(make_key("treasury")))
    assert (done.status_code, done.json()["status"]) == (200, "active")
    assert client.get("/v1/reserves").json()["reserves"] == "950.00"


def test_the_roles_the_policy_names_for_reserve_changes_are_the_ones_that_may_decide(
    client: TestClient, treasury: tuple[str, str], admin_key: str, reserve_policy: PolicySwap
) -> None:  # R40, R42
    reserve_policy(approver_roles=frozenset({"admin"}))
    maker, checker = treasury
    asset = _record(client, maker)
    refused = assert_problem(client.post(f"/v1/reserves/assets/{asset['id']}/approve", headers=bearer(checker)), 403)
    assert "admin" in refused["detail"]
    assert_problem(client.post(f"/v1/reserves/assets/{asset['id']}/reject", headers=bearer(checker)), 403)
    assert _approve(client, admin_key, asset["id"])["status"] == "active"


def test_an_asset_recorded_before_its_approval_request_existed_is_still_approved_through_the_mechanism(
    client: TestClient, treasury: tuple[str, str], admin_key: str, db_engine: Engine
) -> None:  # R40
    """A record left pending by a version that decided without the approvals mechanism gets its
    request at the first decision, in its maker's name; the maker still may not approve it."""
    maker, checker = treasury
    asset = _record(client, maker)
    with db_engine.begin() as connection:
        connection.execute(text("DELETE FROM approval_requests WHERE subject_id = :id"), {"id": asset["id"]})
    assert_problem(client.post(f"/v1/reserves/assets/{asset['id']}/approve", headers=bearer(maker)), 403)
    assert _approve(client, checker, asset["id"])["status"] == "active"
    request = _change_request(client, admin_key, asset["id"])
    assert (request["status"], request["requested_by"], len(request["approvals"])) == (
        "approved",
        asset["requested_by"],
        1,
    )


def test_the_public_view_dates_reserves_by_their_newest_approved_valuation(
    client: TestClient, treasury: tuple[str, str]
) -> None:  # R5, R52
    maker, checker = treasury

    def last_valuation_at() -> datetime:
        return datetime.fromisoformat(client.get("/v1/reserves").json()["last_valuation_at"])

    pool_only = last_valuation_at()  # the (empty) customer cash account, valued at par when it moved
    asset = _approve(client, checker, _record(client, maker)["id"])
    assert last_valuation_at() == datetime.fromisoformat(asset["valued_at"]) > pool_only

    valuation = client.post(
        f"/v1/reserves/assets/{asset['id']}/valuations",
        json={"market_value": "990.00", "reference": "BANK-STMT-2"},
        headers=bearer(maker),
    ).json()
    assert last_valuation_at() == datetime.fromisoformat(asset["valued_at"])  # not approved yet
    approved = client.post(f"/v1/reserves/valuations/{valuation['id']}/approve", headers=bearer(checker))
    assert approved.status_code == 200, approved.text
    assert last_valuation_at() == datetime.fromisoformat(valuation["valued_at"]) > datetime.fromisoformat(
        asset["valued_at"]
    )


def test_an_asset_that_matured_or_was_sold_is_written_down_to_zero_through_the_second_approval(
    client: TestClient, treasury: tuple[str, str], admin_key: str
) -> None:  # R2, R5, R40
    """A bill that matured into cash, or an asset sold, must stop counting toward backing: treasury
    revalues it at zero and it counts nothing once a second principal approves. Before, the lowest
    value a revaluation took was 0.01, so a retired asset went on counting."""
    maker, checker = treasury
    bill = _approve(client, checker, _record(client, maker, nominal="1000.00", reference="BILL")["id"])
    _approve(client, checker, _record(client, maker, nominal="1000.00", reference="CASH")["id"])
    assert client.get("/v1/reserves").json()["reserves"] == "2000.00"

    matured = client.post(
        f"/v1/reserves/assets/{bill['id']}/valuations",
        json={"market_value": "0", "nominal": "0.00", "reference": "MATURED-INTO-CASH"},
        headers=bearer(maker),
    )
    assert matured.status_code == 201, matured.text
    assert client.get("/v1/reserves").json()["reserves"] == "2000.00"  # not before the second principal
    approved = client.post(f"/v1/reserves/valuations/{matured.json()['id']}/approve", headers=bearer(checker))
    assert approved.status_code == 200, approved.text

    assert client.get("/v1/reserves").json()["reserves"] == "1000.00"
    asset = client.get(f"/v1/reserves/assets/{bill['id']}", headers=bearer(checker)).json()
    assert (asset["market_value"], asset["nominal"], asset["counts_toward_backing"]) == ("0.00", "0.00", "0.00")
    statement = client.post("/v1/reserves/statements", headers=bearer(checker))
    assert statement.status_code == 201 and statement.json()["reserves"] == "1000.00", statement.text
    assert client.get("/transparency").status_code == 200  # a zero-valued asset draws no wedge, breaks nothing
    assert_problem(
        client.post("/v1/reserves/assets", json={"kind": "cash", "custodian": "Bank A", "currency": "CNH",
                                                  "nominal": "0", "reference": "EMPTY"}, headers=bearer(maker)),
        422,
        field="body.nominal",
    )  # recording a new asset of nothing is still refused
