"""The SDK's transport behaviour against a scripted server (httpx.MockTransport): typed problems,
retries on 503 honouring Retry-After, idempotency keys, money refusals, paging, and that the sync
client is the generated twin of the async one."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from email.utils import format_datetime
from typing import Any

import httpx
import pytest

import cnh_sdk._async_client
import cnh_sdk._sync_client
from cnh_sdk import (
    AsyncClient,
    Client,
    CnhError,
    Conflict,
    NotFound,
    ProblemError,
    RetryPolicy,
    RuleRejected,
    ServerError,
    ServiceUnavailable,
    TransportError,
    UnexpectedResponse,
    ValidationFailed,
    parse_retry_after,
)
from cnh_sdk._common import amount_str
from cnh_sdk._unasync import SOURCE, TARGET, generate

PROBLEM = "application/problem+json"
DEPOSIT = {
    "id": "dep_1",
    "customer_id": "cus_1",
    "amount": "10.00",
    "currency": "CNH",
    "bank_reference": "R",
    "status": "confirmed",
    "created_at": "2025-11-25T18:44:00Z",
}


def problem(status: int, slug: str, title: str, detail: str, **extra: Any) -> httpx.Response:
    headers = {"content-type": PROBLEM, **extra.pop("headers", {})}
    body = {
        "type": f"urn:cnh-sandbox:problem:{slug}",
        "title": title,
        "status": status,
        "detail": detail,
        "instance": "/v1/x",
        "request_id": "req_abc",
        **extra,
    }
    return httpx.Response(status, json=body, headers=headers)


def scripted(*responses: httpx.Response | Exception) -> tuple[Client, list[httpx.Request]]:
    """A client whose server answers with `responses` in order and records every request."""
    seen: list[httpx.Request] = []
    queue = list(responses)

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        answer = queue.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer

    return Client("http://issuer.test", "cnh_key", transport=httpx.MockTransport(handler)), seen


@pytest.fixture
def sleeps(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """Record the SDK's back-off sleeps instead of sleeping."""
    recorded: list[float] = []
    monkeypatch.setattr(cnh_sdk._sync_client, "sleep", recorded.append)
    return recorded


def test_problem_json_becomes_a_typed_error_carrying_every_member() -> None:
    refused = problem(
        422,
        "validation-failed",
        "Validation failed",
        "invalid input in body.amount",
        errors=[{"field": "body.amount", "message": "at most 2 decimal places"}],
    )
    client, _ = scripted(refused)
    with pytest.raises(ValidationFailed) as caught:
        client.create_mint("0x" + "11" * 20, "1.001")
    error = caught.value
    assert (error.status, error.title, error.request_id, error.instance) == (
        422,
        "Validation failed",
        "req_abc",
        "/v1/x",
    )
    assert error.type_slug == "validation-failed"
    assert [(e.field, e.message) for e in error.errors] == [("body.amount", "at most 2 decimal places")]
    assert error.method == "POST" and error.url == "http://issuer.test/v1/mints"
    assert "body.amount: at most 2 decimal places" in str(error) and "req_abc" in str(error)


def test_a_rule_refusal_is_rule_rejected_with_reason_code_and_rule_id() -> None:
    client, _ = scripted(
        problem(
            422,
            "rule-rejected",
            "Rejected by a compliance rule",
            "no fiat",
            reason_code="insufficient_fiat",
            rule_id="R10",
        )
    )
    with pytest.raises(RuleRejected) as caught:
        client.create_mint("0x" + "11" * 20, "5.00")
    assert (caught.value.reason_code, caught.value.rule_id) == ("insufficient_fiat", "R10")
    assert isinstance(caught.value, ValidationFailed)


def test_an_error_without_problem_json_still_raises_with_its_status_and_text() -> None:
    client, _ = scripted(httpx.Response(502, text="bad gateway from the proxy"))
    with pytest.raises(ServerError) as caught:
        client.get_reserves()
    assert caught.value.status == 502 and "bad gateway from the proxy" in caught.value.detail


