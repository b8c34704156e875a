"""Configuration: strict parsing, development keys, production refusing to start without keys."""

import json

import pytest

import config
from app import create_app
from tests.conftest import make_config, new_key


def test_production_refuses_to_start_without_keys(tmp_path):
    settings = make_config(f"sqlite:///{tmp_path}/p.sqlite", APP_ENV="production", JWT_SIGNING_KEY=None)
    with pytest.raises(config.ConfigError, match="JWT_SIGNING_KEY"):
        create_app(settings)


def test_development_generates_missing_keys_once(tmp_path, monkeypatch):
    settings = make_config(f"sqlite:///{tmp_path}/d.sqlite", SECRET_KEY=None, TOKEN_ENCRYPTION_KEY=None)
    monkeypatch.setattr("flask.Flask.auto_find_instance_path", lambda self: str(tmp_path / "instance"))
    first = create_app(dict(settings))
    second = create_app(dict(settings))
    stored = json.loads((tmp_path / "instance" / config.DEV_KEYS_FILE).read_text())
    assert set(stored) == {"SECRET_KEY", "TOKEN_ENCRYPTION_KEY"}
    assert first.config["SECRET_KEY"] == second.config["SECRET_KEY"] == stored["SECRET_KEY"]
    assert (tmp_path / "instance" / config.DEV_KEYS_FILE).stat().st_mode & 0o077 == 0


def test_bad_key_stops_start_up_with_variable_name(tmp_path):
    settings = make_config(f"sqlite:///{tmp_path}/b.sqlite", TOKEN_ENCRYPTION_KEY="c2hvcnQ")
    with pytest.raises(config.ConfigError, match="TOKEN_ENCRYPTION_KEY must decode to 32 bytes"):
        create_app(settings)


def test_environment_values_are_parsed_strictly():
    assert config.read_environment({"TOKENS_PER_PAGE": "10", "AUTO_MIGRATE": "no"}) == {
        "TOKENS_PER_PAGE": 10, "AUTO_MIGRATE": False,
    }
    with pytest.raises(config.ConfigError, match="TOKENS_PER_PAGE must be a whole number"):
        config.read_environment({"TOKENS_PER_PAGE": "ten"})
    with pytest.raises(config.ConfigError, match="AUTO_MIGRATE must be true or false"):
        config.read_environment({"AUTO_MIGRATE": "maybe"})
    with pytest.raises(config.ConfigError, match="APP_ENV must be one of"):
        create_app(make_config("sqlite://", APP_ENV="staging"))


def test_fresh_database_gets_schema_on_start(tmp_path):
    app = create_app(make_config(f"sqlite:///{tmp_path}/fresh.sqlite", SECRET_KEY=new_key()))
    response = app.test_client().get("/signup")
    assert response.status_code == 200
    assert (tmp_path / "fresh.sqlite").exists()


def test_postgresql_url_uses_psycopg_and_pre_ping():
    app = create_app(make_config("postgresql://app@127.0.0.1:1/exponential", AUTO_MIGRATE=False))

    assert app.config["SQLALCHEMY_DATABASE_URI"] == "postgresql+psycopg://app@127.0.0.1:1/exponential"
    assert app.config["SQLALCHEMY_ENGINE_OPTIONS"]["pool_pre_ping"] is True
