"""Liveness, readiness and metrics."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.testclient import TestClient

from tests.service.service_helpers import assert_problem


def test_healthz_is_ok_without_auth(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}


def test_readyz_checks_the_database(client: TestClient) -> None:
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json() == {"status": "ready", "checks": {"database": {"ok": True, "detail": "SELECT 1 succeeded"}}}


def test_readyz_runs_added_checks_and_lists_the_failing_ones(app: FastAPI) -> None:
    def chain() -> tuple[str, bool, str]:
        return "chain", False, "RPC http://127.0.0.1:8545 refused the connection"

    def exploding() -> tuple[str, bool, str]:
        raise RuntimeError("boom")

    app.state.readiness_checks += [lambda: ("reconciliation", True, "ledger == chain"), chain, exploding]
    with TestClient(app) as client:
        response = client.get("/readyz")
    problem = assert_problem(response, 503)
    assert problem["detail"] == "not ready: chain, exploding failing"
    assert problem["checks"]["reconciliation"] == {"ok": True, "detail": "ledger == chain"}
    assert problem["checks"]["exploding"] == {"ok": False, "detail": "check raised RuntimeError"}
    assert problem["checks"]["database"]["ok"] is True


def test_metrics_count_requests_by_route_template(client: TestClient, operator_key: str) -> None:
    client.get("/v1/customers/cus_a", headers={"Authorization": f"Bearer {operator_key}"})
    body = client.get("/metrics").text
    assert 'cnh_http_requests_total{method="GET",route="/v1/customers/{customer_id}",status="404"} 1.0' in body
