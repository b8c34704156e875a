"""Each way in, tried against the app: floods, headers, cookies, CSRF, ownership, keys and leaks."""
# Every test here fails if the protection it names is removed.

import base64
import hashlib
import hmac
import http.client
import json
import logging
import re
import secrets
import time
from urllib.parse import urlsplit

import jwt
import pytest
from werkzeug.routing import IntegerConverter

import clock
import token_service
from app import create_app
from extensions import db
from models import ApiToken
from tests.conftest import PASSWORD, csrf_token_from, latest_token, make_config, sign_up, token_value_from, webhook_url_from


def sign(secret, body):
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def v2_body(meeting_id="meeting-1"):
    return json.dumps({
        "event": "meeting.transcribed", "timestamp": int(clock.utcnow().timestamp() * 1000),
        "meeting_id": meeting_id,
    }).encode()


def _b64(data):
    raw = data if isinstance(data, bytes) else json.dumps(data).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _sign_in(client, email, password):
    page = client.get("/signin").get_data(as_text=True)
    return client.post("/signin", data={"email": email, "password": password, "csrf_token": csrf_token_from(page)})


def _breach_log_lines(caplog):
    return [record for record in caplog.records if record.name == "rate_limits"]


# Guessing and flooding


@pytest.mark.app_config(SIGNIN_IP_RATE_LIMIT="3 per minute")
def test_signin_attempts_limited_per_ip(app, user, caplog):
    client = app.test_client()
    statuses = [_sign_in(client, f"guess{number}@example.com", "wrong password").status_code for number in range(5)]
    assert statuses[:3] == [401, 401, 401]
    assert statuses[3:] == [429, 429]
    response = _sign_in(client, "ada@example.com", PASSWORD)
    assert response.status_code == 429
    assert int(response.headers["Retry-After"]) > 0
    assert "Too many failed sign-in attempts" in response.get_data(as_text=True)
    assert len(_breach_log_lines(caplog)) == 1


@pytest.mark.app_config(SIGNIN_ACCOUNT_RATE_LIMIT="2 per minute", SIGNIN_IP_RATE_LIMIT="100 per minute")
def test_signin_attempts_limited_per_account(app, user):
    client = app.test_client()
    assert _sign_in(client, "ada@example.com", "wrong 1").status_code == 401
    assert _sign_in(client, "ADA@example.com", "wrong 2").status_code == 401
    assert _sign_in(client, "ada@example.com", PASSWORD).status_code == 429
    # Other accounts from the same address are not locked out.
    assert _sign_in(client, "someone@example.com", "wrong").status_code == 401


@pytest.mark.app_config(SIGNUP_RATE_LIMIT="2 per hour")
def test_signups_limited_per_ip(app):
    sign_up(app.test_client(), "one@example.com")
    sign_up(app.test_client(), "two@example.com")
    client = app.test_client()
    page = client.get("/signup").get_data(as_text=True)
    response = client.post("/signup", data={
        "name": "Three", "email": "three@example.com", "password": PASSWORD, "csrf_token": csrf_token_from(page),
    })
    assert response.status_code == 429
    assert "Retry-After" in response.headers


@pytest.mark.app_config(TOKEN_CREATE_RATE_LIMIT="2 per hour")
def test_token_creation_limited_per_user(app, user, other_user):
    assert user.create_token(name="a").status_code == 201
    assert user.create_token(name="b").status_code == 201
    response = user.create_token(name="c")
    assert response.status_code == 429
    assert "Retry-After" in response.headers
    assert response.headers["HX-Retarget"] == "#alerts"
    assert other_user.create_token(name="d").status_code == 201


