"""Fetching transcripts from Fireflies in the background, against a local fake of its API."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from sqlalchemy import func, select

import jobs
from app import create_app
from extensions import db
from fireflies_client import FirefliesClient, FirefliesError
from models import Meeting, MeetingActionItem, TranscriptSentence
from tests.conftest import make_config, sign_up, token_value_from, webhook_url_from
from tests.fake_fireflies import INVALID_KEY
from tests.test_security import sign, v2_body

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def app(fireflies_app):
    return fireflies_app


@pytest.fixture
def hook(user):
    page = user.create_token(kind="hex").get_data(as_text=True)
    return {"secret": token_value_from(page), "path": urlsplit(webhook_url_from(page)).path}


def deliver(app, hook, meeting_id):
    body = v2_body(meeting_id)
    response = app.test_client().post(hook["path"], data=body, headers={"X-Hub-Signature": sign(hook["secret"], body)})
    assert response.status_code == 200
    return response


def save_key(app, email, key="ff-test-key-1234"):
    result = app.test_cli_runner().invoke(args=["fireflies", "set-key", "--user", email], input=key + "\n")
    assert result.exit_code == 0, result.output


def meeting(app, fireflies_id):
    with app.app_context():
        return db.session.scalar(select(Meeting).where(Meeting.fireflies_meeting_id == fireflies_id))


def burst(app):
    return app.test_cli_runner().invoke(args=["worker", "--burst"])


def test_delivery_queues_fetch_without_calling_fireflies(app, user, hook, fireflies):
    save_key(app, user.email)
    deliver(app, hook, "full-1")
    assert fireflies.requests == []
    assert meeting(app, "full-1").fetch_status == "pending"

    result = burst(app)
    assert result.exit_code == 0, result.output
    stored = meeting(app, "full-1")
    assert stored.fetch_status == "done"
    assert stored.title == "Weekly sync full-1"
    assert stored.duration_minutes == 31.5
    assert stored.participants == ["ada@example.com", "grace@example.com"]
    assert stored.summary_overview.startswith("The team agreed")
    assert stored.summary_keywords == ["tokens", "release"]
    assert fireflies.requests[0]["authorization"] == "Bearer ff-test-key-1234"
    assert "transcript(id: $transcriptId)" in fireflies.requests[0]["body"]["query"]
    with app.app_context():
        sentences = db.session.scalars(select(TranscriptSentence).order_by(TranscriptSentence.index)).all()
        assert [(s.speaker, s.text) for s in sentences] == [
            ("Ada", "Let's ship the token page."), ("Grace", "I will write the release notes."),
        ]
        items = db.session.scalars(select(MeetingActionItem.text).order_by(MeetingActionItem.position)).all()
        assert items == ["Ship the token page", "Write the release notes"]


def test_action_items_as_list_become_drafts(app, user, hook):
    save_key(app, user.email)
    deliver(app, hook, "list-1")
    burst(app)
    with app.app_context():
        items = db.session.scalars(select(MeetingActionItem.text).order_by(MeetingActionItem.position)).all()
    assert items == ["Ada ships the token page", "Grace writes release notes"]


def test_meeting_waits_for_key_then_fetches(app, user, hook, fireflies):
    deliver(app, hook, "full-wait")
    burst(app)
    waiting = meeting(app, "full-wait")
    assert waiting.fetch_status == "pending"
    assert "No Fireflies API key" in waiting.fetch_error
    assert fireflies.requests == []

    save_key(app, user.email)
    burst(app)
    assert meeting(app, "full-wait").fetch_status == "done"


def test_graphql_error_fails_without_retry(app, user, hook, fireflies):
    save_key(app, user.email)
    deliver(app, hook, "graphql-error-1")
    burst(app)
    failed = meeting(app, "graphql-error-1")
    assert failed.fetch_status == "failed"
    assert "Transcript not found" in failed.fetch_error
    assert fireflies.calls["graphql-error-1"] == 1
    assert app.extensions["jobs"].huey.scheduled_count() == 0


def test_rejected_key_stops_and_records_why(app, user, hook, fireflies):
    save_key(app, user.email, key=INVALID_KEY)
    deliver(app, hook, "full-401")
    burst(app)
    failed = meeting(app, "full-401")
    assert failed.fetch_status == "failed"
    assert "rejected the API key" in failed.fetch_error
    assert app.extensions["jobs"].huey.scheduled_count() == 0


def test_rate_limit_retries_after_retry_after(app, user, hook, fireflies):
    save_key(app, user.email)
    deliver(app, hook, "rate-limited-1")
    burst(app)
    waiting = meeting(app, "rate-limited-1")
    assert waiting.fetch_status == "pending"
    assert waiting.fetch_attempts == 1
    assert "429" in waiting.fetch_error
    scheduled = app.extensions["jobs"].huey.scheduled()
    assert len(scheduled) == 1
    delay = (scheduled[0].eta - time_now_utc_naive()).total_seconds()
    assert 5 < delay <= 7.5

    with app.app_context():
        jobs.fetch_meeting(waiting.id)
    assert meeting(app, "rate-limited-1").fetch_status == "done"


def time_now_utc_naive():
    from datetime import datetime, timezone

    return datetime.now(timezone.utc).replace(tzinfo=None)


def test_server_errors_retry_with_backoff(app, user, hook, fireflies):
    save_key(app, user.email)
    deliver(app, hook, "flaky-1")
    burst(app)
    first = meeting(app, "flaky-1")
    assert first.fetch_status == "pending"
    assert "503" in first.fetch_error
    assert jobs.backoff_seconds(1) == 5
    assert jobs.backoff_seconds(2) == 10
    assert jobs.backoff_seconds(3, retry_after=60) == 60
    assert jobs.backoff_seconds(20) == 600

    with app.app_context():
        with pytest.raises(Exception) as retry:
            jobs.fetch_meeting(first.id)
        assert retry.value.delay == 10
        jobs.fetch_meeting(first.id)
    done = meeting(app, "flaky-1")
    assert done.fetch_status == "done"
    assert done.fetch_attempts == 3


def test_gives_up_after_max_attempts(database_url, fireflies):
    app = create_app(make_config(database_url, FIREFLIES_API_URL=fireflies.url, FETCH_MAX_ATTEMPTS=2))
    signed_in = sign_up(app.test_client(), "max@example.com")
    page = signed_in.create_token(kind="hex").get_data(as_text=True)
    save_key(app, "max@example.com")
    deliver(app, {"secret": token_value_from(page), "path": urlsplit(webhook_url_from(page)).path}, "flaky-max")
    burst(app)
    with app.app_context():
        stored = db.session.scalar(select(Meeting))
        jobs.fetch_meeting(stored.id)
        stored = db.session.get(Meeting, stored.id)
        fetch_status, fetch_attempts = stored.fetch_status, stored.fetch_attempts
        # Close the pooled connections now; garbage-collected psycopg connections warn.
        db.session.remove()
        db.engine.dispose()
    assert fetch_status == "failed"
    assert fetch_attempts == 2


def test_client_times_out_on_slow_answer(fireflies):
    client = FirefliesClient(fireflies.url, "ff-test-key-1234", timeout=1)
    with pytest.raises(FirefliesError) as error:
        client.fetch_transcript("slow-1")
    assert error.value.retryable is True
    assert "did not respond within 1 seconds" in str(error.value)


def test_second_run_stores_nothing_more(app, user, hook):
    save_key(app, user.email)
    deliver(app, hook, "full-twice")
    with app.app_context():
        stored = db.session.scalar(select(Meeting))
        jobs.fetch_meeting(stored.id)
        db.session.execute(db.update(Meeting).values(fetch_status="pending"))
        db.session.commit()
        assert jobs._store_transcript(stored.id, _parsed("full-twice")) is True
        assert jobs._store_transcript(stored.id, _parsed("full-twice")) is False
        assert db.session.scalar(select(func.count()).select_from(TranscriptSentence)) == 2


def _parsed(transcript_id):
    from fireflies_client import parse_transcript
    from tests.fake_fireflies import transcript

    return parse_transcript(transcript(transcript_id, ["one"]))


def test_lost_job_is_requeued_when_worker_starts(app, user, hook):
    save_key(app, user.email)
    deliver(app, hook, "full-lost")
    # A worker took the job and died: the queue is empty, the meeting still pending.
    app.extensions["jobs"].huey.flush()
    assert burst(app).exit_code == 0
    assert meeting(app, "full-lost").fetch_status == "done"


def _worker_environment(app):
    config = app.config
    environment = {name: os.environ[name] for name in ("PATH", "HOME", "LANG") if name in os.environ}
    for name in ("SECRET_KEY", "TOKEN_ENCRYPTION_KEY", "JWT_SIGNING_KEY", "JOB_QUEUE_URL", "FIREFLIES_API_URL"):
        environment[name] = config[name]
    environment["DATABASE_URL"] = config["SQLALCHEMY_DATABASE_URI"]
    environment["PYTHONUNBUFFERED"] = "1"
    return environment


def test_killed_worker_mid_fetch_completes_after_restart(app, user, hook, fireflies):
    save_key(app, user.email)
    deliver(app, hook, "hang-once-1")
    environment = _worker_environment(app)
    command = [sys.executable, "-m", "flask", "--app", "app", "worker", "--workers", "1"]
    worker = subprocess.Popen(command, cwd=ROOT, env=environment, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 30
        while fireflies.calls["hang-once-1"] == 0 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert fireflies.calls["hang-once-1"] == 1, "The worker never started the fetch."
    finally:
        worker.send_signal(signal.SIGKILL)
        worker.wait(timeout=10)
    assert meeting(app, "hang-once-1").fetch_status == "pending"

    restarted = subprocess.run(command + ["--burst"], cwd=ROOT, env=environment, capture_output=True, timeout=60)
    assert restarted.returncode == 0, restarted.stdout + restarted.stderr
    done = meeting(app, "hang-once-1")
    assert done.fetch_status == "done"
    assert fireflies.calls["hang-once-1"] == 2
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(TranscriptSentence)) == 2


def test_set_key_rejects_blank_and_stores_encrypted(app, user, database_path):
    blank = app.test_cli_runner().invoke(args=["fireflies", "set-key", "--user", user.email], input="  \n")
    assert blank.exit_code != 0
    assert "Enter your Fireflies API key." in blank.output
    save_key(app, user.email, key="ff-secret-value-9876")
    with app.app_context():
        db.engine.dispose()
    stored = b"".join(path.read_bytes() for path in database_path.parent.glob(database_path.name + "*"))
    assert b"ff-secret-value-9876" not in stored
    assert json.dumps("ff-secret-value-9876").encode() not in stored


@pytest.fixture
def redis_queue_app(database_url, fireflies):
    import secrets

    from tests.servers import reachable

    if not reachable("127.0.0.1", 6379):
        pytest.skip("Redis does not answer on 127.0.0.1:6379.")
    name = f"test-{secrets.token_hex(6)}"
    app = create_app(make_config(database_url, FIREFLIES_API_URL=fireflies.url,
                                 JOB_QUEUE_URL="redis://127.0.0.1:6379/0", JOB_QUEUE_NAME=name))
    yield app
    app.extensions["jobs"].huey.storage.flush_all()
    with app.app_context():
        db.engine.dispose()


def test_redis_queue_runs_the_fetch(redis_queue_app, fireflies):
    app = redis_queue_app
    signed_in = sign_up(app.test_client(), "redis@example.com")
    page = signed_in.create_token(kind="hex").get_data(as_text=True)
    save_key(app, "redis@example.com")
    deliver(app, {"secret": token_value_from(page), "path": urlsplit(webhook_url_from(page)).path}, "full-redis")
    assert app.extensions["jobs"].huey.pending_count() == 1
    assert burst(app).exit_code == 0
    assert meeting(app, "full-redis").fetch_status == "done"
    assert app.extensions["jobs"].huey.pending_count() == 0