@pytest.mark.parametrize(
    ("answer", "says"),
    [
        ({"status_code": 200, "text": "<html>login</html>", "headers": {"content-type": "text/html"}}, "not JSON"),
        ({"status_code": 201, "json": {"id": "dep_1"}}, "not a Deposit"),
        ({"status_code": 200, "json": ["a", "list"]}, "not a Deposit"),
    ],
)
def test_a_success_status_with_a_body_that_is_not_the_apis_is_a_typed_error(answer: dict[str, Any], says: str) -> None:
    """e.g. a base URL pointing at a proxy's login page: a CnhError the caller can catch, not a
    JSONDecodeError or a pydantic ValidationError from inside the SDK."""
    client, _ = scripted(httpx.Response(**answer))
    with pytest.raises(UnexpectedResponse, match=says) as caught:
        client.create_deposit("cus_1", "10.00", bank_reference="R")
    assert isinstance(caught.value, CnhError) and "http://issuer.test/v1/deposits" in str(caught.value)

    async def run() -> None:
        transport = httpx.MockTransport(lambda _: httpx.Response(**answer))
        async with AsyncClient("http://issuer.test", "k", transport=transport) as client:
            await client.create_deposit("cus_1", "10.00", bank_reference="R")

    with pytest.raises(UnexpectedResponse, match=says):
        asyncio.run(run())


def _export_lines(*seqs: int) -> bytes:
    return b"".join(json.dumps({"seq": seq, "hash": f"h{seq}"}).encode() + b"\n" for seq in seqs)


def test_an_audit_export_is_saved_only_when_it_reaches_the_announced_head(tmp_path: Any) -> None:
    """A log cut short verifies as a shorter, intact chain: the SDK keeps no such file."""
    head = {"x-audit-head-seq": "3", "x-audit-head-hash": "h3"}
    complete, _ = scripted(httpx.Response(200, content=_export_lines(1, 2, 3), headers=head))
    assert complete.export_audit_log(tmp_path / "log.jsonl") == 3
    assert (tmp_path / "log.jsonl").read_bytes() == _export_lines(1, 2, 3)

    garbled, _ = scripted(httpx.Response(200, content=_export_lines(1), headers={**head, "x-audit-head-seq": "abc"}))
    with pytest.raises(UnexpectedResponse, match="not a sequence number"):
        garbled.export_audit_log(tmp_path / "garbled.jsonl")
    short, _ = scripted(httpx.Response(200, content=_export_lines(1, 2), headers=head))
    with pytest.raises(UnexpectedResponse, match="not at the announced head 3"):
        short.export_audit_log(tmp_path / "short.jsonl")


    class BreaksOff(httpx.SyncByteStream):
        def __iter__(self) -> Iterator[bytes]:
            yield _export_lines(1, 2)
            raise httpx.ReadError("connection reset mid-stream")

    broken, _ = scripted(httpx.Response(200, stream=BreaksOff(), headers=head))
    with pytest.raises(TransportError, match="broke off"):
        broken.export_audit_log(tmp_path / "broken.jsonl")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["log.jsonl"]  # nothing partial left behind


