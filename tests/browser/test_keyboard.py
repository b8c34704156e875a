"""Create, copy and revoke a token with the keyboard alone, with a visible focus ring at each step."""

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import call_me, sign_up

pytestmark = pytest.mark.browser

# Enough presses to cross the whole Tokens page with a reveal panel and a few rows.
MAX_TABS = 40

FOCUS_STATE = """() => {
  const element = document.activeElement;
  const style = getComputedStyle(element);
  return {
    element: element.outerHTML.slice(0, 80),
    focusVisible: element.matches(":focus-visible"),
    outlineStyle: style.outlineStyle,
    outlineWidth: parseFloat(style.outlineWidth),
  };
}"""


def assert_focus_ring(page):
    state = page.evaluate(FOCUS_STATE)
    assert state["focusVisible"], f"No :focus-visible on {state['element']}"
    assert state["outlineStyle"] == "solid", f"No outline on {state['element']}"
    assert state["outlineWidth"] >= 2, f"Outline thinner than 2px on {state['element']}"


def tab_to(page, locator):
    """Press Tab until ``locator`` has focus, checking the focus ring of every element on the way."""
    for _ in range(MAX_TABS):
        page.keyboard.press("Tab")
        assert_focus_ring(page)
        if locator.evaluate("element => element === document.activeElement"):
            return
    raise AssertionError(f"{locator} was not reached with {MAX_TABS} presses of Tab.")


def test_create_copy_and_revoke_by_keyboard(page, live_server):
    sign_up(page)
    name_field = page.get_by_label("Name", exact=True)

    page.keyboard.press("Tab")
    skip_link = page.get_by_role("link", name="Skip to main content")
    expect(skip_link).to_be_focused()
    expect(skip_link).to_be_in_viewport()
    assert_focus_ring(page)
    page.keyboard.press("Enter")
    # After the skip link, Tab stays in the main content: the API link, then the form.
    tab_to(page, name_field)

    tab_to(page, page.get_by_role("link", name="Create your first token"))
    page.keyboard.press("Enter")
    expect(name_field).to_be_focused()
    assert_focus_ring(page)
    page.keyboard.type("Keyboard key")

    tab_to(page, page.get_by_label("Hex Key"))
    page.keyboard.press("ArrowRight")
    expect(page.get_by_label("JWT Token")).to_be_checked()
    page.keyboard.press("ArrowLeft")
    expect(page.get_by_label("Hex Key")).to_be_checked()

    expires = page.get_by_label("Expires In")
    tab_to(page, expires)
    page.keyboard.press("ArrowDown")
    expect(expires).to_have_value("90d")

    tab_to(page, page.get_by_role("button", name="Generate API Key"))
    page.keyboard.press("Enter")
    panel = page.locator("#reveal-panel")
    expect(panel).to_be_focused()
    assert_focus_ring(page)
    value = panel.locator("#token-value").input_value()

    status = panel.locator("[data-copy-status]")
    expect(status).to_have_attribute("role", "status")
    expect(status).to_have_attribute("aria-live", "polite")
    tab_to(page, panel.get_by_role("button", name="Copy").first)
    page.keyboard.press("Space")
    expect(status).to_have_text("Copied")
    assert page.evaluate("navigator.clipboard.readText()") == value

    webhook_url = panel.locator("#webhook-url").input_value()
    tab_to(page, panel.get_by_role("button", name="Copy").nth(1))
    page.keyboard.press("Enter")
    expect(status).to_have_text("Copied")
    assert page.evaluate("navigator.clipboard.readText()") == webhook_url

    tab_to(page, panel.get_by_role("button", name="Done, I have copied it"))
    page.keyboard.press("Space")
    expect(panel).to_have_count(0)
    expect(name_field).to_be_focused()
    assert call_me(live_server.url, value)[0] == 200

    page.once("dialog", lambda dialog: dialog.accept())
    tab_to(page, page.get_by_role("button", name="Revoke Keyboard key"))
    page.keyboard.press("Enter")
    expect(page.locator("#token-rows tr", has_text="Keyboard key")).to_have_count(0)
    expect(page.locator("#alerts")).to_contain_text("was revoked")
    assert call_me(live_server.url, value)[0] == 401
