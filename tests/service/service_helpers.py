"""Helpers shared by the service tests ."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import SecretStr

from issuer_service.settings import Settings

ADMIN_KEY = "cnh_test-bootstrap-admin-key-for-the-service-tests"
TEST_PEPPER = "test-pepper-not-the-placeholder"


def make_settings(database_url: str, tmp_path: Path, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "database_url": database_url,
        "admin_api_key": SecretStr(ADMIN_KEY),
        "api_key_pepper": SecretStr(TEST_PEPPER),
        "deployment_file": tmp_path / "deployment.json",
    }
    values.update(overrides)
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


def bearer(key: str, **extra: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}", **extra}


def assert_problem(response: Any, status: int, *, field: str | None = None) -> dict[str, Any]:
    """The response is an RFC 9457 problem with `status`, naming `field` if given."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    problem: dict[str, Any] = response.json()
    for member in ("type", "title", "status", "detail", "instance", "request_id"):
        assert member in problem, f"problem lacks {member}: {problem}"
    assert problem["status"] == status
    assert problem["request_id"] == response.headers["x-request-id"]
    if field is not None:
        assert field in [error["field"] for error in problem.get("errors", [])], problem
    return problem
