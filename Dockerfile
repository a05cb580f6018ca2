# syntax=docker/dockerfile:1
# The issuer service image. One image, three commands (docker-compose.yml uses all three):
#   python -m issuer_service serve     the HTTP API (the default command)
#   python -m issuer_service worker    the outbox worker, indexer and webhook dispatcher
#   python scripts/deploy.py ...       deploy tCNH to a chain and write the deployment file
# and the `cnh` CLI (e.g. `docker compose exec service cnh keys create --role auditor`).
# SANDBOX - NOT A LICENSED STABLECOIN (R55).

# --- npm toolchain: solcjs and OpenZeppelin (Anvil is not needed: compose runs its own chain) ---
FROM node:20-bookworm-slim AS npm-toolchain
WORKDIR /app
COPY package.json package-lock.json ./
# --omit=optional skips Anvil's platform binaries; --ignore-scripts skips the Anvil wrapper's postinstall.
RUN npm ci --omit=optional --ignore-scripts --no-audit --no-fund --loglevel=error

# --- the service ---
FROM python:3.11-slim-bookworm
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1
# solcjs runs on node; only a contract change after the build would need it at run time.
COPY --from=npm-toolchain /usr/local/bin/node /usr/local/bin/node
WORKDIR /app

# Dependencies first, in their own layer: a code change does not reinstall them. The editable
# install maps the three top-level packages to /app, so the code copied below is what runs.
COPY pyproject.toml README.md ./
RUN mkdir -p compliance issuer_service cnh_sdk \
    && touch compliance/__init__.py issuer_service/__init__.py cnh_sdk/__init__.py \
    && pip install -e .

COPY --from=npm-toolchain /app/node_modules ./node_modules
COPY package.json package-lock.json ./
COPY contracts ./contracts
COPY tools ./tools
COPY compliance ./compliance
COPY issuer_service ./issuer_service
# The `cnh` CLI's API commands talk to the service through the SDK.
COPY cnh_sdk ./cnh_sdk
COPY scripts ./scripts
# Compile once now (artifacts are cached by source hash in build/), so deploy and the service start fast.
RUN python -c "from issuer_service.chain.compiler import load_artifacts; load_artifacts()"

# Run unprivileged. /sandbox holds the deployment file and the generated sandbox keys; a named
# volume mounted there starts out owned by this user.
RUN useradd --create-home --uid 1000 cnh && mkdir -p /sandbox && chown cnh:cnh /sandbox
USER cnh

# In a container the API must listen on every interface; publish the port to choose who reaches it.
ENV CNH_HOST=0.0.0.0 \
    CNH_PORT=8000 \
    CNH_DEPLOYMENT_FILE=/sandbox/deployment.json
EXPOSE 8000
CMD ["python", "-m", "issuer_service", "serve"]
