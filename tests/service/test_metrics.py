"""Observability: Prometheus metrics (latency by route, and the issuer's state read from the
database) and one request id shared by the response, problem+json, audit records and log lines."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from issuer_service.clock import utc_now
from issuer_service.ids import new_id
from issuer_service.logging_setup import JsonFormatter
from issuer_service.outbox import repository as outbox
from issuer_service.redemptions.models import Redemption
from issuer_service.wallets.models import Wallet
from issuer_service.webhooks import service as webhooks
from tests.service.flow import Staff, add_buffer_capital, new_customer, request_mint, wait_for
from tests.service.service_helpers import assert_problem, bearer

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def scrape(client: TestClient) -> Samples:
    response = client.get("/metrics")
    assert response.status_code == 200
    samples: Samples = {}
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples[(name, tuple(sorted(labels.items())))]


def add_redemption(
    app: FastAPI, customer_id: str, *, status: str, deadline_in: timedelta, paid_after_deadline: timedelta | None = None
) -> None:
    """A redemption row as the worker would leave it, with its payout deadline where the test wants it."""
    now = utc_now()
    with app.state.sessionmaker.begin() as session:
        wallet = Wallet(
            id=new_id("wal"),
            customer_id=customer_id,
            address="0x" + new_id("a")[-40:].rjust(40, "0"),
            kind="eoa",
            status="active",
            frozen=False,
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
                amount_fen=10_000,
                fee_fen=0,
                payout_fen=10_000,
                status=status,
                chain_request_id="0x" + "0" * 24 + redemption_id[-40:],
                permit_deadline=0,
                permit_v=27,
                permit_r="0x" + "1" * 64,
                permit_s="0x" + "2" * 64,
                permit_nonce=0,
                requested_by="key_test",
                deadline_at=now + deadline_in,
                paid_at=now + deadline_in + paid_after_deadline if paid_after_deadline is not None else None,
                created_at=now,
                updated_at=now,
            )
        )


def test_metrics_expose_latency_by_route_and_the_issuer_state_read_from_the_database(
    app: FastAPI,
    client: TestClient,
    make_customer: Callable[..., dict[str, Any]],
    make_customer_key: Callable[[str], str],
) -> None:
    fresh = scrape(client)
    assert value(fresh, "cnh_metrics_database_up") == 1
    assert value(fresh, "cnh_mints", status="confirmed") == 0
    assert value(fresh, "cnh_redemptions", status="paid") == 0
    assert value(fresh, "cnh_outbox_depth", status="pending") == 0
    assert value(fresh, "cnh_confirmation_lag_seconds") == 0
    assert value(fresh, "cnh_redemption_sla_breaches", state="overdue") == 0
    assert not any(name == "cnh_reserve_ratio" for name, _ in fresh)  # no supply, no ratio

    customer_id = make_customer()["id"]
    key = make_customer_key(customer_id)
    client.get("/v1/webhooks", headers=bearer(key))
    with app.state.sessionmaker.begin() as session:
        row = outbox.enqueue(
            session, function="freeze", args=["0x" + "0" * 40], entity_type="wallet", entity_id="wal_test"
        )
        row.created_at = utc_now() - timedelta(minutes=2)  # waiting for two minutes
    add_redemption(
        app, customer_id, status="paid", deadline_in=timedelta(days=-2), paid_after_deadline=timedelta(hours=1)
    )  # R13 kept late
    add_redemption(
        app, customer_id, status="paid", deadline_in=timedelta(days=-2), paid_after_deadline=timedelta(hours=-1)
    )  # on time
    add_redemption(app, customer_id, status="burned", deadline_in=timedelta(hours=-1))  # unpaid, past due
    add_redemption(app, customer_id, status="requested", deadline_in=timedelta(days=1))  # still in time
    client.post("/v1/webhooks", json={"url": "http://127.0.0.1:9/unused"}, headers=bearer(key))
    with app.state.sessionmaker.begin() as session:
        webhooks.emit(session, customer_id, "mint.confirmed", {"id": "mnt_test"})

    samples = scrape(client)
    count = value(samples, "cnh_http_request_duration_seconds_count", method="GET", route="/v1/webhooks")
    assert count == 1  # latency by route template
    assert value(samples, "cnh_outbox_depth", status="pending") == 1
    assert 120 <= value(samples, "cnh_confirmation_lag_seconds") < 600
    assert value(samples, "cnh_redemptions", status="paid") == 2
    assert value(samples, "cnh_redemptions", status="burned") == 1
    assert value(samples, "cnh_redemption_sla_breaches", state="paid_late") == 1
    assert value(samples, "cnh_redemption_sla_breaches", state="overdue") == 1
    assert value(samples, "cnh_webhook_deliveries", status="pending") == 1


def test_one_request_id_links_the_response_problem_audit_record_and_log_line(
    client: TestClient,
    make_customer: Callable[..., dict[str, Any]],
    make_customer_key: Callable[[str], str],
    make_key: Callable[..., str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    key = make_customer_key(make_customer()["id"])
    caplog.set_level(logging.INFO, logger="issuer_service.access")
    created = client.post(
        "/v1/webhooks",
        json={"url": "http://127.0.0.1:9/unused"},
        headers=bearer(key, **{"X-Request-ID": "obs-create-1"}),
    )
    assert created.status_code == 201 and created.headers["x-request-id"] == "obs-create-1"
    [record] = client.get(
        "/v1/audit-log", params={"entity_id": created.json()["id"]}, headers=bearer(make_key("auditor"))
    ).json()["items"]
    assert record["request_id"] == "obs-create-1"

    refused = client.post("/v1/webhooks", json={"url": "ftp://x"}, headers=bearer(key, **{"X-Request-ID": "obs-bad-1"}))
    assert assert_problem(refused, 422)["request_id"] == "obs-bad-1"

    lines = [json.loads(JsonFormatter().format(r)) for r in caplog.records if r.name == "issuer_service.access"]
    assert {(line["route"], line["status"], line["request_id"]) for line in lines} >= {
        ("/v1/webhooks", 201, "obs-create-1"),
        ("/v1/webhooks", 422, "obs-bad-1"),
    }


def test_json_log_lines_carry_extra_fields_and_the_current_request_id() -> None:
    from issuer_service.request_context import request_id_context

    record = logging.LogRecord(
        "issuer_service.worker", logging.WARNING, __file__, 1, "worker waiting %.1fs", (0.4,), None
    )
    record.event = "worker_backoff"  # what `extra={"event": ...}` does
    record.fields = {"attempt": 3}
    with request_id_context("req_worker_1"):
        line = json.loads(JsonFormatter().format(record))
    assert line["message"] == "worker waiting 0.4s" and line["level"] == "warning"
    assert (line["event"], line["attempt"], line["request_id"]) == ("worker_backoff", 3, "req_worker_1")


def test_a_confirmed_mint_shows_in_the_metrics_with_supply_reserve_ratio_and_confirmation_time(
    chain_client: TestClient, staff: Staff
) -> None:
    client = chain_client
    add_buffer_capital(client, staff, "100.00")
    alice = new_customer(client, staff, deposit="1000.00")
    accepted = request_mint(client, alice, "1000.00")
    assert accepted.status_code == 202, accepted.text
    assert (
        wait_for(client, f"/v1/mints/{accepted.json()['id']}", alice.key, {"confirmed", "failed"})["status"]
        == "confirmed"
    )

    deadline = time.monotonic() + 30
    samples = scrape(client)
    while (
        sum(value(samples, "cnh_outbox_depth", status=s) for s in ("pending", "signed", "sent"))
        and time.monotonic() < deadline
    ):  # the worker may still be confirming an attestation
        time.sleep(0.05)
        samples = scrape(client)
    assert value(samples, "cnh_mints", status="confirmed") == 1
    assert value(samples, "cnh_supply_fen") == 100_000
    assert value(samples, "cnh_reserves_fen") == 110_000
    assert value(samples, "cnh_reserve_ratio") == pytest.approx(1.1)
    assert value(samples, "cnh_fully_backed") == 1
    assert value(samples, "cnh_confirmation_lag_seconds") == 0
    assert 0 < value(samples, "cnh_mint_confirmation_seconds", quantile="0.5") < 60
