"""A token's detail page: delivery log, test deliveries and the signed curl command."""

import html
import re
from datetime import timedelta

from sqlalchemy import func, select

from extensions import db
from models import Meeting, WebhookAttempt
from tests.conftest import latest_token, token_value_from, webhook_url_from


def create_hex(app, user):
    body = user.create_token(name="Fireflies", kind="hex", expires_in="1h").get_data(as_text=True)
    return token_value_from(body), webhook_url_from(body), latest_token(app, user.email).id


def test_test_delivery_logged_as_test_without_meeting(app, user):
    _, _, token_id = create_hex(app, user)
    response = user.client.post(f"/tokens/{token_id}/test-delivery", data={"csrf_token": user.csrf_token})
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "The receiver accepted the test delivery. No meeting was stored." in page
    assert '<span class="badge badge-expiring">Test</span>' in page
    with app.app_context():
        entry = db.session.scalar(select(WebhookAttempt))
        assert (entry.verdict, entry.is_test) == ("accepted", True)
        assert db.session.scalar(select(func.count()).select_from(Meeting)) == 0


def test_test_delivery_on_expired_key_shows_rejection(app, user, real_clock):
    _, _, token_id = create_hex(app, user)
    real_clock.shift(timedelta(hours=2))
    page = user.client.post(f"/tokens/{token_id}/test-delivery",
                            data={"csrf_token": user.csrf_token}).get_data(as_text=True)
    assert "The receiver rejected the test delivery: The Hex Key of this webhook has expired." in page
    assert "Rejected: key expired" in page


def test_curl_command_sends_signed_delivery(app, user):
    secret, url, token_id = create_hex(app, user)
    page = user.client.get(f"/tokens/{token_id}").get_data(as_text=True)
    command = html.unescape(re.search(r'<textarea id="curl-command"[^>]*>(.*?)</textarea>', page, re.S).group(1))
    assert secret not in page
    assert f"curl -X POST '{url}'" in command

    signature = re.search(r"X-Hub-Signature: ([0-9a-f]{64})'", command).group(1)
    body = re.search(r"--data-raw '(.*)'", command).group(1).encode()
    response = app.test_client().post(url[url.index("/webhooks/"):], data=body,
                                      headers={"X-Hub-Signature": signature, "Content-Type": "application/json"})
    assert response.status_code == 200
    assert response.get_json()["status"] == "accepted"


def test_detail_page_lists_log_entries(app, user):
    _, url, token_id = create_hex(app, user)
    app.test_client().post(url[url.index("/webhooks/"):], data=b"{}", headers={"X-Hub-Signature": "0" * 64})
    page = user.client.get(f"/tokens/{token_id}").get_data(as_text=True)
    assert "Rejected: signature mismatch; the secret in Fireflies is not this key" in page


def test_revoked_token_detail_still_shows_log(app, user):
    _, _, token_id = create_hex(app, user)
    user.client.post(f"/tokens/{token_id}/revoke", data={"csrf_token": user.csrf_token})
    page = user.client.get(f"/tokens/{token_id}").get_data(as_text=True)
    assert "Revoked" in page
    assert "Send test delivery" not in page
    assert 'id="curl-command"' not in page
