"""Attestation shapes."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class AttestationCreate(BaseModel):
    """Optional body of POST /v1/attestations: the block to attest at, e.g. a random past day's (R52)."""

    model_config = ConfigDict(extra="forbid")

    as_of_block: int | None = Field(
        default=None,
        ge=0,
        strict=True,  # a JSON integer: true or "5" is refused, not read as a block number
        description="Block to attest at: any block from the token's deployment up to the newest indexed one, e.g. a "
        "random past day's block (R52). Omitted: the newest indexed block.",
        examples=[1234],
    )


class AttestationLinks(BaseModel):
    """Where to fetch an attestation's JSON, HTML and PDF renderings and a holder's inclusion proof (R53, R54)."""

    json_report: str = Field(
        description="The canonical JSON bytes, exactly as hashed.",
        examples=["/v1/attestations/att_018c2f1e/report.json"],
    )
    html: str = Field(
        description="The report as a web page with charts.", examples=["/v1/attestations/att_018c2f1e/report.html"]
    )
    pdf: str = Field(
        description="The report as a PDF with charts.", examples=["/v1/attestations/att_018c2f1e/report.pdf"]
    )
    proof: str = Field(
        description="Template of a holder's inclusion proof (R54).",
        examples=["/v1/attestations/att_018c2f1e/proofs/{address}"],
    )


class AttestationSummary(BaseModel):
    """A reserve attestation without its report: block, SHA-256, R1 result, supply and proof-of-liabilities
    root (R53, R54). Items of GET /v1/attestations."""

    id: str = Field(description="Attestation id.", examples=["att_018c2f1e3a4b9f3e2d1c0b0a"])
    as_of_block: int = Field(description="The block attested.", examples=[1234])
    block_hash: str = Field(description="Its hash.", examples=["0x5c1e…"])
    block_time: datetime = Field(
        description="Its timestamp (UTC): the report's stated time.", examples=["2025-11-25T18:44:00Z"]
    )
    sha256: str = Field(description="SHA-256 of the canonical JSON report (`report.json`).", examples=["9f86d0…"])
    result: Literal["pass", "fail"] = Field(description="R1 including the buffer.", examples=["pass"])
    supply: str = Field(description="Token supply at the block, 6 decimals.", examples=["1000.000000"])
    holders: int = Field(description="Holders in the proof of liabilities.", examples=[2])
    proof_of_liabilities_root: str = Field(description="Merkle sum tree root (R54).", examples=["3b7a…"])
    created_by: str = Field(description="The auditor key that requested it.", examples=["key_018c2f1e"])
    created_at: datetime = Field(
        description="When first built (UTC); not part of the report.", examples=["2025-11-25T18:45:00Z"]
    )
    links: AttestationLinks = Field(description="Where to get the report's renderings and proofs.")


class AttestationOut(AttestationSummary):
    """A reserve attestation with its full report (R52, R53), returned when it is built (POST /v1/attestations)
    or fetched (GET /v1/attestations/{attestation_id})."""

    report: dict[str, Any] = Field(description="The report (R53), as in `report.json`.", examples=[{}])
    reproduced: bool = Field(
        default=False,
        description="True when this request rebuilt a report byte-identical to one already stored, which is returned.",
        examples=[False],
    )