@pytest.mark.app_config(BEARER_FAILURE_RATE_LIMIT="3 per minute")
def test_failed_bearer_attempts_limited_per_ip(app, user, caplog):
    value = token_value_from(user.create_token(kind="jwt").get_data(as_text=True))
    client = app.test_client()
    for _ in range(5):
        assert client.get("/api/v1/me", headers={"Authorization": f"Bearer {value}"}).status_code == 200
    statuses = [
        client.get("/api/v1/me", headers={"Authorization": "Bearer " + "0" * 32}).status_code for _ in range(6)
    ]
    assert statuses == [401, 401, 401, 429, 429, 429]
    response = client.get("/api/v1/me", headers={"Authorization": f"Bearer {value}"})
    assert response.status_code == 429
    assert response.get_json()["error"] == "too_many_requests"
    assert int(response.headers["Retry-After"]) > 0
    assert len(_breach_log_lines(caplog)) == 1


@pytest.mark.app_config(WEBHOOK_RATE_LIMIT="3 per minute")
def test_webhook_requests_limited_per_url(app, user):
    first = user.create_token(name="one").get_data(as_text=True)
    second = user.create_token(name="two").get_data(as_text=True)
    path = urlsplit(webhook_url_from(first)).path
    client = app.test_client()
    statuses = [client.post(path, data=b"{}", headers={"X-Hub-Signature": "0" * 64}).status_code for _ in range(5)]
    assert statuses == [401, 401, 401, 429, 429]

    body = v2_body()
    other_path = urlsplit(webhook_url_from(second)).path
    secret = token_value_from(second)
    response = client.post(other_path, data=body, headers={"X-Hub-Signature": sign(secret, body)})
    assert response.status_code == 200


@pytest.mark.parametrize("path", ["/webhooks/fireflies/" + "0" * 32, "/signup", "/signin"])
def test_large_body_with_content_length_gets_413(app, path):
    response = app.test_client().post(path, data=b"x" * (1024 * 1024 + 1))
    assert response.status_code == 413


def _post_chunked(server_url, path, chunks, headers=None):
    parts = urlsplit(server_url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
    connection.putrequest("POST", path)
    connection.putheader("Transfer-Encoding", "chunked")
    for name, value in (headers or {}).items():
        connection.putheader(name, value)
    connection.endheaders()
    try:
        for chunk in chunks:
            connection.send(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
        connection.send(b"0\r\n\r\n")
    except (BrokenPipeError, ConnectionResetError):
        pass
    response = connection.getresponse()
    status = response.status
    connection.close()
    return status


def test_large_chunked_body_without_length_gets_413(app, user, live_server):
    page = user.create_token(name="chunked").get_data(as_text=True)
    path = urlsplit(webhook_url_from(page)).path
    chunks = [b"x" * 65536] * 20
    secret = token_value_from(page)
    status = _post_chunked(live_server.url, path, chunks, {"X-Hub-Signature": sign(secret, b"".join(chunks))})
    assert status == 413
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count()).select_from(ApiToken)) == 1


def test_small_chunked_body_is_accepted(app, user, live_server):
    page = user.create_token(name="chunked").get_data(as_text=True)
    path = urlsplit(webhook_url_from(page)).path
    body = v2_body("chunked-meeting")
    status = _post_chunked(live_server.url, path, [body[:10], body[10:]],
                           {"X-Hub-Signature": sign(token_value_from(page), body)})
    assert status == 200


# Sessions and pages


def test_pages_send_strict_security_headers(client):
    response = client.get("/signin")
    policy = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in policy
    assert "unsafe-inline" not in policy
    assert "unsafe-eval" not in policy
    assert "frame-ancestors 'none'" in policy
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "same-origin"
    assert "Strict-Transport-Security" not in response.headers


def test_pages_have_no_inline_scripts_or_handlers(user):
    user.create_token(name="for markup")
    for path in ("/signin", "/signup", "/tokens", f"/tokens/{1}/revoke"):
        client = user.client if path.startswith("/tokens") else user.client.application.test_client()
        html = client.get(path).get_data(as_text=True)
        assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html), path
        assert not re.search(r"\son[a-z]+=", html), path
        assert " style=" not in html, path


