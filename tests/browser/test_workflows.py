"""The Workflows page in a browser: Active, key expired and signature mismatch, with screenshots."""

import hashlib
import hmac
import json
import secrets
import urllib.error
import urllib.request
from datetime import timedelta

import pytest
from playwright.sync_api import expect

import clock
from tests.browser.conftest import create_token, screenshot, serious_axe_violations, sign_up

pytestmark = pytest.mark.browser


def deliver(server_url, webhook_url, secret, meeting_id):
    """Post a V2 delivery signed with ``secret`` to the webhook URL and return the status."""
    body = json.dumps({
        "event": "Transcription completed",
        "timestamp": int(clock.utcnow().timestamp() * 1000),
        "meeting_id": meeting_id,
        "client_reference_id": None,
    }).encode()
    signature = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    path = webhook_url[webhook_url.index("/webhooks/"):]
    request = urllib.request.Request(server_url + path, data=body, method="POST",
                                     headers={"Content-Type": "application/json", "X-Hub-Signature": signature})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


def check_page(page, name):
    screenshot(page, name)
    assert serious_axe_violations(page) == []


def test_fireflies_workflow_states(page, live_server, real_clock):
    sign_up(page)
    secret = create_token(page, "Fireflies Webhook", expires="1 hour")
    webhook_url = page.locator("#webhook-url").input_value()

    page.goto("/integrations")
    page.get_by_label("Fireflies API key").fill("ff-browser-test-key")
    page.get_by_role("button", name="Save key").click()

    page.goto("/workflows")
    card = page.locator("#workflow-fireflies")
    expect(card).to_contain_text("Setup Required")
    card.get_by_label("Token for this workflow").select_option(label="Fireflies Webhook (…" + secret[-4:] + ", active)")
    card.get_by_role("button", name="Link token").click()
    expect(card).to_contain_text("No delivery has arrived yet.")

    assert deliver(live_server.url, webhook_url, secret, "meeting-1") == 200
    page.reload()
    expect(card.locator(".badge")).to_have_text("Active")
    expect(card).to_contain_text("Last delivery just now: accepted.")
    check_page(page, "workflows-active")

    real_clock.shift(timedelta(hours=1, seconds=1))
    page.reload()
    expect(card.locator(".badge")).to_have_text("Setup Required")
    expect(card).to_contain_text("The linked Hex Key \u201cFireflies Webhook\u201d expired on")
    check_page(page, "workflows-key-expired")
    real_clock.shift(-timedelta(hours=1, seconds=1))

    assert deliver(live_server.url, webhook_url, secrets.token_hex(16), "meeting-2") == 401
    page.reload()
    expect(card.locator(".badge")).to_have_text("Setup Required")
    expect(card).to_contain_text("rejected: signature mismatch; the secret in Fireflies is not this key.")
    check_page(page, "workflows-signature-mismatch")
