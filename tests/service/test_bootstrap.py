"""Start-up makes sure an admin can log in, without ever logging a key (R43)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr

from issuer_service.app import create_app
from issuer_service.settings import Settings
from tests.service.service_helpers import TEST_PEPPER, bearer, make_settings


def _admin_key_created_events(client: TestClient, key: str) -> list[dict[str, object]]:
    response = client.get("/v1/audit-log", params={"action": "api_key.created"}, headers=bearer(key))
    assert response.status_code == 200, response.text
    items: list[dict[str, object]] = response.json()["items"]
    return items


def test_admin_key_from_env_is_usable_and_created_once(
    database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CNH_ADMIN_API_KEY", "cnh_from-the-environment-0123456789")
    settings = Settings(_env_file=None, database_url=database_url, api_key_pepper=SecretStr(TEST_PEPPER))  # type: ignore[call-arg]
    for _ in range(2):  # a restart must not add a second key
        with TestClient(create_app(settings)) as client:
            events = _admin_key_created_events(client, "cnh_from-the-environment-0123456789")
    assert [(e["data"], e["actor"]) for e in events] == [
        ({"role": "admin", "label": "bootstrap", "customer_id": None}, "system")
    ]


def test_without_configured_key_a_new_admin_key_is_printed_once(
    database_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = make_settings(database_url, tmp_path, admin_api_key=None)
    with TestClient(create_app(settings)):
        pass
    first = capsys.readouterr().out
    match = re.search(r"Admin API key \(shown once\): (cnh_\S+)", first)
    assert match is not None, first
    with TestClient(create_app(settings)) as client:
        assert client.get("/v1/audit-log/verify", headers=bearer(match.group(1))).json()["ok"] is True
    assert "Admin API key" not in capsys.readouterr().out


def test_bootstrap_key_never_reaches_the_log(
    sqlite_database_url: str, tmp_path: Path, caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    caplog.set_level("DEBUG")
    with TestClient(create_app(make_settings(sqlite_database_url, tmp_path, admin_api_key=None))) as client:
        key = re.search(r"(cnh_\S+)", capsys.readouterr().out)
        assert key is not None
        client.get("/v1/customers", headers=bearer(key.group(1)))
    assert key.group(1) not in caplog.text


def test_a_configured_admin_key_demoted_by_two_admins_stays_demoted_and_the_service_still_starts(
    database_url: str, tmp_path: Path
) -> None:  # R40, R42: an approved role change holds across restarts, like a revocation
    settings = make_settings(database_url, tmp_path)
    configured = settings.admin_api_key.get_secret_value()  # type: ignore[union-attr]
    with TestClient(create_app(settings)) as client:
        second = client.post("/v1/api-keys", json={"role": "admin", "label": "b"}, headers=bearer(configured)).json()
        bootstrap_id = _admin_key_created_events(client, configured)[0]["entity_id"]
        change = client.post(
            f"/v1/api-keys/{bootstrap_id}/role",
            json={"role": "auditor", "reason": "the bootstrap key only reads from now on"},
            headers=bearer(second["key"]),
        ).json()
        approved = client.post(f"/v1/approvals/{change['id']}/approve", json={}, headers=bearer(configured))
        assert approved.status_code == 200 and approved.json()["status"] == "approved", approved.text
    with TestClient(create_app(settings)) as client:  # a restart with the same CNH_ADMIN_API_KEY
        assert client.get("/v1/audit-log/export", headers=bearer(configured)).status_code == 200  # an auditor
        refused = client.post("/v1/admin/pause", headers=bearer(configured))
        assert refused.status_code == 403, refused.text
