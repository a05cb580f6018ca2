#!/usr/bin/env bash
# README command 1: set up what is missing, then run the end-to-end sandbox demo.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
exec .venv/bin/python scripts/demo.py "$@"
