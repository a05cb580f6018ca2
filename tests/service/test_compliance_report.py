"""The compliance report and the regime profile through the API (R13, R14, R15, R55, R60):
SLA breaches listed and counted by the metric alike, the sandbox label on JSON and HTML, no
endpoint that pays interest, and one setting choosing the profile that changes the answers."""

from __future__ import annotations

import json
import re
import secrets
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime, timedelta
from html import escape
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from eth_utils.address import to_checksum_address
from fastapi import FastAPI
from fastapi.testclient import TestClient
from pydantic import ValidationError

from compliance.attestation_cadence import next_attestation_due
from compliance.calendar import use_holidays_file
from compliance.profiles import UnknownProfileError, available_profiles, load_profile
from issuer_service.app import create_app
from issuer_service.clock import utc_now
from issuer_service.ids import new_id
from issuer_service.redemptions.models import Redemption
from issuer_service.settings import Settings
from issuer_service.wallets.models import Wallet
from tests.service.cadence_helpers import attested_at, outstanding
from tests.service.compliance_helpers import staff_key
from tests.service.service_helpers import assert_problem, bearer, make_settings

BANNER = "SANDBOX — NOT A LICENSED STABLECOIN"
HKT = ZoneInfo("Asia/Hong_Kong")


def _redemption(
    app: FastAPI, customer_id: str, *, status: str, deadline: datetime, paid_at: datetime | None = None
) -> str:
    now = utc_now()
    with app.state.sessionmaker.begin() as session:
        wallet = Wallet(
            id=new_id("wal"),
            customer_id=customer_id,
            kind="eoa",
            status="active",
            frozen=False,
            address=to_checksum_address("0x" + secrets.token_hex(20)),
            created_at=now,
        )
        session.add(wallet)
        session.flush()
        redemption_id = new_id("red")
        session.add(
            Redemption(
                id=redemption_id,
                customer_id=customer_id,
                wallet_id=wallet.id,
                wallet_address=wallet.address,
                amount_fen=100_00,
                fee_fen=0,
                payout_fen=100_00,
                status=status,
                chain_request_id="0x" + secrets.token_hex(32),
                permit_deadline=0,
                permit_v=27,
                permit_r="0x" + "1" * 64,
                permit_s="0x" + "2" * 64,
                permit_nonce=0,
                requested_by="key_test",
                deadline_at=deadline,
                paid_at=paid_at,
                created_at=now - timedelta(days=3),
                updated_at=now,
            )
        )
    return redemption_id


def _metric(text: str, name: str, **labels: str) -> float:
    label_text = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
    found = re.search(rf"^{name}{{{label_text}}} (\S+)$" if labels else rf"^{name} (\S+)$", text, re.MULTILINE)
    assert found, f"{name} {labels} not in /metrics"
    return float(found.group(1))


