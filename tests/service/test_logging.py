"""One structured access-log line per request; keys never logged (R43)."""

from __future__ import annotations

import json
import logging

import pytest
from fastapi.testclient import TestClient

from issuer_service.logging_setup import JsonFormatter
from tests.service.service_helpers import bearer


def test_each_request_logs_one_json_line_without_the_key(
    client: TestClient, operator_key: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="issuer_service.access")
    client.get("/v1/customers/cus_x", headers=bearer(operator_key, **{"X-Request-ID": "log-test-1"}))
    records = [r for r in caplog.records if r.name == "issuer_service.access"]
    assert len(records) == 1
    line = json.loads(JsonFormatter().format(records[0]))
    assert {k: line[k] for k in ("method", "route", "status", "request_id")} == {
        "method": "GET",
        "route": "/v1/customers/{customer_id}",
        "status": 404,
        "request_id": "log-test-1",
    }
    assert isinstance(line["duration_ms"], float)
    assert operator_key not in caplog.text and "Authorization" not in caplog.text
