"""Fixtures and helpers for driving the app in Debian's Chromium through Playwright."""

import json
import re
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from playwright.sync_api import expect, sync_playwright

from tests.conftest import PASSWORD

CHROMIUM = "/usr/bin/chromium"
# This machine has no network: keep Chromium from calling home.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
TESTS = Path(__file__).resolve().parent.parent
SCREENSHOTS = TESTS.parent / "test-artifacts" / "screenshots"
AXE_SCRIPT = TESTS / "vendor" / "axe-core-4.14.1" / "axe.min.js"

# Chromium logs every 4xx response to a script request as a console error. Tests that provoke
# one on purpose name its status here; any other console error fails the test.
EXPECTED_STATUS_LOG = "Failed to load resource: the server responded with a status of {}"


@pytest.fixture(scope="session")
def browser():
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def context_options():
    """Options of the browser context; a test overrides this fixture to change them."""
    return {"locale": "en-US", "timezone_id": "UTC"}


@pytest.fixture
def page(browser, live_server, context_options):
    """A page whose console errors and uncaught exceptions fail the test.

    ``page.expected_statuses`` lists the 4xx statuses a test provokes on purpose.
    """
    context = browser.new_context(base_url=live_server.url, **context_options)
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=live_server.url)
    page = context.new_page()
    page.expected_statuses = []
    errors = []
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    page.on("pageerror", lambda error: errors.append(f"Uncaught: {error}"))
    yield page
    context.close()
    expected = tuple(EXPECTED_STATUS_LOG.format(status) for status in page.expected_statuses)
    unexpected = [error for error in errors if not error.startswith(expected or ("\0",))]
    assert unexpected == [], f"Console errors: {unexpected}"


def screenshot(page, name):
    """Save a full-page PNG to test-artifacts/screenshots/, which git ignores."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


def serious_axe_violations(page):
    """Run axe-core on the page and return its serious and critical violations as text lines."""
    if not page.evaluate("typeof window.axe === 'object'"):
        # Evaluated through the DevTools protocol rather than as a <script> tag, which the
        # app's Content-Security-Policy (scripts from the app's origin only) would block.
        page.evaluate(AXE_SCRIPT.read_text())
    results = page.evaluate("axe.run(document, {resultTypes: ['violations']})")
    return [
        f"{violation['impact']} {violation['id']}: {violation['help']} at "
        + ", ".join(" ".join(node["target"]) for node in violation["nodes"])
        for violation in results["violations"]
        if violation["impact"] in ("serious", "critical")
    ]


def sign_up(page, email="ada@example.com"):
    page.goto("/signup")
    page.get_by_label("Name").fill("Ada Lovelace")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign up").click()
    expect(page).to_have_url(re.compile(r"/tokens$"))
    # The URL changes before the deferred scripts run. A click before htmx starts posts the
    # form natively, so a later reload would post it again.
    page.wait_for_load_state()


def fill_create_form(page, name, kind="Hex Key", expires="7 days"):
    page.get_by_label("Name", exact=True).fill(name)
    page.get_by_role("radio", name=kind).check()
    page.get_by_label("Expires In").select_option(label=expires)


def create_token(page, name, kind="Hex Key", expires="7 days"):
    """Create a token through the form and return the value that the reveal panel shows."""
    fill_create_form(page, name, kind=kind, expires=expires)
    page.get_by_role("button", name="Generate API Key").click()
    panel = page.locator("#reveal-panel")
    # Wait for this token's panel, not one still open from an earlier token.
    expect(panel.get_by_role("heading")).to_contain_text(f"\u201c{name}\u201d")
    return panel.locator("#token-value").input_value()


def call_me(server_url, token):
    """Call GET /api/v1/me with ``token`` as Bearer and return the status and the JSON body."""
    request = urllib.request.Request(f"{server_url}/api/v1/me", headers={"Authorization": f"Bearer {token}"})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.load(response)
    except urllib.error.HTTPError as error:
        return error.code, json.load(error)
