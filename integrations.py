"""The user's own credentials for outside services: today, a Fireflies API key."""

import logging

from flask import current_app
from sqlalchemy import select

import clock
from extensions import db
from fireflies_client import FirefliesClient, FirefliesError
from models import FirefliesCredential

log = logging.getLogger(__name__)

MAX_API_KEY_LENGTH = 200


def _box():
    return current_app.extensions["token_keys"].secret_box


def _associated_data(user_id):
    return f"fireflies-api-key:{user_id}".encode()


def credential_for(user_id):
    return db.session.scalar(select(FirefliesCredential).where(FirefliesCredential.user_id == user_id))


def validate_api_key(api_key):
    """Return the key without surrounding spaces, or raise ValueError saying what is wrong."""
    api_key = (api_key or "").strip()
    if not api_key:
        raise ValueError("Enter your Fireflies API key.")
    if len(api_key) > MAX_API_KEY_LENGTH or not api_key.isascii() or any(c.isspace() for c in api_key):
        raise ValueError(f"A Fireflies API key is up to {MAX_API_KEY_LENGTH} ASCII characters without spaces.")
    return api_key


def save_fireflies_key(user_id, api_key):
    """Store the user's Fireflies API key encrypted, and queue meetings that waited for it."""
    import jobs

    api_key = validate_api_key(api_key)
    credential = credential_for(user_id) or FirefliesCredential(user_id=user_id)
    credential.api_key_encrypted = _box().seal(api_key, _associated_data(user_id))
    credential.last_four = api_key[-4:]
    credential.saved_at = clock.utcnow()
    credential.last_tested_at = None
    credential.last_test_ok = None
    credential.last_test_error = None
    db.session.add(credential)
    db.session.commit()
    log.info("Fireflies API key saved for user %s.", user_id)
    jobs.requeue_pending(user_id=user_id)
    return credential


def fireflies_api_key(user_id):
    """Return the user's Fireflies API key in plaintext, or None if none is saved."""
    credential = credential_for(user_id)
    if credential is None:
        return None
    return _box().unseal(credential.api_key_encrypted, _associated_data(user_id))


def check_fireflies_key(user_id):
    """Call Fireflies with the saved key and record whether it works; return the credential."""
    credential = credential_for(user_id)
    if credential is None:
        raise LookupError("No Fireflies API key is saved yet.")
    client = FirefliesClient(current_app.config["FIREFLIES_API_URL"], fireflies_api_key(user_id))
    credential.last_tested_at = clock.utcnow()
    try:
        email = client.check_key()
    except FirefliesError as error:
        credential.last_test_ok = False
        credential.last_test_error = str(error)
        log.info("Fireflies API key test failed for user %s: %s", user_id, error)
    else:
        credential.last_test_ok = True
        credential.last_test_error = None
        log.info("Fireflies API key test passed for user %s (Fireflies account %s).", user_id, email)
    db.session.commit()
    return credential


def remove_fireflies_key(user_id):
    credential = credential_for(user_id)
    if credential is not None:
        db.session.delete(credential)
        db.session.commit()
        log.info("Fireflies API key removed for user %s.", user_id)
