"""Command line for operators and scripts: ``flask --app app users|tokens ...``."""

import json
import os
import secrets
import sys

import click
from flask import current_app
from flask.cli import AppGroup, with_appcontext

import accounts
import config
import delivery_log
import integrations
import jobs
import token_service
from extensions import db
from models import ApiToken
from token_service import KIND_LABELS, LIFETIMES

users_cli = AppGroup("users", help="Manage user accounts.")
tokens_cli = AppGroup("tokens", help="Create, list and revoke API tokens.")
keys_cli = AppGroup("keys", help="Rotate the JWT signing key and the encryption key of stored secrets.")
fireflies_cli = AppGroup("fireflies", help="Manage users' Fireflies API keys.")
webhook_log_cli = AppGroup("webhook-log", help="Maintain the log of requests to webhook URLs.")

# For each key ring: the setting of the current key and the setting of the retired keys.
KEY_RINGS = {
    "jwt": ("JWT_SIGNING_KEY", "JWT_RETIRED_SIGNING_KEYS"),
    "encryption": ("TOKEN_ENCRYPTION_KEY", "TOKEN_RETIRED_ENCRYPTION_KEYS"),
}


def init_app(app):
    app.cli.add_command(users_cli)
    app.cli.add_command(tokens_cli)
    app.cli.add_command(keys_cli)
    app.cli.add_command(fireflies_cli)
    app.cli.add_command(webhook_log_cli)
    app.cli.add_command(worker)


def _read_password():
    """Read a password from a prompt, or from the first line of standard input if it is not a terminal."""
    if sys.stdin.isatty():
        return click.prompt("Password", hide_input=True, confirmation_prompt=True)
    return sys.stdin.readline().rstrip("\r\n")


@users_cli.command("create")
@click.argument("email")
@click.option("--name", default="", help="Display name; defaults to the part of the email before @.")
def create_user(email, name):
    """Create a user with EMAIL; the password comes from a prompt or standard input."""
    if "@" not in email or len(email) > 254:
        raise click.BadParameter(f"{email!r} is not a valid email address.", param_hint="EMAIL")
    password = _read_password()
    if not accounts.MIN_PASSWORD_LENGTH <= len(password) <= accounts.MAX_PASSWORD_LENGTH:
        raise click.UsageError(
            f"The password must have {accounts.MIN_PASSWORD_LENGTH} to "
            f"{accounts.MAX_PASSWORD_LENGTH} characters."
        )
    try:
        user = accounts.create_user(email, name, password)
    except accounts.EmailTaken:
        raise click.ClickException(f"A user with email {email!r} already exists.") from None
    click.echo(f"Created user {user.id} <{user.email}>.")


def _user_or_fail(email):
    try:
        return token_service.user_by_email(email)
    except LookupError as error:
        raise click.ClickException(str(error)) from None


@tokens_cli.command("create")
@click.option("--user", "email", required=True, help="Email of the user who owns the token.")
@click.option("--name", required=True, help="A name that describes what the token is for (1 to 100 characters).")
@click.option("--type", "kind", required=True, type=click.Choice(list(KIND_LABELS)), help="hex or jwt.")
@click.option("--expires", "lifetime", required=True, type=click.Choice(list(LIFETIMES)), help="Lifetime.")
@click.option("--description", default="", help="Optional notes, at most 500 characters.")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON object instead of plain text.")
def create_token(email, name, kind, lifetime, description, as_json):
    """Create a token and print its value once."""
    name = name.strip()
    if not 1 <= len(name) <= 100:
        raise click.BadParameter("The name must have 1 to 100 characters.", param_hint="--name")
    if len(description) > 500:
        raise click.BadParameter("The description must have at most 500 characters.", param_hint="--description")

    user = _user_or_fail(email)
    with current_app.test_request_context(base_url=current_app.config.get("PUBLIC_BASE_URL") or "http://127.0.0.1:5000"):
        issued = token_service.create_token(user, name, kind, lifetime, description.strip())
        url = token_service.webhook_url(issued.token) if kind == "hex" else None

    if as_json:
        output = {
            "id": issued.token.id,
            "token": issued.value,
            "type": kind,
            "expires_at": issued.token.expires_at.isoformat(),
        }
        if url:
            output["webhook_url"] = url
        click.echo(json.dumps(output))
        return

    click.echo(f"Created {KIND_LABELS[kind]} {issued.token.id} expiring {issued.token.expires_at.isoformat()}.")
    if url:
        click.echo(f"Webhook URL: {url}")
    click.echo("Copy the token now; it will not be shown again:")
    click.echo(issued.value)


@tokens_cli.command("list")
@click.option("--user", "email", required=True, help="Email of the user whose tokens to list.")
def list_tokens(email):
    """List a user's tokens, newest first, revoked ones included."""
    user = _user_or_fail(email)
    rows = db.session.scalars(
        db.select(ApiToken).where(ApiToken.user_id == user.id).order_by(ApiToken.id.desc())
    ).all()
    click.echo(f"{'ID':>6}  {'TYPE':4}  {'STATUS':8}  {'EXPIRES (UTC)':20}  {'HINT':6}  NAME")
    for token in rows:
        click.echo(
            f"{token.id:>6}  {token.kind_label:4}  {token.status():8}  "
            f"{token.expires_at.strftime('%Y-%m-%d %H:%M:%S'):20}  \u2026{token.last_four:5}  {token.name}"
        )


