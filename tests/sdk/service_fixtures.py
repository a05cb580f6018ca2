"""An in-process issuer service on the session's Anvil, for SDK and CLI tests: SQLite only (the
SDK is not a database test; tests/service covers PostgreSQL), one fresh database per test."""

from __future__ import annotations

import shutil
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

with warnings.catch_warnings():  # starlette suggests httpx2; the TestClient works with httpx
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

from cnh_sdk import Client
from issuer_service.app import create_app
from issuer_service.chain.gateway import ChainGateway
from issuer_service.db import run_migrations
from tests.chain_fixtures import TokenEnv
from tests.service.service_helpers import ADMIN_KEY, make_settings


@pytest.fixture(scope="session")
def migrated_sqlite(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("sdk-sqlite") / "template.db"
    run_migrations(f"sqlite:///{path}")
    return path


@pytest.fixture
def app_client(token_env: TokenEnv, migrated_sqlite: Path, tmp_path: Path) -> Iterator[TestClient]:
    """The service with its in-process outbox worker, behind a Starlette TestClient."""
    database = tmp_path / "issuer.db"
    shutil.copyfile(migrated_sqlite, database)
    gateway = ChainGateway(token_env.anvil.url, token_env.deployment, token_env.keys, confirmations=1)
    app = create_app(make_settings(f"sqlite:///{database}", tmp_path), gateway=gateway)
    with TestClient(app) as client:
        yield client


@pytest.fixture
def admin(app_client: Any) -> Iterator[Client]:
    """The SDK on the in-process service, as the bootstrap admin."""
    with Client(api_key=ADMIN_KEY, http=app_client) as client:
        yield client
