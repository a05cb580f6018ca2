"""The webhook dispatcher: claims due deliveries, POSTs them signed, records every attempt.

- Claiming is one short transaction that takes a lease (`next_attempt_at` moves past the HTTP
  timeout), so no database lock is held while a customer's endpoint answers, and a dispatcher that
  dies mid-delivery loses nothing: the lease runs out and the delivery is tried again. Delivery is
  therefore at least once; receivers drop repeats by `webhook-id`, which never changes.
- Each attempt is recorded in its own short transaction: 2xx → succeeded; anything else → retried
  with exponential backoff until `max_attempts`, then failed.
- As a worker step (`step`) the HTTP calls run on a small thread pool, so a slow endpoint never
  holds up the outbox (mints, burns) running in the same loop.
- `timeout_s` bounds the whole attempt, not each read (`_Deadline`): a receiver trickling its
  headers a byte at a time would otherwise hold a dispatcher thread past the lease.
- Requests go only to the subscription's URL: no redirects followed, no proxies from the environment,
  and (unless private networks are allowed) only to public addresses, checked at each delivery
  (`destinations.py`).
"""

from __future__ import annotations

import logging
import random
import socket
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import httpx
from sqlalchemy.orm import Session, sessionmaker

from issuer_service.clock import utc_now
from issuer_service.ids import new_id
from issuer_service.request_context import request_id_context
from issuer_service.webhooks import repository, signing
from issuer_service.webhooks.destinations import DestinationRefused, Destinations
from issuer_service.webhooks.models import WebhookAttempt

log = logging.getLogger("issuer_service.webhooks")

USER_AGENT = "cnh-sandbox-webhooks/1"


@dataclass(frozen=True)
class RetryPolicy:
    """Attempt n (n ≥ 1) failed → wait base × factor^(n-1), capped, plus up to `jitter` of it."""

    max_attempts: int = 10
    base_delay_s: float = 5.0
    factor: float = 2.0
    max_delay_s: float = 3600.0
    jitter: float = 0.1
    timeout_s: float = 10.0

    def delay(self, attempt: int) -> timedelta:
        seconds = min(self.max_delay_s, self.base_delay_s * self.factor ** max(0, attempt - 1))
        return timedelta(seconds=seconds * (1 + random.uniform(0, self.jitter)))

    @property
    def lease(self) -> timedelta:
        return timedelta(seconds=2 * self.timeout_s + 5)


@dataclass(frozen=True)
class Job:
    delivery_id: str
    attempt: int
    url: str
    secret: str
    event_id: str
    event_type: str
    body: bytes
    request_id: str | None


