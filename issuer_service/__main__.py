"""`python -m issuer_service [serve|worker] [--host H] [--port N]`.

serve   the HTTP API (default). With no RPC_URL it spawns Anvil and deploys tCNH itself (the
        embedded default, R55); with RPC_URL it uses that chain, the deployment file and the keys
        from settings. The outbox worker runs in-process unless CNH_WORKER_IN_PROCESS=false.
worker  the outbox worker and indexer alone, for running them as separate processes.
"""

from __future__ import annotations

import argparse
import errno
import signal
import socket
import sys
from collections.abc import Sequence
from typing import NoReturn

import uvicorn
from pydantic import ValidationError

from issuer_service.app import create_app
from issuer_service.logging_setup import configure_logging
from issuer_service.settings import Settings


def serve(settings: Settings) -> None:
    """Serve the API until interrupted."""
    configure_logging(settings.log_level)
    # A stop request (SIGTERM) ends the service as Ctrl-C does: through `finally`, which stops Anvil cleanly.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    # Held from here on: a busy port stops the service before a chain is spawned or a key is shown.
    listener = _bind(settings)
    runtime = None
    try:
        _migrate(settings)
        runtime = _chain(settings)
        app = create_app(settings, gateway=runtime.gateway)
        app.state.start_up_changes = runtime.changes
        gateway = runtime.gateway
        print(
            f"tCNH {gateway.token_address} on chain {gateway.chain_id} via {gateway.rpc_url}; "
            f"API on http://{settings.host}:{settings.port} (SANDBOX - NOT A LICENSED STABLECOIN)",
            flush=True,
        )
        # log_config=None: keep our JSON logging; uvicorn's access log is replaced by ours.
        config = uvicorn.Config(app, host=settings.host, port=settings.port, log_config=None, access_log=False)
        uvicorn.Server(config).run(sockets=[listener])
    except KeyboardInterrupt:
        pass  # SIGINT or SIGTERM; uvicorn shut down gracefully, then re-raised the signal
    finally:
        listener.close()
        if runtime is not None:
            runtime.close()


def _bind(settings: Settings) -> socket.socket:
    """The API's socket, bound (uvicorn listens on it once the app is up), or one line saying why not."""
    family = socket.AF_INET6 if ":" in settings.host else socket.AF_INET
    listener = socket.socket(family, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        listener.bind((settings.host, settings.port))
    except OSError as exc:
        listener.close()
        if exc.errno == errno.EADDRINUSE:
            raise SystemExit(
                f"cannot start: port {settings.port} on {settings.host} is in use (another service?); stop it or "
                "choose another --port (CNH_PORT)"
            ) from None
        raise SystemExit(
            f"cannot start: cannot listen on {settings.host}:{settings.port}: {exc.strerror or exc}; "
            "check --host (CNH_HOST) and --port (CNH_PORT)"
        ) from None
    return listener


def run_worker(settings: Settings) -> None:
    """The outbox worker and indexer without the HTTP API (several may run against one database)."""
    import threading

    from compliance.profiles import load_profile
    from issuer_service.db import engine_from_settings, make_sessionmaker
    from issuer_service.worker.runner import build_worker

    configure_logging(settings.log_level)
    if settings.rpc_url is None:
        _usage_error("the standalone worker needs RPC_URL and the deployment file of a running chain")
    _migrate(settings)
    runtime = _chain(settings)
    engine = engine_from_settings(settings)
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    worker = build_worker(
        make_sessionmaker(engine),
        runtime.gateway,
        load_profile(settings.regime_profile),
        webhook_private_networks=settings.webhooks_reach_private_networks,
    )
    print(f"worker running against {settings.rpc_url}", flush=True)
    worker.run_forever(stop)
    engine.dispose()


def _migrate(settings: Settings) -> None:
    """Bring the database schema up to date, or stop with one line naming what to fix (a database
    that is not there, not reachable, or a URL that cannot be parsed)."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError, SQLAlchemyError

    from issuer_service.db import MigrationRefused, run_migrations

    try:
        shown = make_url(settings.database_url).render_as_string(hide_password=True)
    except ArgumentError:
        _usage_error(
            "cannot start: DATABASE_URL is not a database URL; use e.g. sqlite:///.sandbox/issuer.db or "
            "postgresql://user@host:5432/name"
        )
    try:
        run_migrations(settings.database_url)
    except (SQLAlchemyError, ImportError, OSError) as exc:  # OSError: e.g. a SQLite directory that cannot be made
        reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
        raise SystemExit(f"cannot start: the database at {shown} cannot be used: {reason}") from None
    except MigrationRefused as exc:
        raise SystemExit(f"cannot start: the database at {shown} needs attention first: {exc}") from None


def _settings(overrides: dict[str, object]) -> Settings:
    """The settings, or one line per bad value naming its variable (or option) and the problem."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            field = str(error["loc"][0]) if error["loc"] else ""
            name = f"--{field}" if field in overrides else f"CNH_{field.upper()}" if field else "settings"
            problems.append(f"{name}: {error['msg']}")
        _usage_error("cannot start: " + "; ".join(problems))


def _usage_error(message: str) -> NoReturn:
    """A setting that is missing or wrong: one line and exit 2, bad usage (as `cnh`'s exit codes)."""
    print(message, file=sys.stderr, flush=True)
    raise SystemExit(2)


def _chain(settings: Settings):  # type: ignore[no-untyped-def]
    from issuer_service.chain.keys import KeyFileError
    from issuer_service.chain.networks import MainnetRefused
    from issuer_service.chain.runtime import ChainSetupError, chain_from_settings

    try:
        return chain_from_settings(settings)
    except (ChainSetupError, KeyFileError, MainnetRefused) as exc:
        raise SystemExit(f"cannot start: {exc}") from None


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m issuer_service", description=__doc__)
    commands = parser.add_subparsers(dest="command")
    serve_parser = commands.add_parser("serve", help="run the HTTP API (default)")
    commands.add_parser("worker", help="run the outbox worker and indexer only")
    for target in (parser, serve_parser):
        # SUPPRESS: an option given before the subcommand is not reset by the subparser's default.
        target.add_argument(
            "--host", default=argparse.SUPPRESS, help="interface to bind (default: CNH_HOST or 127.0.0.1)"
        )
        target.add_argument(
            "--port", type=int, default=argparse.SUPPRESS, help="port to listen on (default: CNH_PORT or 8000)"
        )
    args = parser.parse_args(argv)
    args.command = args.command or "serve"
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    overrides = {name: getattr(args, name) for name in ("host", "port") if hasattr(args, name)}
    settings = _settings(overrides)
    if args.command == "serve":
        serve(settings)
    elif args.command == "worker":
        run_worker(settings)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
