"""The dashboard in a real Chromium, driven by Playwright, against the app served over HTTP."""

import re
from datetime import datetime, timezone

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import call_me, create_token, fill_create_form, screenshot, sign_up
from tests.conftest import PASSWORD

pytestmark = pytest.mark.browser


def test_create_copy_reload_and_revoke_hex_key(page, live_server):
    sign_up(page)
    expect(page.locator(".empty-state")).to_be_visible()

    value = create_token(page, "Fireflies Webhook")
    assert re.fullmatch(r"[0-9a-f]{32}", value)
    expect(page.locator("#reveal-panel")).to_be_focused()
    expect(page.locator("#reveal-panel")).to_contain_text("It will not be shown again.")
    row = page.locator("#token-rows tr", has_text="Fireflies Webhook")
    expect(row).to_contain_text("Active")
    expect(row).to_contain_text(value[-4:])

    page.get_by_role("button", name="Copy").first.click()
    expect(page.locator("[data-copy-status]")).to_have_text("Copied")
    assert page.evaluate("navigator.clipboard.readText()") == value

    webhook_url = page.locator("#webhook-url").input_value()
    page.get_by_role("button", name="Copy").nth(1).click()
    expect(page.locator("[data-copy-status]")).to_have_text("Copied")
    assert page.evaluate("navigator.clipboard.readText()") == webhook_url
    assert webhook_url.startswith(live_server.url + "/webhooks/fireflies/")

    page.reload()
    assert value not in page.content()
    expect(page.locator("#reveal-panel")).to_have_count(0)
    assert call_me(live_server.url, value)[0] == 200

    page.once("dialog", lambda dialog: dialog.dismiss())
    page.get_by_role("button", name="Revoke Fireflies Webhook").click()
    expect(row).to_have_count(1)
    assert call_me(live_server.url, value)[0] == 200

    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Revoke Fireflies Webhook").click()
    expect(page.locator("#token-rows tr", has_text="Fireflies Webhook")).to_have_count(0)
    expect(page.locator("#alerts")).to_contain_text("was revoked")
    status, body = call_me(live_server.url, value)
    assert status == 401
    assert body["error"] == "invalid_token"


def test_jwt_token_works_and_dismiss_hides_value(page, live_server):
    sign_up(page)
    value = create_token(page, "Browser extension", kind="JWT Token", expires="1 hour")
    status, body = call_me(live_server.url, value)
    assert status == 200
    assert body["user"]["email"] == "ada@example.com"

    page.get_by_role("button", name="Done, I have copied it").click()
    expect(page.locator("#reveal-panel")).to_have_count(0)
    assert value not in page.content()


def test_reveal_panel_stays_until_dismissed(page):
    page.expected_statuses.append(422)
    sign_up(page)
    create_token(page, "Old token")
    value = create_token(page, "New token")
    panel = page.locator("#reveal-panel")

    page.get_by_role("button", name="Generate API Key").click()
    expect(page.locator("#name-error")).not_to_be_empty()
    expect(panel).to_be_visible()
    expect(panel.locator("#token-value")).to_have_value(value)

    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Revoke Old token").click()
    expect(page.locator("#token-rows tr", has_text="Old token")).to_have_count(0)
    expect(panel).to_be_visible()
    expect(panel.locator("#token-value")).to_have_value(value)

    page.get_by_role("button", name="Done, I have copied it").click()
    expect(panel).to_have_count(0)


def test_validation_error_appears_next_to_field(page):
    page.expected_statuses.append(422)
    sign_up(page)
    page.get_by_label("Name", exact=True).fill("   ")
    page.get_by_role("button", name="Generate API Key").click()
    expect(page.locator("#name-error")).to_contain_text("Enter a name")
    expect(page.get_by_label("Name", exact=True)).to_have_attribute("aria-invalid", "true")
    border_color = "element => getComputedStyle(element).borderTopColor"
    name_border = page.get_by_label("Name", exact=True).evaluate(border_color)
    assert name_border != page.get_by_label("Description").evaluate(border_color)

    page.get_by_label("Name", exact=True).fill("x" * 300)
    page.get_by_role("button", name="Generate API Key").click()
    expect(page.locator("#name-error")).to_have_text("Use at most 100 characters.")
    expect(page.locator("#reveal-panel")).to_have_count(0)


def test_copy_falls_back_to_selection_without_clipboard_api(page):
    page.add_init_script("Object.defineProperty(Navigator.prototype, 'clipboard', {get: () => undefined});")
    sign_up(page)
    value = create_token(page, "Plain HTTP")
    page.get_by_role("button", name="Copy").first.click()
    expect(page.locator("[data-copy-status]")).to_contain_text("Press Ctrl+C")
    selected = page.evaluate(
        "() => { const f = document.activeElement; return f.value.substring(f.selectionStart, f.selectionEnd); }"
    )
    assert selected == value


def test_expired_session_returns_after_sign_in(page):
    page.expected_statuses.append(401)
    sign_up(page)
    create_token(page, "Keep me")
    page.reload()
    page.context.clear_cookies()

    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Revoke Keep me").click()
    expect(page).to_have_url(re.compile(r"/signin\?next=/tokens$"))
    expect(page.get_by_role("status")).to_have_text("Sign in to continue.")
    screenshot(page, "signin-after-expiry")

    page.get_by_label("Email").fill("ada@example.com")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(re.compile(r"/tokens$"))
    expect(page.locator("#token-rows tr", has_text="Keep me")).to_have_count(1)


@pytest.mark.parametrize("zone, expected", [
    ("America/Los_Angeles", "Jan 15, 2027, 11:30\u202fAM"),
    ("Asia/Kolkata", "Jan 16, 2027, 1:00\u202fAM"),
])
def test_expires_column_shows_local_time(browser, live_server, real_clock, zone, expected):
    instant = datetime(2027, 1, 15, 18, 30, tzinfo=timezone.utc)
    context = browser.new_context(base_url=live_server.url, locale="en-US", timezone_id=zone)
    page = context.new_page()
    sign_up(page)
    fill_create_form(page, "Zoned", expires="1 hour")
    # Stop the clock at the instant just before the click, so that the expiry is exact.
    real_clock.freeze(instant)
    page.get_by_role("button", name="Generate API Key").click()
    cell = page.locator("#token-rows tr", has_text="Zoned").locator("time[data-local-time]")
    expect(cell).to_have_attribute("datetime", "2027-01-15T19:30:00Z")
    # Intl puts a narrow no-break space before AM/PM, and \s matches it as well as a plain space.
    expect(cell).to_have_text(re.compile("^" + re.sub(r"\s", r"\\s", expected)))
    context.close()


@pytest.fixture
def no_js_page(browser, live_server):
    context = browser.new_context(base_url=live_server.url, java_script_enabled=False)
    yield context.new_page()
    context.close()


def test_create_and_revoke_work_without_javascript(no_js_page, live_server):
    page = no_js_page
    sign_up(page)
    value = create_token(page, "No script")
    assert call_me(live_server.url, value)[0] == 200

    page.get_by_role("button", name="Revoke No script").click()
    expect(page).to_have_url(re.compile(r"/tokens/\d+/revoke\??$"))
    page.get_by_role("button", name="Revoke token").click()
    expect(page).to_have_url(re.compile(r"/tokens$"))
    expect(page.locator("#token-rows tr", has_text="No script")).to_have_count(0)
    assert call_me(live_server.url, value)[0] == 401
