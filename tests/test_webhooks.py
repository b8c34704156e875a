"""The Fireflies webhook receiver: signatures, body formats, duplicates, revocation and expiry."""

import hashlib
import hmac
import json
from datetime import timedelta

import pytest

import clock
from sqlalchemy import func, select

from extensions import db
from models import Meeting, WebhookDelivery
from tests.conftest import token_value_from, webhook_url_from


@pytest.fixture
def hook(user):
    """A Hex Key: its secret and the path of its webhook URL."""
    body = user.create_token(name="Fireflies", kind="hex", expires_in="1h").get_data(as_text=True)
    url = webhook_url_from(body)
    return {"secret": token_value_from(body), "path": url[url.index("/webhooks/"):]}


def sign(secret, body):
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def v2_body(meeting_id="meeting-1", event="meeting.transcribed", age=timedelta(0)):
    timestamp = int((clock.utcnow() - age).timestamp() * 1000)
    return json.dumps({
        "event": event, "timestamp": timestamp, "meeting_id": meeting_id, "client_reference_id": "ref-1",
    }).encode()


def v1_body(meeting_id="meeting-1"):
    return json.dumps({
        "meetingId": meeting_id, "eventType": "Transcription completed", "clientReferenceId": "ref-1",
    }).encode()


def post(client, path, body, signature):
    headers = {"Content-Type": "application/json"}
    if signature is not None:
        headers["X-Hub-Signature"] = signature
    return client.post(path, data=body, headers=headers)


def count(app, model):
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(model))


@pytest.mark.parametrize("make_body", [v1_body, v2_body])
@pytest.mark.parametrize("prefix", ["", "sha256="])
def test_signed_delivery_is_accepted_and_stored(app, hook, make_body, prefix):
    body = make_body("meeting-42")
    response = post(app.test_client(), hook["path"], body, prefix + sign(hook["secret"], body))
    assert response.status_code == 200, response.get_json()
    assert response.get_json() == {"status": "accepted", "meeting_id": "meeting-42"}
    with app.app_context():
        meeting = db.session.scalar(select(Meeting))
        assert meeting.fireflies_meeting_id == "meeting-42"
        assert meeting.client_reference_id == "ref-1"
        delivery = db.session.scalar(select(WebhookDelivery))
        assert delivery.body == body
        assert delivery.payload_version == (2 if make_body is v2_body else 1)


def test_uppercase_hex_signature_is_accepted(app, hook):
    body = v2_body()
    response = post(app.test_client(), hook["path"], body, sign(hook["secret"], body).upper())
    assert response.status_code == 200


def test_repeated_delivery_is_stored_once(app, hook):
    client = app.test_client()
    body = v2_body("meeting-7")
    first = post(client, hook["path"], body, sign(hook["secret"], body))
    second = post(client, hook["path"], body, sign(hook["secret"], body))
    assert first.get_json()["status"] == "accepted"
    assert second.status_code == 200
    assert second.get_json()["status"] == "duplicate"
    assert count(app, WebhookDelivery) == 1
    assert count(app, Meeting) == 1


def test_second_event_same_meeting_stored(app, hook):
    client = app.test_client()
    for event in ("meeting.transcribed", "meeting.summarized"):
        body = v2_body("meeting-8", event=event)
        assert post(client, hook["path"], body, sign(hook["secret"], body)).get_json()["status"] == "accepted"
    assert count(app, WebhookDelivery) == 2
    assert count(app, Meeting) == 1


@pytest.mark.parametrize("signature, reason", [
    (None, "missing_signature"),
    ("", "missing_signature"),
    ("sha256=", "signature_mismatch"),
    ("not-hex", "signature_mismatch"),
    ("0" * 64, "signature_mismatch"),
    ("sha1=" + "0" * 40, "signature_mismatch"),
])
def test_bad_signature_answers_401_and_stores_nothing(app, hook, signature, reason):
    response = post(app.test_client(), hook["path"], v2_body(), signature)
    assert response.status_code == 401
    assert response.get_json()["error"] == reason
    assert count(app, WebhookDelivery) == 0
    assert count(app, Meeting) == 0


def test_body_signed_over_other_bytes_fails(app, hook):
    signed = v2_body("meeting-1")
    sent = v2_body("meeting-2")
    response = post(app.test_client(), hook["path"], sent, sign(hook["secret"], signed))
    assert response.status_code == 401
    assert count(app, Meeting) == 0


