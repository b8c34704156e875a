"""Every page and state of the dashboard: axe-core finds no serious problem, and a screenshot is saved."""

import re
from datetime import timedelta

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import create_token, screenshot, serious_axe_violations, sign_up
from tests.conftest import PASSWORD

pytestmark = pytest.mark.browser

LAYOUTS = {
    "1280": {"viewport": {"width": 1280, "height": 800}, "color_scheme": "light"},
    "390": {"viewport": {"width": 390, "height": 844}, "color_scheme": "light", "is_mobile": True, "has_touch": True},
    "1280-dark": {"viewport": {"width": 1280, "height": 800}, "color_scheme": "dark"},
    "390-dark": {"viewport": {"width": 390, "height": 844}, "color_scheme": "dark", "is_mobile": True, "has_touch": True},
}


def visit_every_page(page, clock):
    """Walk through every page and state a user can see, yielding the name of each one."""
    page.goto("/signin")
    yield "signin"

    page.goto("/signup")
    yield "signup"

    page.get_by_label("Email").fill("not an email")
    page.get_by_role("button", name="Sign up").click()
    expect(page.locator("#email-error")).not_to_be_empty()
    yield "signup-validation-error"

    sign_up(page)
    expect(page.locator(".empty-state")).to_be_visible()
    yield "tokens-empty"

    page.get_by_role("button", name="Generate API Key").click()
    expect(page.locator("#name-error")).not_to_be_empty()
    yield "tokens-validation-error"

    create_token(page, "Short test", expires="1 hour")
    clock.shift(timedelta(hours=2))
    create_token(page, "Browser extension", kind="JWT Token", expires="90 days")
    create_token(page, "Fireflies Webhook")
    yield "tokens-reveal"

    page.goto("/tokens")
    expect(page.locator("#token-rows tr")).to_have_count(3)
    expect(page.locator("#token-rows tr", has_text="Short test")).to_contain_text("Expired")
    yield "tokens-list"

    revoke_url = page.locator("#token-rows form").first.get_attribute("action")
    page.goto(revoke_url)
    expect(page.get_by_role("heading", name=re.compile("Revoke"))).to_be_visible()
    yield "revoke-confirm"

    page.goto("/tokens/999999/revoke")
    expect(page.get_by_role("heading", name="Error 404")).to_be_visible()
    yield "error-404"

    page.goto("/actions")
    expect(page.get_by_role("heading", name="Actions", exact=True)).to_be_visible()
    yield "actions-empty"

    page.get_by_role("button", name="Add action").click()
    expect(page.locator("#action-title-error")).to_have_text("Enter a title.")
    yield "actions-validation-error"

    page.get_by_label("Title").fill("Reply to Grace about the release")
    page.get_by_label("Source URL").fill("https://example.com/mail/1")
    page.get_by_role("button", name="Add action").click()
    expect(page.locator("#action-rows li")).to_have_count(1)
    yield "actions-list"

    page.goto("/meetings")
    expect(page.locator(".empty-state")).to_be_visible()
    yield "meetings-empty"

    page.goto("/integrations")
    expect(page.get_by_label("Fireflies API key")).to_be_visible()
    yield "integrations"

    page.goto("/workflows")
    expect(page.locator("#workflow-fireflies")).to_contain_text("Setup Required")
    yield "workflows-setup-required"

    page.goto("/tokens")
    page.get_by_role("link", name="Fireflies Webhook").click()
    expect(page.get_by_role("button", name="Send test delivery")).to_be_visible()
    page.get_by_role("button", name="Send test delivery").click()
    expect(page.get_by_role("status").first).to_contain_text("accepted the test delivery")
    yield "token-detail"

    page.goto("/tokens/activity")
    expect(page.get_by_role("heading", name="Token activity")).to_be_visible()
    yield "token-activity"

    page.goto("/api-docs")
    expect(page.get_by_role("heading", name="API", exact=True)).to_be_visible()
    yield "api-docs"

    page.goto("/tokens")
    page.get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(re.compile(r"/signin$"))
    page.get_by_label("Email").fill("ada@example.com")
    page.get_by_label("Password").fill(PASSWORD + " typo")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_contain_text("incorrect")
    yield "signin-failed"


@pytest.fixture(params=LAYOUTS, ids=str)
def layout(request):
    return request.param


@pytest.fixture
def context_options(layout):
    return {"locale": "en-US", "timezone_id": "UTC", **LAYOUTS[layout]}


def test_every_page_passes_axe(page, layout, real_clock):
    page.expected_statuses.extend([401, 404, 422])
    violations = {}
    for state in visit_every_page(page, real_clock):
        screenshot(page, f"{state}-{layout}")
        found = serious_axe_violations(page)
        if found:
            violations[state] = found
    assert violations == {}


NARROW_CELLS = """() => [...document.querySelectorAll("#token-rows td")].map(cell => {
  const box = cell.getBoundingClientRect();
  return {
    text: cell.innerText.trim().slice(0, 40),
    left: box.left,
    right: box.right,
    label: getComputedStyle(cell, "::before").content,
    fontSize: parseFloat(getComputedStyle(cell).fontSize),
  };
})"""


@pytest.mark.parametrize("context_options", [
    {"locale": "en-US", "timezone_id": "UTC", "viewport": {"width": 360, "height": 740}, "is_mobile": True},
])
def test_token_list_is_readable_at_360_px(page):
    sign_up(page)
    create_token(page, "N" * 100)
    create_token(page, "Browser extension", kind="JWT Token")
    page.reload()
    expect(page.locator("#token-rows tr")).to_have_count(2)
    screenshot(page, "tokens-list-360")

    widths = page.evaluate("[document.documentElement.scrollWidth, document.documentElement.clientWidth]")
    assert widths[0] <= widths[1], f"The page scrolls sideways: {widths}"
    wrap = page.evaluate("(el => [el.scrollWidth, el.clientWidth])(document.querySelector('.table-wrap'))")
    assert wrap[0] <= wrap[1], f"The table scrolls sideways: {wrap}"

    for cell in page.evaluate(NARROW_CELLS):
        assert cell["left"] >= 0, f"Cell starts left of the screen: {cell}"
        assert cell["right"] <= 360, f"Cell ends right of the screen: {cell}"
        assert cell["fontSize"] >= 14, f"Text smaller than 14px: {cell}"
    labels = [cell["label"] for cell in page.evaluate(NARROW_CELLS)[:7]]
    for column in ("Type", "Expires", "Status", "Created", "Ends with"):
        assert any(column in label for label in labels), f"No {column} label in {labels}"

    # Chromium keeps the table semantics of the cards, so a screen reader reads each value with its column.
    expect(page.get_by_role("row", name=re.compile("^Browser extension"))).to_have_count(1)
    expect(page.get_by_role("columnheader", name="Expires")).to_have_count(1)
    expect(page.get_by_role("cell", name="JWT", exact=True)).to_have_count(1)

    trash = page.get_by_role("button", name="Revoke Browser extension").bounding_box()
    assert trash["width"] >= 24
    assert trash["height"] >= 24
    assert trash["x"] + trash["width"] <= 360

    page.goto(page.locator("#token-rows form").first.get_attribute("action"))
    sidebar = page.get_by_role("navigation", name="Main").bounding_box()
    # Two rows: the app name and Sign out, then every section, none hidden off-screen.
    assert sidebar["height"] <= 125, f"The top bar of a short page is {sidebar['height']}px tall."
