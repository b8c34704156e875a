"""Time and profile the benchmark's routes in one process, without gunicorn or wrk.

Run from the repository root: ``.venv/bin/python bench/profile_routes.py [ROUTE]``. It
prints the mean time per request of each route through Flask's test client, which adds
the same cost to every route. Given a ROUTE (bare, hex, jwt, webhook, insert), it also
prints the cProfile functions that take the most time in that route.
"""

import argparse
import cProfile
import hashlib
import hmac
import logging
import pstats
import secrets
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import load, seed  # noqa: E402
from bench.bench_app import create_bench_app, create_bench_tables  # noqa: E402
from extensions import db  # noqa: E402


def build_routes(app):
    """Seed a small database and return {route: function that sends one request}."""
    create_bench_tables(app)
    user_id = seed.create_user(app, "profile@bench.invalid", secrets.token_urlsafe(16))
    hex_value, endpoint_id = seed.issue_token(app, user_id, "hex", "Profile Hex Key")
    jwt_value, _ = seed.issue_token(app, user_id, "jwt", "Profile JWT Token")
    seed.insert_tokens(app, user_id, 100)
    client = app.test_client()
    prefix, suffix = load.delivery_body_parts()
    sent = iter(range(10**9))

    def post(path):
        body = prefix + f"profile-{next(sent):012d}".encode() + suffix
        signature = hmac.new(hex_value.encode(), body, hashlib.sha256).hexdigest()
        response = client.post(path, data=body, headers={"X-Hub-Signature": signature,
                                                         "Content-Type": "application/json"})
        assert response.status_code == 200, response.get_data(as_text=True)

    return {
        "bare": lambda: client.get("/bench/bare"),
        "hex": lambda: client.get("/api/v1/me", headers={"Authorization": f"Bearer {hex_value}"}),
        "jwt": lambda: client.get("/api/v1/me", headers={"Authorization": f"Bearer {jwt_value}"}),
        "webhook": lambda: post(f"/webhooks/fireflies/{endpoint_id}"),
        "insert": lambda: post("/bench/insert"),
    }


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("route", nargs="?", choices=["bare", "hex", "jwt", "webhook", "insert"])
    parser.add_argument("--requests", type=int, default=2000, help="requests per route")
    parser.add_argument("--top", type=int, default=30, help="functions listed in the profile")
    arguments = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)

    with tempfile.TemporaryDirectory(prefix="exponential-profile-") as workdir:
        app = create_bench_app({
            "DATABASE_URL": f"sqlite:///{workdir}/profile.sqlite",
            "SECRET_KEY": secrets.token_urlsafe(32),
            "TOKEN_ENCRYPTION_KEY": secrets.token_urlsafe(32),
            "JWT_SIGNING_KEY": secrets.token_urlsafe(32),
            "PASSWORD_HASH_METHOD": "scrypt:1024:8:1",
        })
        routes = build_routes(app)
        for name, send in routes.items():
            for _ in range(100):
                send()
            started = time.perf_counter()
            for _ in range(arguments.requests):
                send()
            print(f"{name:8} {(time.perf_counter() - started) / arguments.requests * 1e6:8.0f} µs per request")

        if arguments.route:
            profile = cProfile.Profile()
            profile.enable()
            for _ in range(arguments.requests):
                routes[arguments.route]()
            profile.disable()
            pstats.Stats(profile).sort_stats("tottime").print_stats(arguments.top)
        with app.app_context():
            db.engine.dispose()


if __name__ == "__main__":
    main()