def test_signature_with_another_secret_fails(app, hook):
    body = v2_body()
    response = post(app.test_client(), hook["path"], body, sign("f" * 32, body))
    assert response.status_code == 401
    assert response.get_json()["error"] == "signature_mismatch"


def test_revoked_key_is_rejected(app, user, hook):
    from tests.conftest import latest_token

    token = latest_token(app, user.email)
    user.client.delete(f"/tokens/{token.id}", headers=user.htmx_headers())
    body = v2_body()
    response = post(app.test_client(), hook["path"], body, sign(hook["secret"], body))
    assert response.status_code == 401
    assert response.get_json()["error"] == "key_revoked"
    assert count(app, Meeting) == 0


def test_expired_key_is_rejected(app, hook, real_clock):
    real_clock.shift(timedelta(hours=1, seconds=1))
    body = v2_body()
    response = post(app.test_client(), hook["path"], body, sign(hook["secret"], body))
    assert response.status_code == 401
    assert response.get_json()["error"] == "key_expired"
    assert count(app, Meeting) == 0


def test_unknown_webhook_url_answers_404(app):
    body = v2_body()
    response = post(app.test_client(), "/webhooks/fireflies/" + "0" * 32, body, sign("0" * 32, body))
    assert response.status_code == 404
    assert response.get_json()["error"] == "unknown_webhook"


@pytest.mark.parametrize("body", [
    b"not json",
    b"\xff\xfe",
    b"[]",
    b"{}",
    json.dumps({"meeting_id": "", "event": "x"}).encode(),
    json.dumps({"meeting_id": "m", "event": 5}).encode(),
    json.dumps({"meeting_id": "m", "event": "x", "timestamp": "yesterday"}).encode(),
    json.dumps({"meeting_id": "m" * 201, "event": "x"}).encode(),
    json.dumps({"meetingId": "m"}).encode(),
])
def test_signed_malformed_body_answers_422(app, hook, body):
    response = post(app.test_client(), hook["path"], body, sign(hook["secret"], body))
    assert response.status_code == 422
    assert response.get_json()["error"] == "malformed_body"
    assert count(app, Meeting) == 0


def test_body_over_size_limit_answers_413(app, hook):
    body = b"{" + b" " * (1024 * 1024) + b"}"
    response = post(app.test_client(), hook["path"], body, sign(hook["secret"], body))
    assert response.status_code == 413
    assert response.get_json()["error"] == "request_entity_too_large"


def test_webhook_needs_no_csrf_and_sets_no_cookie(app, hook):
    body = v2_body()
    response = post(app.test_client(), hook["path"], body, sign(hook["secret"], body))
    assert response.status_code == 200
    assert "Set-Cookie" not in response.headers


def test_meeting_is_listed_through_api(app, user, hook):
    body = v2_body("meeting-99")
    post(app.test_client(), hook["path"], body, sign(hook["secret"], body))
    response = app.test_client().get("/api/v1/meetings", headers={"Authorization": f"Bearer {hook['secret']}"})
    meetings = response.get_json()["meetings"]
    assert [meeting["fireflies_meeting_id"] for meeting in meetings] == ["meeting-99"]


def test_stale_delivery_is_rejected(app, hook):
    body = v2_body("meeting-old", age=timedelta(days=1, minutes=1))
    response = post(app.test_client(), hook["path"], body, sign(hook["secret"], body))
    assert response.status_code == 422
    assert response.get_json()["error"] == "stale_delivery"
    assert count(app, Meeting) == 0


def test_delivery_from_far_future_is_rejected(app, hook):
    body = v2_body("meeting-future", age=-timedelta(minutes=10))
    response = post(app.test_client(), hook["path"], body, sign(hook["secret"], body))
    assert response.status_code == 422


def test_old_repeat_of_accepted_delivery_is_duplicate(app, hook, real_clock):
    body = v2_body("meeting-retried")
    client = app.test_client()
    assert post(client, hook["path"], body, sign(hook["secret"], body)).get_json()["status"] == "accepted"
    real_clock.shift(timedelta(days=2))
    # The key expires after an hour: extend it, so that only the delivery is old.
    with app.app_context():
        from models import ApiToken
        token = db.session.scalar(select(ApiToken))
        token.expires_at = clock.utcnow() + timedelta(hours=1)
        db.session.commit()
    response = post(client, hook["path"], body, sign(hook["secret"], body))
    assert response.status_code == 200
    assert response.get_json()["status"] == "duplicate"
    assert count(app, WebhookDelivery) == 1
