"""Customer shapes."""

from __future__ import annotations

import unicodedata
from datetime import datetime
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints
from pydantic_core import PydanticCustomError

from issuer_service.customers.jurisdictions import ISO_3166_ALPHA2

CustomerKind = Literal["individual", "institution"]
RiskLevel = Literal["low", "medium", "high"]


def _iso_country(value: str) -> str:
    code = value.upper()
    if code not in ISO_3166_ALPHA2:
        raise PydanticCustomError(
            "jurisdiction_unknown",
            # pydantic fills {name} placeholders only: no conversions such as !r
            "{value} is not an ISO 3166-1 alpha-2 country code; use two letters such as HK, CN or SG",
            {"value": repr(value)},
        )
    return code


Jurisdiction = Annotated[str, StringConstraints(min_length=2, max_length=2), AfterValidator(_iso_country)]
# Scripts with letters that look alike: one word mixing them imitates another name (UTS #39).
_LOOKALIKE_SCRIPTS = frozenset({"LATIN", "CYRILLIC", "GREEK"})


def _plain_name(value: str) -> str:
    """A legal name in any script, without invisible or control characters (zero-width spaces,
    direction overrides, NUL) and without a word that mixes Latin, Cyrillic or Greek look-alikes
    (e.g. a Cyrillic "о" in "Lotus"), so one customer cannot pass for another."""
    if any(unicodedata.category(ch) in ("Cc", "Cf", "Co", "Cs", "Cn") for ch in value):
        raise PydanticCustomError(
            "name_invisible_character",
            "the name contains a control or invisible character (e.g. a zero-width space or a direction "
            "override); send the name as plain text",
        )
    for word in value.split():
        scripts = {unicodedata.name(ch, "").split(" ")[0] for ch in word if ch.isalpha()} & _LOOKALIKE_SCRIPTS
        if len(scripts) > 1:
            raise PydanticCustomError(
                "name_mixed_scripts",
                '"{word}" mixes {scripts} letters that look alike; write each word in one script',
                {"word": word, "scripts": " and ".join(sorted(script.title() for script in scripts))},
            )
    return value


Name = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200), AfterValidator(_plain_name)
]


class CustomerCreate(BaseModel):
    """An operator onboards a customer (POST /v1/customers): KYC starts pending (R20) and the name is screened
    against the sanctions list (R23)."""

    model_config = ConfigDict(extra="forbid")

    name: Name = Field(description="Legal name.", examples=["Lotus Trading Ltd"])
    kind: CustomerKind = Field(description="A natural person or a firm.", examples=["institution"])
    jurisdiction: Jurisdiction = Field(
        description="ISO 3166-1 alpha-2 country of residence or incorporation.", examples=["HK"]
    )


class KycDecisionCreate(BaseModel):
    """Compliance's due-diligence decision on a customer (POST /v1/customers/{customer_id}/kyc): outcome, risk
    rating and where the evidence is filed (R20)."""

    model_config = ConfigDict(extra="forbid")

    decision: Literal["approved", "rejected"] = Field(
        description="The due-diligence outcome (R20).", examples=["approved"]
    )
    risk: RiskLevel = Field(description="Risk rating; high needs enhanced due diligence (R20).", examples=["low"])
    reference: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)] = Field(
        description="Where the evidence is filed (case or document reference).", examples=["KYC-2025-0042"]
    )


class CustomerOut(BaseModel):
    """A customer: identity, KYC status, risk rating (R20) and whether a sanctions hit blocked them (R23)."""

    model_config = ConfigDict(from_attributes=True)

    id: str = Field(description="Customer id.", examples=["cus_018c2f1e3a4b9f3e2d1c0b0a"])
    name: str = Field(description="Legal name.", examples=["Lotus Trading Ltd"])
    kind: CustomerKind = Field(description="A natural person or a firm.", examples=["institution"])
    jurisdiction: str = Field(description="ISO 3166-1 alpha-2 code.", examples=["HK"])
    kyc_status: Literal["pending", "approved", "rejected"] = Field(
        description="Latest due-diligence outcome; minting needs approved (R20).", examples=["pending"]
    )
    risk: RiskLevel | None = Field(description="Risk rating; null until KYC is decided.", examples=[None])
    status: Literal["active", "blocked"] = Field(
        description="blocked after a sanctions hit (R23).", examples=["active"]
    )
    created_at: datetime = Field(
        description="When the customer was created (UTC).", examples=["2025-11-25T18:44:00.123456Z"]
    )
