"""The API page for people: what each route does, with a curl example for each."""

from flask import Blueprint, render_template, request
from flask_login import login_required

bp = Blueprint("docs", __name__)


@bp.get("/api-docs")
@login_required
def api():
    return render_template("docs/api.html", base_url=request.host_url.rstrip("/"))
