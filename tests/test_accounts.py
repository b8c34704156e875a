"""Sign-up, sign-in and sign-out."""

from sqlalchemy import select

from extensions import db
from models import Membership, User, Workspace
from tests.conftest import PASSWORD, csrf_token_from


def test_signup_creates_user_with_personal_workspace(app, user):
    with app.app_context():
        stored = User.find_by_email("ada@example.com")
        assert stored.name == "Ada Lovelace"
        assert stored.password_hash.startswith("scrypt:")
        assert PASSWORD not in stored.password_hash
        membership = db.session.scalar(select(Membership).where(Membership.user_id == stored.id))
        assert membership.role == "owner"
        workspace = db.session.get(Workspace, membership.workspace_id)
        assert workspace.personal is True


def test_signup_with_taken_email_fails_whatever_the_case(app, user):
    client = app.test_client()
    page = client.get("/signup").get_data(as_text=True)
    response = client.post("/signup", data={
        "name": "Someone", "email": "ADA@example.com", "password": PASSWORD, "csrf_token": csrf_token_from(page),
    })
    assert response.status_code == 422
    assert "already exists" in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(db.func.count()).select_from(User)) == 1


def test_signup_rejects_short_password_and_bad_email(client):
    page = client.get("/signup").get_data(as_text=True)
    response = client.post("/signup", data={
        "name": "X", "email": "not-an-email", "password": "short", "csrf_token": csrf_token_from(page),
    })
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Enter a valid email address." in html
    assert "Use 8 to 256 characters." in html


def _sign_in(client, email, password):
    page = client.get("/signin").get_data(as_text=True)
    return client.post("/signin", data={"email": email, "password": password, "csrf_token": csrf_token_from(page)})


def test_signin_failure_message_is_uniform(app, user):
    unknown = _sign_in(app.test_client(), "nobody@example.com", PASSWORD)
    wrong = _sign_in(app.test_client(), "ada@example.com", "wrong password")
    assert unknown.status_code == wrong.status_code == 401
    message = "The email or password is incorrect."
    assert message in unknown.get_data(as_text=True)
    assert message in wrong.get_data(as_text=True)


def test_signin_returns_to_next_page(app, user):
    client = app.test_client()
    page = client.get("/signin?next=/tokens?before=5").get_data(as_text=True)
    response = client.post(
        "/signin?next=/tokens?before=5",
        data={"email": " ADA@Example.com ", "password": PASSWORD, "csrf_token": csrf_token_from(page)},
    )
    assert response.status_code == 303
    assert response.headers["Location"] == "/tokens?before=5"


def test_signin_ignores_next_pointing_to_another_site(app, user):
    client = app.test_client()
    page = client.get("/signin").get_data(as_text=True)
    response = client.post(
        "/signin?next=//evil.example/x",
        data={"email": "ada@example.com", "password": PASSWORD, "csrf_token": csrf_token_from(page)},
    )
    assert response.headers["Location"] == "/tokens"


def test_signout_ends_session(user):
    response = user.client.post("/signout", data={"csrf_token": user.csrf_token})
    assert response.status_code == 303
    after = user.client.get("/tokens")
    assert after.status_code == 303
    assert after.headers["Location"].startswith("/signin")


def test_signout_without_csrf_token_is_rejected(user):
    response = user.client.post("/signout")
    assert response.status_code == 400
    assert user.client.get("/tokens").status_code == 200


def test_tokens_page_requires_sign_in(client):
    response = client.get("/tokens")
    assert response.status_code == 303
    assert response.headers["Location"] == "/signin?next=/tokens"


def test_second_signup_gets_own_workspace(app, user, other_user):
    with app.app_context():
        ada = User.find_by_email("ada@example.com")
        grace = User.find_by_email("grace@example.com")
        assert ada.personal_workspace().id != grace.personal_workspace().id
