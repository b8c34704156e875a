"""The operator commands: users create, tokens create, list and revoke."""

import json

from tests.conftest import PASSWORD, latest_token


def create_user(runner, email="ops@example.com", password=PASSWORD):
    return runner.invoke(args=["users", "create", email, "--name", "Ops"], input=password + "\n")


def test_users_create_reads_password_from_stdin(app, runner):
    result = create_user(runner)
    assert result.exit_code == 0, result.output
    assert "Created user" in result.output
    assert PASSWORD not in result.output
    signin = app.test_client().get("/signin")
    assert signin.status_code == 200


def test_users_create_rejects_short_password_and_duplicate(runner):
    short = create_user(runner, password="short")
    assert short.exit_code != 0
    assert "8 to 256 characters" in short.output

    assert create_user(runner).exit_code == 0
    duplicate = create_user(runner)
    assert duplicate.exit_code != 0
    assert "already exists" in duplicate.output


def test_tokens_create_json_prints_value_once(app, runner):
    create_user(runner)
    result = runner.invoke(args=["tokens", "create", "--user", "ops@example.com", "--name", "Script",
                                 "--type", "hex", "--expires", "7d", "--json"])
    assert result.exit_code == 0, result.output
    output = json.loads(result.output)
    assert set(output) == {"id", "token", "type", "expires_at", "webhook_url"}
    assert len(output["token"]) == 32
    assert "/webhooks/fireflies/" in output["webhook_url"]

    response = app.test_client().get("/api/v1/me", headers={"Authorization": f"Bearer {output['token']}"})
    assert response.status_code == 200


def test_tokens_create_jwt_has_no_webhook_url(runner):
    create_user(runner)
    result = runner.invoke(args=["tokens", "create", "--user", "ops@example.com", "--name", "Script",
                                 "--type", "jwt", "--expires", "1h", "--json"])
    output = json.loads(result.output)
    assert output["type"] == "jwt"
    assert "webhook_url" not in output


def test_tokens_create_rejects_bad_input(runner):
    create_user(runner)
    base = ["tokens", "create", "--user", "ops@example.com", "--name", "X", "--type", "hex", "--expires", "7d"]
    assert runner.invoke(args=base[:-1] + ["365d"]).exit_code != 0
    assert runner.invoke(args=base[:7] + ["rsa"] + base[8:]).exit_code != 0
    assert runner.invoke(args=base[:5] + ["  "] + base[6:]).exit_code != 0
    unknown = runner.invoke(args=base[:3] + ["nobody@example.com"] + base[4:])
    assert unknown.exit_code != 0
    assert "No user with email" in unknown.output


def test_tokens_list_and_revoke(app, runner):
    create_user(runner)
    runner.invoke(args=["tokens", "create", "--user", "ops@example.com", "--name", "Listed",
                        "--type", "jwt", "--expires", "30d"])
    token = latest_token(app, "ops@example.com")

    listing = runner.invoke(args=["tokens", "list", "--user", "ops@example.com"])
    assert "Listed" in listing.output
    assert "active" in listing.output

    revoked = runner.invoke(args=["tokens", "revoke", str(token.id)])
    assert revoked.exit_code == 0
    assert latest_token(app, "ops@example.com").revoked_at is not None
    assert "revoked" in runner.invoke(args=["tokens", "list", "--user", "ops@example.com"]).output
    assert runner.invoke(args=["tokens", "revoke", "9999"]).exit_code != 0
