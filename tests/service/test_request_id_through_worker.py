"""One request id follows a mint and a redemption from the API request through the worker: the
records the worker writes when it submits, confirms, burns and pays carry the id of the request that
asked for it (issue: ecosystem, "a request id that also appears in problem+json errors and audit
records"; R50)."""

from __future__ import annotations

import uuid
from typing import Any

from tests.service.flow import Staff, add_buffer_capital, new_customer, redemption_body, wait_for
from tests.service.service_helpers import bearer


def _records(client: Any, auditor: str, entity_type: str, entity_id: str) -> list[dict[str, Any]]:
    params = {"entity_type": entity_type, "entity_id": entity_id, "limit": 100}
    response = client.get("/v1/audit-log", params=params, headers=bearer(auditor))
    assert response.status_code == 200, response.text
    return list(response.json()["items"])


def test_the_worker_records_of_a_mint_and_a_redemption_carry_the_requests_id(chain_client: Any, staff: Staff) -> None:
    client = chain_client
    add_buffer_capital(client, staff, "100.00")
    alice = new_customer(client, staff, deposit="100.00")

    mint = client.post(
        "/v1/mints",
        json={"wallet": alice.wallet.address, "amount": "10.00"},
        headers=bearer(alice.key, **{"Idempotency-Key": uuid.uuid4().hex, "X-Request-ID": "trace-mint-1"}),
    )
    assert mint.status_code == 202, mint.text
    mint_id = mint.json()["id"]
    wait_for(client, f"/v1/mints/{mint_id}", alice.key, {"confirmed"}, 60)

    redemption = client.post(
        "/v1/redemptions",
        json=redemption_body(client, alice, "4.00"),
        headers=bearer(alice.key, **{"Idempotency-Key": uuid.uuid4().hex, "X-Request-ID": "trace-redeem-1"}),
    )
    assert redemption.status_code == 202, redemption.text
    redemption_id = redemption.json()["id"]
    wait_for(client, f"/v1/redemptions/{redemption_id}", alice.key, {"paid"}, 60)

    mint_records = _records(client, staff.auditor, "mint", mint_id)
    assert {"mint.submitted", "mint.confirmed"} <= {r["action"] for r in mint_records}, mint_records
    assert {(r["action"], r["request_id"]) for r in mint_records} == {
        (r["action"], "trace-mint-1") for r in mint_records
    }
    redemption_records = _records(client, staff.auditor, "redemption", redemption_id)
    assert {"redemption.burned", "redemption.paid"} <= {r["action"] for r in redemption_records}
    assert {(r["action"], r["request_id"]) for r in redemption_records} == {
        (r["action"], "trace-redeem-1") for r in redemption_records
    }
