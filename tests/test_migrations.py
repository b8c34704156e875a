"""The Alembic migrations against the models, on the database this run uses.

These tests read whatever migrations exist in migrations/versions, so they keep working
as migrations are added.
"""

from datetime import date, datetime, timezone

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from flask_migrate import upgrade
from sqlalchemy import MetaData, func, select

import schema
from app import create_app
from extensions import db, migrate
from tests.conftest import make_config

ROWS_PER_TABLE = 3


@pytest.fixture
def empty_app(database_url):
    """An app on an empty database that does not migrate by itself."""
    app = create_app(make_config(database_url, AUTO_MIGRATE=False))
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def single_head(app):
    with app.app_context():
        script = ScriptDirectory.from_config(migrate.get_config())
        heads = script.get_heads()
        assert len(heads) == 1, f"The migrations have several heads {heads}; merge them with 'flask db merge'."
        return script.get_revision(heads[0])


def test_upgrade_empty_database_to_head(empty_app):
    with empty_app.app_context():
        upgrade()

    assert schema.current_revisions(empty_app) == schema.head_revisions(empty_app)


def test_models_match_migrations(empty_app):
    with empty_app.app_context():
        upgrade()
        with db.engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            differences = compare_metadata(context, db.metadata)

    assert differences == [], "Models and migrations differ; run 'flask db migrate' to write a migration."


def test_upgrade_from_previous_revision_keeps_rows(empty_app):
    head = single_head(empty_app)
    if head.down_revision is None:
        pytest.skip("There is only one migration, so there is no previous revision to upgrade from.")

    with empty_app.app_context():
        upgrade(revision=head.down_revision)
        with db.engine.begin() as connection:
            filled = fill_every_table(connection)
        upgrade()
        with db.engine.connect() as connection:
            counts = {name: count_rows(connection, name) for name in filled}

    assert filled, "The previous revision has no tables to fill."
    assert counts == {name: ROWS_PER_TABLE for name in filled}


def fill_every_table(connection):
    """Insert ROWS_PER_TABLE rows into every table that exists now; return the table names.

    Values come from the column types, and foreign keys point at rows inserted before, so
    this works for tables that the models no longer describe the same way.
    """
    metadata = MetaData()
    metadata.reflect(connection)
    inserted_keys = {}
    filled = []
    for table in metadata.sorted_tables:
        if table.name == "alembic_version":
            continue
        generated_key = _generated_key(table)
        for row_number in range(ROWS_PER_TABLE):
            row = {}
            for column in table.columns:
                if column is generated_key:
                    continue
                foreign_key = next(iter(column.foreign_keys), None)
                if foreign_key is not None:
                    row[column.name] = inserted_keys[foreign_key.column.table.name][row_number]
                else:
                    row[column.name] = _sample_value(column, row_number)
            result = connection.execute(table.insert().values(row))
            if generated_key is not None:
                inserted_keys.setdefault(table.name, []).append(result.inserted_primary_key[0])
        filled.append(table.name)
    return filled


def _generated_key(table):
    """Return the table's single integer primary key column, which the database numbers."""
    columns = list(table.primary_key.columns)
    if len(columns) == 1 and columns[0].type.python_type is int and not columns[0].foreign_keys:
        return columns[0]
    return None


def _sample_value(column, row_number):
    try:
        python_type = column.type.python_type
    except NotImplementedError:
        python_type = str
    if python_type is bool:
        return row_number % 2 == 0
    if python_type is int:
        return row_number + 1
    if python_type is float:
        return row_number + 0.5
    if python_type is datetime:
        return datetime(2026, 1, 1, 12, row_number, tzinfo=timezone.utc)
    if python_type is date:
        return date(2026, 1, 1 + row_number)
    if python_type is bytes:
        return f"{column.name}-{row_number}".encode()
    if python_type is dict:
        return {"row": row_number}
    text = f"{row_number}-{column.table.name}-{column.name}"
    length = getattr(column.type, "length", None)
    return text[:length] if length else text


def count_rows(connection, table_name):
    table = MetaData()
    table.reflect(connection, only=[table_name])
    return connection.scalar(select(func.count()).select_from(table.tables[table_name]))