def test_an_audit_export_keeps_records_whose_text_holds_unicode_line_separators_whole(tmp_path: Any) -> None:
    """Canonical JSON writes U+2028, U+2029 and the like as they are, and the service accepts them in
    names and labels; reading the stream as text lines split such a record in two, so every export
    of that log ended "not at the announced head" and could never be saved again."""
    records = [
        {"seq": 1, "hash": "h1", "data": {"name": "Lotus\u2028Trading Ltd"}},
        {"seq": 2, "hash": "h2", "data": {"label": "night\u2029desk \u00e9\x1c\x1d\x1e\x0b\x0c"}},
        {"seq": 3, "hash": "h3", "data": {"name": "港島 Ltd"}},
    ]
    body = b"".join(
        json.dumps(r, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode() + b"\n" for r in records
    )
    head = {"x-audit-head-seq": "3", "x-audit-head-hash": "h3"}

    class InPieces(httpx.SyncByteStream, httpx.AsyncByteStream):
        """Three bytes at a time: multi-byte characters and line ends straddle the pieces."""

        def __iter__(self) -> Iterator[bytes]:
            yield from (body[i : i + 3] for i in range(0, len(body), 3))

        async def __aiter__(self) -> Any:
            for i in range(0, len(body), 3):
                yield body[i : i + 3]

    client, _ = scripted(httpx.Response(200, stream=InPieces(), headers=head))
    assert client.export_audit_log(tmp_path / "log.jsonl") == 3
    assert (tmp_path / "log.jsonl").read_bytes() == body

    async def run() -> int:
        transport = httpx.MockTransport(lambda _: httpx.Response(200, stream=InPieces(), headers=head))
        async with AsyncClient("http://issuer.test", "k", transport=transport) as async_client:
            return await async_client.export_audit_log(tmp_path / "async.jsonl")

    assert asyncio.run(run()) == 3
    assert (tmp_path / "async.jsonl").read_bytes() == body


def test_an_audit_export_from_a_service_that_is_not_running_says_it_cannot_be_reached(tmp_path: Any) -> None:
    """Nothing was received, so nothing "broke off": the error is the one every other call gives."""
    down, _ = scripted(httpx.ConnectError("[Errno 111] Connection refused"))
    with pytest.raises(TransportError, match=r"cannot reach the issuer service at http://issuer\.test .*is it running"):
        down.export_audit_log(tmp_path / "log.jsonl")
    assert list(tmp_path.iterdir()) == []


def test_503_is_retried_after_retry_after_with_the_same_idempotency_key(sleeps: list[float]) -> None:
    busy = problem(
        503, "database-unavailable", "Service unavailable", "database unavailable, retry", headers={"Retry-After": "2"}
    )
    client, seen = scripted(busy, busy, httpx.Response(201, json=DEPOSIT))
    deposit = client.create_deposit("cus_1", "10.00", "R")
    assert deposit.id == "dep_1"
    assert sleeps == [2.0, 2.0]
    keys = {request.headers["Idempotency-Key"] for request in seen}
    assert len(seen) == 3 and len(keys) == 1  # one operation, one key: the service cannot credit twice


def test_503_after_the_last_retry_raises_service_unavailable(sleeps: list[float]) -> None:
    busy = problem(503, "chain-unavailable", "Service unavailable", "the chain is unavailable")
    client, seen = scripted(*[busy] * 4)
    with pytest.raises(ServiceUnavailable):
        client.get_reserves()
    assert len(seen) == 4 and len(sleeps) == 3


def test_client_errors_are_not_retried(sleeps: list[float]) -> None:
    client, seen = scripted(problem(409, "conflict", "Conflict", "Idempotency-Key reused"))
    with pytest.raises(Conflict):
        client.create_deposit("cus_1", "10.00", "R", idempotency_key="k")
    assert len(seen) == 1 and sleeps == []


ATTESTATION = {
    "id": "att_1",
    "as_of_block": 12,
    "block_hash": "0x" + "ab" * 32,
    "block_time": "2025-11-25T18:44:00Z",
    "sha256": "cd" * 32,
    "result": "pass",
    "supply": "10.000000",
    "holders": 1,
    "proof_of_liabilities_root": "0x" + "ef" * 32,
    "created_by": "key_auditor",
    "created_at": "2025-11-25T18:44:01Z",
    "links": {},
    "report": {},
}


def _catching_up(reason_code: str) -> httpx.Response:
    return problem(409, "conflict", "Conflict", "block 12 is not indexed yet", reason_code=reason_code)


def test_an_attestation_of_a_block_the_service_has_not_caught_up_with_is_asked_again(sleeps: list[float]) -> None:
    client, seen = scripted(
        _catching_up("block_not_indexed"), _catching_up("ledger_catching_up"), httpx.Response(201, json=ATTESTATION)
    )
    attestation = client.create_attestation(12)
    assert attestation.id == "att_1" and attestation.as_of_block == 12
    assert len(seen) == 3 and [json.loads(r.content) for r in seen] == [{"as_of_block": 12}] * 3
    assert sleeps == [client.poll_interval] * 2


def test_an_attestation_refused_for_another_reason_or_past_the_wait_raises_at_once(sleeps: list[float]) -> None:
    reorganised = problem(409, "conflict", "Conflict", "block 9 was reorganised", reason_code="block_not_found")
    client, seen = scripted(reorganised)
    with pytest.raises(Conflict) as refused:
        client.create_attestation(9)
    assert refused.value.reason_code == "block_not_found" and len(seen) == 1 and sleeps == []

    client, seen = scripted(_catching_up("block_not_indexed"))
    with pytest.raises(Conflict) as late:
        client.create_attestation(12, wait=0)
    assert late.value.reason_code == "block_not_indexed" and len(seen) == 1 and sleeps == []


def test_a_refused_connection_is_retried_then_reported_as_transport_error(sleeps: list[float]) -> None:
    refused = httpx.ConnectError("connection refused")
    client, seen = scripted(refused, refused, refused, refused)
    with pytest.raises(TransportError, match="cannot reach the issuer service at http://issuer.test"):
        client.create_customer("Lotus", "institution", "HK")
    assert len(seen) == 4


def test_a_post_without_idempotency_key_that_may_have_arrived_is_not_resent(sleeps: list[float]) -> None:
    client, seen = scripted(httpx.ReadTimeout("no answer"))
    with pytest.raises(TransportError):
        client.create_customer("Lotus", "institution", "HK")
    assert len(seen) == 1  # resending could onboard the customer twice


def test_money_moving_posts_get_a_fresh_idempotency_key_unless_one_is_given() -> None:
    client, seen = scripted(*[httpx.Response(201, json=DEPOSIT)] * 3)
    client.create_deposit("cus_1", "10.00", "R")
    client.create_deposit("cus_1", "10.00", "R")
    client.create_deposit("cus_1", "10.00", "R", idempotency_key="mine")
    keys = [request.headers["Idempotency-Key"] for request in seen]
    assert keys[0] != keys[1] and keys[2] == "mine"
    assert all(request.headers["Authorization"] == "Bearer cnh_key" for request in seen)
    assert json.loads(seen[0].content)["amount"] == "10.00"


def test_amounts_are_sent_as_decimal_strings_and_floats_are_refused() -> None:
    client, seen = scripted(httpx.Response(201, json=DEPOSIT))
    client.create_deposit("cus_1", Decimal("1250.50"), "R")
    assert json.loads(seen[0].content)["amount"] == "1250.50"
    with pytest.raises(TypeError, match="never float"):
        client.create_deposit("cus_1", 10.5, "R")  # type: ignore[arg-type]
    assert len(seen) == 1  # nothing sent


def test_a_decimal_with_trailing_zeros_or_an_exponent_is_sent_in_the_two_decimal_form_the_service_takes() -> None:
    """Decimal("2.010") is 2.01 CNH and Decimal("1E+2") is 100: arithmetic on Decimals gives such
    values, and sending them as "2.010" or "1E+2" made the service refuse an amount it would take."""
    client, seen = scripted(*[httpx.Response(201, json=DEPOSIT)] * 3)
    for amount in (Decimal("2.010"), Decimal("1E+2"), Decimal("0.1") + Decimal("0.20")):
        client.create_deposit("cus_1", amount, "R")
    assert [json.loads(request.content)["amount"] for request in seen] == ["2.01", "100.00", "0.30"]
    assert amount_str(Decimal("2.015")) == "2.015"  # not rounded: the service refuses it, naming the field


def test_an_id_is_sent_as_one_path_segment_so_it_never_reaches_another_endpoint() -> None:
    """An id taken from elsewhere (a form, a ticket) used to be pasted into the path as is:
    approving mint `../approvals/apr_1` approved approval apr_1 instead."""
    missing = problem(404, "not-found", "Not found", "no such object")
    client, seen = scripted(*[missing] * 4)
    for call in (
        lambda: client.approve_mint("../approvals/apr_1"),
        lambda: client.revoke_api_key("../webhooks/whk_1"),
        lambda: client.get_wallet("0xabc?address=0xdef#"),
        lambda: client.get_customer(".."),
    ):
        with pytest.raises(NotFound):
            call()
    assert [(r.method, r.url.raw_path) for r in seen] == [
        ("POST", b"/v1/mints/..%2Fapprovals%2Fapr_1/approve"),
        ("DELETE", b"/v1/api-keys/..%2Fwebhooks%2Fwhk_1"),
        ("GET", b"/v1/wallets/0xabc%3Faddress%3D0xdef%23"),
        ("GET", b"/v1/customers/%2E%2E"),
    ]


@pytest.mark.parametrize("rpc_url", ["http://127.0.0.1:85A5", "http://[::1"])
def test_a_malformed_rpc_url_is_a_transport_error_naming_it(rpc_url: str) -> None:
    """A typo in the JSON-RPC URL (given, or advertised by GET /v1/token) used to escape as httpx's
    InvalidURL, which the CLI printed as a traceback."""
    client = Client("http://issuer.test", "cnh_key", rpc_url=rpc_url)
    with pytest.raises(TransportError, match="JSON-RPC endpoint at " + re.escape(rpc_url)):
        client.chain_time()


@pytest.mark.parametrize("api_key", ["cnh_abc\u2019", "cnh_abc\n", "cnh_abc\r"])
def test_an_api_key_that_cannot_be_a_header_is_refused_before_anything_is_sent(api_key: str) -> None:
    """A key pasted with a curly quote used to escape as UnicodeEncodeError; one with a line break
    was reported as the service being unreachable."""
    client, seen = scripted(httpx.Response(200, json={"status": "ok"}))
    with pytest.raises(ValueError, match="API key"):
        Client("http://issuer.test", api_key)
    with pytest.raises(ValueError, match="API key"):
        client.with_key(api_key)
    assert seen == []


def test_iterators_follow_next_cursor_to_the_last_page() -> None:
    def customer(n: int) -> dict[str, Any]:
        return {
            "id": f"cus_{n}",
            "name": "X",
            "kind": "institution",
            "jurisdiction": "HK",
            "kyc_status": "pending",
            "risk": None,
            "status": "active",
            "created_at": "2025-11-25T18:44:00Z",
        }

    client, seen = scripted(
        httpx.Response(200, json={"items": [customer(1), customer(2)], "next_cursor": "c2"}),
        httpx.Response(200, json={"items": [customer(3)], "next_cursor": None}),
    )
    assert [c.id for c in client.iter_customers(page_size=2)] == ["cus_1", "cus_2", "cus_3"]
    assert seen[1].url.params["cursor"] == "c2" and seen[1].url.params["limit"] == "2"


def test_a_role_change_request_sends_role_and_reason_and_an_approval_sends_only_what_is_given() -> None:
    approval = {
        "id": "apq_1",
        "action": "role.change",
        "subject_type": "api_key",
        "subject_id": "key_1",
        "summary": "role of API key key_1 (ops): operator -> treasury",
        "payload": {"key_id": "key_1", "role_before": "operator", "role": "treasury", "reason": "moved"},
        "status": "pending",
        "required_approvals": 1,
        "approver_roles": ["admin"],
        "requested_by": "key_admin",
        "requester_role": "admin",
        "approvals": [],
        "rule_ids": ["R40", "R42"],
        "created_at": "2026-01-05T08:00:00Z",
        "decided_by": None,
        "decided_at": None,
        "decision_note": None,
    }
    approved = {**approval, "status": "approved", "decided_by": "key_admin2"}
    client, seen = scripted(httpx.Response(202, json=approval), httpx.Response(200, json=approved))
    asked = client.request_role_change("key_1", "treasury", "moved")
    assert (asked.id, asked.status, asked.payload["role"], asked.approver_roles) == (
        "apq_1",
        "pending",
        "treasury",
        ["admin"],
    )
    assert client.approve_request("apq_1", note="checked").status == "approved"
    assert [(r.method, r.url.path, json.loads(r.content)) for r in seen] == [
        ("POST", "/v1/api-keys/key_1/role", {"role": "treasury", "reason": "moved"}),
        ("POST", "/v1/approvals/apq_1/approve", {"note": "checked"}),
    ]


def test_with_key_acts_as_another_principal_on_the_same_connection_pool() -> None:
    client, seen = scripted(*[httpx.Response(200, json={"status": "ok"})] * 2)
    other = client.with_key("cnh_other")
    other.healthz()
    client.healthz()
    assert [r.headers["Authorization"] for r in seen] == ["Bearer cnh_other", "Bearer cnh_key"]
    other.close()  # a copy does not own the pool: the original keeps working
    assert not client._http.is_closed


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("3", 3.0),
        ("0", 0.0),
        (None, None),
        ("soon", None),
        (format_datetime(datetime(2030, 1, 1, 0, 0, 10, tzinfo=UTC), usegmt=True), 10.0),
    ],
)
def test_retry_after_is_read_as_seconds_or_http_date(header: str | None, expected: float | None) -> None:
    assert parse_retry_after(header, now=datetime(2030, 1, 1, tzinfo=UTC)) == expected


