"""Fixtures for the service tests: every test that takes `database_url` runs twice, on a fresh
SQLite file and on a fresh PostgreSQL database (cloned from a migrated template, dropped after).

PostgreSQL must be up (CI guarantees it): if it is unreachable the tests fail, they never skip.
"""

from __future__ import annotations

import os
import secrets
import shutil
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from sqlalchemy import Engine, create_engine, text

with warnings.catch_warnings():  # starlette suggests httpx2; the TestClient works with httpx
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

from issuer_service.app import create_app
from issuer_service.db import make_engine, run_migrations
from issuer_service.settings import Settings
from tests.service.service_helpers import ADMIN_KEY, bearer, make_settings

PG_SERVER_URL = os.environ.get("CNH_TEST_PG_URL", "postgresql+psycopg://root@127.0.0.1:5432/postgres")


# --- databases -------------------------------------------------------------------------------


def _pg_url(database: str) -> str:
    return PG_SERVER_URL.rsplit("/", 1)[0] + "/" + database


@pytest.fixture(scope="session")
def pg_server() -> Iterator[Engine]:
    engine = create_engine(PG_SERVER_URL, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except Exception as exc:
        pytest.fail(
            f"PostgreSQL at {PG_SERVER_URL} is unreachable ({type(exc).__name__}: {exc}). The service tests need "
            "it; start it with `pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start`.",
            pytrace=False,
        )
    yield engine
    engine.dispose()


@pytest.fixture(scope="session")
def pg_template(pg_server: Engine) -> Iterator[str]:
    """A migrated database that each test clones (CREATE DATABASE ... TEMPLATE is much faster
    than migrating every time)."""
    name = f"cnh_t_{secrets.token_hex(6)}_template"
    with pg_server.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        run_migrations(_pg_url(name))
        yield name
    finally:
        with pg_server.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("sqlite-template") / "template.db"
    run_migrations(f"sqlite:///{path}")
    return path


@pytest.fixture
def pg_database_url(pg_server: Engine, pg_template: str) -> Iterator[str]:
    """A fresh PostgreSQL database `cnh_t_<hex>`, dropped after the test."""
    name = f"cnh_t_{secrets.token_hex(8)}"
    with pg_server.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{pg_template}"'))
    try:
        yield _pg_url(name)
    finally:
        with pg_server.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture
def sqlite_database_url(sqlite_template: Path, tmp_path: Path) -> str:
    path = tmp_path / "issuer.db"
    shutil.copyfile(sqlite_template, path)
    return f"sqlite:///{path}"


@pytest.fixture(params=["sqlite", pytest.param("pg", marks=pytest.mark.postgres, id="postgresql")])
def database_url(request: pytest.FixtureRequest) -> str:
    url: str = request.getfixturevalue(f"{request.param}_database_url")
    return url


@pytest.fixture
def db_engine(database_url: str) -> Iterator[Engine]:
    """A direct engine on the test database, for assertions the API cannot make."""
    engine = make_engine(database_url)
    yield engine
    engine.dispose()


# --- the app ---------------------------------------------------------------------------------


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return make_settings(database_url, tmp_path)


@pytest.fixture
def app(settings: Settings) -> FastAPI:
    return create_app(settings)


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app) as test_client:
        yield test_client


@pytest.fixture
def admin_key(client: TestClient) -> str:
    return ADMIN_KEY


@pytest.fixture
def make_key(client: TestClient, admin_key: str) -> Callable[..., str]:
    """Issue a staff key with `role` through the API and return the plaintext key."""

    def make(role: str, label: str | None = None) -> str:
        response = client.post(
            "/v1/api-keys", json={"role": role, "label": label or f"test {role}"}, headers=bearer(admin_key)
        )
        assert response.status_code == 201, response.text
        key: str = response.json()["key"]
        return key

    return make


@pytest.fixture
def operator_key(make_key: Callable[..., str]) -> str:
    return make_key("operator")


@pytest.fixture
def make_customer(client: TestClient, operator_key: str) -> Callable[..., dict[str, Any]]:
    def make(**fields: Any) -> dict[str, Any]:
        body = {"name": "Lotus Trading Ltd", "kind": "institution", "jurisdiction": "HK", **fields}
        response = client.post("/v1/customers", json=body, headers=bearer(operator_key))
        assert response.status_code == 201, response.text
        customer: dict[str, Any] = response.json()
        return customer

    return make


@pytest.fixture
def make_customer_key(client: TestClient, admin_key: str) -> Callable[[str], str]:
    def make(customer_id: str) -> str:
        response = client.post(f"/v1/customers/{customer_id}/api-keys", json={}, headers=bearer(admin_key))
        assert response.status_code == 201, response.text
        key: str = response.json()["key"]
        return key

    return make
