#!/usr/bin/env bash
# CI check of the container files. There is no Docker engine here, so nothing is built or started:
#   1. Debian's docker-compose validates docker-compose.yml;
#   2. tests/test_compose.py checks that the commands in the Dockerfile, docker-compose.yml and the
#      README are ones `python -m issuer_service` and scripts/deploy.py accept, and that the paths,
#      ports and settings the services share line up.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v docker-compose >/dev/null 2>&1; then
  echo "check_compose: docker-compose is missing; run \`bash scripts/bootstrap.sh\` (it installs Debian's docker-compose)" >&2
  exit 1
fi
echo "== docker-compose config =="
docker-compose -f docker-compose.yml config -q
echo "docker-compose.yml is valid"
echo "== Dockerfile / compose / README commands =="
PY=.venv/bin/python
[ -x "$PY" ] || PY=python3
exec "$PY" -m pytest -q -p no:cacheprovider tests/test_compose.py
