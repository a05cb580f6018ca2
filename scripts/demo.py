"""The sandbox demo: the issuer service on a spawned Anvil, walked end to end through the HTTP API.

bash scripts/demo.sh      (installs what is missing, then runs this)
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from issuer_service.demo import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main())
