"""The Bearer-authenticated JSON API: identity, header forms, revocation, expiry and forged JWTs."""

import base64
import json
import secrets
from datetime import timedelta

import jwt
import pytest

from tests.conftest import latest_token, token_value_from


@pytest.fixture
def jwt_value(user):
    return token_value_from(user.create_token(name="API JWT", kind="jwt", expires_in="1h").get_data(as_text=True))


@pytest.fixture
def hex_value(user):
    return token_value_from(user.create_token(name="API Hex", kind="hex", expires_in="1h").get_data(as_text=True))


def get_me(client, authorization):
    headers = {} if authorization is None else {"Authorization": authorization}
    return client.get("/api/v1/me", headers=headers)


def assert_rejected(response):
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    body = response.get_json()
    assert body["error"] == "invalid_token"
    assert body["message"]


def test_me_with_jwt_returns_identity_workspaces_and_token(app, user, jwt_value):
    response = get_me(app.test_client(), f"Bearer {jwt_value}")
    assert response.status_code == 200
    body = response.get_json()
    assert body["user"]["email"] == "ada@example.com"
    assert body["user"]["name"] == "Ada Lovelace"
    assert body["workspaces"][0]["personal"] is True
    assert body["token"]["name"] == "API JWT"
    assert body["token"]["type"] == "jwt"
    assert body["token"]["expires_at"] == latest_token(app, user.email).expires_at.isoformat()


def test_me_with_hex_key_returns_identity(app, user, hex_value):
    response = get_me(app.test_client(), f"Bearer {hex_value}")
    assert response.status_code == 200
    assert response.get_json()["token"]["type"] == "hex"


def test_jwt_claims_carry_identity(app, user, jwt_value):
    claims = jwt.decode(jwt_value, options={"verify_signature": False})
    token = latest_token(app, user.email)
    assert claims["sub"] == str(token.user_id)
    assert claims["email"] == "ada@example.com"
    assert claims["jti"] == token.jti
    assert claims["iss"] == "exponential"
    assert claims["exp"] - claims["iat"] == 3600
    assert set(claims) >= {"iss", "sub", "email", "name", "iat", "nbf", "exp", "jti"}
    header = jwt.get_unverified_header(jwt_value)
    assert header["alg"] == "HS256"
    assert header["kid"]


@pytest.mark.parametrize("template, status", [
    ("Bearer {}", 200),
    ("bearer {}", 200),
    ("BEARER {}", 200),
    ("  Bearer   {}  ", 200),
    ("Bearer", 401),
    ("Bearer ", 401),
    ("Bearer {} extra", 401),
    ("Basic {}", 401),
    ("Token {}", 401),
    ("{}", 401),
    ("Bearer {}x", 401),
])
def test_bearer_header_variants(app, jwt_value, hex_value, template, status):
    client = app.test_client()
    for value in (jwt_value, hex_value):
        response = get_me(client, template.format(value))
        assert response.status_code == status, template
        if status == 401:
            assert_rejected(response)


def test_missing_or_non_ascii_header_gets_401(app):
    client = app.test_client()
    assert_rejected(get_me(client, None))
    assert_rejected(get_me(client, "Bearer ключ"))
    assert_rejected(get_me(client, "Bearer \u00e9" + "a" * 31))
    assert_rejected(get_me(client, "Bearer a.b.c"))
    assert_rejected(get_me(client, "Bearer " + "0" * 32))


def test_api_never_redirects_and_ignores_session_cookie(user):
    # The signed-in browser session must not authenticate the API.
    response = user.client.get("/api/v1/me")
    assert_rejected(response)
    assert "Set-Cookie" not in response.headers


def test_revoked_tokens_are_rejected_at_once(app, user, jwt_value, hex_value):
    client = app.test_client()
    for value in (jwt_value, hex_value):
        assert get_me(client, f"Bearer {value}").status_code == 200

    for token_id in _token_ids(app, user):
        user.client.delete(f"/tokens/{token_id}", headers=user.htmx_headers())

    for value in (jwt_value, hex_value):
        response = get_me(client, f"Bearer {value}")
        assert_rejected(response)
        assert "revoked" in response.get_json()["message"]


