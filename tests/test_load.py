"""Signed webhook deliveries under load and through a database outage, against gunicorn.

Each test prints its figures: requests sent, accepted, duplicates, stored, lost.
"""

import json
import queue
import random
import secrets
import threading
import time
from collections import Counter
from contextlib import ExitStack
from dataclasses import dataclass

import pytest
from sqlalchemy import create_engine, func, select
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

import accounts
import token_service
from app import create_app
from extensions import db
from fireflies_webhooks import sign
from models import Meeting, WebhookDelivery
from tests.conftest import PASSWORD, make_config, new_key
from tests.databases import POSTGRES_URL, postgres_database, selected_kind
from tests.servers import CuttableProxy, app_environment, gunicorn, send

pytestmark = pytest.mark.servers

DELIVERIES = 5_000
REPEAT_SHARE = 0.2
CONNECTIONS = 32
# Upper bound for sending one load, whatever happens.
LOAD_DEADLINE_SECONDS = 300
OUTAGE_DELIVERIES = 1_500
OUTAGE_CONNECTIONS = 8
OUTAGE_SECONDS = 3.0

only_postgresql = pytest.mark.skipif(
    selected_kind() != "postgresql", reason="Runs in the PostgreSQL pass (TEST_DATABASE=postgresql)."
)
only_sqlite = pytest.mark.skipif(selected_kind() != "sqlite", reason="Runs in the SQLite pass.")


@pytest.fixture
def keys():
    return {"SECRET_KEY": new_key(), "TOKEN_ENCRYPTION_KEY": new_key(), "JWT_SIGNING_KEY": new_key()}


@dataclass
class Webhook:
    endpoint_id: str
    secret: str
    user_id: int


def prepare(database_url, keys):
    """Migrate the database and create a user with a Hex Key; return its webhook."""
    app = create_app(make_config(database_url, **keys))
    with app.app_context():
        user = accounts.create_user(f"load-{secrets.token_hex(4)}@example.com", "Load Test", PASSWORD)
        issued = token_service.create_token(user, "Load test", "hex", "30d")
        webhook = Webhook(issued.token.endpoint_id, issued.value, user.id)
        db.session.remove()
        db.engine.dispose()
    return webhook


def make_bodies(total, repeat_share, seed):
    """Return ``total`` V2 delivery bodies in random order, ``repeat_share`` of them repeats."""
    rng = random.Random(seed)
    repeats = int(total * repeat_share)
    now_ms = int(time.time() * 1000)
    unique = [
        json.dumps({"event": "Transcription completed", "timestamp": now_ms, "meeting_id": f"meeting-{n}",
                    "client_reference_id": None}).encode()
        for n in range(total - repeats)
    ]
    bodies = unique + rng.choices(unique, k=repeats)
    rng.shuffle(bodies)
    return bodies


@dataclass
class Result:
    body: bytes
    status: int
    outcome: str
    retry_after: str


def deliver(ports, webhook, bodies, connections, on_result=None):
    """Post every body from ``connections`` threads spread over ``ports``; return the results."""
    work = queue.Queue()
    for body in bodies:
        work.put(body)
    results, lock = [], threading.Lock()
    deadline = time.monotonic() + LOAD_DEADLINE_SECONDS
    path = f"/webhooks/fireflies/{webhook.endpoint_id}"

    def run(port):
        while time.monotonic() < deadline:
            try:
                body = work.get_nowait()
            except queue.Empty:
                return
            headers = {"Content-Type": "application/json", "X-Hub-Signature": sign(webhook.secret, body)}
            try:
                response = send(port, "POST", path, body=body, headers=headers)
                outcome = response.json().get("status") or response.json().get("error", "")
                result = Result(body, response.status, outcome, response.headers.get("retry-after"))
            except (OSError, ValueError) as error:
                result = Result(body, 0, f"{type(error).__name__}: {error}", None)
            with lock:
                results.append(result)
            if on_result:
                on_result(len(results))

    threads = [threading.Thread(target=run, args=(ports[n % len(ports)],)) for n in range(connections)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=LOAD_DEADLINE_SECONDS + 30)
    return results


def stored_meeting_ids(database_url, user_id):
    engine = create_engine(database_url, poolclass=NullPool)
    try:
        with engine.connect() as connection:
            meeting_ids = connection.scalars(
                select(Meeting.fireflies_meeting_id).where(Meeting.user_id == user_id)
            ).all()
            deliveries = connection.scalar(
                select(func.count()).select_from(WebhookDelivery).where(WebhookDelivery.user_id == user_id)
            )
    finally:
        engine.dispose()
    return set(meeting_ids), deliveries


def meeting_id_of(body):
    return json.loads(body)["meeting_id"]


def check_load(label, results, bodies, database_url, webhook, seconds, capsys):
    statuses = Counter(result.status for result in results)
    outcomes = Counter(result.outcome for result in results if 200 <= result.status < 300)
    unique = {meeting_id_of(body) for body in bodies}
    stored, delivery_rows = stored_meeting_ids(database_url, webhook.user_id)
    answered_2xx = {meeting_id_of(result.body) for result in results if 200 <= result.status < 300}
    lost = answered_2xx - stored
    with capsys.disabled():
        print(f"\n{label}: sent={len(results)} accepted={outcomes['accepted']} duplicates={outcomes['duplicate']} "
              f"stored={len(stored)} unique={len(unique)} lost={len(lost)} statuses={dict(statuses)} "
              f"in {seconds:.1f} s ({len(results) / seconds:.0f} requests/s)")

    assert len(results) == len(bodies), "The load did not finish within its time bound."
    assert set(statuses) == {200}, f"Responses other than 200: {dict(statuses)}"
    assert outcomes["accepted"] == len(unique)
    assert outcomes["duplicate"] == len(bodies) - len(unique)
    assert stored == unique
    assert delivery_rows == len(unique)
    assert lost == set()


