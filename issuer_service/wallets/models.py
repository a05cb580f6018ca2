"""Wallets bound to customers by proof of control (R21), allow-listed on chain (R22)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, CheckConstraint, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from issuer_service.db import Base, UtcDateTime


class Wallet(Base):
    """The database half of the allow-list. The chain holds the other half; the service keeps
    them one fact (R22): a wallet is `active` only once its allow-list transaction is confirmed."""

    __tablename__ = "wallets"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    customer_id: Mapped[str] = mapped_column(ForeignKey("customers.id"), index=True)
    address: Mapped[str] = mapped_column(String(42), unique=True)  # EIP-55 checksummed
    kind: Mapped[str] = mapped_column(String(16))  # eoa | contract (ERC-1271)
    status: Mapped[str] = mapped_column(String(16))  # pending | active | revoked
    frozen: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    activated_at: Mapped[datetime | None] = mapped_column(UtcDateTime)

    __table_args__ = (
        CheckConstraint("kind IN ('eoa', 'contract')", name="kind"),
        CheckConstraint("status IN ('pending', 'active', 'revoked')", name="status"),
    )


class WalletChallenge(Base):
    """A one-time message the customer signs with the wallet's key (R21)."""

    __tablename__ = "wallet_challenges"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    customer_id: Mapped[str] = mapped_column(ForeignKey("customers.id"), index=True)
    address: Mapped[str] = mapped_column(String(42), index=True)
    message: Mapped[str] = mapped_column(Text)
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
