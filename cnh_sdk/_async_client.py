"""The asynchronous client, `cnh_sdk.AsyncClient`.

`_sync_client.py` (`cnh_sdk.Client`) is generated from this file by `python cnh_sdk/_unasync.py`:
edit this file, then regenerate; a test fails while the two differ.
"""

from __future__ import annotations

import copy
import os
import time
from asyncio import sleep
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from datetime import date, datetime
from pathlib import Path
from types import TracebackType
from typing import Any, Protocol, TypeVar

import httpx

from cnh_sdk._common import (
    BALANCE_OF_SELECTOR,
    CATCHING_UP,
    DEFAULT_BASE_URL,
    IDEMPOTENCY_HEADER,
    NONCES_SELECTOR,
    Amount,
    ExportLines,
    RetryPolicy,
    address_arg,
    amount_str,
    amount_units,
    check_export_complete,
    checked_api_key,
    hex_int,
    json_of,
    new_idempotency_key,
    parsed,
    path_segment,
    rpc_body,
    rpc_result,
)
from cnh_sdk.errors import ChainRpcError, ProblemError, TransportError, WaitTimeout
from cnh_sdk.models import (
    MINT_FINAL,
    REDEMPTION_FINAL,
    SEIZURE_FINAL,
    WALLET_SETTLED,
    ApiKey,
    Approval,
    ApprovalPolicy,
    ApprovalStatus,
    Attestation,
    AttestationSummary,
    AuditRecord,
    AuditVerification,
    Balance,
    ComplianceReport,
    CreatedApiKey,
    CreatedWebhook,
    Customer,
    CustomerKind,
    CustomerLimits,
    Deposit,
    DueDiligence,
    FaucetResult,
    ListedParty,
    Liveness,
    Mint,
    Page,
    Permit,
    Readiness,
    Redemption,
    RedemptionQuote,
    RescreenResult,
    ReserveAsset,
    Reserves,
    ReserveStatement,
    RiskLevel,
    ScreeningCase,
    ScreeningCaseStatus,
    ScreeningList,
    ScreeningListLoaded,
    Seizure,
    StaffRole,
    SystemStatus,
    Token,
    TravelRuleKind,
    TravelRuleParty,
    TravelRuleRecord,
    TravelRuleRequirements,
    Valuation,
    Wallet,
    WalletChallenge,
    WalletEnforcement,
    Webhook,
    WebhookDelivery,
)
from cnh_sdk.signing import AccountLike, as_account, sign_challenge, sign_permit

T = TypeVar("T")
S = TypeVar("S", bound="_HasStatus")


class _HasStatus(Protocol):
    @property
    def status(self) -> str: ...


def _clean(params: Mapping[str, object] | None) -> dict[str, object] | None:
    return None if params is None else {name: value for name, value in params.items() if value is not None}


def _party(party: TravelRuleParty | Mapping[str, object]) -> dict[str, object]:
    data = party.model_dump() if isinstance(party, TravelRuleParty) else dict(party)
    return {name: value for name, value in data.items() if value is not None}


def _may_resend(exc: httpx.TransportError, method: str, idempotency_key: str | None) -> bool:
    """A request that never left is safe to resend; one that may have arrived only if it is a read
    or carries an Idempotency-Key (the service then replays instead of moving money twice)."""
    if isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout):
        return True
    return method == "GET" or idempotency_key is not None


