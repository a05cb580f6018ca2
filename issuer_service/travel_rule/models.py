"""Travel-rule records (R25): kept like every other record (R51)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Boolean, CheckConstraint, Index, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from issuer_service.db import Base, UtcDateTime


class TravelRuleRecord(Base):
    """Originator and beneficiary data of one transfer: a redemption, mint or seizure re-mint the
    service made (`kind`/`subject_id`), or an on-chain transfer between customers (`tx_hash`)."""

    __tablename__ = "travel_rule_records"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))  # redemption | mint | seizure | transfer
    subject_id: Mapped[str | None] = mapped_column(String(64))
    tx_hash: Mapped[str | None] = mapped_column(String(66))  # lower-case
    amount_fen: Mapped[int | None] = mapped_column(BigInteger)
    originator_json: Mapped[str] = mapped_column(Text)
    beneficiary_json: Mapped[str] = mapped_column(Text)
    full_data_required: Mapped[bool] = mapped_column(Boolean)
    complete: Mapped[bool] = mapped_column(Boolean)
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)

    __table_args__ = (
        CheckConstraint("kind IN ('redemption', 'mint', 'seizure', 'transfer')", name="kind"),
        Index("ix_travel_rule_records_tx_hash", "tx_hash"),
        Index("ix_travel_rule_records_subject", "kind", "subject_id"),
        # R25: one record per on-chain transfer, even when two are sent at the same moment.
        Index(
            "uq_travel_rule_records_transfer_tx",
            "tx_hash",
            unique=True,
            postgresql_where=text("kind = 'transfer'"),
            sqlite_where=text("kind = 'transfer'"),
        ),
    )