@pytest.mark.app_config(HSTS_MAX_AGE=31536000)
def test_hsts_sent_when_configured(client):
    assert client.get("/signin").headers["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains"


def _session_cookie(client):
    cookie = client.get_cookie("session")
    return cookie.value if cookie else None


def test_session_cookie_attributes(app, client):
    page = client.get("/signup")
    header = page.headers["Set-Cookie"]
    assert "HttpOnly" in header
    assert "SameSite=Lax" in header
    assert "Secure" not in header


def test_production_cookies_are_secure(tmp_path):
    app = create_app(make_config(f"sqlite:///{tmp_path}/prod.sqlite", APP_ENV="production"))
    header = app.test_client().get("/signup").headers["Set-Cookie"]
    assert "Secure" in header
    assert "HttpOnly" in header


def test_signout_invalidates_copied_cookie(app, user):
    signed_in_cookie = _session_cookie(user.client)
    assert user.client.get("/tokens").status_code == 200

    user.client.post("/signout", data={"csrf_token": user.csrf_token})
    thief = app.test_client()
    thief.set_cookie("session", signed_in_cookie)
    response = thief.get("/tokens")
    assert response.status_code == 303
    assert response.headers["Location"].startswith("/signin")

    again = app.test_client()
    _sign_in(again, "ada@example.com", PASSWORD)
    assert _session_cookie(again) != signed_in_cookie


def test_no_remember_cookie_and_signout_ends_session(app, user):
    signin = _sign_in(app.test_client(), "ada@example.com", PASSWORD)
    for cookie in signin.headers.getlist("Set-Cookie"):
        assert not cookie.startswith("remember_token=")

    response = user.client.post("/signout", data={"csrf_token": user.csrf_token})
    for cookie in response.headers.getlist("Set-Cookie"):
        assert not cookie.startswith("remember_token=")
    assert user.client.get("/tokens").status_code == 303


def _dashboard_rules(app):
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith(("/api/", "/webhooks/", "/static/")):
            continue
        yield rule


def _sample_path(rule, ids):
    """Fill each <int:name> of the rule from ``ids``; an unknown name fails the test."""
    path = rule.rule
    for name, converter in rule._converters.items():
        assert name in ids, f"{rule.rule}: add an object for <{name}> to this test"
        path = path.replace(f"<int:{name}>", str(ids[name]))
    return path


def _objects_of(app, email):
    """Create one object of each kind for the user and return their ids by route parameter."""
    from models import Action, Meeting, MeetingActionItem, User

    with app.app_context():
        owner = User.find_by_email(email)
        token = db.session.scalar(db.select(ApiToken).where(ApiToken.user_id == owner.id))
        workspace_id = owner.personal_workspace().id
        meeting = Meeting(user_id=owner.id, workspace_id=workspace_id, fireflies_meeting_id=f"m-{owner.id}")
        db.session.add(meeting)
        db.session.flush()
        item = MeetingActionItem(meeting_id=meeting.id, position=0, text="Follow up")
        action = Action(workspace_id=workspace_id, created_by_id=owner.id, title="Private")
        db.session.add_all([item, action])
        db.session.commit()
        return {"token_id": token.id, "meeting_id": meeting.id, "item_id": item.id, "action_id": action.id}


def test_every_state_changing_route_needs_csrf(app, user):
    user.create_token(name="target")
    ids = _objects_of(app, user.email)
    checked = 0
    for rule in _dashboard_rules(app):
        for method in rule.methods & {"POST", "DELETE", "PUT", "PATCH"}:
            response = user.client.open(_sample_path(rule, ids), method=method, data={"name": "x"})
            assert response.status_code == 400, f"{method} {rule.rule}"
            checked += 1
    assert checked >= 5
    assert latest_token(app, user.email).revoked_at is None


def test_every_object_route_hides_other_users_objects(app, user, other_user):
    other_user.create_token(name="not yours")
    ids = _objects_of(app, other_user.email)
    checked = 0
    for rule in _dashboard_rules(app):
        if not any(isinstance(converter, IntegerConverter) for converter in rule._converters.values()):
            continue
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            data = {"csrf_token": user.csrf_token}
            response = user.client.open(_sample_path(rule, ids), method=method, data=data,
                                        headers=user.htmx_headers())
            assert response.status_code == 404, f"{method} {rule.rule}"
            checked += 1
    assert checked >= 8
    assert latest_token(app, other_user.email).revoked_at is None
    with app.app_context():
        from models import Action, MeetingActionItem

        assert db.session.get(Action, ids["action_id"]).status == "open"
        assert db.session.get(MeetingActionItem, ids["item_id"]).action_id is None


def test_api_ignores_session_cookie(app, user):
    value = token_value_from(user.create_token(kind="hex").get_data(as_text=True))
    response = user.client.get("/api/v1/me")
    assert response.status_code == 401
    assert user.client.get("/api/v1/me", headers={"Authorization": f"Bearer {value}"}).status_code == 200


# Tokens


def _jwt_for(app, user_id, jti, iat_offset=0, key=None, kid=None, claims=None):
    keys = app.extensions["token_keys"]
    now = int(time.time())
    payload = {"iss": "exponential", "sub": str(user_id), "iat": now + iat_offset, "nbf": now,
               "exp": now + 3600, "jti": jti}
    payload.update(claims or {})
    payload = {name: value for name, value in payload.items() if value is not None}
    return jwt.encode(payload, key or keys.jwt_key, algorithm="HS256", headers={"kid": kid or keys.jwt_key_id})


def _me_status(app, value):
    return app.test_client().get("/api/v1/me", headers={"Authorization": f"Bearer {value}"}).status_code


def test_jwt_clock_leeway_is_thirty_seconds(app, user):
    user.create_token(kind="jwt")
    token = latest_token(app, user.email)
    assert _me_status(app, _jwt_for(app, token.user_id, token.jti, iat_offset=2)) == 200
    assert _me_status(app, _jwt_for(app, token.user_id, token.jti, iat_offset=600)) == 401


@pytest.mark.parametrize("claim", ["exp", "iat", "sub", "jti", "iss"])
def test_jwt_without_required_claim_rejected(app, user, claim):
    user.create_token(kind="jwt")
    token = latest_token(app, user.email)
    assert _me_status(app, _jwt_for(app, token.user_id, token.jti, claims={claim: None})) == 401


def test_jwt_with_wrong_issuer_rejected(app, user):
    user.create_token(kind="jwt")
    token = latest_token(app, user.email)
    assert _me_status(app, _jwt_for(app, token.user_id, token.jti, claims={"iss": "someone-else"})) == 401


def test_jwt_with_jti_of_other_users_token_rejected(app, user, other_user):
    other_user.create_token(kind="jwt")
    foreign = latest_token(app, other_user.email)
    user.create_token(kind="jwt")
    mine = latest_token(app, user.email)
    assert _me_status(app, _jwt_for(app, mine.user_id, foreign.jti)) == 401


def test_jwt_signed_with_empty_key_rejected(app, user):
    value = token_value_from(user.create_token(kind="jwt").get_data(as_text=True))
    header, payload, _ = value.split(".")
    signature = _b64(hmac.new(b"", f"{header}.{payload}".encode(), hashlib.sha256).digest())
    assert _me_status(app, f"{header}.{payload}.{signature}") == 401


def _app_with_keys(database_path, **keys):
    return create_app(make_config(f"sqlite:///{database_path}", **keys))


def test_jwt_key_rotation_and_removal(tmp_path):
    database = tmp_path / "rotate.sqlite"
    secret_key, encryption_key, old_key, new_key = (secrets.token_urlsafe(32) for _ in range(4))
    common = {"SECRET_KEY": secret_key, "TOKEN_ENCRYPTION_KEY": encryption_key}

    before = _app_with_keys(database, JWT_SIGNING_KEY=old_key, **common)
    signed_in = sign_up(before.test_client(), "rotate@example.com")
    old_value = token_value_from(signed_in.create_token(kind="jwt").get_data(as_text=True))

    rotated = _app_with_keys(database, JWT_SIGNING_KEY=new_key, JWT_RETIRED_SIGNING_KEYS=old_key, **common)
    assert _me_status(rotated, old_value) == 200
    new_value = token_value_from(sign_up_again(rotated, "rotate@example.com").create_token(kind="jwt")
                                 .get_data(as_text=True))
    assert jwt.get_unverified_header(new_value)["kid"] != jwt.get_unverified_header(old_value)["kid"]
    assert _me_status(rotated, new_value) == 200

    removed = _app_with_keys(database, JWT_SIGNING_KEY=new_key, **common)
    assert _me_status(removed, old_value) == 401
    assert _me_status(removed, new_value) == 200


def sign_up_again(app, email):
    """Sign an existing user in and return the same helper object that sign_up returns."""
    from tests.conftest import SignedIn

    client = app.test_client()
    _sign_in(client, email, PASSWORD)
    return SignedIn(client=client, email=email, csrf_token=csrf_token_from(client.get("/tokens").get_data(as_text=True)))


def test_encryption_key_rotation_reencrypts_without_changing_secrets(tmp_path):
    database = tmp_path / "reencrypt.sqlite"
    secret_key, jwt_key, old_key, new_key = (secrets.token_urlsafe(32) for _ in range(4))
    common = {"SECRET_KEY": secret_key, "JWT_SIGNING_KEY": jwt_key}

    before = _app_with_keys(database, TOKEN_ENCRYPTION_KEY=old_key, **common)
    page = sign_up(before.test_client(), "keys@example.com").create_token(kind="hex").get_data(as_text=True)
    secret = token_value_from(page)
    path = urlsplit(webhook_url_from(page)).path

    rotated = _app_with_keys(database, TOKEN_ENCRYPTION_KEY=new_key, TOKEN_RETIRED_ENCRYPTION_KEYS=old_key, **common)
    result = rotated.test_cli_runner().invoke(args=["keys", "reencrypt"])
    assert result.exit_code == 0, result.output
    assert "Re-encrypted 1 of 1" in result.output

    only_new = _app_with_keys(database, TOKEN_ENCRYPTION_KEY=new_key, **common)
    body = v2_body("after-rotation")
    response = only_new.test_client().post(path, data=body, headers={"X-Hub-Signature": sign(secret, body)})
    assert response.status_code == 200
    assert _me_status(only_new, secret) == 200


def test_reencrypt_without_old_key_fails_and_changes_nothing(tmp_path):
    database = tmp_path / "lost.sqlite"
    common = {"SECRET_KEY": secrets.token_urlsafe(32), "JWT_SIGNING_KEY": secrets.token_urlsafe(32)}
    before = _app_with_keys(database, TOKEN_ENCRYPTION_KEY=secrets.token_urlsafe(32), **common)
    sign_up(before.test_client(), "lost@example.com").create_token(kind="hex")
    with before.app_context():
        stored = db.session.scalar(db.select(ApiToken.secret_encrypted))

    after = _app_with_keys(database, TOKEN_ENCRYPTION_KEY=secrets.token_urlsafe(32), **common)
    result = after.test_cli_runner().invoke(args=["keys", "reencrypt"])
    assert result.exit_code != 0
    assert "TOKEN_RETIRED_ENCRYPTION_KEYS" in result.output
    with after.app_context():
        assert db.session.scalar(db.select(ApiToken.secret_encrypted)) == stored


def test_keys_rotate_updates_development_key_file(tmp_path, monkeypatch):
    monkeypatch.setattr("flask.Flask.auto_find_instance_path", lambda self: str(tmp_path / "instance"))
    for name in ("SECRET_KEY", "TOKEN_ENCRYPTION_KEY", "JWT_SIGNING_KEY"):
        monkeypatch.delenv(name, raising=False)
    settings = make_config(f"sqlite:///{tmp_path}/dev.sqlite", SECRET_KEY=None, TOKEN_ENCRYPTION_KEY=None,
                           JWT_SIGNING_KEY=None)
    app = create_app(dict(settings))
    old_key = app.config["JWT_SIGNING_KEY"]
    result = app.test_cli_runner().invoke(args=["keys", "rotate", "jwt"])
    assert result.exit_code == 0, result.output
    assert old_key not in result.output

    reloaded = create_app(dict(settings))
    assert reloaded.config["JWT_SIGNING_KEY"] != old_key
    assert reloaded.config["JWT_RETIRED_SIGNING_KEYS"] == old_key


def test_hex_lookup_compares_digest_in_constant_time(monkeypatch, app, user):
    value = token_value_from(user.create_token(kind="hex").get_data(as_text=True))
    calls = []
    real = hmac.compare_digest
    monkeypatch.setattr(token_service.hmac, "compare_digest", lambda a, b: calls.append((type(a), type(b))) or real(a, b))
    assert _me_status(app, value) == 200
    assert (bytes, bytes) in calls


# Webhooks


def test_key_with_empty_secret_never_verifies(app, user):
    page = user.create_token(kind="hex").get_data(as_text=True)
    path = urlsplit(webhook_url_from(page)).path
    with app.app_context():
        token = db.session.scalar(db.select(ApiToken))
        box = app.extensions["token_keys"].secret_box
        token.secret_encrypted = box.seal("", token.secret_digest.encode())
        db.session.commit()
    body = v2_body()
    response = app.test_client().post(path, data=body, headers={"X-Hub-Signature": sign("", body)})
    assert response.status_code == 401


def test_non_ascii_signature_header_gets_401(app, user):
    page = user.create_token(kind="hex").get_data(as_text=True)
    path = urlsplit(webhook_url_from(page)).path
    response = app.test_client().post(path, data=v2_body(), headers={"X-Hub-Signature": "sha256=\u00e9" * 8})
    assert response.status_code == 401


# Secrets never leak


def test_no_secret_reaches_logs_or_database(app, user, database_path, caplog):
    caplog.set_level(logging.DEBUG)
    given = [PASSWORD]
    hex_page = user.create_token(kind="hex").get_data(as_text=True)
    hex_value = token_value_from(hex_page)
    jwt_value = token_value_from(user.create_token(kind="jwt").get_data(as_text=True))
    given += [hex_value, jwt_value]

    client = app.test_client()
    client.get("/api/v1/me", headers={"Authorization": f"Bearer {jwt_value}"})
    client.get("/api/v1/me", headers={"Authorization": f"Bearer {hex_value}x"})
    body = v2_body()
    signature = sign(hex_value, body)
    given.append(signature)
    path = urlsplit(webhook_url_from(hex_page)).path
    client.post(path, data=body, headers={"X-Hub-Signature": signature})
    client.post(path, data=body, headers={"X-Hub-Signature": "0" * 64})
    _sign_in(app.test_client(), "ada@example.com", "a wrong password")
    given.append("a wrong password")
    for token_id in (1, 2):
        user.client.delete(f"/tokens/{token_id}", headers=user.htmx_headers())
    client.get("/api/v1/me", headers={"Authorization": f"Bearer {jwt_value}"})
    user.client.post("/signout", data={"csrf_token": user.csrf_token})

    with app.app_context():
        db.engine.dispose()
    stored = b"".join(path.read_bytes() for path in database_path.parent.glob(database_path.name + "*"))
    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert caplog.records
    for value in given:
        assert value not in logged
        assert value.encode() not in stored
    assert jwt_value.split(".")[2] not in logged


@pytest.mark.app_config(RATELIMIT_STORAGE_URI="redis://127.0.0.1:9/0", SIGNIN_IP_RATE_LIMIT="2 per minute")
def test_rate_limits_survive_redis_outage(app, user):
    # Nothing listens on port 9 (discard) of this machine, so every Redis call fails.
    client = app.test_client()
    statuses = [_sign_in(client, "ada@example.com", "wrong password").status_code for _ in range(3)]
    assert statuses == [401, 401, 429]
