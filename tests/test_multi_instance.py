"""Several gunicorn instances on one database: shared rate-limit counts and revocation everywhere."""

import secrets
import threading
import time

import pytest
import redis
from sqlalchemy import create_engine, select
from sqlalchemy.pool import NullPool

from app import create_app
from extensions import db
from models import ApiToken
from tests.conftest import PASSWORD, make_config, new_key
from tests.databases import postgres_database, selected_kind
from tests.servers import Browser, app_environment, gunicorn, reachable, send

REDIS_URL = "redis://127.0.0.1:6379/1"
# Seconds that clients keep sending with a token after it was revoked.
AFTER_REVOKE_SECONDS = 2.0
# Upper bound for the whole hammering, whatever happens.
HAMMER_DEADLINE_SECONDS = 60.0

pytestmark = pytest.mark.servers


@pytest.fixture
def keys():
    return {"SECRET_KEY": new_key(), "TOKEN_ENCRYPTION_KEY": new_key(), "JWT_SIGNING_KEY": new_key()}


def migrate(database_url, keys):
    """Bring the database to the newest migration before the instances start."""
    app = create_app(make_config(database_url, **keys))
    with app.app_context():
        db.engine.dispose()


@pytest.mark.skipif(not reachable("127.0.0.1", 6379), reason="Redis does not accept connections at 127.0.0.1:6379.")
def test_instances_share_rate_limit_count_in_redis(database_url, keys, tmp_path):
    prefix = f"test-{secrets.token_hex(6)}"
    migrate(database_url, keys)
    environment = app_environment(
        database_url, keys,
        RATELIMIT_STORAGE_URI=REDIS_URL, RATELIMIT_KEY_PREFIX=prefix, BEARER_FAILURE_RATE_LIMIT="4 per minute",
    )
    bad_token = {"Authorization": "Bearer " + "0" * 32}

    try:
        with gunicorn(environment, tmp_path / "a.log", workers=1) as first, \
                gunicorn(environment, tmp_path / "b.log", workers=1) as second:
            statuses = [send(instance.port, "GET", "/api/v1/me", headers=bad_token).status
                        for instance in (first, second, first, second)]
            # Each instance has seen two failures; only a shared count reaches the limit of 4.
            after_limit = [send(instance.port, "GET", "/api/v1/me", headers=bad_token).status
                           for instance in (first, second)]
        stored_keys = list(redis.Redis.from_url(REDIS_URL).scan_iter(match=f"*{prefix}*"))
    finally:
        client = redis.Redis.from_url(REDIS_URL)
        for key in client.scan_iter(match=f"*{prefix}*"):
            client.delete(key)
        client.close()

    assert statuses == [401, 401, 401, 401]
    assert after_limit == [429, 429]
    assert stored_keys, "No rate-limit key with the prefix was stored in Redis."


def hammer(port, token, results, stop, deadline):
    """Send GET /api/v1/me with ``token`` until ``stop`` is set; record (sent, received, status)."""
    headers = {"Authorization": f"Bearer {token}"}
    while not stop.is_set() and time.monotonic() < deadline:
        sent = time.monotonic()
        status = send(port, "GET", "/api/v1/me", headers=headers).status
        results.append((sent, time.monotonic(), status))


@pytest.mark.skipif(selected_kind() != "postgresql", reason="Runs in the PostgreSQL pass (TEST_DATABASE=postgresql).")
def test_revoked_token_rejected_at_once_on_other_instance(keys, tmp_path, capsys):
    with postgres_database() as database_url:
        migrate(database_url, keys)
        environment = app_environment(database_url, keys)
        with gunicorn(environment, tmp_path / "a.log", workers=2) as first, \
                gunicorn(environment, tmp_path / "b.log", workers=2) as second:
            browser = Browser(first.port)
            browser.sign_up(f"revoke-{secrets.token_hex(4)}@example.com", PASSWORD)
            tokens = {kind: browser.create_token(kind, f"Revocation {kind}") for kind in ("jwt", "hex")}
            token_ids = _token_ids_by_kind(database_url)

            outcomes = {}
            for kind, token in tokens.items():
                outcomes[kind] = _revoke_while_hammering(first, second, browser, token, token_ids[kind])

    for kind, (before, after) in outcomes.items():
        accepted_after = [status for status in after if status == 200]
        with capsys.disabled():
            print(f"\nrevocation {kind}: requests before revoke returned={len(before)} "
                  f"(accepted {before.count(200)}), after={len(after)}, accepted after={len(accepted_after)}")
        assert before.count(200) > 0, f"The {kind} token was never accepted before the revoke."
        assert len(after) >= 20, f"Too few {kind} requests after the revoke to show anything: {len(after)}."
        assert accepted_after == [], f"Instance B accepted the revoked {kind} token {len(accepted_after)} times."
        assert set(after) == {401}


def _token_ids_by_kind(database_url):
    engine = create_engine(database_url, poolclass=NullPool)
    try:
        with engine.connect() as connection:
            return dict(connection.execute(select(ApiToken.kind, ApiToken.id)).all())
    finally:
        engine.dispose()


def _revoke_while_hammering(first, second, browser, token, token_id):
    """Hammer instance B with ``token`` while instance A revokes it; return the statuses of the
    requests sent before and after the revoke response returned."""
    results, stop = [], threading.Event()
    deadline = time.monotonic() + HAMMER_DEADLINE_SECONDS
    threads = [threading.Thread(target=hammer, args=(second.port, token, results, stop, deadline)) for _ in range(4)]
    for thread in threads:
        thread.start()
    try:
        time.sleep(0.5)
        response = browser.request("DELETE", f"/tokens/{token_id}", headers=browser.htmx_headers())
        revoked_at = time.monotonic()
        assert response.status == 200, response.text
        time.sleep(AFTER_REVOKE_SECONDS)
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=HAMMER_DEADLINE_SECONDS)

    before = [status for sent, received, status in results if received < revoked_at]
    after = [status for sent, received, status in results if sent > revoked_at]
    return before, after
