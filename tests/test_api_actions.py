"""Actions, workspaces and meetings in the JSON API, with one error shape and CORS."""

import json

import pytest
from sqlalchemy import func, select

from extensions import db
from models import Action, Membership, Workspace
from tests.conftest import token_value_from


@pytest.fixture
def bearer(user):
    value = token_value_from(user.create_token(kind="jwt").get_data(as_text=True))
    return {"Authorization": f"Bearer {value}"}


@pytest.fixture
def api(app, bearer):
    client = app.test_client()

    def call(method, path, body=None, headers=None, raw=None, content_type="application/json"):
        merged = dict(bearer, **(headers or {}))
        data = raw
        if data is None and body is not None:
            data = json.dumps(body)
        return client.open(path, method=method, data=data, headers=merged,
                           content_type=content_type if data is not None else None)

    return call


def count_actions(app):
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(Action))


def test_create_action_returns_201_with_location(app, api):
    response = api("POST", "/api/v1/actions", {
        "title": "  Reply to Grace  ", "notes": "About the release", "source_url": "https://example.com/mail/1",
        "due_date": "2026-12-24", "source": "extension",
    })
    assert response.status_code == 201
    body = response.get_json()
    assert response.headers["Location"].endswith(f"/api/v1/actions/{body['id']}")
    assert body["title"] == "Reply to Grace"
    assert body["status"] == "open"
    assert body["source"] == "extension"
    assert body["due_date"] == "2026-12-24"

    fetched = api("GET", f"/api/v1/actions/{body['id']}")
    assert fetched.get_json() == body


def test_create_action_defaults(app, api):
    body = api("POST", "/api/v1/actions", {"title": "Plain"}).get_json()
    workspaces = api("GET", "/api/v1/workspaces").get_json()["workspaces"]
    assert body["workspace_id"] == workspaces[0]["id"]
    assert workspaces[0]["role"] == "owner"
    assert body["source"] == "api"


@pytest.mark.parametrize("payload, field", [
    ({}, "title"),
    ({"title": "   "}, "title"),
    ({"title": "x" * 501}, "title"),
    ({"title": "ok", "status": "maybe"}, "status"),
    ({"title": "ok", "due_date": "24/12/2026"}, "due_date"),
    ({"title": "ok", "due_date": 20261224}, "due_date"),
    ({"title": "ok", "source_url": "javascript:alert(1)"}, "source_url"),
    ({"title": "ok", "workspace_id": 9999}, "workspace_id"),
    ({"title": "ok", "workspace_id": "1"}, "workspace_id"),
    ({"title": "ok", "source": "fireflies"}, "source"),
    ({"title": "ok", "colour": "red"}, "colour"),
    ({"title": 5}, "title"),
])
def test_invalid_fields_get_422_and_store_nothing(app, api, payload, field):
    response = api("POST", "/api/v1/actions", payload)
    assert response.status_code == 422
    body = response.get_json()
    assert body["error"] == "invalid_fields"
    assert field in body["fields"]
    assert count_actions(app) == 0


def test_malformed_json_gets_400_and_wrong_type_415(app, api):
    malformed = api("POST", "/api/v1/actions", raw="{not json")
    assert malformed.status_code == 400
    assert malformed.get_json()["error"] == "malformed_json"
    array = api("POST", "/api/v1/actions", raw="[1, 2]")
    assert array.status_code == 400
    form = api("POST", "/api/v1/actions", raw="title=x", content_type="application/x-www-form-urlencoded")
    assert form.status_code == 415
    assert form.get_json()["error"] == "unsupported_media_type"
    assert count_actions(app) == 0


def test_idempotency_key_creates_one_action(app, api):
    headers = {"Idempotency-Key": "zap-run-42"}
    first = api("POST", "/api/v1/actions", {"title": "Once"}, headers=headers)
    second = api("POST", "/api/v1/actions", {"title": "Once"}, headers=headers)
    assert first.status_code == second.status_code == 201
    assert first.get_json() == second.get_json()
    assert second.headers["Location"] == first.headers["Location"]
    assert second.headers["Idempotent-Replayed"] == "true"
    assert count_actions(app) == 1

    reused = api("POST", "/api/v1/actions", {"title": "Other"}, headers=headers)
    assert reused.status_code == 422
    assert reused.get_json()["error"] == "idempotency_key_reused"
    assert count_actions(app) == 1


def test_idempotency_keys_are_per_user(app, api, other_user):
    other_value = token_value_from(other_user.create_token(kind="jwt").get_data(as_text=True))
    api("POST", "/api/v1/actions", {"title": "Mine"}, headers={"Idempotency-Key": "shared"})
    response = app.test_client().post(
        "/api/v1/actions", json={"title": "Mine"},
        headers={"Authorization": f"Bearer {other_value}", "Idempotency-Key": "shared"},
    )
    assert response.status_code == 201
    assert count_actions(app) == 2