@dataclass(frozen=True)
class Outcome:
    status_code: int | None
    error: str | None
    duration_ms: int

    @property
    def ok(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


class WebhookDispatcher:
    def __init__(
        self,
        sessions: sessionmaker[Session],
        *,
        client: httpx.Client | None = None,
        policy: RetryPolicy | None = None,
        max_in_flight: int = 4,
        idle_poll_s: float = 0.25,
        now: Callable[[], datetime] = utc_now,
        destinations: Destinations | None = None,
    ) -> None:
        self.sessions = sessions
        self.destinations = destinations or Destinations(private_networks=True)
        self.policy = policy or RetryPolicy()
        self.client = client or httpx.Client(
            timeout=self.policy.timeout_s,
            follow_redirects=False,
            trust_env=False,
            headers={"user-agent": USER_AGENT},
            # A new connection per attempt: `_Deadline` learns the socket from the connect.
            limits=httpx.Limits(max_keepalive_connections=0),
        )
        self.max_in_flight = max_in_flight
        self.now = now
        self.idle_poll_s = idle_poll_s
        self._in_flight = 0
        self._lock = threading.Lock()
        self._pool: ThreadPoolExecutor | None = None
        self._idle_until = 0.0

    # ------------------------------------------------------------------ entry points
    def step(self) -> int:
        """A worker step: hand due deliveries to the pool and return at once."""
        with self._lock:
            capacity = self.max_in_flight - self._in_flight
        # The worker loop spins every 50 ms; when nothing was due, look again only after idle_poll_s
        # (on SQLite every claim takes the database write lock).
        if capacity <= 0 or time.monotonic() < self._idle_until:
            return 0
        jobs = self.claim(capacity)
        if not jobs:
            self._idle_until = time.monotonic() + self.idle_poll_s
        if jobs and self._pool is None:
            self._pool = ThreadPoolExecutor(max_workers=self.max_in_flight, thread_name_prefix="webhooks")
        for job in jobs:
            with self._lock:
                self._in_flight += 1
            assert self._pool is not None
            self._pool.submit(self._run_in_pool, job)
        return len(jobs)

    def deliver_due(self, limit: int = 100) -> int:
        """Claim and deliver due messages in this thread (tests, one-off runs)."""
        jobs = self.claim(limit)
        for job in jobs:
            self.deliver(job)
        return len(jobs)

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True)
        self.client.close()

    # ------------------------------------------------------------------ claim
    def claim(self, limit: int) -> list[Job]:
        now = self.now()
        jobs: list[Job] = []
        with self.sessions.begin() as session:
            for delivery in repository.claim_due(session, now=now, limit=limit):
                subscription = repository.get_subscription(session, delivery.subscription_id)
                event = repository.get_event(session, delivery.event_id)
                if subscription is None or event is None or subscription.status != "active":
                    delivery.status, delivery.last_error = "cancelled", "subscription deleted"
                    continue
                delivery.attempts += 1
                delivery.last_attempt_at = now
                delivery.next_attempt_at = now + self.policy.lease
                jobs.append(
                    Job(
                        delivery_id=delivery.id,
                        attempt=delivery.attempts,
                        url=subscription.url,
                        secret=subscription.secret,
                        event_id=event.id,
                        event_type=event.type,
                        body=event.body.encode(),
                        request_id=event.request_id,
                    )
                )
        return jobs

    # ------------------------------------------------------------------ deliver
    def deliver(self, job: Job) -> Outcome:
        # Log lines of this delivery carry the id of the request that caused the event, or, for an
        # event the worker caused, the event id: either way every attempt shares one id.
        request_id = job.request_id or job.event_id
        with request_id_context(request_id):
            outcome = self._post(job)
            self._record(job, outcome)
            level = logging.INFO if outcome.ok else logging.WARNING
            log.log(
                level,
                "webhook delivery attempt",
                extra={
                    "fields": {
                        "request_id": request_id,
                        "delivery_id": job.delivery_id,
                        "event_id": job.event_id,
                        "event_type": job.event_type,
                        "attempt": job.attempt,
                        "status_code": outcome.status_code,
                        "error": outcome.error,
                        "duration_ms": outcome.duration_ms,
                    }
                },
            )
            return outcome

    def _run_in_pool(self, job: Job) -> None:
        try:
            self.deliver(job)
        except Exception:  # noqa: BLE001 - the lease runs out and the delivery is retried
            log.exception("webhook delivery %s could not be recorded", job.delivery_id)
        finally:
            with self._lock:
                self._in_flight -= 1

    def _post(self, job: Job) -> Outcome:
        timestamp = int(time.time())
        headers = {"content-type": "application/json", **signing.headers(job.secret, job.event_id, timestamp, job.body)}
        started = time.perf_counter()
        deadline = _Deadline(self.policy.timeout_s)
        no_answer = f"no answer within {self.policy.timeout_s:g} s"
        try:
            target = self.destinations.pin(job.url)
            # The status is the answer: the body is never read, so a receiver that sends a large or
            # slow one cannot hold the delivery (and a dispatcher thread) past the timeout and its lease.
            with self.client.stream(
                "POST",
                target.url,
                content=job.body,
                headers={**headers, **target.headers},
                extensions={**target.extensions, "trace": deadline.trace},
            ) as response:
                status_code = response.status_code
        except httpx.TimeoutException:
            return Outcome(None, no_answer, _ms_since(started))
        except DestinationRefused as exc:
            return Outcome(None, f"not sent: {exc}"[:300], _ms_since(started))
        except Exception as exc:  # noqa: BLE001 - whatever a customer's URL makes the client raise
            # (httpx errors, and e.g. UnicodeError for a host IDNA cannot encode) is a failed attempt
            # like any other, so the retries stop after max_attempts.
            if deadline.passed:  # the deadline shut the connection: that is what the read saw
                return Outcome(None, no_answer, _ms_since(started))
            return Outcome(None, f"{exc.__class__.__name__}: {str(exc)[:200]}", _ms_since(started))
        finally:
            deadline.cancel()
        error = None
        if not 200 <= status_code < 300:
            error = f"HTTP {status_code}"
            if 300 <= status_code < 400:
                error += " (redirects are not followed; register the final URL)"
        return Outcome(status_code, error, _ms_since(started))

    def _record(self, job: Job, outcome: Outcome) -> None:
        now = self.now()
        with self.sessions.begin() as session:
            repository.add(
                session,
                WebhookAttempt(
                    id=new_id("wha"),
                    delivery_id=job.delivery_id,
                    attempt=job.attempt,
                    at=now,
                    status_code=outcome.status_code,
                    error=outcome.error,
                    duration_ms=outcome.duration_ms,
                ),
            )
            delivery = repository.get_delivery_locked(session, job.delivery_id)
            if delivery is None or delivery.status != "pending":
                return  # cancelled meanwhile, or an earlier attempt already succeeded
            if outcome.ok:
                delivery.status, delivery.delivered_at = "succeeded", now
                delivery.last_status_code, delivery.last_error = outcome.status_code, None
                return
            if delivery.attempts != job.attempt:
                return  # a newer attempt (after this one's lease ran out) owns the schedule
            delivery.last_status_code, delivery.last_error = outcome.status_code, outcome.error
            if job.attempt >= self.policy.max_attempts:
                delivery.status = "failed"
            else:
                delivery.next_attempt_at = now + self.policy.delay(job.attempt)


class _Deadline:
    """Ends an attempt still running after `seconds`, however its answer trickles in. httpx's
    timeouts are per read, so a receiver sending a byte at a time never trips them; when the time is
    up this shuts the connection's socket down, which ends the blocked read at once.

    The socket comes from httpcore's `trace` extension as the connection opens (the dispatcher's
    client keeps no idle connections, so every attempt opens one)."""

    def __init__(self, seconds: float) -> None:
        self.passed = False
        self._socket: socket.socket | None = None
        self._lock = threading.Lock()
        self._timer = threading.Timer(seconds, self._expire)
        self._timer.daemon = True
        self._timer.start()

    def trace(self, event: str, info: dict[str, Any]) -> None:
        if event != "connection.connect_tcp.complete" or info.get("return_value") is None:
            return
        with self._lock:
            self._socket = info["return_value"].get_extra_info("socket")
            if self.passed:  # the connect itself took the whole time
                self._shut()

    def cancel(self) -> None:
        self._timer.cancel()

    def _expire(self) -> None:
        with self._lock:
            self.passed = True
            self._shut()

    def _shut(self) -> None:
        if self._socket is not None:
            try:
                self._socket.shutdown(socket.SHUT_RDWR)
            except OSError:  # already closed: the attempt ended meanwhile
                pass


def _ms_since(started: float) -> int:
    return int((time.perf_counter() - started) * 1000)