def run_load(label, database_url, keys, tmp_path, capsys, instances, workers):
    webhook = prepare(database_url, keys)
    bodies = make_bodies(DELIVERIES, REPEAT_SHARE, seed=label)
    environment = app_environment(database_url, keys)
    logs = [tmp_path / f"instance-{n}.log" for n in range(instances)]
    with ExitStack() as stack:
        ports = [stack.enter_context(gunicorn(environment, log, workers=workers)).port for log in logs]
        started = time.monotonic()
        results = deliver(ports, webhook, bodies, CONNECTIONS)
        seconds = time.monotonic() - started
    check_load(label, results, bodies, database_url, webhook, seconds, capsys)
    for log in logs:
        text = log.read_text(errors="replace")
        assert "database is locked" not in text
        assert "Traceback" not in text, text[-3000:]


@only_postgresql
def test_load_on_postgresql_loses_nothing(keys, tmp_path, capsys):
    with postgres_database() as database_url:
        run_load("load postgresql, 2 instances x 2 workers", database_url, keys, tmp_path, capsys,
                 instances=2, workers=2)


@only_sqlite
def test_load_on_sqlite_loses_nothing(keys, tmp_path, capsys):
    database_url = f"sqlite:///{tmp_path / 'load.sqlite'}"
    run_load("load sqlite, 1 instance x 4 workers", database_url, keys, tmp_path, capsys,
             instances=1, workers=4)


@only_postgresql
def test_database_outage_answers_503_and_loses_nothing(keys, tmp_path, capsys):
    with postgres_database() as database_url:
        webhook = prepare(database_url, keys)
        proxy = CuttableProxy(make_url(POSTGRES_URL).host or "127.0.0.1", make_url(POSTGRES_URL).port or 5432)
        proxy.start()
        proxied_url = make_url(database_url).set(host="127.0.0.1", port=proxy.port)
        environment = app_environment(proxied_url.render_as_string(hide_password=False), keys)
        bodies = make_bodies(OUTAGE_DELIVERIES, 0, seed="outage")
        outage = {"cut_at": None, "restored_at": None}

        def cut_after_a_third(answered):
            if answered >= len(bodies) // 3 and outage["cut_at"] is None:
                outage["cut_at"] = time.monotonic()
                proxy.cut()
                restorer.start()

        def restore():
            proxy.start()
            outage["restored_at"] = time.monotonic()

        restorer = threading.Timer(OUTAGE_SECONDS, restore)
        log_path = tmp_path / "instance.log"
        try:
            with gunicorn(environment, log_path, workers=2) as instance:
                started = time.monotonic()
                results = deliver([instance.port], webhook, bodies, OUTAGE_CONNECTIONS, on_result=cut_after_a_third)
                seconds = time.monotonic() - started
                # Fireflies retries a delivery that got no 2xx; do the same once the database is back.
                restorer.join(timeout=OUTAGE_SECONDS + 10)
                retried = [result.body for result in results if not 200 <= result.status < 300]
                retry_results = deliver([instance.port], webhook, retried, OUTAGE_CONNECTIONS)
        finally:
            proxy.cut()
        stored, delivery_rows = stored_meeting_ids(database_url, webhook.user_id)

    statuses = Counter(result.status for result in results)
    unavailable = [result for result in results if result.status == 503]
    answered_2xx = {meeting_id_of(result.body) for result in results if 200 <= result.status < 300}
    lost = answered_2xx - stored
    with capsys.disabled():
        print(f"\noutage postgresql, 1 instance x 2 workers, {OUTAGE_SECONDS:.0f} s cut: sent={len(results)} "
              f"accepted={len(answered_2xx)} unavailable={len(unavailable)} statuses={dict(statuses)} "
              f"accepted and stored={len(answered_2xx & stored)} lost={len(lost)}; "
              f"retried={len(retry_results)} with statuses {dict(Counter(r.status for r in retry_results))}; "
              f"stored after retries={len(stored)} of {len(bodies)} in {seconds:.1f} s")

    assert outage["restored_at"] is not None, "The load ended before the outage began."
    assert len(results) == len(bodies), "The load did not finish within its time bound."
    assert set(statuses) <= {200, 503}, f"Responses other than 200 and 503: {dict(statuses)}"
    assert unavailable, "No request saw the outage."
    assert all(result.retry_after for result in unavailable), "A 503 came without Retry-After."
    assert lost == set(), f"{len(lost)} deliveries answered 2xx are not stored."
    assert {result.status for result in retry_results} <= {200}
    assert stored == {meeting_id_of(body) for body in bodies}
    assert delivery_rows == len(bodies)
    assert "Database unavailable on POST /webhooks/fireflies/" in log_path.read_text(errors="replace")
