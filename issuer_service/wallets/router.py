"""HTTP routes for wallets."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request

from issuer_service.auth import Principal, require
from issuer_service.dependencies import SessionDep
from issuer_service.errors import ServiceUnavailable
from issuer_service.path_params import AddressPath
from issuer_service.wallets import service
from issuer_service.wallets.schemas import ChallengeOut, WalletCreate, WalletOut

router = APIRouter(prefix="/v1/wallets", tags=["wallets"])


def _gateway(request: Request):  # type: ignore[no-untyped-def]
    gateway = request.app.state.gateway
    if gateway is None:
        raise ServiceUnavailable("the service runs without a chain; wallets cannot be bound")
    return gateway


@router.get("/challenge", response_model=ChallengeOut, summary="A one-time message to sign with the wallet (R21)")
def challenge(request: Request, session: SessionDep,
              principal: Annotated[Principal, Depends(require("customer"))],
              address: Annotated[str, Query(min_length=1, max_length=64, description="Wallet address, 0x + 40 hex.",
                                            examples=["0x5173d6802bC4f3F7926C1196c4d0A86B2FC2D440"])]) -> ChallengeOut:
    gateway = _gateway(request)
    return service.issue_challenge(session, actor=principal, address=address, chain_id=gateway.chain_id,
                                   token=gateway.token_address)


@router.post("", status_code=201, response_model=WalletOut,
             summary="Bind a wallet by proving control; it is allow-listed on chain (R21, R22)")
def bind(body: WalletCreate, request: Request, session: SessionDep,
         principal: Annotated[Principal, Depends(require("customer"))]) -> WalletOut:
    return service.bind_wallet(session, actor=principal, body=body, gateway=_gateway(request))


@router.get("/{address}", response_model=WalletOut, summary="A wallet's status and on-chain flags")
def get_wallet(address: AddressPath, request: Request, session: SessionDep,
               principal: Annotated[Principal, Depends(require("customer", "operator", "auditor", "compliance"))]
               ) -> WalletOut:
    return service.get_wallet(session, principal=principal, address=address, gateway=request.app.state.gateway)
