"""The public transparency page shows the profile's attestation cadence and when the next report
is due (R52, R53, R60); a profile with another cadence gives another due date."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import timedelta

from fastapi import FastAPI
from fastapi.testclient import TestClient

from compliance.attestation import iso_seconds
from issuer_service.clock import utc_now
from tests.service.cadence_helpers import attested_at, outstanding


def _cadence_line(client: TestClient) -> str:
    page = client.get("/transparency")  # public: no key
    assert page.status_code == 200, page.text
    found = re.search(r'id="attestation-cadence">(.*?)</p>', page.text, re.DOTALL)
    assert found, "no attestation cadence on the page"
    return " ".join(re.sub(r"<[^>]+>", "", found.group(1)).split())


def test_the_page_shows_the_cadence_and_when_the_next_attestation_is_due(app: FastAPI, client: TestClient) -> None:
    assert _cadence_line(client) == (
        "Attestation reports are due daily (R52, regime profile hk) · the first report is due once tokens are issued"
    )
    outstanding(app, 100_00)
    assert _cadence_line(client).endswith("the first report is due now — OVERDUE")

    stated = utc_now() - timedelta(hours=30)
    attested_at(app, stated)
    assert _cadence_line(client).endswith(
        f"next report due by {iso_seconds(stated + timedelta(days=1))} — OVERDUE"
    )  # hk: daily

    app.state.profile = replace(app.state.profile, attestation_cadence="weekly")
    line = _cadence_line(client)
    assert line.startswith("Attestation reports are due weekly")
    assert line.endswith(f"next report due by {iso_seconds(stated + timedelta(days=7))}")  # not overdue
