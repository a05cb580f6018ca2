"""Fixtures for service tests that need the chain: the app wired to the session Anvil's token,
with the outbox worker running in-process, on a fresh database per test (SQLite and PostgreSQL)."""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

from issuer_service.app import create_app
from issuer_service.chain.gateway import ChainGateway
from tests.chain_fixtures import TokenEnv
from tests.service.flow import Staff, staff_keys
from tests.service.service_helpers import make_settings


@pytest.fixture
def gateway(token_env: TokenEnv) -> ChainGateway:
    return ChainGateway(token_env.anvil.url, token_env.deployment, token_env.keys, confirmations=1)


@pytest.fixture
def chain_client(database_url: str, tmp_path: Path, gateway: ChainGateway) -> Iterator[TestClient]:
    app = create_app(make_settings(database_url, tmp_path), gateway=gateway)
    with TestClient(app) as client:
        yield client


@pytest.fixture
def staff(chain_client: Any) -> Staff:
    return staff_keys(chain_client)
