"""A session interface that leaves the session cookie alone on the external routes."""

from flask.sessions import SecureCookieSessionInterface

# Routes authenticated by their own credential (Bearer token or webhook signature).
EXTERNAL_PREFIXES = ("/api/", "/webhooks/")


class DashboardSessionInterface(SecureCookieSessionInterface):
    """Cookie sessions for the dashboard only.

    The JSON API and the webhooks get an empty session that is never read from or
    written to a cookie, so a browser's cookie can never authenticate them.
    """

    def open_session(self, app, request):
        if request.path.startswith(EXTERNAL_PREFIXES):
            return self.null_session_class()
        return super().open_session(app, request)
