"""The app with two bench-only routes, for the benchmark in ``bench/run.py``.

Serve it with ``gunicorn 'bench.bench_app:create_bench_app()'``. The routes are the floors
that the token checks are measured against: ``GET /bench/bare`` returns JSON without
touching the database, and ``POST /bench/insert`` stores the raw body as one row.
"""

from flask import Blueprint, jsonify, request
from sqlalchemy import Column, Integer, LargeBinary, MetaData, Table

from app import create_app
from extensions import csrf, db

# Kept apart from the app's metadata, so that Alembic never includes this table.
bench_metadata = MetaData()
bench_write = Table(
    "bench_write",
    bench_metadata,
    Column("id", Integer, primary_key=True),
    Column("body", LargeBinary, nullable=False),
)

bp = Blueprint("bench", __name__, url_prefix="/bench")


@bp.get("/bare")
def bare():
    return jsonify(status="ok")


@bp.post("/insert")
def insert():
    body = request.get_data(cache=False)
    # A Core insert on a pooled connection: the cheapest way this stack stores a row.
    with db.engine.begin() as connection:
        connection.execute(bench_write.insert(), {"body": body})
    return jsonify(status="stored")


def create_bench_tables(app):
    """Create the bench-only table; run once before any worker starts."""
    with app.app_context():
        bench_metadata.create_all(db.engine)


def create_bench_app(test_config=None):
    """Create the app with the bench-only routes added. Never use it outside the benchmark."""
    app = create_app(test_config)
    # The load sends thousands of deliveries a second to one webhook URL; the limit check
    # still runs on every request, but must not reject them.
    app.config["WEBHOOK_RATE_LIMIT"] = "10000000 per minute"
    app.register_blueprint(bp)
    csrf.exempt(bp)
    return app
