"""The public transparency page (R52, R55), loaded in headless Chromium the way a person sees it:
banner, supply, reserves, ratio, composition chart and the latest attestation with its hash.
The screenshot is kept under build/artifacts/."""

from __future__ import annotations

import re
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from playwright.sync_api import Browser, Page, expect, sync_playwright

from issuer_service.chain.gateway import ChainGateway
from tests.service.attestation_helpers import attest
from tests.service.flow import Staff, add_buffer_capital, new_customer, request_mint, wait_for

pytestmark = pytest.mark.chain

ARTIFACTS = Path(__file__).resolve().parents[2] / "build" / "artifacts"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run"]


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def served(chain_client: Any) -> Iterator[str]:
    """The test's app over real HTTP (its lifespan already ran inside the TestClient)."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(chain_client.app, lifespan="off", log_level="warning"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.05)
    yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    server.should_exit = True
    thread.join(15)
    sock.close()


def test_a_person_sees_banner_backing_composition_and_then_the_latest_attestation_hash(
    chain_client: Any, staff: Staff, gateway: ChainGateway, served: str, browser: Browser, request: Any
) -> None:
    client = chain_client
    add_buffer_capital(client, staff, "100.00")
    alice = new_customer(client, staff, name="Alice Ltd", deposit="1000.00")
    minted = request_mint(client, alice, "1000.00")
    assert (
        wait_for(client, f"/v1/mints/{minted.json()['id']}", alice.key, {"confirmed", "failed"})["status"]
        == "confirmed"
    )

    page: Page = browser.new_page(viewport={"width": 1100, "height": 900})
    try:
        response = page.goto(f"{served}/transparency")  # public: no key
        assert response is not None and response.status == 200
        expect(page.locator("#banner")).to_have_text("SANDBOX — NOT A LICENSED STABLECOIN")  # R55
        expect(page.locator("#banner")).to_be_visible()
        expect(page.locator("#card-supply")).to_contain_text("1,000.000000 tCNH")
        expect(page.locator("#card-reserves")).to_contain_text("1,100.00 CNH")
        expect(page.locator("#card-ratio")).to_contain_text("1.1000")
        expect(page.locator("#card-status")).to_contain_text("Fully backed")
        expect(page.locator("#latest-attestation")).to_have_text("No attestation has been published yet.")
        chart = page.locator("#composition-chart svg")
        expect(chart).to_be_visible()
        box = chart.bounding_box()
        assert box is not None and box["width"] > 100 and box["height"] > 100  # a chart a person can see
        expect(page.locator("#composition")).to_contain_text("1,100.00")

        attestation = attest(client, staff.auditor, gateway.head())
        assert attestation.status_code == 201, attestation.text
        page.reload()
        expect(page.locator("#attestation-sha256")).to_have_text(attestation.json()["sha256"])
        expect(page.locator("#pol-root")).to_have_text(attestation.json()["proof_of_liabilities_root"])
        expect(page.locator("#latest-attestation")).to_contain_text("PASS")
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        shot = ARTIFACTS / f"transparency-{request.node.callspec.id}.png"
        page.screenshot(path=str(shot), full_page=True)
        assert shot.stat().st_size > 10_000
    finally:
        page.close()
    assert client.get("/v1/reserves").json()["reserves"] == "1100.00"  # the same figures as the public API


def test_the_latest_attestation_is_the_one_at_the_highest_block_not_a_later_spot_check_of_an_old_block(
    chain_client: Any, staff: Staff, gateway: ChainGateway
) -> None:
    client = chain_client
    gateway.w3.provider.make_request("evm_mine", [])
    old_block = gateway.head()
    gateway.w3.provider.make_request("evm_mine", [])
    new_block = gateway.head()
    newest_state = attest(client, staff.auditor, new_block)
    assert newest_state.status_code == 201, newest_state.text
    spot_check = attest(client, staff.auditor, old_block)  # created later, about an earlier block
    assert spot_check.status_code == 201, spot_check.text
    assert spot_check.json()["sha256"] != newest_state.json()["sha256"]

    page = client.get("/transparency")
    assert page.status_code == 200
    shown = re.search(r'id="attestation-sha256">([0-9a-f]{64})<', page.text)
    assert shown is not None and shown.group(1) == newest_state.json()["sha256"]
    assert f"<td>{new_block} · " in page.text and f"<td>{old_block} · " not in page.text