def test_retry_delay_honours_retry_after_up_to_a_cap_and_backs_off_exponentially() -> None:
    policy = RetryPolicy(backoff=0.5, max_backoff=4.0, max_retry_after=30.0)
    assert policy.delay(0, "7") == 7.0
    assert policy.delay(0, "3600") == 30.0
    for attempt, ceiling in [(0, 0.5), (1, 1.0), (2, 2.0), (3, 4.0), (6, 4.0)]:
        delay = policy.delay(attempt)
        assert ceiling / 2 <= delay <= ceiling


def test_async_client_retries_503_and_raises_the_same_typed_problems(monkeypatch: pytest.MonkeyPatch) -> None:
    waited: list[float] = []

    async def no_sleep(seconds: float) -> None:
        waited.append(seconds)

    monkeypatch.setattr(cnh_sdk._async_client, "sleep", no_sleep)
    answers = [
        problem(503, "chain-unavailable", "Service unavailable", "chain", headers={"Retry-After": "1"}),
        problem(422, "rule-rejected", "Rejected by a compliance rule", "paused", reason_code="paused", rule_id="R41"),
    ]
    keys: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        keys.append(request.headers["Idempotency-Key"])
        return answers.pop(0)

    async def run() -> RuleRejected:
        async with AsyncClient("http://issuer.test", "k", transport=httpx.MockTransport(handler)) as client:
            try:
                await client.create_mint("0x" + "11" * 20, "1.00")
            except RuleRejected as exc:
                return exc
        raise AssertionError("no problem raised")

    refused = asyncio.run(run())
    assert (refused.reason_code, refused.rule_id, waited) == ("paused", "R41", [1.0])
    assert len(set(keys)) == 1


def test_problem_error_from_a_hand_built_response_has_no_request_details() -> None:
    error = ProblemError.from_response(httpx.Response(404, json={"title": "Not found", "detail": "gone"}))
    assert (error.status, error.method, error.url, str(error)) == (404, None, None, "404 Not found: gone")


def test_the_sync_client_is_generated_from_the_async_one() -> None:
    assert TARGET.read_text() == generate(SOURCE.read_text()), "run: python cnh_sdk/_unasync.py"


def test_every_public_async_method_has_a_sync_twin_and_back() -> None:
    def public(cls: type) -> set[str]:
        return {name for name in vars(cls) if not name.startswith("_")}

    assert public(Client) - {"close"} == public(AsyncClient) - {"aclose"}
