"""The Tokens page: create, reveal once, list, paginate and revoke."""

import html
from datetime import timedelta

import pytest
from extensions import db
from models import ApiToken
from tests.conftest import latest_token, sign_up, token_value_from, webhook_url_from


def test_create_hex_key_reveals_value_once(app, user):
    response = user.create_token(name="Fireflies Webhook", kind="hex", expires_in="7d")
    body = response.get_data(as_text=True)

    assert response.status_code == 201
    assert response.headers["Cache-Control"] == "no-store"
    value = token_value_from(body)
    assert len(value) == 32 and all(c in "0123456789abcdef" for c in value)
    assert "It will not be shown again." in body
    assert "/webhooks/fireflies/" in webhook_url_from(body)
    # The new row comes along for htmx to put at the top of the list.
    assert '<hx-partial hx-target="#token-rows" hx-swap="afterbegin">' in body
    assert f"…{value[-4:]}" in body

    page = user.client.get("/tokens").get_data(as_text=True)
    assert "Fireflies Webhook" in page
    assert value not in page
    assert 'id="token-value"' not in page


def test_create_jwt_token_has_no_webhook_url(user):
    response = user.create_token(name="Extension", kind="jwt", expires_in="24h")
    body = response.get_data(as_text=True)
    assert response.status_code == 201
    assert token_value_from(body).count(".") == 2
    assert 'id="webhook-url"' not in body


def test_token_lifetimes_are_exact(app, user):
    expected = {"1h": 3600, "24h": 86400, "7d": 7 * 86400, "30d": 30 * 86400, "90d": 90 * 86400}
    for choice, seconds in expected.items():
        assert user.create_token(name=choice, expires_in=choice).status_code == 201
        token = latest_token(app, user.email)
        assert (token.expires_at - token.created_at) == timedelta(seconds=seconds)
        assert token.expires_at.tzinfo is not None


def test_token_value_is_not_stored_in_plaintext(app, user, database_path):
    hex_value = token_value_from(user.create_token(kind="hex").get_data(as_text=True))
    jwt_value = token_value_from(user.create_token(kind="jwt").get_data(as_text=True))
    with app.app_context():
        db.engine.dispose()

    stored = database_path.read_bytes()
    for suffix in ("-wal", "-shm"):
        extra = database_path.with_name(database_path.name + suffix)
        if extra.exists():
            stored += extra.read_bytes()
    assert hex_value.encode() not in stored
    assert jwt_value.encode() not in stored
    assert jwt_value.split(".")[2].encode() not in stored


def test_plain_form_post_works_without_javascript(user):
    response = user.create_token(name="No JS", kind="jwt", htmx=False)
    body = response.get_data(as_text=True)
    assert response.status_code == 201
    assert response.headers["Cache-Control"] == "no-store"
    assert "<html" in body
    assert token_value_from(body)
    assert "No JS" in body


@pytest.mark.parametrize(
    "data, field, message",
    [
        ({"name": "   "}, "name", "Enter a name"),
        ({"name": "x" * 101}, "name", "Use at most 100 characters."),
        ({"name": "x" * 300}, "name", "Use at most 100 characters."),
        ({"name": "bad\x00name"}, "name", "cannot contain control characters"),
        ({"kind": "rsa"}, "kind", "Choose Hex Key or JWT Token."),
        ({"expires_in": "365d"}, "expires_in", "Choose 1 hour, 24 hours"),
        ({"expires_in": "2h"}, "expires_in", "Choose 1 hour, 24 hours"),
        ({"description": "d" * 501}, "description", "Use at most 500 characters."),
    ],
)
def test_invalid_input_gets_422_and_field_error(app, user, data, field, message):
    form = {"name": "Valid", "kind": "hex", "expires_in": "30d", "description": ""} | data
    response = user.create_token(**{"name": form["name"], "kind": form["kind"],
                                    "expires_in": form["expires_in"], "description": form["description"]})
    body = response.get_data(as_text=True)
    assert response.status_code == 422
    error_start = body.index(f'id="{field}-error"')
    assert message in html.unescape(body[error_start:error_start + 300])
    assert 'id="token-value"' not in body
    assert latest_token(app, user.email) is None


def test_unicode_and_markup_names_are_escaped(app, user):
    assert user.create_token(name="  🔑 Prod – Grüße  ").status_code == 201
    assert latest_token(app, user.email).name == "🔑 Prod – Grüße"

    assert user.create_token(name="<b>x</b>", description="<script>alert(1)</script>").status_code == 201
    token = latest_token(app, user.email)
    assert token.name == "<b>x</b>"
    assert token.description == "<script>alert(1)</script>"

    page = user.client.get("/tokens").get_data(as_text=True)
    assert "🔑 Prod – Grüße" in page
    assert "&lt;b&gt;x&lt;/b&gt;" in page
    assert "<b>x</b>" not in page
    assert "<script>alert(1)</script>" not in page


