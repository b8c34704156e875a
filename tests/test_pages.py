"""The Actions, Meetings, Integrations and API pages."""

import json
import re
from urllib.parse import urlsplit

import pytest
from sqlalchemy import func, select

from extensions import db
from models import Action, FirefliesCredential, Meeting, MeetingActionItem
from tests.conftest import token_value_from, webhook_url_from
from tests.fake_fireflies import INVALID_KEY
from tests.test_security import sign, v2_body


@pytest.fixture
def app(fireflies_app):
    return fireflies_app


def count(app, model):
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(model))


def test_actions_page_creates_with_htmx_and_plain_post(app, user):
    page = user.client.get("/actions").get_data(as_text=True)
    assert "New action in" in page
    response = user.client.post("/actions", data={"title": "Call the bank", "notes": "Before noon"},
                                headers=user.htmx_headers())
    assert response.status_code == 200
    body = response.get_data(as_text=True)
    assert '<hx-partial hx-target="#action-rows" hx-swap="afterbegin">' in body
    assert "Call the bank" in body

    plain = user.client.post("/actions", data={"title": "Water plants", "csrf_token": user.csrf_token})
    assert plain.status_code == 303
    listing = user.client.get("/actions").get_data(as_text=True)
    assert listing.index("Water plants") < listing.index("Call the bank")
    assert count(app, Action) == 2


def test_actions_page_shows_field_errors(app, user):
    response = user.client.post("/actions", data={"title": " ", "source_url": "ftp://x", "due_date": "soon"},
                                headers=user.htmx_headers())
    body = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Enter a title." in body
    assert "Use an http or https URL" in body
    assert "Use a date as YYYY-MM-DD." in body
    assert count(app, Action) == 0


def test_action_marked_done_and_deleted(app, user):
    user.client.post("/actions", data={"title": "Finish me"}, headers=user.htmx_headers())
    with app.app_context():
        action_id = db.session.scalar(select(Action.id))
    toggled = user.client.post(f"/actions/{action_id}/status", headers=user.htmx_headers())
    assert "Reopen" in toggled.get_data(as_text=True)
    with app.app_context():
        assert db.session.get(Action, action_id).status == "done"

    confirm = user.client.get(f"/actions/{action_id}/delete")
    assert "Delete action" in confirm.get_data(as_text=True)
    deleted = user.client.delete(f"/actions/{action_id}", headers=user.htmx_headers())
    assert deleted.status_code == 200
    assert "deleted" in deleted.get_data(as_text=True)
    assert count(app, Action) == 0


def test_api_created_action_shows_on_actions_page(app, user):
    value = token_value_from(user.create_token(kind="jwt").get_data(as_text=True))
    app.test_client().post("/api/v1/actions", json={"title": "From the extension", "source": "extension"},
                           headers={"Authorization": f"Bearer {value}"})
    page = user.client.get("/actions").get_data(as_text=True)
    assert "From the extension" in page
    assert "Extension" in page


def deliver_and_fetch(app, user, meeting_id):
    page = user.create_token(kind="hex").get_data(as_text=True)
    path = urlsplit(webhook_url_from(page)).path
    body = v2_body(meeting_id)
    app.test_client().post(path, data=body, headers={"X-Hub-Signature": sign(token_value_from(page), body)})
    runner = app.test_cli_runner()
    runner.invoke(args=["fireflies", "set-key", "--user", user.email], input="ff-page-key\n")
    runner.invoke(args=["worker", "--burst"])


def test_meeting_pages_show_summary_items_and_transcript(app, user):
    deliver_and_fetch(app, user, "full-page")
    listing = user.client.get("/meetings").get_data(as_text=True)
    assert "Weekly sync full-page" in listing
    assert "Fetched" in listing
    with app.app_context():
        meeting_id = db.session.scalar(select(Meeting.id))
        item_id = db.session.scalar(select(MeetingActionItem.id).order_by(MeetingActionItem.position))

    detail = user.client.get(f"/meetings/{meeting_id}").get_data(as_text=True)
    assert "The team agreed to ship the token page this week." in detail
    assert "Ship the token page" in detail
    assert "I will write the release notes." in detail
    assert "Add as action" in detail

    added = user.client.post(f"/meetings/items/{item_id}/action", headers=user.htmx_headers())
    assert "Added to actions" in added.get_data(as_text=True)
    again = user.client.post(f"/meetings/items/{item_id}/action", headers=user.htmx_headers())
    assert again.status_code == 200
    assert count(app, Action) == 1
    with app.app_context():
        action = db.session.scalar(select(Action))
        assert action.source == "fireflies"
        assert action.meeting_id == meeting_id
    assert "Ship the token page" in user.client.get("/actions").get_data(as_text=True)


def test_integrations_page_saves_tests_and_removes_key(app, user, fireflies):
    page = user.client.get("/integrations").get_data(as_text=True)
    assert "Fireflies API key" in page
    blank = user.client.post("/integrations/fireflies", data={"api_key": "  ", "csrf_token": user.csrf_token})
    assert blank.status_code == 422
    assert count(app, FirefliesCredential) == 0

    saved = user.client.post("/integrations/fireflies", data={"api_key": "ff-secret-7788", "csrf_token": user.csrf_token})
    assert saved.status_code == 303
    page = user.client.get("/integrations").get_data(as_text=True)
    assert "…7788" in page
    assert "ff-secret-7788" not in page

    user.client.post("/integrations/fireflies/test", data={"csrf_token": user.csrf_token})
    assert "Fireflies accepted the key." in user.client.get("/integrations").get_data(as_text=True)
    assert fireflies.requests[-1]["authorization"] == "Bearer ff-secret-7788"

    user.client.post("/integrations/fireflies", data={"api_key": INVALID_KEY, "csrf_token": user.csrf_token})
    user.client.post("/integrations/fireflies/test", data={"csrf_token": user.csrf_token})
    failed = user.client.get("/integrations").get_data(as_text=True)
    assert "rejected the API key" in failed

    user.client.post("/integrations/fireflies/delete", data={"csrf_token": user.csrf_token})
    assert count(app, FirefliesCredential) == 0


def test_api_page_and_openapi_document(app, user):
    page = user.client.get("/api-docs").get_data(as_text=True)
    assert "curl -s http://localhost/api/v1/actions" in page
    assert "Idempotency-Key" in page
    assert "/api-docs" in user.client.get("/tokens").get_data(as_text=True)

    document = app.test_client().get("/api/v1/openapi.json").get_json()
    assert document["openapi"] == "3.1.0"


def test_openapi_document_lists_every_api_route(app):
    document = app.test_client().get("/api/v1/openapi.json").get_json()
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/v1/"):
            continue
        path = re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule.rule)
        assert path in document["paths"], f"{rule.rule} is missing from the OpenAPI document"
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            assert method.lower() in document["paths"][path], f"{method} {rule.rule} is not documented"
    assert json.dumps(document)
