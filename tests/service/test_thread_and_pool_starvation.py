"""More concurrent requests than threads plus pooled connections must queue, not deadlock.

FastAPI runs authentication, the endpoint and the response's serialisation in separate thread-pool
calls while the request's session holds its pooled connection. A burst bigger than threads + pool
left every thread waiting for a connection and every connection held by a request waiting for a
thread, until the pool timeout turned the burst into 503s. `ConcurrencyLimitMiddleware` now keeps
at most as many requests inside as there are threads; the rest wait without a thread or connection.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from fastapi.testclient import TestClient

from issuer_service.app import create_app
from tests.service.service_helpers import ADMIN_KEY, bearer, make_settings

THREADS, POOL, REQUESTS = 3, 2, 40


def test_a_burst_larger_than_threads_plus_pool_is_served_without_a_503(pg_database_url: str, tmp_path: Path) -> None:
    settings = make_settings(
        pg_database_url,
        tmp_path,
        api_threads=THREADS,
        db_pool_size=POOL,
        db_max_overflow=0,
        db_pool_timeout_s=5.0,  # a deadlock shows as 503s after 5 s instead of 30
    )
    with TestClient(create_app(settings)) as client:
        operator = client.post(
            "/v1/api-keys", json={"role": "operator", "label": "burst"}, headers=bearer(ADMIN_KEY)
        ).json()["key"]

        def call(i: int) -> int:
            response = client.post(
                "/v1/customers",
                json={"name": f"Burst Customer {i}", "kind": "institution", "jurisdiction": "HK"},
                headers=bearer(operator),
            )
            return response.status_code

        with ThreadPoolExecutor(REQUESTS) as clients:
            statuses = list(clients.map(call, range(REQUESTS)))
        listed = client.get("/v1/customers", params={"limit": 100}, headers=bearer(operator)).json()["items"]
    assert statuses == [201] * REQUESTS
    assert len(listed) == REQUESTS
