"""The webhook delivery log: one entry per verdict and reason a minute, bounded, pruned."""

import secrets
from datetime import timedelta

import pytest
from sqlalchemy import func, select

import delivery_log
from extensions import db
from models import Meeting, WebhookAttempt
from tests.conftest import latest_token
from tests.test_webhooks import hook, post, sign, v1_body, v2_body  # noqa: F401 (hook is a fixture)


def entries(app):
    with app.app_context():
        rows = db.session.scalars(select(WebhookAttempt).order_by(WebhookAttempt.id)).all()
        db.session.expunge_all()
        return rows


def only_entry(app):
    rows = entries(app)
    assert len(rows) == 1, [(row.verdict, row.reason) for row in rows]
    return rows[0]


def test_accepted_delivery_is_logged_with_details(app, hook):
    body = v2_body("meeting-9", event="Transcription completed")
    post(app.test_client(), hook["path"], body, sign(hook["secret"], body))
    entry = only_entry(app)
    assert entry.verdict == "accepted"
    assert entry.reason == ""
    assert entry.event == "Transcription completed"
    assert entry.meeting_id == "meeting-9"
    assert entry.source_ip == "127.0.0.1"
    assert entry.count == 1
    assert entry.body == body
    assert entry.is_test is False
    assert entry.token_id == latest_token(app, "ada@example.com").id


def test_repeated_delivery_is_logged_as_duplicate(app, hook):
    client = app.test_client()
    body = v2_body("meeting-9")
    post(client, hook["path"], body, sign(hook["secret"], body))
    post(client, hook["path"], body, sign(hook["secret"], body))
    assert [entry.verdict for entry in entries(app)] == ["accepted", "duplicate"]


@pytest.mark.app_config(WEBHOOK_LOG_BODY_LIMIT=40)
def test_kept_body_is_cut_to_limit(app, hook):
    body = v2_body("meeting-9")
    post(app.test_client(), hook["path"], body, sign(hook["secret"], body))
    assert only_entry(app).body == body[:40]


def test_missing_signature_is_logged(app, hook):
    post(app.test_client(), hook["path"], v2_body("meeting-3"), None)
    entry = only_entry(app)
    assert (entry.verdict, entry.reason) == ("rejected", "missing_signature")
    assert entry.meeting_id == "meeting-3"
    assert entry.body is None


def test_signature_mismatch_is_logged(app, hook):
    body = v2_body()
    post(app.test_client(), hook["path"], body, sign(secrets.token_hex(16), body))
    assert only_entry(app).reason == "signature_mismatch"


def test_expired_key_is_logged(app, hook, real_clock):
    real_clock.shift(timedelta(hours=1, seconds=1))
    body = v2_body()
    post(app.test_client(), hook["path"], body, sign(hook["secret"], body))
    assert only_entry(app).reason == "key_expired"


def test_revoked_key_is_logged(app, user, hook):
    token = latest_token(app, user.email)
    user.client.delete(f"/tokens/{token.id}", headers=user.htmx_headers())
    body = v2_body()
    post(app.test_client(), hook["path"], body, sign(hook["secret"], body))
    assert only_entry(app).reason == "key_revoked"


def test_unknown_webhook_is_logged_without_token(app, hook):
    body = v2_body()
    post(app.test_client(), "/webhooks/fireflies/" + secrets.token_hex(16), body, sign(hook["secret"], body))
    entry = only_entry(app)
    assert entry.reason == "unknown_webhook"
    assert entry.token_id is None
    assert entry.endpoint_key == delivery_log.UNKNOWN_ENDPOINT_KEY


def test_malformed_body_is_logged(app, hook):
    body = b"not json"
    post(app.test_client(), hook["path"], body, sign(hook["secret"], body))
    assert only_entry(app).reason == "malformed_body"


def test_stale_delivery_is_logged(app, hook):
    body = v2_body(age=timedelta(days=2))
    post(app.test_client(), hook["path"], body, sign(hook["secret"], body))
    assert only_entry(app).reason == "stale_delivery"


@pytest.mark.app_config(MAX_CONTENT_LENGTH=2000)
def test_body_too_large_is_logged(app, hook):
    body = b"x" * 3000
    response = post(app.test_client(), hook["path"], body, sign(hook["secret"], body))
    assert response.status_code == 413
    entry = only_entry(app)
    assert entry.reason == "body_too_large"
    assert entry.token_id == latest_token(app, "ada@example.com").id


def test_flood_of_bad_requests_stays_bounded(app, hook, real_clock):
    client = app.test_client()
    body = v2_body()
    real_clock.freeze(real_clock.utcnow().replace(second=5))
    for _ in range(200):
        post(client, hook["path"], body, "0" * 64)
    for _ in range(50):
        post(client, "/webhooks/fireflies/" + secrets.token_hex(16), body, "0" * 64)

    rows = entries(app)
    assert len(rows) == 2
    assert sorted((row.reason, row.count) for row in rows) == [("signature_mismatch", 200), ("unknown_webhook", 50)]


def test_next_minute_starts_new_entry(app, hook, real_clock):
    client = app.test_client()
    body = v2_body()
    real_clock.freeze(real_clock.utcnow().replace(second=5))
    post(client, hook["path"], body, "0" * 64)
    real_clock.shift(timedelta(minutes=1))
    post(client, hook["path"], body, "0" * 64)
    assert [row.count for row in entries(app)] == [1, 1]


def test_logging_failure_does_not_break_receiver(app, hook, monkeypatch):
    monkeypatch.setattr(delivery_log, "_UPSERT", select(func.missing_function()))
    body = v2_body("meeting-5")
    response = post(app.test_client(), hook["path"], body, sign(hook["secret"], body))
    assert response.status_code == 200
    assert entries(app) == []
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Meeting)) == 1


def test_prune_deletes_entries_past_retention(app, hook, real_clock, runner):
    body = v1_body()
    post(app.test_client(), hook["path"], body, "0" * 64)
    real_clock.shift(timedelta(days=app.config["WEBHOOK_LOG_RETENTION_DAYS"], minutes=1))
    post(app.test_client(), hook["path"], body, "0" * 64)

    result = runner.invoke(args=["webhook-log", "prune"])
    assert result.exit_code == 0, result.output
    assert "Deleted 1 " in result.output
    assert len(entries(app)) == 1
