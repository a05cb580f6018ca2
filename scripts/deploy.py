"""Deploy the tCNH sandbox token and write a deployment file.

    python scripts/deploy.py                       # spawns an Anvil, generates sandbox keys
    python scripts/deploy.py --rpc-url URL --keys-file keys.json [--out deployment.json]

Thin CLI over `issuer_service.chain.deploy.deploy`. Errors are one line saying what to fix.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from issuer_service.chain.deploy_cli import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main())
