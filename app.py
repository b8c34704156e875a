"""The Flask application factory. Run with ``flask --app app run`` or gunicorn 'app:create_app()'."""

import logging
from datetime import timezone
from pathlib import Path

from flask import Flask, render_template, request
from flask_login import current_user
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException
from werkzeug.middleware.proxy_fix import ProxyFix

import cli
import config
import database_errors
import jobs
import rate_limits
import schema
import security_headers
import token_service
from blueprints import (
    actions_pages,
    api,
    api_actions,
    api_errors,
    api_meetings,
    auth,
    docs_pages,
    health,
    integrations_pages,
    meetings_pages,
    tokens,
    webhooks,
    workflows_pages,
)
from blueprints.api_errors import api_error
from blueprints.htmx import is_htmx
from extensions import configure_sqlite, csrf, db, login_manager, migrate
from session_interface import EXTERNAL_PREFIXES, DashboardSessionInterface

MIGRATIONS_DIRECTORY = str(Path(__file__).parent / "migrations")


def create_app(test_config=None):
    """Create and configure the app. ``test_config`` overrides the environment."""
    app = Flask(__name__, instance_relative_config=True)
    app.session_interface = DashboardSessionInterface()
    Path(app.instance_path).mkdir(parents=True, exist_ok=True)
    _configure_logging()

    app.config.from_object(config.Config)
    if test_config is None:
        app.config.update(config.read_environment())
    else:
        app.config.update(test_config)
    config.finish_config(app)
    if app.config["TRUSTED_PROXY_COUNT"]:
        # Take the client address and scheme from X-Forwarded-* as set by this many proxies.
        count = app.config["TRUSTED_PROXY_COUNT"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=count, x_proto=count, x_host=count)

    db.init_app(app)
    with app.app_context():
        configure_sqlite(db.engine)
    migrate.init_app(app, db, directory=MIGRATIONS_DIRECTORY)
    csrf.init_app(app)
    login_manager.init_app(app)
    login_manager.login_view = "auth.signin"
    token_service.init_app(app)
    rate_limits.init_app(app)
    jobs.init_app(app)
    security_headers.init_app(app)

    for blueprint in (auth.bp, tokens.bp, actions_pages.bp, meetings_pages.bp, integrations_pages.bp, docs_pages.bp,
                      workflows_pages.bp, health.bp):
        app.register_blueprint(blueprint)
    for blueprint in (api.bp, api_actions.bp, api_meetings.bp, webhooks.bp):
        app.register_blueprint(blueprint)
        csrf.exempt(blueprint)
    api.init_app(app)
    api_errors.init_app(app)

    _register_error_handlers(app)
    _register_template_filters(app)
    cli.init_app(app)

    if app.config["AUTO_MIGRATE"]:
        schema.ensure_current(app)
    return app


def _configure_logging():
    # Leave logging alone when the host (gunicorn, pytest) has set it up already.
    if not logging.getLogger().handlers:
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")


def _register_template_filters(app):
    @app.template_filter("isoformat")
    def isoformat(moment):
        """Format a UTC datetime as RFC 3339, as a <time datetime> attribute wants it."""
        return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")

    @app.template_filter("utc_text")
    def utc_text(moment):
        """Format a UTC datetime for people, shown until the browser puts it in local time."""
        return moment.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")


def _is_external_request():
    return request.path.startswith(EXTERNAL_PREFIXES)


def _register_error_handlers(app):
    @app.errorhandler(CSRFError)
    def csrf_failed(error):
        message = "This form has expired or came from another session. Reload the page and try again."
        if _is_external_request():
            return api_error(400, "csrf_failed", message)
        if is_htmx() and not current_user.is_authenticated:
            # The session ended (and its CSRF token with it): send the user to sign in.
            return login_manager.unauthorized()
        if is_htmx():
            headers = {"HX-Retarget": "#alerts", "HX-Reswap": "innerHTML"}
            return render_template("_alert.html", category="error", message=message), 400, headers
        return render_template("errors/error.html", status=400, message=message), 400

    @app.errorhandler(HTTPException)
    def http_error(error):
        if _is_external_request():
            code = (error.name or "error").lower().replace(" ", "_")
            return api_error(error.code, code, error.description, headers=_allowed_methods(error))
        if is_htmx():
            headers = {"HX-Retarget": "#alerts", "HX-Reswap": "innerHTML"}
            return render_template("_alert.html", category="error", message=error.description), error.code, headers
        return render_template("errors/error.html", status=error.code, message=error.description), error.code

    @app.errorhandler(Exception)
    def unexpected_error(error):
        if database_errors.is_unavailable(error):
            return _database_unavailable(error)
        app.logger.exception("Unhandled error on %s %s", request.method, request.path)
        message = "Something went wrong on our side. Try again in a moment."
        if _is_external_request():
            return api_error(500, "internal_error", message)
        return render_template("errors/error.html", status=500, message=message), 500


def _database_unavailable(error):
    database_errors.log_unavailable(error, f"{request.method} {request.path}")
    message = "The service is unavailable for a moment. Try again in a few seconds."
    headers = database_errors.retry_after_headers()
    if _is_external_request():
        return api_error(503, "service_unavailable", message, headers=headers)
    return render_template("errors/error.html", status=503, message=message), 503, headers


def _allowed_methods(error):
    response = error.get_response()
    allow = response.headers.get("Allow")
    return {"Allow": allow} if allow else {}
