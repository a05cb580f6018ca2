"""Build the worker for an app's database and gateway, and run it in a background thread."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy.orm import Session, sessionmaker

from compliance.profiles import RegimeProfile
from issuer_service.chain.gateway import ChainGateway

# Domains register their outbox handlers when imported.
from issuer_service.enforcement import service as _enforcement  # noqa: F401  (freeze, unfreeze, seizure)
from issuer_service.mints import service as _mints  # noqa: F401
from issuer_service.outbox.worker import OutboxWorker
from issuer_service.redemptions import service as _redemptions  # noqa: F401
from issuer_service.reserves import repository as reserve_repository
from issuer_service.reserves import service as reserves
from issuer_service.wallets import service as _wallets  # noqa: F401
from issuer_service.webhooks.delivery import WebhookDispatcher
from issuer_service.webhooks.destinations import Destinations

log = logging.getLogger("issuer_service.worker")


def build_worker(
    sessions: sessionmaker[Session],
    gateway: ChainGateway,
    profile: RegimeProfile,
    *,
    webhook_private_networks: bool = False,
) -> OutboxWorker:
    def ledger_reserve_fen(session: Session) -> int:
        pool = reserve_repository.get_pool(session)
        return reserves.reserve_value_fen(session, pool, profile) if pool else 0

    worker = OutboxWorker(sessions, gateway, ledger_reserve_fen=ledger_reserve_fen)
    dispatcher = WebhookDispatcher(sessions, destinations=Destinations(private_networks=webhook_private_networks))
    worker.extra_steps.append(dispatcher.step)  # HTTP runs on its own small pool
    from issuer_service.indexer.service import Indexer

    indexer = Indexer(sessions, gateway)
    worker.extra_steps.append(indexer.step)
    worker.extra_steps.append(_periodic_reconciliation(sessions, gateway))
    from issuer_service.outbox.reorg import ReorgRepair

    worker.extra_steps.append(ReorgRepair(sessions, gateway).step)
    from issuer_service.reserves.statements import DailyStatementJob

    worker.extra_steps.append(DailyStatementJob(sessions, gateway, profile).step)  # R5, R52
    return worker


def _periodic_reconciliation(sessions: sessionmaker[Session], gateway: ChainGateway, every_s: float = 15.0
                             ) -> Callable[[], int]:
    """R16: compare chain supply with the ledger now and then; a mismatch is logged (and /readyz
    reports it from the database on every call)."""
    from issuer_service.indexer.service import check_reconciliation

    last = [0.0]

    def step() -> int:
        now = time.monotonic()
        if now - last[0] >= every_s:
            last[0] = now
            check_reconciliation(sessions, gateway)
        return 0

    return step


@dataclass
class BackgroundWorker:
    worker: OutboxWorker
    thread: threading.Thread
    stop_event: threading.Event

    def stop(self, timeout: float = 10.0) -> None:
        self.stop_event.set()
        self.thread.join(timeout)


def start_background(worker: OutboxWorker) -> BackgroundWorker:
    stop = threading.Event()
    thread = threading.Thread(target=worker.run_forever, args=(stop,), name="outbox-worker", daemon=True)
    thread.start()
    log.info("outbox worker started in-process")
    return BackgroundWorker(worker=worker, thread=thread, stop_event=stop)