class AsyncClient:
    """The CNH sandbox issuer API v1.

    `base_url` defaults to `$CNH_API_URL` or http://127.0.0.1:8000, `api_key` to `$CNH_API_KEY`.
    Tests inject `http=` (an httpx client of the matching kind: a Starlette TestClient, or one on
    `httpx.ASGITransport` or `httpx.MockTransport`) or `transport=`. Money-moving POSTs (deposits,
    mints, redemptions, seizures) get an `Idempotency-Key` automatically, reused on every retry; 503 answers
    are retried with backoff, honouring `Retry-After`. Errors raise `cnh_sdk.ProblemError`
    subclasses carrying the problem+json.
    """

    def __init__(
        self,
        base_url: str | None = None,
        api_key: str | None = None,
        *,
        http: httpx.AsyncClient | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        timeout: float = 30.0,
        retry: RetryPolicy | None = None,
        rpc_url: str | None = None,
        rpc_http: httpx.AsyncClient | None = None,
        poll_interval: float = 0.25,
    ) -> None:
        self.api_key = checked_api_key(api_key if api_key is not None else os.environ.get("CNH_API_KEY"))
        self.retry = retry if retry is not None else RetryPolicy()
        self.poll_interval = poll_interval
        self._timeout = timeout
        self._rpc_url = rpc_url
        if http is not None:
            # The injected client's own base_url applies unless one is given here too.
            self._http, self._owns_http = http, False
            self._prefix = base_url.rstrip("/") if base_url else ""
            self.base_url = base_url or str(http.base_url)
        else:
            self.base_url = (base_url or os.environ.get("CNH_API_URL") or DEFAULT_BASE_URL).rstrip("/")
            self._http = httpx.AsyncClient(base_url=self.base_url, timeout=timeout, transport=transport)
            self._owns_http, self._prefix = True, ""
        # Shared by every `with_key` copy: the token facts and the JSON-RPC client.
        self._shared: dict[str, Any] = {"token": None, "rpc_http": rpc_http, "rpc_owned": False}

    # --- life cycle --------------------------------------------------------------------------

    def with_key(self, api_key: str | None) -> AsyncClient:
        """The same client acting with another API key; shares the connection pool (close the original)."""
        clone = copy.copy(self)
        clone.api_key = checked_api_key(api_key)
        clone._owns_http = False
        return clone

    async def aclose(self) -> None:
        if self._owns_http:
            await self._http.aclose()
            rpc_http = self._shared.get("rpc_http")
            if rpc_http is not None and self._shared.get("rpc_owned"):
                await rpc_http.aclose()
                self._shared["rpc_http"] = None

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    # --- transport ---------------------------------------------------------------------------

    def _headers(self, idempotency_key: str | None = None) -> dict[str, str]:
        headers = {"Authorization": f"Bearer {self.api_key}"} if self.api_key else {}
        if idempotency_key is not None:
            headers[IDEMPOTENCY_HEADER] = idempotency_key
        return headers

    async def _request(
        self,
        method: str,
        path: str,
        *,
        json: object = None,
        params: Mapping[str, object] | None = None,
        idempotency_key: str | None = None,
        retry: bool = True,
    ) -> httpx.Response:
        headers = self._headers(idempotency_key)
        attempt = 0
        while True:
            try:
                response = await self._http.request(
                    method,
                    self._prefix + path,
                    json=json,
                    params=_clean(params),  # type: ignore[arg-type]
                    headers=headers,
                )
            except httpx.TransportError as exc:
                if retry and attempt < self.retry.max_retries and _may_resend(exc, method, idempotency_key):
                    await sleep(self.retry.delay(attempt))
                    attempt += 1
                    continue
                raise self._unreachable(exc) from exc
            if response.status_code == 503 and retry and attempt < self.retry.max_retries:
                await sleep(self.retry.delay(attempt, response.headers.get("retry-after")))
                attempt += 1
                continue
            if response.is_error:
                raise ProblemError.from_response(response)
            return response

    def _unreachable(self, exc: httpx.TransportError) -> TransportError:
        return TransportError(
            f"cannot reach the issuer service at {self.base_url} ({type(exc).__name__}: {exc}); "
            "is it running? check the API URL"
        )

    async def _get(self, model: type[T], path: str, params: Mapping[str, object] | None = None) -> T:
        response = await self._request("GET", path, params=params)
        return parsed(model, response)  # type: ignore[no-any-return]

    async def _post(self, model: type[T], path: str, body: object = None, *, idempotency_key: str | None = None) -> T:
        response = await self._request("POST", path, json=body, idempotency_key=idempotency_key)
        return parsed(model, response)  # type: ignore[no-any-return]

    async def _iterate(self, fetch: Callable[[str | None], Awaitable[Page[T]]]) -> AsyncIterator[T]:
        cursor: str | None = None
        while True:
            page = await fetch(cursor)
            for item in page.items:
                yield item
            if page.next_cursor is None:
                return
            cursor = page.next_cursor

    async def _wait(
        self, what: str, fetch: Callable[[], Awaitable[S]], statuses: frozenset[str] | set[str], timeout: float
    ) -> S:
        deadline = time.monotonic() + timeout
        while True:
            current = await fetch()
            if current.status in statuses:
                return current
            if time.monotonic() >= deadline:
                raise WaitTimeout(
                    f"{what} is still {current.status!r} after {timeout:g} s (waiting for {sorted(statuses)})",
                    last=current,
                )
            await sleep(self.poll_interval)

    # --- health and token --------------------------------------------------------------------

    async def healthz(self) -> Liveness:
        """Liveness: the process serves requests."""
        return await self._get(Liveness, "/healthz")

    async def readyz(self) -> Readiness:
        """Readiness: database and chain. Not ready raises ServiceUnavailable (no retries) whose
        `body["checks"]` names the failing checks."""
        response = await self._request("GET", "/readyz", retry=False)
        return parsed(Readiness, response)  # type: ignore[no-any-return]

    async def metrics(self) -> str:
        """The Prometheus metrics, as text (no key needed)."""
        response = await self._request("GET", "/metrics")
        return response.text

    async def token(self, *, refresh: bool = False) -> Token:
        """Token facts (address, chain, permit domain); fetched once per client."""
        if self._shared["token"] is None or refresh:
            self._shared["token"] = await self._get(Token, "/v1/token")
        token: Token = self._shared["token"]
        return token

    async def faucet(self, address: str) -> FaucetResult:
        """Sandbox gas for one of your bound wallets (local chains only, R55). Customer key."""
        return await self._post(FaucetResult, "/v1/sandbox/faucet", {"address": address})

    # --- API keys (admin) ----------------------------------------------------------------------

    async def create_api_key(self, role: StaffRole, label: str) -> CreatedApiKey:
        """Issue a staff key; `key` is shown this once (R42, R43)."""
        return await self._post(CreatedApiKey, "/v1/api-keys", {"role": role, "label": label})

    async def create_customer_api_key(self, customer_id: str, label: str | None = None) -> CreatedApiKey:
        """Issue a key bound to one customer; `key` is shown this once."""
        body = {"label": label} if label is not None else {}
        return await self._post(CreatedApiKey, f"/v1/customers/{path_segment(customer_id)}/api-keys", body)

    async def revoke_api_key(self, key_id: str) -> ApiKey:
        response = await self._request("DELETE", f"/v1/api-keys/{path_segment(key_id)}")
        return parsed(ApiKey, response)  # type: ignore[no-any-return]

    async def request_role_change(self, key_id: str, role: StaffRole, reason: str) -> Approval:
        """Ask for a staff key's new role (admin); it applies once a second admin approves it with
        `approve_request` (R40, R42). Until then the key keeps its role."""
        return await self._post(Approval, f"/v1/api-keys/{path_segment(key_id)}/role", {"role": role, "reason": reason})

    # --- approvals (maker-checker, R40) --------------------------------------------------------

    async def get_approval(self, approval_id: str) -> Approval:
        return await self._get(Approval, f"/v1/approvals/{path_segment(approval_id)}")

    async def list_approvals(
        self,
        *,
        status: ApprovalStatus | None = None,
        action: str | None = None,
        limit: int | None = None,
        cursor: str | None = None,
    ) -> Page[Approval]:
        """Approval requests, optionally only one `status` ("pending", ...) or policy `action`."""
        params = {"limit": limit, "cursor": cursor, "status": status, "action": action}
        return await self._get(Page[Approval], "/v1/approvals", params)

    def iter_approvals(
        self, *, page_size: int = 100, status: ApprovalStatus | None = None, action: str | None = None
    ) -> AsyncIterator[Approval]:
        return self._iterate(
            lambda cursor: self.list_approvals(status=status, action=action, limit=page_size, cursor=cursor)
        )

    async def approval_policy(self) -> ApprovalPolicy:
        """Which action needs how many approvers of which roles, and whether they must cite a reference."""
        return await self._get(ApprovalPolicy, "/v1/approvals/policy")

    async def approve_request(
        self, approval_id: str, *, reference: str | None = None, note: str | None = None
    ) -> Approval:
        """Approve as a principal other than the requester; the change runs with the last approval."""
        body = {name: value for name, value in (("reference", reference), ("note", note)) if value is not None}
        return await self._post(Approval, f"/v1/approvals/{path_segment(approval_id)}/approve", body)

    async def reject_request(self, approval_id: str, note: str) -> Approval:
        """Reject a pending request (an approver), or withdraw it (its requester); `note` says why."""
        return await self._post(Approval, f"/v1/approvals/{path_segment(approval_id)}/reject", {"note": note})

    # --- customers -----------------------------------------------------------------------------

    async def create_customer(self, name: str, kind: CustomerKind, jurisdiction: str) -> Customer:
        """Onboard a customer (operator); KYC starts pending."""
        body = {"name": name, "kind": kind, "jurisdiction": jurisdiction}
        return await self._post(Customer, "/v1/customers", body)

    async def get_customer(self, customer_id: str) -> Customer:
        return await self._get(Customer, f"/v1/customers/{path_segment(customer_id)}")

    async def list_customers(self, *, limit: int | None = None, cursor: str | None = None) -> Page[Customer]:
        return await self._get(Page[Customer], "/v1/customers", {"limit": limit, "cursor": cursor})

    def iter_customers(self, *, page_size: int = 100) -> AsyncIterator[Customer]:
        """Every customer, page after page."""
        return self._iterate(lambda cursor: self.list_customers(limit=page_size, cursor=cursor))

    async def decide_kyc(self, customer_id: str, decision: str, risk: RiskLevel, reference: str) -> Customer:
        """Record the KYC decision ("approved" or "rejected") with a risk rating (compliance, R20)."""
        body = {"decision": decision, "risk": risk, "reference": reference}
        return await self._post(Customer, f"/v1/customers/{path_segment(customer_id)}/kyc", body)

    async def get_balance(self, customer_id: str) -> Balance:
        """The customer's confirmed fiat: available and reserved for mints in flight."""
        return await self._get(Balance, f"/v1/customers/{path_segment(customer_id)}/balance")

    async def get_due_diligence(self, customer_id: str) -> DueDiligence:
        """KYC, enhanced due diligence and screening state, and whether the customer may transact (R20, R23)."""
        return await self._get(DueDiligence, f"/v1/customers/{path_segment(customer_id)}/due-diligence")

    async def get_limits(self, customer_id: str) -> CustomerLimits:
        """The daily mint and redemption limits in force, and how much of each is used today (R12)."""
        return await self._get(CustomerLimits, f"/v1/customers/{path_segment(customer_id)}/limits")

    async def request_limit_change(
        self,
        customer_id: str,
        reason: str,
        *,
        daily_mint_limit: Amount | None = None,
        daily_redeem_limit: Amount | None = None,
    ) -> Approval:
        """Ask for new daily limits (give one or both); they apply once a second principal approves
        the returned request with `approve_request` (R12, R40)."""
        body: dict[str, object] = {"reason": reason}
        if daily_mint_limit is not None:
            body["daily_mint_limit"] = amount_str(daily_mint_limit)
        if daily_redeem_limit is not None:
            body["daily_redeem_limit"] = amount_str(daily_redeem_limit)
        return await self._post(Approval, f"/v1/customers/{path_segment(customer_id)}/limits", body)

    # --- sanctions screening (compliance; auditors read, R23) --------------------------------------

    async def get_screening_list(self) -> ScreeningList:
        """The list in force (`shipped` while it is the sandbox's own fictional list)."""
        return await self._get(ScreeningList, "/v1/screening/list")

    async def load_screening_list(
        self,
        version: str,
        entries: Sequence[ListedParty | Mapping[str, Any]],
        *,
        source: str | None = None,
        notice: str | None = None,
    ) -> ScreeningListLoaded:
        """Put a new list in force; every customer and wallet is re-screened against it, hits open
        cases, block customers and freeze wallets. A list file's JSON fits `load_screening_list(**data)`."""
        body: dict[str, object] = {
            "version": version,
            "entries": [entry.model_dump() if isinstance(entry, ListedParty) else dict(entry) for entry in entries],
        }
        if source is not None:
            body["source"] = source
        if notice is not None:
            body["notice"] = notice
        response = await self._request("PUT", "/v1/screening/list", json=body)
        return parsed(ScreeningListLoaded, response)  # type: ignore[no-any-return]

    async def rescreen(self) -> RescreenResult:
        """Re-screen every customer and wallet against the list in force."""
        return await self._post(RescreenResult, "/v1/screening/rescreen")

    async def list_screening_cases(
        self,
        *,
        status: ScreeningCaseStatus | None = None,
        customer_id: str | None = None,
        limit: int | None = None,
        cursor: str | None = None,
    ) -> Page[ScreeningCase]:
        params = {"limit": limit, "cursor": cursor, "status": status, "customer_id": customer_id}
        return await self._get(Page[ScreeningCase], "/v1/screening/cases", params)

    def iter_screening_cases(
        self, *, page_size: int = 100, status: ScreeningCaseStatus | None = None, customer_id: str | None = None
    ) -> AsyncIterator[ScreeningCase]:
        return self._iterate(
            lambda cursor: self.list_screening_cases(
                status=status, customer_id=customer_id, limit=page_size, cursor=cursor
            )
        )

    async def get_screening_case(self, case_id: str) -> ScreeningCase:
        return await self._get(ScreeningCase, f"/v1/screening/cases/{path_segment(case_id)}")

    async def clear_screening_case(self, case_id: str, note: str) -> ScreeningCase:
        """A false positive: the customer is unblocked and its wallets unfrozen once nothing else is unresolved."""
        return await self._post(ScreeningCase, f"/v1/screening/cases/{path_segment(case_id)}/clear", {"note": note})

    async def confirm_screening_case(self, case_id: str, note: str) -> ScreeningCase:
        """A true match: the customer stays blocked and its wallets frozen (R23, R24)."""
        return await self._post(ScreeningCase, f"/v1/screening/cases/{path_segment(case_id)}/confirm", {"note": note})

    # --- deposits ------------------------------------------------------------------------------

    async def create_deposit(
        self,
        customer_id: str,
        amount: Amount,
        bank_reference: str,
        *,
        currency: str = "CNH",
        idempotency_key: str | None = None,
    ) -> Deposit:
        """Credit a sandbox bank transfer (operator, R10). Idempotent."""
        body = {
            "customer_id": customer_id,
            "amount": amount_str(amount),
            "currency": currency,
            "bank_reference": bank_reference,
        }
        return await self._post(Deposit, "/v1/deposits", body, idempotency_key=idempotency_key or new_idempotency_key())

    # --- wallets -------------------------------------------------------------------------------

    async def wallet_challenge(self, address: str) -> WalletChallenge:
        """The one-time text to sign with the wallet's key (R21). Customer key."""
        return await self._get(WalletChallenge, "/v1/wallets/challenge", {"address": address})

    async def bind_wallet(self, address: str, signature: str) -> Wallet:
        """Bind a wallet with the 0x-hex signature of its challenge; it turns active once allow-listed."""
        return await self._post(Wallet, "/v1/wallets", {"address": address, "signature": signature})

    async def get_wallet(self, address: str) -> Wallet:
        return await self._get(Wallet, f"/v1/wallets/{path_segment(address)}")

    async def wait_for_wallet(
        self, address: str, *, statuses: frozenset[str] | set[str] = WALLET_SETTLED, timeout: float = 60.0
    ) -> Wallet:
        return await self._wait(f"wallet {address}", lambda: self.get_wallet(address), statuses, timeout)

    async def bind_wallet_with_key(self, key: AccountLike, *, wait: bool = True, timeout: float = 60.0) -> Wallet:
        """Challenge, sign locally with `key` (an eth-account LocalAccount or private key), bind,
        and by default wait until the wallet is allow-listed on chain."""
        account = as_account(key)
        challenge = await self.wallet_challenge(account.address)
        wallet = await self.bind_wallet(account.address, sign_challenge(account, challenge.message))
        if wait and wallet.status not in WALLET_SETTLED:
            wallet = await self.wait_for_wallet(account.address, timeout=timeout)
        return wallet

    # --- freeze and seizure (compliance, R24) --------------------------------------------------

    async def freeze_wallet(self, address: str, reason: str, *, legal_basis: str | None = None) -> WalletEnforcement:
        """Freeze a wallet on chain (no send, no receive); answers 202 with `chain_target` "frozen"
        while `frozen` turns true once the chain confirms (`get_wallet`)."""
        body = {"reason": reason} if legal_basis is None else {"reason": reason, "legal_basis": legal_basis}
        return await self._post(WalletEnforcement, f"/v1/wallets/{path_segment(address)}/freeze", body)

    async def unfreeze_wallet(self, address: str, reason: str) -> WalletEnforcement:
        """Lift compliance's freeze; a screening freeze is lifted by clearing its case."""
        return await self._post(WalletEnforcement, f"/v1/wallets/{path_segment(address)}/unfreeze", {"reason": reason})

    async def get_wallet_freezes(self, address: str) -> WalletEnforcement:
        """The wallet's freeze state and every hold on it, lifted ones included."""
        return await self._get(WalletEnforcement, f"/v1/wallets/{path_segment(address)}/freezes")

    async def request_seizure(
        self,
        wallet: str,
        recovery_wallet: str,
        legal_basis: str,
        case_reference: str,
        *,
        amount: Amount | None = None,
        idempotency_key: str | None = None,
    ) -> Seizure:
        """Ask to seize a frozen wallet's balance (all of it unless `amount`), burned and re-minted to
        `recovery_wallet` once a second principal approves `approval_id` (R24, R40). Idempotent."""
        body: dict[str, object] = {
            "wallet": wallet,
            "recovery_wallet": recovery_wallet,
            "legal_basis": legal_basis,
            "case_reference": case_reference,
        }
        if amount is not None:
            body["amount"] = amount_str(amount)
        return await self._post(Seizure, "/v1/seizures", body, idempotency_key=idempotency_key or new_idempotency_key())

    async def get_seizure(self, seizure_id: str) -> Seizure:
        return await self._get(Seizure, f"/v1/seizures/{path_segment(seizure_id)}")

    async def list_seizures(self, *, limit: int | None = None, cursor: str | None = None) -> Page[Seizure]:
        return await self._get(Page[Seizure], "/v1/seizures", {"limit": limit, "cursor": cursor})

    def iter_seizures(self, *, page_size: int = 100) -> AsyncIterator[Seizure]:
        return self._iterate(lambda cursor: self.list_seizures(limit=page_size, cursor=cursor))

    async def wait_for_seizure(
        self, seizure_id: str, *, statuses: frozenset[str] | set[str] = SEIZURE_FINAL, timeout: float = 60.0
    ) -> Seizure:
        """Poll until the seizure is completed, rejected, failed or remint_failed (or one of `statuses`)."""
        return await self._wait(f"seizure {seizure_id}", lambda: self.get_seizure(seizure_id), statuses, timeout)

    # --- mints ---------------------------------------------------------------------------------

    async def create_mint(self, wallet: str, amount: Amount, *, idempotency_key: str | None = None) -> Mint:
        """Mint against your confirmed fiat (customer key); answers 202 with the mint in flight. Idempotent."""
        body = {"wallet": wallet, "amount": amount_str(amount)}
        return await self._post(Mint, "/v1/mints", body, idempotency_key=idempotency_key or new_idempotency_key())

    async def get_mint(self, mint_id: str) -> Mint:
        return await self._get(Mint, f"/v1/mints/{path_segment(mint_id)}")

    async def list_mints(self, *, limit: int | None = None, cursor: str | None = None) -> Page[Mint]:
        return await self._get(Page[Mint], "/v1/mints", {"limit": limit, "cursor": cursor})

    def iter_mints(self, *, page_size: int = 100) -> AsyncIterator[Mint]:
        return self._iterate(lambda cursor: self.list_mints(limit=page_size, cursor=cursor))

    async def approve_mint(self, mint_id: str) -> Mint:
        """Second approval above the threshold, by an operator other than the requester (R12, R40)."""
        return await self._post(Mint, f"/v1/mints/{path_segment(mint_id)}/approve")

    async def reject_mint(self, mint_id: str) -> Mint:
        """Decline a mint waiting for approval; its fiat is released."""
        return await self._post(Mint, f"/v1/mints/{path_segment(mint_id)}/reject")

    async def wait_for_mint(
        self, mint_id: str, *, statuses: frozenset[str] | set[str] = MINT_FINAL, timeout: float = 60.0
    ) -> Mint:
        """Poll until the mint is confirmed, rejected or failed (or one of `statuses`)."""
        return await self._wait(f"mint {mint_id}", lambda: self.get_mint(mint_id), statuses, timeout)

    # --- redemptions ---------------------------------------------------------------------------

    async def redemption_quote(self, amount: Amount) -> RedemptionQuote:
        """Fee, payout and deadline if you redeemed `amount` now (R13, R14); no key needed."""
        return await self._get(RedemptionQuote, "/v1/redemptions/quote", {"amount": amount_str(amount)})

    async def create_redemption(
        self,
        wallet: str,
        amount: Amount,
        permit: Permit | Mapping[str, Any],
        *,
        originator: TravelRuleParty | Mapping[str, object] | None = None,
        beneficiary: TravelRuleParty | Mapping[str, object] | None = None,
        idempotency_key: str | None = None,
    ) -> Redemption:
        """Redeem with an EIP-2612 permit you signed (see `build_redemption_permit`). Idempotent.

        From the profile's travel-rule threshold (`travel_rule_requirements`) the redemption carries
        the full `originator` and `beneficiary` data (R25); below it, blanks come from your KYC file."""
        permit_body = permit.model_dump() if isinstance(permit, Permit) else dict(permit)
        body: dict[str, object] = {"wallet": wallet, "amount": amount_str(amount), "permit": permit_body}
        if originator is not None or beneficiary is not None:
            body["travel_rule"] = {
                "originator": _party(originator if originator is not None else {}),
                "beneficiary": _party(beneficiary if beneficiary is not None else {}),
            }
        return await self._post(
            Redemption, "/v1/redemptions", body, idempotency_key=idempotency_key or new_idempotency_key()
        )

    async def get_redemption(self, redemption_id: str) -> Redemption:
        return await self._get(Redemption, f"/v1/redemptions/{path_segment(redemption_id)}")

    async def list_redemptions(self, *, limit: int | None = None, cursor: str | None = None) -> Page[Redemption]:
        return await self._get(Page[Redemption], "/v1/redemptions", {"limit": limit, "cursor": cursor})

    def iter_redemptions(self, *, page_size: int = 100) -> AsyncIterator[Redemption]:
        return self._iterate(lambda cursor: self.list_redemptions(limit=page_size, cursor=cursor))

    async def wait_for_redemption(
        self, redemption_id: str, *, statuses: frozenset[str] | set[str] = REDEMPTION_FINAL, timeout: float = 60.0
    ) -> Redemption:
        """Poll until the redemption is paid, rejected or failed (or one of `statuses`)."""
        return await self._wait(
            f"redemption {redemption_id}", lambda: self.get_redemption(redemption_id), statuses, timeout
        )

    async def build_redemption_permit(
        self, key: AccountLike, amount: Amount, *, deadline_seconds: int = 3600, nonce: int | None = None
    ) -> Permit:
        """Sign, with the holder's key, a permit for the issuer's `redemption_spender` to burn `amount`.

        Reads the token's permit domain from the API and the holder's nonce and the chain's clock
        from its JSON-RPC endpoint (`rpc_url` of GET /v1/token unless the client was given one).
        """
        account = as_account(key)
        token = await self.token()
        if nonce is None:
            nonce = await self.permit_nonce(account.address)
        deadline = await self.chain_time() + deadline_seconds
        return sign_permit(
            account,
            domain=token.permit_domain,
            spender=token.redemption_spender,
            value=amount_units(amount),
            nonce=nonce,
            deadline=deadline,
        )

    async def redeem(
        self,
        key: AccountLike,
        amount: Amount,
        *,
        deadline_seconds: int = 3600,
        originator: TravelRuleParty | Mapping[str, object] | None = None,
        beneficiary: TravelRuleParty | Mapping[str, object] | None = None,
        idempotency_key: str | None = None,
    ) -> Redemption:
        """Build the permit with `key` and request the redemption from that wallet in one call
        (`originator` and `beneficiary` as for `create_redemption`)."""
        account = as_account(key)
        permit = await self.build_redemption_permit(account, amount, deadline_seconds=deadline_seconds)
        return await self.create_redemption(
            account.address,
            amount,
            permit,
            originator=originator,
            beneficiary=beneficiary,
            idempotency_key=idempotency_key,
        )

    # --- travel rule (R25) ----------------------------------------------------------------------

    async def travel_rule_requirements(self, amount: Amount) -> TravelRuleRequirements:
        """Which originator and beneficiary fields a redemption of `amount` must carry; no key needed."""
        return await self._get(TravelRuleRequirements, "/v1/travel-rule/requirements", {"amount": amount_str(amount)})

    async def create_travel_rule_record(
        self,
        tx_hash: str,
        originator: TravelRuleParty | Mapping[str, object],
        beneficiary: TravelRuleParty | Mapping[str, object],
    ) -> TravelRuleRecord:
        """Record the originator and beneficiary of an on-chain transfer between customer wallets
        (customer, operator or compliance key); parties left None are not sent."""
        body = {"tx_hash": tx_hash, "originator": _party(originator), "beneficiary": _party(beneficiary)}
        return await self._post(TravelRuleRecord, "/v1/travel-rule/records", body)

    async def list_travel_rule_records(
        self,
        *,
        tx_hash: str | None = None,
        kind: TravelRuleKind | None = None,
        limit: int | None = None,
        cursor: str | None = None,
    ) -> Page[TravelRuleRecord]:
        params = {"limit": limit, "cursor": cursor, "tx_hash": tx_hash, "kind": kind}
        return await self._get(Page[TravelRuleRecord], "/v1/travel-rule/records", params)

    def iter_travel_rule_records(
        self, *, page_size: int = 100, tx_hash: str | None = None, kind: TravelRuleKind | None = None
    ) -> AsyncIterator[TravelRuleRecord]:
        return self._iterate(
            lambda cursor: self.list_travel_rule_records(tx_hash=tx_hash, kind=kind, limit=page_size, cursor=cursor)
        )

    # --- reserves ------------------------------------------------------------------------------

    async def get_reserves(self) -> Reserves:
        """Public transparency: supply, reserves, ratio (no key needed)."""
        return await self._get(Reserves, "/v1/reserves")

    async def transparency_page(self) -> str:
        """The public transparency page's HTML (no key needed)."""
        response = await self._request("GET", "/transparency")
        return response.text

    async def record_reserve_asset(
        self,
        kind: str,
        custodian: str,
        nominal: Amount,
        reference: str,
        *,
        account: str | None = None,
        currency: str = "CNH",
        market_value: Amount | None = None,
        maturity: date | None = None,
        valued_at: datetime | None = None,
    ) -> ReserveAsset:
        """Record a reserve asset (treasury); it counts once a second principal approves it (R2, R3, R40)."""
        body: dict[str, object] = {
            "kind": kind,
            "custodian": custodian,
            "currency": currency,
            "nominal": amount_str(nominal),
            "reference": reference,
        }
        if account is not None:
            body["account"] = account
        if market_value is not None:
            body["market_value"] = amount_str(market_value)
        if maturity is not None:
            body["maturity"] = maturity.isoformat()
        if valued_at is not None:
            body["valued_at"] = valued_at.isoformat()
        return await self._post(ReserveAsset, "/v1/reserves/assets", body)

    async def list_reserve_assets(self, *, limit: int | None = None, cursor: str | None = None) -> Page[ReserveAsset]:
        return await self._get(Page[ReserveAsset], "/v1/reserves/assets", {"limit": limit, "cursor": cursor})

    async def get_reserve_asset(self, asset_id: str) -> ReserveAsset:
        return await self._get(ReserveAsset, f"/v1/reserves/assets/{path_segment(asset_id)}")

    async def approve_reserve_asset(self, asset_id: str) -> ReserveAsset:
        """Second approval by a different treasury or admin key (R40)."""
        return await self._post(ReserveAsset, f"/v1/reserves/assets/{path_segment(asset_id)}/approve")

    async def reject_reserve_asset(self, asset_id: str) -> ReserveAsset:
        return await self._post(ReserveAsset, f"/v1/reserves/assets/{path_segment(asset_id)}/reject")

    async def revalue_reserve_asset(
        self,
        asset_id: str,
        market_value: Amount,
        reference: str,
        *,
        nominal: Amount | None = None,
        valued_at: datetime | None = None,
    ) -> Valuation:
        """Record a new valuation; it counts once a second principal approves it (R5, R40)."""
        body: dict[str, object] = {"market_value": amount_str(market_value), "reference": reference}
        if nominal is not None:
            body["nominal"] = amount_str(nominal)
        if valued_at is not None:
            body["valued_at"] = valued_at.isoformat()
        return await self._post(Valuation, f"/v1/reserves/assets/{path_segment(asset_id)}/valuations", body)

    async def list_valuations(self, asset_id: str) -> list[Valuation]:
        response = await self._request("GET", f"/v1/reserves/assets/{path_segment(asset_id)}/valuations")
        return parsed(list[Valuation], response)  # type: ignore[no-any-return]

    async def approve_valuation(self, valuation_id: str) -> Valuation:
        return await self._post(Valuation, f"/v1/reserves/valuations/{path_segment(valuation_id)}/approve")

    async def reject_valuation(self, valuation_id: str) -> Valuation:
        return await self._post(Valuation, f"/v1/reserves/valuations/{path_segment(valuation_id)}/reject")

    async def draw_reserve_statement(self) -> ReserveStatement:
        """Today's reserve statement (drawn now, or the one already drawn today) (R52)."""
        return await self._post(ReserveStatement, "/v1/reserves/statements")

    async def list_reserve_statements(
        self, *, limit: int | None = None, cursor: str | None = None
    ) -> Page[ReserveStatement]:
        return await self._get(Page[ReserveStatement], "/v1/reserves/statements", {"limit": limit, "cursor": cursor})

    # --- attestations (auditor) ----------------------------------------------------------------

    async def create_attestation(self, as_of_block: int | None = None, *, wait: float = 30.0) -> Attestation:
        """Build a reserve attestation report as of `as_of_block` (default: the newest indexed block).

        The service reads the chain a moment behind its head: while its indexer has not reached the
        block, or it is still confirming transactions mined by then (409 with reason code
        `block_not_indexed` or `ledger_catching_up`), ask again for up to `wait` seconds."""
        body = {"as_of_block": as_of_block} if as_of_block is not None else None
        deadline = time.monotonic() + wait
        while True:
            try:
                return await self._post(Attestation, "/v1/attestations", body)
            except ProblemError as exc:
                if exc.reason_code not in CATCHING_UP or time.monotonic() >= deadline:
                    raise
            await sleep(self.poll_interval)

    async def list_attestations(
        self, *, limit: int | None = None, cursor: str | None = None
    ) -> Page[AttestationSummary]:
        return await self._get(Page[AttestationSummary], "/v1/attestations", {"limit": limit, "cursor": cursor})

    async def get_attestation(self, attestation_id: str) -> Attestation:
        return await self._get(Attestation, f"/v1/attestations/{path_segment(attestation_id)}")

    async def attestation_report(self, attestation_id: str, format: str = "json") -> bytes:
        """The report's bytes: "json" (canonical, exactly what `sha256` hashes), "html" or "pdf"."""
        response = await self._request(
            "GET", f"/v1/attestations/{path_segment(attestation_id)}/report.{path_segment(format)}"
        )
        return response.content

    async def liability_proof(self, attestation_id: str, address: str) -> dict[str, Any]:
        """The proof that `address`'s balance is counted in the attestation (R54); check it offline
        with `cnh verify-proof` or `compliance.verify_proof`."""
        response = await self._request(
            "GET", f"/v1/attestations/{path_segment(attestation_id)}/proofs/{path_segment(address)}"
        )
        proof: dict[str, Any] = parsed(dict[str, Any], response)
        return proof

    # --- webhooks (customer) -------------------------------------------------------------------

    async def create_webhook(
        self, url: str, *, events: list[str] | None = None, description: str | None = None
    ) -> CreatedWebhook:
        """Subscribe `url` to mint and redemption events; keep `secret` for `verify_webhook`."""
        body: dict[str, object] = {"url": url}
        if events is not None:
            body["events"] = events
        if description is not None:
            body["description"] = description
        return await self._post(CreatedWebhook, "/v1/webhooks", body)

    async def list_webhooks(self, *, limit: int | None = None, cursor: str | None = None) -> Page[Webhook]:
        return await self._get(Page[Webhook], "/v1/webhooks", {"limit": limit, "cursor": cursor})

    async def get_webhook(self, webhook_id: str) -> Webhook:
        return await self._get(Webhook, f"/v1/webhooks/{path_segment(webhook_id)}")

    async def delete_webhook(self, webhook_id: str) -> Webhook:
        response = await self._request("DELETE", f"/v1/webhooks/{path_segment(webhook_id)}")
        return parsed(Webhook, response)  # type: ignore[no-any-return]

    async def list_webhook_deliveries(
        self, webhook_id: str, *, limit: int | None = None, cursor: str | None = None
    ) -> Page[WebhookDelivery]:
        """The delivery log: each event, its status and every attempt."""
        return await self._get(
            Page[WebhookDelivery],
            f"/v1/webhooks/{path_segment(webhook_id)}/deliveries",
            {"limit": limit, "cursor": cursor},
        )

    # --- compliance report (compliance, auditor) -----------------------------------------------

    async def compliance_report(self) -> ComplianceReport:
        """SLA breaches, travel-rule gaps, screening, freezes, seizures and pending approvals, now."""
        return await self._get(ComplianceReport, "/v1/compliance/report")

    async def compliance_report_html(self) -> str:
        """The same report as an HTML page (with the sandbox banner)."""
        response = await self._request("GET", "/v1/compliance/report.html")
        return response.text

    # --- audit log (auditor) -------------------------------------------------------------------

    async def list_audit_log(
        self,
        *,
        limit: int | None = None,
        cursor: str | None = None,
        entity_type: str | None = None,
        entity_id: str | None = None,
        action: str | None = None,
    ) -> Page[AuditRecord]:
        params = {
            "limit": limit,
            "cursor": cursor,
            "entity_type": entity_type,
            "entity_id": entity_id,
            "action": action,
        }
        return await self._get(Page[AuditRecord], "/v1/audit-log", params)

    def iter_audit_log(
        self,
        *,
        page_size: int = 200,
        entity_type: str | None = None,
        entity_id: str | None = None,
        action: str | None = None,
    ) -> AsyncIterator[AuditRecord]:
        return self._iterate(
            lambda cursor: self.list_audit_log(
                limit=page_size, cursor=cursor, entity_type=entity_type, entity_id=entity_id, action=action
            )
        )

    async def verify_audit_log(self) -> AuditVerification:
        """The service recomputes the whole hash chain (R50)."""
        return await self._get(AuditVerification, "/v1/audit-log/verify")

    async def export_audit_log(self, path: str | Path, *, on_record: Callable[[int], None] | None = None) -> int:
        """Stream the whole log as JSON lines into `path`; returns the number of records.
        `on_record(count)` is called after each record (for progress).

        The file appears only complete: it is written beside `path` and moved there once its last
        record is the head the service announced for the export (a truncated log would verify as a
        shorter, intact chain). A break-off raises TransportError and leaves no file."""
        target = Path(path)
        partial = target.with_name(target.name + ".partial")
        count, last = 0, b""
        lines = ExportLines()  # not aiter_lines: that also cuts at U+2028 and the like inside a record
        try:
            async with self._http.stream(
                "GET", self._prefix + "/v1/audit-log/export", headers=self._headers()
            ) as response:
                if response.is_error:
                    await response.aread()
                    raise ProblemError.from_response(response)
                with partial.open("wb") as out:

                    def keep(records: list[bytes]) -> None:
                        nonlocal count, last
                        for last in records:
                            out.write(last + b"\n")
                            count += 1
                            if on_record is not None:
                                on_record(count)

                    async for chunk in response.aiter_bytes():
                        keep(lines.feed(chunk))
                    keep(lines.flush())
                check_export_complete(response.headers, count, last)
        except httpx.TransportError as exc:
            partial.unlink(missing_ok=True)
            if isinstance(exc, httpx.ConnectError):  # nothing was received: not a break-off
                raise self._unreachable(exc) from exc
            raise TransportError(f"audit export from {self.base_url} broke off ({type(exc).__name__}: {exc})") from exc
        except BaseException:
            partial.unlink(missing_ok=True)
            raise
        partial.replace(target)
        return count

    # --- pause and resume (admin, R41) ---------------------------------------------------------

    async def system_state(self) -> SystemStatus:
        return await self._get(SystemStatus, "/v1/admin/state")

    async def pause(self) -> SystemStatus:
        """Pause minting, redemption and transfers now (one admin)."""
        return await self._post(SystemStatus, "/v1/admin/pause")

    async def resume(self) -> SystemStatus:
        """Ask to resume; the service resumes when a second, different admin asks too
        (`status` stays "pending_second_approval" until then)."""
        return await self._post(SystemStatus, "/v1/admin/resume")

    # --- chain reads (JSON-RPC) ----------------------------------------------------------------

    def _rpc_client(self) -> httpx.AsyncClient:
        client: httpx.AsyncClient | None = self._shared.get("rpc_http")
        if client is None:
            client = httpx.AsyncClient(timeout=self._timeout)
            self._shared["rpc_http"], self._shared["rpc_owned"] = client, True
        return client

    async def _rpc(self, method: str, params: list[object]) -> object:
        url = self._rpc_url or (await self.token()).rpc_url
        try:
            response = await self._rpc_client().post(url, json=rpc_body(method, params))
        except (httpx.TransportError, httpx.InvalidURL) as exc:
            raise TransportError(
                f"cannot reach the chain's JSON-RPC endpoint at {url} ({type(exc).__name__}); "
                "pass rpc_url= if the advertised one is not reachable from here"
            ) from exc
        if response.is_error:
            raise ChainRpcError(f"{method}: HTTP {response.status_code} from {url}")
        return rpc_result(json_of(response), method)

    async def _call_token(self, selector: str, address: str) -> int:
        token = await self.token()
        call = {"to": token.address, "data": selector + address_arg(address)}
        return hex_int(await self._rpc("eth_call", [call, "latest"]), "eth_call")

    async def permit_nonce(self, address: str) -> int:
        """The holder's current EIP-2612 nonce."""
        return await self._call_token(NONCES_SELECTOR, address)

    async def token_balance(self, address: str) -> int:
        """tCNH balance in token units (6 decimals: 1.00 CNH = 1_000_000)."""
        return await self._call_token(BALANCE_OF_SELECTOR, address)

    async def chain_time(self) -> int:
        """The latest block's timestamp: permit deadlines are judged by the chain's clock."""
        block = await self._rpc("eth_getBlockByNumber", ["latest", False])
        if not isinstance(block, dict):
            raise ChainRpcError("eth_getBlockByNumber returned no block")
        return hex_int(block.get("timestamp"), "eth_getBlockByNumber")