def test_patch_and_delete_action(app, api):
    created = api("POST", "/api/v1/actions", {"title": "Change me"}).get_json()
    path = f"/api/v1/actions/{created['id']}"

    patched = api("PATCH", path, {"status": "done", "notes": "Finished"})
    assert patched.status_code == 200
    assert patched.get_json()["status"] == "done"
    assert patched.get_json()["title"] == "Change me"

    invalid = api("PATCH", path, {"title": ""})
    assert invalid.status_code == 422
    assert api("GET", path).get_json()["title"] == "Change me"

    assert api("DELETE", path).status_code == 204
    assert api("GET", path).status_code == 404
    assert count_actions(app) == 0


def test_other_users_action_answers_404(app, api, other_user):
    other_value = token_value_from(other_user.create_token(kind="jwt").get_data(as_text=True))
    foreign = app.test_client().post("/api/v1/actions", json={"title": "Grace's"},
                                     headers={"Authorization": f"Bearer {other_value}"}).get_json()
    path = f"/api/v1/actions/{foreign['id']}"
    for method, body in (("GET", None), ("PATCH", {"title": "Mine now"}), ("DELETE", None)):
        response = api(method, path, body)
        assert response.status_code == 404, method
        assert response.get_json()["error"] == "not_found"
    assert count_actions(app) == 1


def test_shared_workspace_actions_are_visible_to_members(app, user, api, other_user):
    with app.app_context():
        from models import User

        ada = User.find_by_email(user.email)
        grace = User.find_by_email(other_user.email)
        team = Workspace(name="Team")
        db.session.add(team)
        db.session.add_all([Membership(user=ada, workspace=team, role="owner"),
                            Membership(user=grace, workspace=team, role="member")])
        db.session.commit()
        team_id = team.id
    created = api("POST", "/api/v1/actions", {"title": "Team task", "workspace_id": team_id}).get_json()
    grace_value = token_value_from(other_user.create_token(kind="jwt").get_data(as_text=True))
    seen = app.test_client().get(f"/api/v1/actions/{created['id']}",
                                 headers={"Authorization": f"Bearer {grace_value}"})
    assert seen.status_code == 200


def test_list_filters_and_cursor_pagination(app, api):
    for number in range(5):
        api("POST", "/api/v1/actions", {"title": f"Task {number}", "status": "done" if number % 2 else "open"})

    first = api("GET", "/api/v1/actions?limit=2").get_json()
    assert [action["title"] for action in first["actions"]] == ["Task 4", "Task 3"]
    assert first["next"]
    second = api("GET", first["next"].replace("http://localhost", "")).get_json()
    assert [action["title"] for action in second["actions"]] == ["Task 2", "Task 1"]
    third = api("GET", second["next"].replace("http://localhost", "")).get_json()
    assert [action["title"] for action in third["actions"]] == ["Task 0"]
    assert third["next"] is None

    done = api("GET", "/api/v1/actions?status=done").get_json()["actions"]
    assert {action["title"] for action in done} == {"Task 1", "Task 3"}
    assert api("GET", "/api/v1/actions?status=later").status_code == 422
    assert api("GET", "/api/v1/actions?limit=0").status_code == 422
    assert api("GET", "/api/v1/actions?cursor=garbage!").status_code == 422
    assert api("GET", "/api/v1/actions?workspace_id=9999").status_code == 422


def test_cors_preflight_and_headers(app):
    client = app.test_client()
    preflight = client.options("/api/v1/actions", headers={
        "Origin": "chrome-extension://abcdef", "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization, content-type",
    })
    assert preflight.status_code == 204
    assert preflight.headers["Access-Control-Allow-Origin"] == "*"
    assert "Authorization" in preflight.headers["Access-Control-Allow-Headers"]
    assert "Content-Type" in preflight.headers["Access-Control-Allow-Headers"]
    assert "POST" in preflight.headers["Access-Control-Allow-Methods"]
    rejected = client.get("/api/v1/me", headers={"Origin": "https://app.example"})
    assert rejected.headers["Access-Control-Allow-Origin"] == "*"
    assert "Access-Control-Allow-Credentials" not in rejected.headers


@pytest.mark.app_config(CORS_ORIGINS="https://allowed.example")
def test_cors_origins_can_be_restricted(app):
    client = app.test_client()
    allowed = client.get("/api/v1/me", headers={"Origin": "https://allowed.example"})
    assert allowed.headers["Access-Control-Allow-Origin"] == "https://allowed.example"
    other = client.get("/api/v1/me", headers={"Origin": "https://other.example"})
    assert "Access-Control-Allow-Origin" not in other.headers


def test_meeting_detail_and_missing_meeting(app, api):
    assert api("GET", "/api/v1/meetings").get_json() == {"meetings": [], "next": None}
    missing = api("GET", "/api/v1/meetings/12345")
    assert missing.status_code == 404
    assert missing.get_json()["error"] == "not_found"


def test_ids_beyond_32_bits_rejected(app, api):
    huge = 2**63
    assert api("GET", f"/api/v1/actions/{huge}").status_code == 404
    assert api("GET", f"/api/v1/meetings/{huge}").status_code == 404
    assert api("GET", f"/api/v1/actions?workspace_id={huge}").status_code == 422
    assert api("POST", "/api/v1/actions", {"title": "x", "workspace_id": huge}).status_code == 422
