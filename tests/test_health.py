"""Health endpoints, 503 while the database is unreachable, and the client address behind proxies."""

import logging
import socket

import pytest

import database_errors
from app import create_app
from tests.conftest import csrf_token_from, make_config


def closed_port():
    """Return a loopback port that nothing listens on."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(params=["sqlite", "postgresql"])
def unreachable_app(request, tmp_path, monkeypatch):
    """An app whose database cannot be opened: a SQLite file in a missing folder, or a closed port."""
    monkeypatch.setattr(database_errors, "_last_logged", None)
    monkeypatch.setattr(database_errors, "_suppressed", 0)
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path}/missing-folder/app.sqlite"
    else:
        url = f"postgresql+psycopg://postgres@127.0.0.1:{closed_port()}/test"
    return create_app(make_config(url, AUTO_MIGRATE=False))


def test_healthz_answers_without_database(unreachable_app):
    response = unreachable_app.test_client().get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok"}


def test_readyz_ok_when_database_answers(client):
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok", "database": "ok"}
    assert "Set-Cookie" not in response.headers


def test_readyz_503_when_database_unreachable(unreachable_app):
    response = unreachable_app.test_client().get("/readyz")
    assert response.status_code == 503
    assert response.headers["Retry-After"] == str(database_errors.RETRY_AFTER_SECONDS)
    assert response.get_json() == {"status": "unavailable", "database": "unreachable"}


def test_api_and_webhook_answer_503_when_database_unreachable(unreachable_app, caplog):
    client = unreachable_app.test_client()
    caplog.set_level(logging.WARNING, logger="database_errors")

    api = client.get("/api/v1/me", headers={"Authorization": "Bearer " + "0" * 32})
    webhook = client.post("/webhooks/fireflies/" + "0" * 32, data=b"{}", headers={"X-Hub-Signature": "0" * 64})

    for response in (api, webhook):
        assert response.status_code == 503
        # On rate-limited routes Flask-Limiter (4.1) raises Retry-After to the end of the
        # current rate-limit window when that is later.
        assert int(response.headers["Retry-After"]) >= database_errors.RETRY_AFTER_SECONDS - 1
        assert response.get_json()["error"] == "service_unavailable"
    warnings = [record for record in caplog.records if record.name == "database_errors"]
    assert len(warnings) == 1, [record.getMessage() for record in warnings]
    assert "Database unavailable on GET /api/v1/me" in warnings[0].getMessage()


def test_dashboard_sign_in_answers_503_page(unreachable_app):
    client = unreachable_app.test_client()
    page = client.get("/signin").get_data(as_text=True)

    response = client.post(
        "/signin", data={"email": "ada@example.com", "password": "x" * 12, "csrf_token": csrf_token_from(page)}
    )

    assert response.status_code == 503
    assert "Retry-After" in response.headers
    assert "Try again in a few seconds." in response.get_data(as_text=True)


def bad_bearer(client, forwarded_for):
    return client.get("/api/v1/me", headers={"Authorization": "Bearer " + "0" * 32, "X-Forwarded-For": forwarded_for})


@pytest.mark.app_config(BEARER_FAILURE_RATE_LIMIT="2 per minute")
def test_forwarded_for_ignored_by_default(client):
    statuses = [bad_bearer(client, f"203.0.113.{n}").status_code for n in range(3)]
    assert statuses == [401, 401, 429]


@pytest.mark.app_config(BEARER_FAILURE_RATE_LIMIT="2 per minute", TRUSTED_PROXY_COUNT=1)
def test_forwarded_for_used_with_trusted_proxy(client):
    statuses = [bad_bearer(client, f"203.0.113.{n}").status_code for n in range(3)]
    assert statuses == [401, 401, 401]
    assert bad_bearer(client, "203.0.113.0").status_code == 401
    assert bad_bearer(client, "203.0.113.0").status_code == 429


@pytest.mark.app_config(BEARER_FAILURE_RATE_LIMIT="2 per minute", TRUSTED_PROXY_COUNT=1)
def test_trusted_proxy_takes_only_its_own_entry(client):
    # A client that sends its own X-Forwarded-For cannot pick the address: the proxy appends
    # the real one, and only the last entry is trusted.
    statuses = [bad_bearer(client, f"198.51.100.{n}, 203.0.113.9").status_code for n in range(3)]
    assert statuses == [401, 401, 429]
