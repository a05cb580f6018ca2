"""Every table, imported in one place so `Base.metadata` is complete (Alembic autogenerate, tests).

Add a line here when a domain adds a models module.
"""

from __future__ import annotations

from issuer_service.admin import models as admin_models
from issuer_service.api_keys import models as api_key_models
from issuer_service.audit import models as audit_models
from issuer_service.customers import models as customer_models
from issuer_service.deposits import models as deposit_models
from issuer_service.fiat_accounts import models as fiat_account_models
from issuer_service.idempotency import IdempotencyRecord
from issuer_service.indexer import models as indexer_models
from issuer_service.mints import models as mint_models
from issuer_service.outbox import models as outbox_models
from issuer_service.redemptions import models as redemption_models
from issuer_service.reserves import models as reserve_models
from issuer_service.wallets import models as wallet_models

__all__ = [
    "IdempotencyRecord",
    "admin_models",
    "api_key_models",
    "audit_models",
    "customer_models",
    "deposit_models",
    "fiat_account_models",
    "indexer_models",
    "mint_models",
    "outbox_models",
    "redemption_models",
    "reserve_models",
    "wallet_models",
]
