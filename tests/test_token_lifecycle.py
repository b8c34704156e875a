"""Token lifecycle: last use, expiry header, Expiring soon, Create similar and the activity page."""

import re
from datetime import timedelta

from sqlalchemy import select

from extensions import db
from models import ApiToken, TokenEvent, Workflow
from tests.conftest import latest_token, token_value_from


def call_me(app, value):
    return app.test_client().get("/api/v1/me", headers={"Authorization": f"Bearer {value}"})


def token_row(app, token_id):
    with app.app_context():
        token = db.session.get(ApiToken, token_id)
        db.session.expunge(token)
        return token


def events(app):
    with app.app_context():
        return [event.kind for event in db.session.scalars(select(TokenEvent).order_by(TokenEvent.id))]


def test_last_use_written_once_a_minute(app, user, real_clock):
    value = token_value_from(user.create_token(kind="jwt").get_data(as_text=True))
    token_id = latest_token(app, user.email).id
    real_clock.freeze(real_clock.utcnow())

    call_me(app, value)
    first = token_row(app, token_id).last_used_at
    assert first is not None
    assert token_row(app, token_id).last_used_ip == "127.0.0.1"

    real_clock.shift(timedelta(seconds=59))
    call_me(app, value)
    assert token_row(app, token_id).last_used_at == first

    real_clock.shift(timedelta(seconds=2))
    call_me(app, value)
    assert token_row(app, token_id).last_used_at == first + timedelta(seconds=61)


def test_last_use_shown_on_row(app, user):
    value = token_value_from(user.create_token(name="Script", kind="hex").get_data(as_text=True))
    assert "Never" in user.client.get("/tokens").get_data(as_text=True)
    call_me(app, value)
    page = user.client.get("/tokens").get_data(as_text=True)
    assert '<span class="mono small">127.0.0.1</span>' in page


def test_expiry_header_on_authenticated_responses(app, user):
    value = token_value_from(user.create_token(kind="jwt").get_data(as_text=True))
    expires_at = latest_token(app, user.email).expires_at.strftime("%Y-%m-%dT%H:%M:%SZ")
    assert call_me(app, value).headers["Token-Expires-At"] == expires_at
    missing = app.test_client().get("/api/v1/actions/999999", headers={"Authorization": f"Bearer {value}"})
    assert missing.status_code == 404
    assert missing.headers["Token-Expires-At"] == expires_at
    assert "Token-Expires-At" not in app.test_client().get("/api/v1/me").headers


def test_expiring_soon_badge_under_tenth_of_lifetime(user, real_clock):
    user.create_token(name="Short", expires_in="1h")
    real_clock.shift(timedelta(minutes=53))
    assert "badge-expiring" not in user.client.get("/tokens").get_data(as_text=True)
    real_clock.shift(timedelta(minutes=2))
    page = user.client.get("/tokens").get_data(as_text=True)
    assert '<span class="badge badge-expiring">Expiring soon</span>' in page
    assert "Create similar" in page


def test_create_similar_prefills_form(app, user, real_clock):
    user.create_token(name="Nightly sync", kind="jwt", expires_in="7d", description="Cron on the build box")
    token_id = latest_token(app, user.email).id
    real_clock.shift(timedelta(days=8))
    page = user.client.get(f"/tokens?similar={token_id}").get_data(as_text=True)
    assert 'value="Nightly sync"' in page
    assert re.search(r'<input checked id="kind-1"[^>]*value="jwt"|value="jwt"[^>]*checked', page)
    assert '<option selected value="7d">' in page
    assert "Cron on the build box</textarea>" in page
    assert f'name="replaces" type="hidden" value="{token_id}"' in page


def test_create_similar_moves_workflow_and_offers_revoke(app, user):
    user.create_token(name="Extension", kind="jwt", expires_in="1h")
    old_id = latest_token(app, user.email).id
    user.client.post("/workflows/link", data={"kind": "extension", "token_id": old_id, "csrf_token": user.csrf_token})

    response = user.client.post("/tokens", headers=user.htmx_headers(), data={
        "name": "Extension", "kind": "jwt", "expires_in": "1h", "description": "", "replaces": str(old_id),
    })
    body = response.get_data(as_text=True)
    new_id = latest_token(app, user.email).id
    assert response.status_code == 201
    assert "Workflows that used \u201cExtension\u201d now use this token." in body
    assert f'action="/tokens/{old_id}/revoke"' in body
    with app.app_context():
        assert db.session.scalar(select(Workflow.token_id).where(Workflow.kind == "extension")) == new_id


def test_create_similar_ignores_other_users_token(app, user, other_user):
    other_user.create_token(name="Theirs")
    foreign = latest_token(app, other_user.email)
    page = user.client.get(f"/tokens?similar={foreign.id}").get_data(as_text=True)
    assert "Theirs" not in page


def test_activity_lists_token_events(app, user, real_clock):
    value = token_value_from(user.create_token(name="Old", kind="hex", expires_in="1h").get_data(as_text=True))
    call_me(app, value)
    call_me(app, value)
    real_clock.shift(timedelta(hours=1, seconds=1))
    for _ in range(5):
        assert call_me(app, value).status_code == 401

    revoked_value = token_value_from(user.create_token(name="Gone", kind="hex").get_data(as_text=True))
    token_id = latest_token(app, user.email).id
    user.client.post(f"/tokens/{token_id}/revoke", data={"csrf_token": user.csrf_token})
    call_me(app, revoked_value)

    assert events(app) == ["created", "first_used", "rejected_expired", "created", "revoked", "rejected_revoked"]
    page = user.client.get("/tokens/activity").get_data(as_text=True)
    for label in ("Created", "Revoked", "First used", "Request rejected: the token had expired",
                  "Request rejected: the token was revoked"):
        assert label in page


def test_expired_jwt_rejection_is_an_event(app, user, real_clock):
    value = token_value_from(user.create_token(kind="jwt", expires_in="1h").get_data(as_text=True))
    real_clock.shift(timedelta(hours=2))
    assert call_me(app, value).status_code == 401
    assert events(app) == ["created", "rejected_expired"]
