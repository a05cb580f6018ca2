"""HTTP routes for webhook subscriptions and their delivery log (customer keys)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Response

from issuer_service.auth import Principal, require
from issuer_service.dependencies import SessionDep, SettingsDep
from issuer_service.pagination import CursorQuery, LimitQuery, Page
from issuer_service.path_params import WebhookIdPath
from issuer_service.webhooks import service
from issuer_service.webhooks.schemas import CreatedWebhook, DeliveryOut, WebhookCreate, WebhookOut

router = APIRouter(prefix="/v1/webhooks", tags=["webhooks"])

CustomerDep = Annotated[Principal, Depends(require("customer"))]


@router.post("", status_code=201, summary="Subscribe an endpoint to mint and redemption events (secret shown once)")
def create_webhook(
    body: WebhookCreate, session: SessionDep, settings: SettingsDep, principal: CustomerDep, response: Response
) -> CreatedWebhook:
    response.headers["Cache-Control"] = "no-store"  # the body holds the signing secret
    return service.create_subscription(
        session,
        actor=principal,
        body=body,
        https_only=settings.mode == "production",
        private_networks=settings.webhooks_reach_private_networks,
    )


@router.get("", summary="Your active webhooks")
def list_webhooks(
    session: SessionDep, principal: CustomerDep, limit: LimitQuery = 50, cursor: CursorQuery = None
) -> Page[WebhookOut]:
    return service.list_subscriptions(session, principal=principal, limit=limit, cursor=cursor)


@router.get("/{webhook_id}", summary="One of your webhooks")
def get_webhook(webhook_id: WebhookIdPath, session: SessionDep, principal: CustomerDep) -> WebhookOut:
    return service.get_subscription(session, principal=principal, subscription_id=webhook_id)


@router.delete("/{webhook_id}", summary="Delete a webhook; pending deliveries are cancelled")
def delete_webhook(webhook_id: WebhookIdPath, session: SessionDep, principal: CustomerDep) -> WebhookOut:
    return service.delete_subscription(session, actor=principal, subscription_id=webhook_id)


@router.get("/{webhook_id}/deliveries", summary="The delivery log: every event, its status and each attempt")
def list_deliveries(
    webhook_id: WebhookIdPath,
    session: SessionDep,
    principal: CustomerDep,
    limit: LimitQuery = 50,
    cursor: CursorQuery = None,
) -> Page[DeliveryOut]:
    return service.list_deliveries(session, principal=principal, subscription_id=webhook_id, limit=limit, cursor=cursor)