def _token_ids(app, user):
    from extensions import db
    from models import ApiToken, User

    with app.app_context():
        owner = User.find_by_email(user.email)
        return db.session.scalars(db.select(ApiToken.id).where(ApiToken.user_id == owner.id)).all()


def test_expired_tokens_are_rejected(app, user, jwt_value, hex_value, real_clock):
    client = app.test_client()
    real_clock.shift(timedelta(minutes=59))
    assert get_me(client, f"Bearer {hex_value}").status_code == 200
    real_clock.shift(timedelta(minutes=2))
    for value in (jwt_value, hex_value):
        response = get_me(client, f"Bearer {value}")
        assert_rejected(response)
        assert "expired" in response.get_json()["message"]


def _b64(data):
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def test_jwt_with_alg_none_is_rejected(app, jwt_value):
    header = jwt.get_unverified_header(jwt_value)
    claims = jwt.decode(jwt_value, options={"verify_signature": False})
    forged = f"{_b64(header | {'alg': 'none'})}.{_b64(claims)}."
    assert_rejected(get_me(app.test_client(), f"Bearer {forged}"))


# The real key is short for HS512 on purpose: the attacker reuses it under another algorithm.
@pytest.mark.filterwarnings("ignore::jwt.warnings.InsecureKeyLengthWarning")
def test_jwt_with_wrong_key_or_algorithm_rejected(app, jwt_value):
    header = jwt.get_unverified_header(jwt_value)
    claims = jwt.decode(jwt_value, options={"verify_signature": False})
    client = app.test_client()

    wrong_key = jwt.encode(claims, secrets.token_bytes(32), algorithm="HS256", headers={"kid": header["kid"]})
    assert_rejected(get_me(client, f"Bearer {wrong_key}"))

    real_key = app.extensions["token_keys"].jwt_key
    other_algorithm = jwt.encode(claims, real_key, algorithm="HS512", headers={"kid": header["kid"]})
    assert_rejected(get_me(client, f"Bearer {other_algorithm}"))


def test_jwt_with_changed_payload_is_rejected(app, jwt_value):
    header_part, _, signature = jwt_value.split(".")
    claims = jwt.decode(jwt_value, options={"verify_signature": False})
    tampered = f"{header_part}.{_b64(claims | {'sub': '999'})}.{signature}"
    assert_rejected(get_me(app.test_client(), f"Bearer {tampered}"))


def test_jwt_with_another_users_sub_rejected(app, user, other_user, jwt_value):
    claims = jwt.decode(jwt_value, options={"verify_signature": False})
    key = app.extensions["token_keys"]
    other_id = latest_token(app, user.email).user_id + 1
    forged = jwt.encode(claims | {"sub": str(other_id)}, key.jwt_key, algorithm="HS256",
                        headers={"kid": key.jwt_key_id})
    assert_rejected(get_me(app.test_client(), f"Bearer {forged}"))


def test_meetings_lists_only_own_meetings(app, user, hex_value):
    response = app.test_client().get("/api/v1/meetings", headers={"Authorization": f"Bearer {hex_value}"})
    assert response.status_code == 200
    assert response.get_json()["meetings"] == []


def test_unknown_api_route_answers_json_404(app):
    response = app.test_client().get("/api/v1/nothing-here")
    assert response.status_code == 404
    assert response.get_json()["error"] == "not_found"


def test_jwt_with_unknown_kid_names_the_key(app, jwt_value):
    claims = jwt.decode(jwt_value, options={"verify_signature": False})
    real_key = app.extensions["token_keys"].jwt_key
    client = app.test_client()

    for key in (real_key, secrets.token_bytes(32)):
        forged = jwt.encode(claims, key, algorithm="HS256", headers={"kid": "retired-key"})
        response = get_me(client, f"Bearer {forged}")
        assert_rejected(response)
        assert "not signed by a key this server knows" in response.get_json()["message"]


def test_garbled_jwt_is_malformed(app):
    response = get_me(app.test_client(), "Bearer abc.def.ghi")
    assert_rejected(response)
    assert "could not be decoded" in response.get_json()["message"]
