#!/usr/bin/env bash
# Installs everything the sandbox needs on a fresh machine, idempotently, and is quick when done:
#   Debian packages (z3 for solc's SMT checker; node/npm if missing), npm packages (anvil, solc,
#   OpenZeppelin), the Python venv with the project installed. `--with-slither` adds the separate
#   Slither venv (Slither pins its own web3, so it never shares the project's venv).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
WITH_SLITHER=0
WITH_BROWSER=0
for arg in "$@"; do
  case "$arg" in
    --with-slither) WITH_SLITHER=1 ;;
    --with-browser) WITH_BROWSER=1 ;;
    *) echo "bootstrap: unknown option $arg" >&2; exit 2 ;;
  esac
done
log() { printf '\033[2m[bootstrap]\033[0m %s\n' "$*"; }

SUDO=""
if [ "$(id -u)" != "0" ] && command -v sudo >/dev/null 2>&1; then SUDO="sudo"; fi
apt_updated=0
apt_install() {
  if [ "$apt_updated" = 0 ]; then
    log "apt-get update"
    $SUDO apt-get update -qq
    apt_updated=1
  fi
  log "apt-get install $*"
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "$@" >/dev/null
}

need_apt=()
command -v z3 >/dev/null 2>&1 || need_apt+=(z3)
command -v jq >/dev/null 2>&1 || need_apt+=(jq)
command -v docker-compose >/dev/null 2>&1 || need_apt+=(docker-compose)
command -v curl >/dev/null 2>&1 || need_apt+=(curl)
command -v node >/dev/null 2>&1 || need_apt+=(nodejs)
command -v npm >/dev/null 2>&1 || need_apt+=(npm)
command -v python3 >/dev/null 2>&1 || need_apt+=(python3 python3-venv)
if [ "$WITH_BROWSER" = 1 ]; then command -v chromium >/dev/null 2>&1 || need_apt+=(chromium); fi
if [ ${#need_apt[@]} -gt 0 ]; then apt_install "${need_apt[@]}"; fi

# npm packages, reinstalled only when the lock file changes.
lock_hash=$(sha256sum package-lock.json | cut -c1-16)
if [ ! -f node_modules/.lock-hash ] || [ "$(cat node_modules/.lock-hash)" != "$lock_hash" ]; then
  log "npm ci"
  npm ci --no-audit --no-fund --loglevel=error
  echo "$lock_hash" > node_modules/.lock-hash
fi

# The project venv, reinstalled only when pyproject.toml changes.
py_hash=$(sha256sum pyproject.toml | cut -c1-16)
if [ ! -x .venv/bin/python ]; then
  log "creating .venv"
  python3 -m venv .venv
fi
if [ ! -f .venv/.pyproject-hash ] || [ "$(cat .venv/.pyproject-hash)" != "$py_hash" ]; then
  log "pip install -e .[dev]"
  if ! { .venv/bin/python -m pip install -q --upgrade pip && .venv/bin/python -m pip install -q -e ".[dev]"; } \
      > .venv/pip-install.log 2>&1; then
    cat .venv/pip-install.log >&2
    exit 1
  fi
  echo "$py_hash" > .venv/.pyproject-hash
fi

if [ "$WITH_SLITHER" = 1 ]; then
  if [ ! -x .venv-slither/bin/slither ]; then
    log "creating .venv-slither"
    python3 -m venv .venv-slither
    .venv-slither/bin/python -m pip install -q --upgrade pip
    .venv-slither/bin/python -m pip install -q "slither-analyzer==0.11.*"
  fi
fi

# Compile once here so tests and the demo start from a warm artifact cache.
.venv/bin/python -c "from issuer_service.chain.compiler import load_artifacts; load_artifacts()"
log "ready ($ROOT)"