def test_the_report_lists_redemption_sla_breaches_and_the_metric_counts_the_same(
    app: FastAPI,
    client: TestClient,
    make_key: Callable[..., str],
    make_customer: Callable[..., dict[str, Any]],
    operator_key: str,
) -> None:
    auditor = make_key("auditor")
    customer = make_customer()["id"]
    now = utc_now()
    _redemption(app, customer, status="paid", deadline=now - timedelta(hours=5), paid_at=now - timedelta(hours=6))
    late = _redemption(
        app, customer, status="paid", deadline=now - timedelta(hours=5), paid_at=now - timedelta(hours=4)
    )
    overdue = _redemption(app, customer, status="burned", deadline=now - timedelta(hours=2))
    _redemption(app, customer, status="requested", deadline=now + timedelta(hours=20))  # not due yet

    report = client.get("/v1/compliance/report", headers=bearer(auditor))
    assert report.status_code == 200, report.text
    body = report.json()
    assert (body["banner"], body["profile"]) == (BANNER, "hk")
    sla = body["redemption_sla"]
    assert (sla["deadline_business_days"], sla["paid"], sla["paid_on_time"]) == (1, 2, 1)
    assert [(b["redemption_id"], b["late_by_seconds"] // 60) for b in sla["paid_late"]] == [(late, 60)]
    assert [(b["redemption_id"], b["paid_at"]) for b in sla["overdue"]] == [(overdue, None)]
    metrics = client.get("/metrics").text
    assert _metric(metrics, "cnh_redemption_sla_breaches", state="paid_late") == len(sla["paid_late"])
    assert _metric(metrics, "cnh_redemption_sla_breaches", state="overdue") == len(sla["overdue"])
    assert _metric(metrics, "cnh_screening_cases", status="open") == 0

    html = client.get("/v1/compliance/report.html", headers=bearer(auditor))
    assert html.status_code == 200 and html.headers["content-type"].startswith("text/html")
    assert html.text.count(BANNER) >= 3 and late in html.text  # R55: title, top and bottom
    assert_problem(client.get("/v1/compliance/report", headers=bearer(operator_key)), 403)
    assert_problem(client.get("/v1/compliance/report"), 401)


def test_no_endpoint_pays_interest_and_the_api_says_sandbox(client: TestClient) -> None:  # R15, R55
    spec = client.get("/openapi.json").json()
    assert spec["info"]["description"].startswith(BANNER)
    words = re.compile(r"interest|yield|reward|dividend|staking|apy\b", re.IGNORECASE)
    offered = [
        f"{method.upper()} {path}: {operation.get('summary', '')}"
        for path, item in spec["paths"].items()
        for method, operation in item.items()
    ]
    assert [line for line in offered if words.search(line.split(":")[0])] == []
    assert [line for line in offered if words.search(line.split(":", 1)[1])] == []
    assert any("/v1/compliance/report" in line for line in offered)


def test_cnh_regime_profile_selects_the_profile_and_the_same_requests_get_that_profile_s_answers(
    database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:  # R60
    answers: dict[str, tuple[str, str, bool]] = {}
    for name in available_profiles():
        monkeypatch.setenv("CNH_REGIME_PROFILE", name)
        with TestClient(create_app(make_settings(database_url, tmp_path))) as client:
            assert client.app.state.profile.name == name  # type: ignore[attr-defined]
            quote = client.get("/v1/redemptions/quote", params={"amount": "8000.00"}).json()
            needs = client.get("/v1/travel-rule/requirements", params={"amount": "8000.00"}).json()
            assert quote["profile"] == needs["profile"] == name
            answers[name] = (quote["deadline_at"], quote["fee"], needs["full_data_required"])
    assert {name: answer[2] for name, answer in answers.items()} == {
        "eu-mica": True,
        "hk": True,
        "sg-mas": False,
        "us-genius": False,
    }  # R25 thresholds
    deadlines = {name: answer[0] for name, answer in answers.items()}
    assert deadlines["eu-mica"] <= deadlines["hk"] <= deadlines["us-genius"] <= deadlines["sg-mas"]  # R13
    assert len(set(deadlines.values())) >= 3
    assert {answer[1] for answer in answers.values()} == {"0.00"}  # R14: the shipped fees are all zero

    monkeypatch.setenv("CNH_REGIME_PROFILE", "atlantis")
    # Refused when the settings are read, before any app or database exists, naming the valid ones.
    with pytest.raises(ValidationError, match="choose one of: eu-mica, hk, sg-mas, us-genius"):
        Settings(_env_file=None, database_url=database_url)  # type: ignore[call-arg]
    with pytest.raises(UnknownProfileError):  # and by the loader itself, for callers without settings
        load_profile("atlantis")


def test_a_profile_fee_is_disclosed_in_the_quote_and_eu_mica_refuses_any_fee(app: FastAPI, client: TestClient) -> None:
    hk = app.state.profile
    app.state.profile = replace(hk, redemption_fee_bps=25)  # R14: a disclosed 0.25% fee
    quote = client.get("/v1/redemptions/quote", params={"amount": "8000.00"}).json()
    assert (quote["fee"], quote["payout"]) == ("20.00", "7980.00")
    # A fixed fee of 1.50 leaves nothing of 1.50: the minimum disclosed is the real one, and the
    # quote refuses what the request would refuse.
    app.state.profile = replace(hk, redemption_fee_bps=25, redemption_fee_fixed_fen=150)
    assert client.get("/v1/redemptions/quote", params={"amount": "2.00"}).json()["minimum"] == "1.51"
    below = assert_problem(client.get("/v1/redemptions/quote", params={"amount": "1.50"}), 422, field="query.amount")
    assert (below["reason_code"], below["rule_id"]) == ("below_minimum", "R14") and "1.51" in below["detail"]
    from compliance.profiles import ProfileError, load_profile

    with pytest.raises(ProfileError, match="redemption_fee_bps"):
        replace(load_profile("eu-mica"), redemption_fee_bps=25)  # R60: redemption is free under eu-mica


def test_the_report_says_an_attestation_is_overdue_by_the_profile_s_cadence(
    app: FastAPI, client: TestClient, make_key: Callable[..., str]
) -> None:  # R52, R53, R60
    auditor = make_key("auditor")

    def section() -> dict[str, Any]:
        body: dict[str, Any] = client.get("/v1/compliance/report", headers=bearer(auditor)).json()["attestation"]
        return body

    def gauge() -> str:
        [line] = [ln for ln in client.get("/metrics").text.splitlines() if ln.startswith("cnh_attestation_overdue ")]
        return line.split()[1]

    assert section() == {"cadence": "daily", "last_attested_at": None, "next_due_at": None, "overdue": False}
    assert gauge() == "0.0"
    outstanding(app, 100_00)  # tokens out and no report yet: one is due at once
    assert section()["overdue"] is True
    assert gauge() == "1.0"  # and Prometheus can alert on it

    stated = (utc_now() - timedelta(days=3)).replace(microsecond=0)
    attested_at(app, stated)
    daily = section()
    assert (daily["cadence"], daily["overdue"]) == ("daily", True)  # hk: a day after the report's stated time
    assert datetime.fromisoformat(daily["next_due_at"]) == stated + timedelta(days=1)
    html = client.get("/v1/compliance/report.html", headers=bearer(auditor)).text
    assert re.search(r'id="attestation">Cadence daily;[^<]*OVERDUE', html)

    app.state.profile = replace(app.state.profile, attestation_cadence="monthly")  # the profile's data decides
    monthly = section()
    assert (monthly["cadence"], monthly["overdue"]) == ("monthly", False)
    assert datetime.fromisoformat(monthly["next_due_at"]) == next_attestation_due(stated, "monthly")


def _holidays_file(path: Path, *, years: list[int], weekend: list[int]) -> Path:
    data = {"name": "ops-calendar", "timezone": "Asia/Hong_Kong", "utc_offset_minutes": 480, "years": years,
            "weekend_isoweekdays": weekend, "holidays": []}
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def test_cnh_holidays_file_replaces_the_calendar_and_a_bad_one_stops_start_up_naming_the_setting(
    database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:  # R13
    with TestClient(create_app(make_settings(database_url, tmp_path))) as client:
        shipped = datetime.fromisoformat(client.get("/v1/redemptions/quote", params={"amount": "10.00"}).json()[
            "deadline_at"
        ])
    # Only one weekday is a business day in the operator's file: a different one from the shipped answer.
    business_day = shipped.astimezone(HKT).isoweekday() % 7 + 1
    today = utc_now().astimezone(HKT).year
    ops = _holidays_file(
        tmp_path / "ops.json", years=[today, today + 1], weekend=[d for d in range(1, 8) if d != business_day]
    )
    monkeypatch.setenv("CNH_HOLIDAYS_FILE", str(ops))
    try:
        with TestClient(create_app(make_settings(database_url, tmp_path))) as client:
            quote = client.get("/v1/redemptions/quote", params={"amount": "10.00"}).json()
            assert datetime.fromisoformat(quote["deadline_at"]).astimezone(HKT).isoweekday() == business_day
            auditor = staff_key(client, "auditor")
            sla = client.get("/v1/compliance/report", headers=bearer(auditor)).json()["redemption_sla"]
            assert (sla["holiday_calendar"], sla["holiday_years"], sla["calendar_warnings"]) == (
                "ops-calendar", [today, today + 1], []
            )
    finally:
        use_holidays_file(None)  # the next app in this process starts from the shipped calendar

    monkeypatch.setenv("CNH_HOLIDAYS_FILE", str(tmp_path / "missing.json"))
    with pytest.raises(ValidationError, match="CNH_HOLIDAYS_FILE .*missing.json.* is not a usable holiday calendar"):
        Settings(_env_file=None, database_url=database_url)  # type: ignore[call-arg]
    (tmp_path / "broken.json").write_text('{"name": "x", "timezone": "Asia/Hong_Kong"}', encoding="utf-8")
    monkeypatch.setenv("CNH_HOLIDAYS_FILE", str(tmp_path / "broken.json"))
    with pytest.raises(ValidationError, match=r"holidays_file[\s\S]*CNH_HOLIDAYS_FILE[\s\S]*missing key 'years'"):
        Settings(_env_file=None, database_url=database_url)  # type: ignore[call-arg]


def test_the_report_warns_when_deadlines_fall_in_a_year_the_holiday_data_does_not_cover(
    database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:  # R13: BusinessCalendar.covers(), never weekends-only in silence
    stale = _holidays_file(tmp_path / "stale.json", years=[2020], weekend=[6, 7])
    monkeypatch.setenv("CNH_HOLIDAYS_FILE", str(stale))
    try:
        with TestClient(create_app(make_settings(database_url, tmp_path))) as client:
            auditor = staff_key(client, "auditor")
            sla = client.get("/v1/compliance/report", headers=bearer(auditor)).json()["redemption_sla"]
            html = client.get("/v1/compliance/report.html", headers=bearer(auditor)).text
    finally:
        use_holidays_file(None)
    year = utc_now().astimezone(HKT).year
    assert sla["calendar_warnings"] and all("weekends only" in w for w in sla["calendar_warnings"])
    assert f"lists holidays for 2020, not {year}" in sla["calendar_warnings"][0]
    assert escape(sla["calendar_warnings"][0]) in html
