"""Fixtures shared by the tests: an app on a fresh database, clients, users, a live server.

The database is a SQLite file, or a fresh PostgreSQL database with ``TEST_DATABASE=postgresql``.
"""

import re
import secrets
import tempfile
import threading
from dataclasses import dataclass

import pytest
from werkzeug.serving import make_server

import clock
from app import create_app
from extensions import db
from models import ApiToken, User
from tests.databases import fresh_database, selected_kind

CSRF_PATTERN = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"|"X-CSRFToken": "([^"]+)"')
PASSWORD = "correct horse battery"


def new_key():
    return secrets.token_urlsafe(32)


def make_config(database_url, **overrides):
    config = {
        "TESTING": True,
        "SECRET_KEY": new_key(),
        "TOKEN_ENCRYPTION_KEY": new_key(),
        "JWT_SIGNING_KEY": new_key(),
        "DATABASE_URL": database_url,
        # Each app gets its own job queue file, so that tests never share queued jobs.
        "JOB_QUEUE_URL": "sqlite:///" + tempfile.mkdtemp(prefix="jobs-") + "/jobs.sqlite",
        # Still scrypt, with a lower cost so that a sign-up takes milliseconds.
        "PASSWORD_HASH_METHOD": "scrypt:1024:8:1",
    }
    config.update(overrides)
    return config


@pytest.fixture
def database_url(tmp_path):
    with fresh_database(selected_kind(), tmp_path) as url:
        yield url


@pytest.fixture
def database_path(tmp_path):
    """The SQLite file of the ``app`` fixture, for tests that read its bytes."""
    if selected_kind() != "sqlite":
        pytest.skip("Reads the bytes of the SQLite file, and this run uses another database.")
    return tmp_path / "test.sqlite"


@pytest.fixture
def app(database_url, request):
    marker = request.node.get_closest_marker("app_config")
    overrides = marker.kwargs if marker else {}
    app = create_app(make_config(database_url, **overrides))
    yield app
    with app.app_context():
        db.engine.dispose()


@pytest.fixture
def fireflies():
    """A local fake of Fireflies' GraphQL API (see tests/fake_fireflies.py)."""
    from tests.fake_fireflies import FakeFireflies

    fake = FakeFireflies(slow_seconds=3).start()
    yield fake
    fake.stop()


@pytest.fixture
def fireflies_app(database_url, fireflies):
    """An app whose Fireflies API is the local fake."""
    app = create_app(make_config(database_url, FIREFLIES_API_URL=fireflies.url))
    yield app
    with app.app_context():
        db.engine.dispose()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture(autouse=True)
def real_clock():
    """Put the clock back after any test that moved it."""
    yield clock
    clock.reset()


def csrf_token_from(html):
    match = CSRF_PATTERN.search(html)
    assert match, "The page has no CSRF token."
    return match.group(1) or match.group(2)


@dataclass
class SignedIn:
    """A user signed in through the real sign-up form, with the CSRF token of their session."""

    client: object
    email: str
    csrf_token: str

    def htmx_headers(self):
        return {"HX-Request": "true", "X-CSRFToken": self.csrf_token, "HX-Current-URL": "http://localhost/tokens"}

    def create_token(self, name="Test token", kind="hex", expires_in="30d", description="", htmx=True):
        data = {"name": name, "kind": kind, "expires_in": expires_in, "description": description}
        headers = self.htmx_headers() if htmx else {}
        if not htmx:
            data["csrf_token"] = self.csrf_token
        return self.client.post("/tokens", data=data, headers=headers)


def sign_up(client, email, name="Test User", password=PASSWORD):
    page = client.get("/signup").get_data(as_text=True)
    response = client.post(
        "/signup",
        data={"name": name, "email": email, "password": password, "csrf_token": csrf_token_from(page)},
    )
    assert response.status_code == 303, response.get_data(as_text=True)
    tokens_page = client.get("/tokens").get_data(as_text=True)
    return SignedIn(client=client, email=email, csrf_token=csrf_token_from(tokens_page))


@pytest.fixture
def user(client):
    return sign_up(client, "ada@example.com", name="Ada Lovelace")


@pytest.fixture
def other_user(app):
    return sign_up(app.test_client(), "grace@example.com", name="Grace Hopper")


def token_value_from(html):
    """Return the token value shown in a reveal panel."""
    match = re.search(r'id="token-value"[^>]*value="([^"]+)"', html)
    assert match, "The response has no reveal panel with a token value."
    return match.group(1)


def webhook_url_from(html):
    match = re.search(r'id="webhook-url"[^>]*value="([^"]+)"', html)
    assert match, "The response has no webhook URL."
    return match.group(1)


def latest_token(app, email):
    with app.app_context():
        user = User.find_by_email(email)
        return db.session.scalar(
            db.select(ApiToken).where(ApiToken.user_id == user.id).order_by(ApiToken.id.desc())
        )


@dataclass
class LiveServer:
    app: object
    url: str


@pytest.fixture
def live_server(app):
    """Serve the app over real HTTP on a free loopback port, in a thread of this process."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield LiveServer(app=app, url=f"http://127.0.0.1:{server.server_port}")
    server.shutdown()
    thread.join(timeout=5)
