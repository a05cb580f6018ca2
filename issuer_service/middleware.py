"""ASGI middleware: request id + access log + last-resort 500, the request body's size limit and
JSON hygiene, and the limit on requests in flight.

Plain ASGI rather than BaseHTTPMiddleware so the request-id contextvar is set in the same context
the endpoint runs in, and streaming responses pass through untouched.
"""

from __future__ import annotations

import logging
import time

import anyio
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from issuer_service import json_body
from issuer_service.errors import FieldError
from issuer_service.metrics import HttpMetrics
from issuer_service.problems import internal_error_response, problem_response
from issuer_service.request_context import request_id_context, sanitize_request_id

access_log = logging.getLogger("issuer_service.access")
error_log = logging.getLogger("issuer_service.errors")

REQUEST_ID_HEADER = "x-request-id"


class RequestContextMiddleware:
    """Sets the request id (client's `X-Request-ID` if sane, else generated) and echoes it,
    logs one JSON line per request, and turns any unhandled exception into a 500 problem."""

    def __init__(self, app: ASGIApp, metrics: HttpMetrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = sanitize_request_id(Headers(scope=scope).get(REQUEST_ID_HEADER))
        started = time.perf_counter()
        status = 500
        response_started = False

        async def send_with_request_id(message: Message) -> None:
            nonlocal status, response_started
            if message["type"] == "http.response.start":
                response_started = True
                status = message["status"]
                message["headers"] = [*message.get("headers", []), (b"x-request-id", request_id.encode())]
            await send(message)

        with request_id_context(request_id):
            try:
                await self.app(scope, receive, send_with_request_id)
            except Exception:
                error_log.exception("unhandled error", extra={"fields": {"request_id": request_id}})
                if response_started:
                    raise
                await internal_error_response(scope["path"])(scope, receive, send_with_request_id)
            finally:
                route = getattr(scope.get("route"), "path", None) or "unmatched"
                duration = time.perf_counter() - started
                self.metrics.observe(method=scope["method"], route=route, status=status, seconds=duration)
                # Only these fields: never headers (Authorization holds the API key, R43) or bodies.
                access_log.info(
                    "request",
                    extra={
                        "fields": {
                            "method": scope["method"],
                            "route": route,
                            "status": status,
                            "duration_ms": round(duration * 1000, 2),
                            "request_id": request_id,
                        }
                    },
                )


class RequestBodyMiddleware:
    """Refuses bodies above `max_body_bytes` with a 413 problem, bodies that take longer than
    `read_timeout_s` to arrive with a 408, and JSON bodies holding what no
    endpoint takes (`json_body`: a member given twice, control or text-direction characters) with
    a 422 naming the field. The body (at most the limit) is read up front and replayed to the app,
    so chunked uploads are counted as well."""

    def __init__(self, app: ASGIApp, max_body_bytes: int, read_timeout_s: float = 30.0) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.read_timeout_s = read_timeout_s

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = Headers(scope=scope).get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_body_bytes:
            await self._too_large(scope, receive, send)
            return
        chunks: list[bytes] = []
        size = 0
        try:
            # A client that announces more than it sends (or trickles it) would otherwise hold its
            # connection and this coroutine forever: uvicorn has no timeout for reading a body.
            with anyio.fail_after(self.read_timeout_s):
                while True:
                    message = await receive()
                    if message["type"] != "http.request":  # client went away
                        return
                    chunk = message.get("body", b"")
                    size += len(chunk)
                    if size > self.max_body_bytes:
                        await self._too_large(scope, receive, send)
                        return
                    chunks.append(chunk)
                    if not message.get("more_body", False):
                        break
        except TimeoutError:
            await self._too_slow(scope, receive, send)
            return
        body = b"".join(chunks)
        if body and _is_json(scope):
            errors = json_body.problems(body)
            if errors:
                await self._refused(scope, receive, send, errors)
                return
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()  # e.g. http.disconnect while a response streams

        await self.app(scope, replay, send)

    async def _refused(self, scope: Scope, receive: Receive, send: Send, errors: list[FieldError]) -> None:
        names = ", ".join(dict.fromkeys(e.field for e in errors))
        response = problem_response(
            status=422,
            type_slug="validation-failed",
            title="Validation failed",
            detail=f"invalid input in {names}; see `errors` for how to fix each field",
            instance=scope["path"],
            errors=errors,
        )
        await response(scope, receive, send)

    async def _too_slow(self, scope: Scope, receive: Receive, send: Send) -> None:
        detail = (
            f"the request body did not arrive within {self.read_timeout_s:g} s; send the whole body at once, "
            "with a Content-Length that matches it"
        )
        await _closing_problem(scope, 408, "request-timeout", "Request body too slow", detail)(scope, receive, send)

    async def _too_large(self, scope: Scope, receive: Receive, send: Send) -> None:
        detail = f"the request body exceeds {self.max_body_bytes} bytes; send a smaller body"
        await _closing_problem(scope, 413, "payload-too-large", "Request body too large", detail)(scope, receive, send)


def _closing_problem(scope: Scope, status: int, type_slug: str, title: str, detail: str) -> ASGIApp:
    """A problem answered before the body was read to its end: the connection cannot be reused."""
    return problem_response(
        status=status,
        type_slug=type_slug,
        title=title,
        detail=detail,
        instance=scope["path"],
        headers={"Connection": "close"},
    )


def _is_json(scope: Scope) -> bool:
    media_type = (Headers(scope=scope).get("content-type") or "").split(";", 1)[0].strip().lower()
    return media_type == "application/json" or media_type.endswith("+json")


class ConcurrencyLimitMiddleware:
    """At most `max_in_flight` HTTP requests inside the application; the rest wait their turn here.

    Sync endpoints and their dependencies run in a thread pool of the same size, one pool call
    after another (authentication, the endpoint, the response's serialisation), while the
    request's database session holds a pooled connection (on SQLite, the write lock). With more
    requests inside than threads, every thread can end up waiting for a connection that belongs
    to a request waiting for a thread: nothing moves until the pool times out and the burst turns
    into 503s. Waiting out here costs no thread and no connection, so a burst only queues.
    """

    def __init__(self, app: ASGIApp, max_in_flight: int) -> None:
        self.app = app
        self.max_in_flight = max_in_flight
        self._slots: anyio.Semaphore | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if self._slots is None:  # created in the server's event loop
            self._slots = anyio.Semaphore(self.max_in_flight)
        async with self._slots:
            await self.app(scope, receive, send)
