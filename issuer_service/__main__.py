"""`python -m issuer_service [serve] [--host H] [--port N]`: run the API with uvicorn."""

from __future__ import annotations

import argparse
from collections.abc import Sequence

import uvicorn

from issuer_service.app import create_app
from issuer_service.logging_setup import configure_logging
from issuer_service.settings import Settings


def serve(settings: Settings) -> None:
    """Serve the API until interrupted. Extend here (spawn Anvil, start the worker) as needed."""
    configure_logging(settings.log_level)
    app = create_app(settings)
    # log_config=None: keep our JSON logging; uvicorn's access log is replaced by ours.
    uvicorn.run(app, host=settings.host, port=settings.port, log_config=None, access_log=False)


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m issuer_service", description=__doc__)
    commands = parser.add_subparsers(dest="command")
    serve_parser = commands.add_parser("serve", help="run the HTTP API (default)")
    for target in (parser, serve_parser):
        # SUPPRESS: an option given before the subcommand is not reset by the subparser's default.
        target.add_argument("--host", default=argparse.SUPPRESS, help="interface to bind (default: CNH_HOST or 127.0.0.1)")
        target.add_argument("--port", type=int, default=argparse.SUPPRESS, help="port to listen on (default: CNH_PORT or 8000)")
    args = parser.parse_args(argv)
    args.command = args.command or "serve"
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    overrides = {name: getattr(args, name) for name in ("host", "port") if hasattr(args, name)}
    settings = Settings(**overrides)
    if args.command == "serve":
        serve(settings)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
