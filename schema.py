"""Create or upgrade the database schema through the Alembic migrations."""

import logging

from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from flask_migrate import upgrade

from extensions import db, migrate

log = logging.getLogger(__name__)


def current_revisions(app):
    with app.app_context(), db.engine.connect() as connection:
        return set(MigrationContext.configure(connection).get_current_heads())


def head_revisions(app):
    with app.app_context():
        config = migrate.get_config()
        return set(ScriptDirectory.from_config(config).get_heads())


def ensure_current(app):
    """Upgrade the database to the newest migration if it is not there yet.

    A fresh, empty database gets the whole schema. A database at the newest migration
    costs one query.
    """
    current = current_revisions(app)
    heads = head_revisions(app)
    if current == heads:
        return
    log.info("Upgrading the database schema from %s to %s", sorted(current) or "empty", sorted(heads))
    with app.app_context():
        upgrade()
