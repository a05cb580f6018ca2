"""Audit log API shapes."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field


class AuditRecord(BaseModel):
    """One hash-chained audit record, exactly as hashed (R50)."""

    seq: int = Field(description="Position in the chain, from 1.", examples=[42])
    at: str = Field(description="When it was written, ISO-8601 UTC.", examples=["2025-11-25T18:44:00.123456Z"])
    actor: str = Field(description="Principal id (API key id) or `system`.", examples=["key_018c2f1e3a4b9f3e2d1c0b0a"])
    action: str = Field(description="What happened, `entity.past_tense`.", examples=["deposit.confirmed"])
    entity_type: str = Field(description="Kind of object changed.", examples=["deposit"])
    entity_id: str = Field(description="Id of the object changed.", examples=["dep_018c2f1e3a4b9f3e2d1c0b0a"])
    data: dict[str, Any] = Field(
        description="The facts recorded (no floats, no secrets).", examples=[{"amount_fen": 125050}]
    )
    rule_ids: list[str] = Field(description="Regulation ids this record evidences.", examples=[["R10", "R50"]])
    request_id: str | None = Field(description="The API request that caused it.", examples=["req_5f1c0e2a9b7d4c3e1f0a"])
    prev_hash: str = Field(description="`hash` of the previous record.", examples=["0" * 64])
    hash: str = Field(description="SHA-256 of this record's canonical JSON without `hash`.", examples=["9f86d0…"])


class AuditVerification(BaseModel):
    """The result of checking the audit log's hash chain end to end (GET /v1/audit-log/verify, R50)."""

    ok: bool = Field(description="True when every record and the stored head agree.", examples=[True])
    entries: int = Field(description="Records verified (before the break, if any).", examples=[1204])
    head_hash: str = Field(description="Hash of the last good record.", examples=["9f86d0…"])
    first_bad_seq: int | None = Field(description="Where the chain breaks; null when ok.", examples=[None])
    reason: str | None = Field(description="Why it breaks; null when ok.", examples=[None])
