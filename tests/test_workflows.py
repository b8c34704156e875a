"""The Workflows page: each status and reason, reached through real requests."""

import html
import re
import secrets
from datetime import timedelta

import pytest
from sqlalchemy import select

from extensions import db
from models import Workflow
from tests.conftest import latest_token, token_value_from, webhook_url_from
from tests.fake_fireflies import INVALID_KEY
from tests.test_webhooks import post, sign, v2_body


@pytest.fixture
def app(fireflies_app):
    return fireflies_app


def card(user, kind):
    """Return the text of one workflow card, tags removed and spaces collapsed."""
    page = user.client.get("/workflows").get_data(as_text=True)
    match = re.search(rf'<section class="card workflow-card" id="workflow-{kind}".*?</section>', page, re.S)
    assert match, f"The Workflows page has no {kind} card."
    text = re.sub(r"<[^>]+>", " ", match.group(0))
    return " ".join(html.unescape(text).split()), match.group(0)


def status_of(user, kind):
    return re.search(r'data-status="([a-z_]+)"', card(user, kind)[1]).group(1)


def create_hex(app, user, name="Fireflies", expires_in="1h"):
    body = user.create_token(name=name, kind="hex", expires_in=expires_in).get_data(as_text=True)
    url = webhook_url_from(body)
    return {"secret": token_value_from(body), "path": url[url.index("/webhooks/"):],
            "id": latest_token(app, user.email).id}


def link(user, kind, token_id):
    return user.client.post("/workflows/link",
                            data={"kind": kind, "token_id": token_id, "csrf_token": user.csrf_token})


def save_key(user, api_key="ff-key-1234"):
    user.client.post("/integrations/fireflies", data={"api_key": api_key, "csrf_token": user.csrf_token})


def deliver(app, hook, secret=None, meeting_id="meeting-1"):
    body = v2_body(meeting_id)
    return post(app.test_client(), hook["path"], body, sign(secret or hook["secret"], body))


@pytest.fixture
def ready(app, user):
    """A Fireflies workflow with a linked Hex Key and a saved API key, before any delivery."""
    hook = create_hex(app, user)
    assert link(user, "fireflies", hook["id"]).status_code == 303
    save_key(user)
    return hook


def test_new_user_needs_setup_everywhere(user):
    for kind in ("fireflies", "extension", "api"):
        assert status_of(user, kind) == "setup_required"
    text, _ = card(user, "fireflies")
    assert "No Hex Key is linked to this workflow." in text
    assert "No Fireflies API key is saved" in text
    assert "No JWT Token is linked to this workflow." in card(user, "api")[0]


def test_sidebar_links_workflows(user):
    page = user.client.get("/workflows").get_data(as_text=True)
    assert '<a href="/workflows" aria-current="page">Workflows</a>' in page


def test_fireflies_active_after_good_delivery(app, user, ready):
    assert deliver(app, ready).status_code == 200
    text, _ = card(user, "fireflies")
    assert status_of(user, "fireflies") == "active"
    assert "Last delivery just now: accepted." in text
    assert "Fireflies" in text


def test_fireflies_without_delivery_needs_setup(user, ready):
    text, _ = card(user, "fireflies")
    assert status_of(user, "fireflies") == "setup_required"
    assert "No delivery has arrived yet." in text


def test_fireflies_expired_key_needs_setup(app, user, ready, real_clock):
    deliver(app, ready)
    real_clock.shift(timedelta(hours=1, seconds=1))
    text, raw = card(user, "fireflies")
    assert status_of(user, "fireflies") == "setup_required"
    assert "The linked Hex Key \u201cFireflies\u201d expired on" in text
    assert f"/tokens?similar={ready['id']}" in raw


def test_fireflies_delivery_after_expiry_shows_reason(app, user, ready, real_clock):
    real_clock.shift(timedelta(hours=1, seconds=1))
    deliver(app, ready)
    assert "was rejected: key expired" in card(user, "fireflies")[0]


def test_fireflies_revoked_key_needs_setup(app, user, ready):
    deliver(app, ready)
    user.client.post(f"/tokens/{ready['id']}/revoke", data={"csrf_token": user.csrf_token})
    text, _ = card(user, "fireflies")
    assert status_of(user, "fireflies") == "setup_required"
    assert "The linked Hex Key \u201cFireflies\u201d was revoked on" in text


def test_fireflies_expiring_soon(app, user, ready, real_clock):
    deliver(app, ready)
    real_clock.shift(timedelta(minutes=55))
    text, _ = card(user, "fireflies")
    assert status_of(user, "fireflies") == "expiring"
    assert "expires on" in text


def test_fireflies_signature_mismatch_needs_setup(app, user, ready):
    deliver(app, ready, secret=secrets.token_hex(16))
    text, _ = card(user, "fireflies")
    assert status_of(user, "fireflies") == "setup_required"
    assert "was rejected: signature mismatch; the secret in Fireflies is not this key." in text


def test_fireflies_failed_key_test_needs_setup(app, user, ready):
    deliver(app, ready)
    save_key(user, INVALID_KEY)
    user.client.post("/integrations/fireflies/test", data={"csrf_token": user.csrf_token})
    text, _ = card(user, "fireflies")
    assert status_of(user, "fireflies") == "setup_required"
    assert "The last test of your Fireflies API key failed" in text


def test_fireflies_link_taken_from_delivery_url(app, user):
    hook = create_hex(app, user, name="Meetings hook")
    create_hex(app, user, name="Another key")
    save_key(user)
    deliver(app, hook)
    text, _ = card(user, "fireflies")
    assert "Meetings hook" in text
    assert "taken from the webhook URL that received the latest delivery" in text
    assert status_of(user, "fireflies") == "active"


def test_test_delivery_is_not_a_real_delivery(app, user, ready):
    user.client.post(f"/tokens/{ready['id']}/test-delivery", data={"csrf_token": user.csrf_token})
    assert "No delivery has arrived yet." in card(user, "fireflies")[0]


def test_link_rejects_other_users_token(app, user, other_user):
    other_user.create_token(name="not yours", kind="hex")
    foreign = latest_token(app, other_user.email)
    response = link(user, "fireflies", foreign.id)
    assert response.status_code == 303
    with app.app_context():
        assert db.session.scalars(select(Workflow)).all() == []


def test_link_rejects_wrong_token_kind(app, user):
    hook = create_hex(app, user)
    link(user, "api", hook["id"])
    page = user.client.get("/workflows").get_data(as_text=True)
    assert "Choose one of your JWT Tokens that is not revoked." in page
    with app.app_context():
        assert db.session.scalars(select(Workflow)).all() == []


def test_api_workflow_needs_first_request(app, user):
    body = user.create_token(name="Script", kind="jwt", expires_in="30d").get_data(as_text=True)
    link(user, "api", latest_token(app, user.email).id)
    assert "No request has used this token yet." in card(user, "api")[0]

    value = token_value_from(body)
    assert app.test_client().get("/api/v1/me", headers={"Authorization": f"Bearer {value}"}).status_code == 200
    text, _ = card(user, "api")
    assert status_of(user, "api") == "active"
    assert "Last used just now from 127.0.0.1." in text
