"""What a client needs to read balances and sign permits, and the sandbox faucet (R55)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, ConfigDict, Field

from issuer_service.addresses import parse_address
from issuer_service.auth import Principal, require
from issuer_service.chain.gateway import ChainUnavailable
from issuer_service.db import end_reads
from issuer_service.dependencies import SessionDep
from issuer_service.errors import Forbidden, NotFound, ServiceUnavailable
from issuer_service.wallets import repository as wallets

router = APIRouter(tags=["token"])
FAUCET_WEI = 10**18  # 1 ETH of sandbox gas


class TokenOut(BaseModel):
    """What a client needs to read balances and sign redemption permits (GET /v1/token): the sandbox token's
    name and ticker (R55), chain, contract and EIP-712 domain."""

    name: str = Field(description="Token name (R55).", examples=["Sandbox Offshore RMB"])
    symbol: str = Field(description="Ticker (R55).", examples=["tCNH"])
    decimals: int = Field(description="Token decimals; 1 fen = 10,000 units.", examples=[6])
    chain_id: int = Field(description="EVM chain id.", examples=[31337])
    address: str = Field(description="Token contract.", examples=["0xe27E63C5F809E2cf95F8250b6ec423B849B5b9Bc"])
    rpc_url: str = Field(description="JSON-RPC endpoint to read balances.", examples=["http://127.0.0.1:8545"])
    redemption_spender: str = Field(
        description="Sign your redemption permit for this spender.",
        examples=["0xb2DC31D37393B76D86D02B37FABE03281E9BD3b7"],
    )
    permit_domain: dict[str, object] = Field(
        description="EIP-712 domain for permits.", examples=[{"name": "Sandbox Offshore RMB", "version": "1"}]
    )
    banner: str = Field(
        default="SANDBOX — NOT A LICENSED STABLECOIN",
        description="R55.",
        examples=["SANDBOX — NOT A LICENSED STABLECOIN"],
    )


class FaucetIn(BaseModel):
    """Ask for sandbox gas for one of your bound wallets (POST /v1/sandbox/faucet, local chains only, R55)."""

    model_config = ConfigDict(extra="forbid")
    address: str = Field(
        min_length=1,
        max_length=64,
        description="One of your bound wallets.",
        examples=["0x5173d6802bC4f3F7926C1196c4d0A86B2FC2D440"],
    )


class FaucetOut(BaseModel):
    """The gas the sandbox faucet sent to your wallet (R55)."""

    address: str = Field(description="The funded wallet.", examples=["0x5173d6802bC4f3F7926C1196c4d0A86B2FC2D440"])
    amount_wei: str = Field(description="Gas money sent, in wei (decimal string).", examples=["1000000000000000000"])


def _gateway(request: Request):  # type: ignore[no-untyped-def]
    gateway = request.app.state.gateway
    if gateway is None:
        raise ServiceUnavailable("the service runs without a chain")
    return gateway


@router.get("/v1/token", response_model=TokenOut, summary="Token facts for clients")
def token(request: Request) -> TokenOut:
    from issuer_service.chain.permit import TOKEN_NAME, TOKEN_VERSION

    gateway = _gateway(request)
    return TokenOut(
        name=TOKEN_NAME,
        symbol="tCNH",
        decimals=6,
        chain_id=gateway.chain_id,
        address=gateway.token_address,
        rpc_url=gateway.rpc_url,
        redemption_spender=gateway.redemption_spender,
        permit_domain={
            "name": TOKEN_NAME,
            "version": TOKEN_VERSION,
            "chainId": gateway.chain_id,
            "verifyingContract": gateway.token_address,
        },
    )


@router.post("/v1/sandbox/faucet", response_model=FaucetOut, summary="Gas for a bound wallet on a local chain (R55)")
def faucet(
    body: FaucetIn, request: Request, session: SessionDep, principal: Annotated[Principal, Depends(require("customer"))]
) -> FaucetOut:
    gateway = _gateway(request)
    address = parse_address(body.address, field="body.address")
    wallet = wallets.get_by_address(session, address)
    if wallet is None or wallet.customer_id != principal.customer_id:
        raise NotFound("the faucet only funds your own bound wallets; bind it first")
    if not gateway.is_local():
        raise Forbidden("the faucet only works on a local sandbox chain (R55)")
    end_reads(session)  # the node may be slow: hold no lock meanwhile
    try:
        gateway.faucet(address, FAUCET_WEI)
    except ChainUnavailable as exc:
        raise ServiceUnavailable("the chain is unavailable; retry shortly") from exc
    return FaucetOut(address=address, amount_wei=str(FAUCET_WEI))
