"""The API's path parameters, each with the description and example the OpenAPI document shows.
One place, so the same id reads the same on every route that takes it."""

from __future__ import annotations

from typing import Annotated

from fastapi import Path

AddressPath = Annotated[
    str,
    Path(
        description="A wallet address: 0x and 40 hex digits, in any case (answers give it checksummed).",
        examples=["0x5173d6802bC4f3F7926C1196c4d0A86B2FC2D440"],
    ),
]
ApprovalIdPath = Annotated[
    str, Path(description="The approval request id.", examples=["apq_018c2f1e3a4b9f3e2d1c0b0a"])
]
AssetIdPath = Annotated[str, Path(description="The reserve asset id.", examples=["ast_018c2f1e3a4b9f3e2d1c0b0a"])]
AttestationIdPath = Annotated[
    str, Path(description="The attestation report id.", examples=["att_018c2f1e3a4b9f3e2d1c0b0a"])
]
CaseIdPath = Annotated[str, Path(description="The screening case id.", examples=["scr_018c2f1e3a4b9f3e2d1c0b0a"])]
CustomerIdPath = Annotated[str, Path(description="The customer id.", examples=["cus_018c2f1e3a4b9f3e2d1c0b0a"])]
KeyIdPath = Annotated[str, Path(description="The API key id.", examples=["key_018c2f1e3a4b9f3e2d1c0b0a"])]
MintIdPath = Annotated[str, Path(description="The mint id.", examples=["mnt_018c2f1e3a4b9f3e2d1c0b0a"])]
RedemptionIdPath = Annotated[str, Path(description="The redemption id.", examples=["red_018c2f1e3a4b9f3e2d1c0b0a"])]
SeizureIdPath = Annotated[str, Path(description="The seizure id.", examples=["szr_018c2f1e3a4b9f3e2d1c0b0a"])]
ValuationIdPath = Annotated[
    str, Path(description="The valuation id (one of an asset's valuations).", examples=["val_018c2f1e3a4b9f3e2d1c0b0a"])
]
WebhookIdPath = Annotated[str, Path(description="The webhook id.", examples=["whk_018c2f1e3a4b9f3e2d1c0b0a"])]
