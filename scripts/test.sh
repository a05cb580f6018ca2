#!/usr/bin/env bash
# README command 2: set up what is missing (packages, PostgreSQL), then run the test suite.
# Extra arguments go to pytest, e.g. `bash scripts/test.sh tests/unit -q`.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh --with-browser
bash scripts/ensure_postgres.sh
exec .venv/bin/python -m pytest "$@"