@tokens_cli.command("revoke")
@click.argument("token_id", type=int)
def revoke_token(token_id):
    """Revoke the token with TOKEN_ID. Requests that use it are rejected from now on."""
    token = db.session.get(ApiToken, token_id)
    if token is None:
        raise click.ClickException(f"No token with id {token_id}.")
    if token.revoked_at is not None:
        click.echo(f"Token {token_id} was already revoked at {token.revoked_at.isoformat()}.")
        return
    token_service.revoke_token(token)
    click.echo(f"Revoked token {token_id} ({token.name}).")


@keys_cli.command("rotate")
@click.argument("ring", type=click.Choice(list(KEY_RINGS)))
def rotate_key(ring):
    """Make a new current key for RING; the old key is kept as a retired key.

    A retired JWT key still verifies the tokens it signed; a retired encryption key still
    decrypts until 'keys reencrypt' has run. In development the keys in the instance folder
    are updated; otherwise the new settings are printed for you to set on every instance.
    """
    current_name, retired_name = KEY_RINGS[ring]
    old_key = current_app.config[current_name]
    retired = [old_key, *current_app.config.get(retired_name, "").replace(",", " ").split()]
    new_key = secrets.token_urlsafe(32)

    stored = config.read_development_keys(current_app)
    if current_name not in os.environ and stored.get(current_name) == old_key:
        stored[current_name] = new_key
        stored[retired_name] = ",".join(retired)
        config.write_development_keys(current_app, stored)
        click.echo(f"Rotated {current_name} in {config.development_keys_path(current_app)}. Restart the app to use it.")
    else:
        click.echo("Set these on every instance, then restart them:")
        click.echo(f"{current_name}={new_key}")
        click.echo(f"{retired_name}={','.join(retired)}")

    if ring == "encryption":
        click.echo("Then run 'flask --app app keys reencrypt' so that stored secrets use the new key.")
    else:
        click.echo(f"Remove an old key from {retired_name} once the tokens it signed have expired "
                   "(at most 90 days); tokens it signed are rejected from then on.")


@keys_cli.command("reencrypt")
def reencrypt_secrets():
    """Re-encrypt every stored Hex Key under the current encryption key; the keys do not change."""
    box = current_app.extensions["token_keys"].secret_box
    tokens = db.session.scalars(db.select(ApiToken).where(ApiToken.secret_encrypted.is_not(None))).all()
    changed = 0
    for token in tokens:
        if box.sealed_with_current_key(token.secret_encrypted):
            continue
        associated_data = token.secret_digest.encode()
        try:
            secret = box.unseal(token.secret_encrypted, associated_data)
        except ValueError as error:
            db.session.rollback()
            raise click.ClickException(
                f"Token {token.id}: {error} Add the key it was encrypted with to "
                "TOKEN_RETIRED_ENCRYPTION_KEYS and run this again; nothing was changed."
            ) from None
        token.secret_encrypted = box.seal(secret, associated_data)
        changed += 1
    db.session.commit()
    click.echo(f"Re-encrypted {changed} of {len(tokens)} stored secrets under the current key.")


@fireflies_cli.command("set-key")
@click.option("--user", "email", required=True, help="Email of the user whose key to save.")
def set_fireflies_key(email):
    """Save a user's Fireflies API key, read from the first line of standard input."""
    user = _user_or_fail(email)
    try:
        integrations.save_fireflies_key(user.id, sys.stdin.readline())
    except ValueError as error:
        raise click.UsageError(str(error)) from None
    click.echo(f"Saved the Fireflies API key of {user.email}; pending meetings are queued for fetching.")


@click.command("worker")
@with_appcontext
@click.option("--burst", is_flag=True, help="Run the jobs that are due, then exit.")
@click.option("--workers", default=2, show_default=True, type=click.IntRange(1, 32),
              help="Number of worker threads.")
def worker(burst, workers):
    """Run background jobs, such as fetching transcripts from Fireflies."""
    app = current_app._get_current_object()
    # A worker that died mid-job left its meetings pending: queue them again.
    jobs.requeue_pending()
    if burst:
        count = jobs.run_burst(app)
        click.echo(f"Ran {count} job(s); nothing else is due.")
        return
    consumer = app.extensions["jobs"].huey.create_consumer(workers=workers, worker_type="thread", periodic=True)
    click.echo(f"Worker started with {workers} thread(s); press Ctrl+C to stop.")
    consumer.run()


@webhook_log_cli.command("prune")
def prune_webhook_log():
    """Delete delivery log entries older than WEBHOOK_LOG_RETENTION_DAYS."""
    count = delivery_log.prune()
    days = current_app.config["WEBHOOK_LOG_RETENTION_DAYS"]
    click.echo(f"Deleted {count} delivery log entries older than {days} days.")
