"""Helpers for responding to both HTMX requests and plain browser requests."""

from urllib.parse import urlsplit

from flask import render_template, request


def is_htmx():
    """Return True if the request was sent by htmx (and wants a fragment, not a page)."""
    return request.headers.get("HX-Request") == "true"


def render_page_or_fragment(page, fragment, status=200, **context):
    """Render ``fragment`` for an HTMX request and the full ``page`` otherwise.

    The page includes the same fragment template, so the two cannot drift apart.
    """
    template = fragment if is_htmx() else page
    return render_template(template, **context), status


def current_path():
    """Return the path of the page the user is on, for returning there after sign-in."""
    if is_htmx():
        current_url = urlsplit(request.headers.get("HX-Current-URL", ""))
        if current_url.netloc == request.host and current_url.path:
            return current_url.path + (f"?{current_url.query}" if current_url.query else "")
        return None
    if request.method == "GET":
        return request.full_path.rstrip("?")
    return None


def safe_next_path(value):
    """Return ``value`` if it is a path on this site, else None (no open redirects)."""
    if not value or not value.startswith("/") or value.startswith("//") or "\\" in value:
        return None
    parts = urlsplit(value)
    if parts.scheme or parts.netloc:
        return None
    return value