def test_list_shows_columns_newest_first(app, user):
    user.create_token(name="First", kind="hex")
    user.create_token(name="Second", kind="jwt", expires_in="1h")
    page = user.client.get("/tokens").get_data(as_text=True)

    assert page.index("Second") < page.index("First")
    token = latest_token(app, user.email)
    expires = token.expires_at.strftime("%Y-%m-%dT%H:%M:%SZ")
    assert f'<time datetime="{expires}" data-local-time>' in page
    assert ">JWT<" in page
    assert ">Hex<" in page
    assert ">Active<" in page


@pytest.mark.app_config(TOKENS_PER_PAGE=2)
def test_list_is_paginated_without_limit(app, user):
    for number in range(5):
        user.create_token(name=f"Token {number}")

    first = user.client.get("/tokens").get_data(as_text=True)
    assert "Token 4" in first
    assert "Token 3" in first
    assert "Token 2" not in first
    before = latest_token(app, user.email).id - 1
    assert f"/tokens?before={before}" in first

    second = user.client.get(f"/tokens?before={before}").get_data(as_text=True)
    assert "Token 2" in second
    assert "Token 1" in second
    assert "Token 4" not in second


def test_status_becomes_expired_when_clock_passes_expiry(user, real_clock):
    user.create_token(name="Short", expires_in="1h")
    real_clock.shift(timedelta(hours=1, seconds=1))
    page = user.client.get("/tokens").get_data(as_text=True)
    assert ">Expired<" in page
    assert ">Active<" not in page


def test_revoke_with_htmx_removes_row_and_keeps_record(app, user):
    user.create_token(name="To revoke")
    token = latest_token(app, user.email)

    response = user.client.delete(f"/tokens/{token.id}", headers=user.htmx_headers())
    assert response.status_code == 200
    assert f'id="token-{token.id}"' not in response.get_data(as_text=True)
    assert "was revoked" in response.get_data(as_text=True)

    with app.app_context():
        stored = db.session.get(ApiToken, token.id)
        assert stored.revoked_at is not None
    assert "To revoke" not in user.client.get("/tokens").get_data(as_text=True)
    # Revoked tokens cannot be revoked again or restored.
    assert user.client.delete(f"/tokens/{token.id}", headers=user.htmx_headers()).status_code == 404


def test_revoke_without_javascript_confirms_first(app, user):
    user.create_token(name="No JS revoke")
    token = latest_token(app, user.email)

    confirm = user.client.get(f"/tokens/{token.id}/revoke")
    assert confirm.status_code == 200
    assert "Revoke token" in confirm.get_data(as_text=True)
    assert latest_token(app, user.email).revoked_at is None

    response = user.client.post(f"/tokens/{token.id}/revoke", data={"csrf_token": user.csrf_token})
    assert response.status_code == 303
    assert latest_token(app, user.email).revoked_at is not None


def test_other_users_token_answers_404(app, user, other_user):
    other_user.create_token(name="Grace's key")
    token = latest_token(app, other_user.email)

    assert user.client.delete(f"/tokens/{token.id}", headers=user.htmx_headers()).status_code == 404
    assert user.client.get(f"/tokens/{token.id}/revoke").status_code == 404
    assert user.client.post(f"/tokens/{token.id}/revoke", data={"csrf_token": user.csrf_token}).status_code == 404
    assert latest_token(app, other_user.email).revoked_at is None
    assert "Grace&#39;s key" not in user.client.get("/tokens").get_data(as_text=True)


def test_create_without_csrf_token_is_rejected_with_message(app, user):
    response = user.client.post(
        "/tokens",
        data={"name": "No CSRF", "kind": "hex", "expires_in": "30d"},
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 400
    assert response.headers["HX-Retarget"] == "#alerts"
    assert "Reload the page and try again." in response.get_data(as_text=True)
    assert latest_token(app, user.email) is None


def test_stale_csrf_token_is_rejected(app, user):
    other = sign_up(app.test_client(), "eve@example.com")
    headers = user.htmx_headers() | {"X-CSRFToken": other.csrf_token}
    response = user.client.delete("/tokens/1", headers=headers)
    assert response.status_code == 400


def test_delete_without_csrf_token_is_rejected(app, user):
    user.create_token(name="Keep")
    token = latest_token(app, user.email)
    response = user.client.delete(f"/tokens/{token.id}", headers={"HX-Request": "true"})
    assert response.status_code == 400
    assert latest_token(app, user.email).revoked_at is None


def test_htmx_request_with_expired_session_gets_hx_redirect(app, user):
    client = app.test_client()
    response = client.delete("/tokens/1", headers={"HX-Request": "true", "HX-Current-URL": "http://localhost/tokens"})
    assert response.status_code == 401
    assert response.headers["HX-Redirect"] == "/signin?next=/tokens"
    assert response.get_data(as_text=True) == ""
    signin_page = client.get(response.headers["HX-Redirect"]).get_data(as_text=True)
    assert "Sign in to continue." in signin_page


def test_tokens_page_has_labelled_fields(user):
    page = user.client.get("/tokens").get_data(as_text=True)
    for field in ("name", "expires_in", "description"):
        assert f'<label for="{field}">' in page
    assert '<legend>Type</legend>' in page
    assert "Generate API Key" in page
    assert "Create API Key" in page
    assert '<label class="choice"><input checked id="kind-0" name="kind" type="radio" value="hex"> Hex Key</label>' in page
