"""Health endpoints for load balancers and orchestrators.

``/healthz`` reports that the process serves requests and touches nothing else. ``/readyz`` also
runs ``SELECT 1`` on the database, and returns 503 with Retry-After while that fails.
"""

from flask import Blueprint, jsonify, request
from sqlalchemy import text

import database_errors
from extensions import db

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz():
    return jsonify(status="ok")


@bp.get("/readyz")
def readyz():
    try:
        db.session.execute(text("SELECT 1"))
    except Exception as error:
        if not database_errors.is_unavailable(error):
            raise
        database_errors.log_unavailable(error, f"{request.method} {request.path}")
        response = jsonify(status="unavailable", database="unreachable")
        return response, 503, database_errors.retry_after_headers()
    return jsonify(status="ok", database="ok")
