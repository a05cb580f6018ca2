"""Every table, imported in one place so `Base.metadata` is complete (Alembic autogenerate, tests).

Add a line here when a domain adds a models module.
"""

from __future__ import annotations

from issuer_service.admin import models as admin_models
from issuer_service.api_keys import models as api_key_models
from issuer_service.approvals import models as approval_models
from issuer_service.attestations import models as attestation_models
from issuer_service.audit import models as audit_models
from issuer_service.customers import models as customer_models
from issuer_service.deposits import models as deposit_models
from issuer_service.enforcement import models as enforcement_models
from issuer_service.fiat_accounts import models as fiat_account_models
from issuer_service.idempotency import IdempotencyRecord
from issuer_service.indexer import models as indexer_models
from issuer_service.limits import models as limit_models
from issuer_service.mints import models as mint_models
from issuer_service.outbox import models as outbox_models
from issuer_service.redemptions import models as redemption_models
from issuer_service.reserves import models as reserve_models
from issuer_service.screening import models as screening_models
from issuer_service.travel_rule import models as travel_rule_models
from issuer_service.wallets import models as wallet_models
from issuer_service.webhooks import models as webhook_models

__all__ = [
    "IdempotencyRecord",
    "admin_models",
    "approval_models",
    "api_key_models",
    "attestation_models",
    "audit_models",
    "customer_models",
    "deposit_models",
    "enforcement_models",
    "fiat_account_models",
    "indexer_models",
    "limit_models",
    "mint_models",
    "outbox_models",
    "redemption_models",
    "reserve_models",
    "screening_models",
    "travel_rule_models",
    "wallet_models",
    "webhook_models",
]
