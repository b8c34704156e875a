"""Benchmark the token checks against the bare framework, and print a table.

Run from the repository root: ``.venv/bin/python bench/run.py`` (``--help`` lists the
options). It seeds a SQLite database in WAL mode, serves the app with gunicorn (two sync
workers) on 127.0.0.1 and drives each route with wrk for a fixed time. Nothing is sent
anywhere but 127.0.0.1, and every token value stays in memory.
"""

import argparse
import http.cookiejar
import json
import logging
import os
import re
import secrets
import sqlite3
import statistics
import sys
import tempfile
import urllib.parse
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import load, seed  # noqa: E402
from bench.bench_app import create_bench_app, create_bench_tables  # noqa: E402
from extensions import db  # noqa: E402

MAIN_ROUTES = ("bare", "hex", "jwt", "webhook", "insert", "page")
LARGE_ROUTES = ("bare", "hex", "page")
PAGE_EMAIL = "page@bench.invalid"
LOAD_EMAIL = "load@bench.invalid"
CSRF_PATTERN = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')
# Signed deliveries in the pool per second of a run: several times the rates seen with two
# sync workers on 2 CPUs. _measure_writes raises BenchError if a run sends more.
POOL_PER_SECOND = 8000


def parse_arguments(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tokens", type=int, default=100, help="tokens in the database for the main runs")
    parser.add_argument("--large-tokens", type=int, default=100_000, help="tokens in the database for the second hex runs")
    parser.add_argument("--page-tokens", type=int, default=10, help="tokens of the signed-in user in the main runs")
    parser.add_argument("--large-page-tokens", type=int, default=10_000, help="tokens of the signed-in user in the second runs")
    parser.add_argument("--page-size", type=int, default=10,
                        help="rows on the first page of the Tokens page; the default equals --page-tokens, so that "
                             "both page runs render the same rows and differ only in the tokens stored")
    parser.add_argument("--duration", type=int, default=5, help="seconds of load per run (wrk allows 1 or more)")
    parser.add_argument("--warmup", type=int, default=2, help="seconds of load per route before measuring (0 skips the warm-up)")
    parser.add_argument("--repetitions", type=int, default=3, help="runs of each route, interleaved")
    parser.add_argument("--connections", type=int, default=4, help="open connections of wrk")
    parser.add_argument("--json", type=Path, help="also write every figure to this JSON file")
    arguments = parser.parse_args(argv)
    if arguments.large_page_tokens >= arguments.large_tokens or arguments.page_tokens >= arguments.tokens:
        parser.error("the signed-in user's tokens must be fewer than the tokens in the database")
    return arguments


class Bench:
    """One benchmark: a database, the app under gunicorn and the figures measured."""

    def __init__(self, arguments, workdir):
        self.arguments = arguments
        self.workdir = workdir
        self.database_path = workdir / "bench.sqlite"
        self.password = secrets.token_urlsafe(16)
        self.environment = {
            "APP_ENV": "development",
            "DATABASE_URL": f"sqlite:///{self.database_path}",
            # Each accepted delivery queues a transcript fetch; keep that queue with the run.
            "JOB_QUEUE_URL": f"sqlite:///{workdir / 'jobs.sqlite'}",
            "SECRET_KEY": secrets.token_urlsafe(32),
            "TOKEN_ENCRYPTION_KEY": secrets.token_urlsafe(32),
            "JWT_SIGNING_KEY": secrets.token_urlsafe(32),
            "PASSWORD_HASH_METHOD": "scrypt:1024:8:1",
            "TOKENS_PER_PAGE": str(arguments.page_size),
            "AUTO_MIGRATE": "false",
        }
        # The same settings as the server's environment, parsed as the server parses them.
        self.app = create_bench_app({**self.environment, "AUTO_MIGRATE": True,
                                     "TOKENS_PER_PAGE": arguments.page_size})
        self.server = None
        self.credentials = {}
        self.runs = 0

    def seed(self):
        create_bench_tables(self.app)
        self.load_user = seed.create_user(self.app, LOAD_EMAIL, self.password)
        self.page_user = seed.create_user(self.app, PAGE_EMAIL, self.password)
        hex_value, endpoint_id = seed.issue_token(self.app, self.load_user, "hex", "Bench Hex Key")
        jwt_value, _ = seed.issue_token(self.app, self.load_user, "jwt", "Bench JWT Token")
        self.credentials = {"hex": hex_value, "jwt": jwt_value, "endpoint_id": endpoint_id}
        seed.insert_tokens(self.app, self.page_user, self.arguments.page_tokens)
        seed.insert_tokens(self.app, self.load_user, self.arguments.tokens - self.arguments.page_tokens - 2)

    def grow(self):
        """Add tokens until the database contains --large-tokens and the page user has --large-page-tokens."""
        page_more = self.arguments.large_page_tokens - self.arguments.page_tokens
        seed.insert_tokens(self.app, self.page_user, page_more)
        seed.insert_tokens(self.app, self.load_user, self.arguments.large_tokens - seed.count_tokens(self.app))
        self._checkpoint()

    def start_server(self):
        self.server = load.Gunicorn(self.environment, self.workdir / "gunicorn.log")
        self.server.wait_until_ready()
        self.credentials["cookie"] = self._sign_in()

    def stop_server(self):
        if self.server is not None:
            self.server.stop()
        with self.app.app_context():
            db.engine.dispose()

    def _sign_in(self):
        """Sign the page user in through the form and return the Cookie header value."""
        jar = http.cookiejar.CookieJar()
        opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
        page = opener.open(self.server.base_url + "/signin", timeout=10).read().decode()
        form = {"email": PAGE_EMAIL, "password": self.password, "csrf_token": CSRF_PATTERN.search(page).group(1)}
        opener.open(self.server.base_url + "/signin", data=urllib.parse.urlencode(form).encode(), timeout=10)
        cookie = "; ".join(f"{item.name}={item.value}" for item in jar)
        request = urllib.request.Request(self.server.base_url + "/tokens", headers={"Cookie": cookie})
        with urllib.request.urlopen(request, timeout=10) as response:
            if response.url.rstrip("/").endswith("/signin") or response.status != 200:
                raise load.BenchError("Signing in for the Tokens page failed.")
        return cookie

    def measure(self, route, seconds):
        """Run one route for ``seconds`` and return its LoadResult."""
        self.runs += 1
        base = self.server.base_url
        connections = self.arguments.connections
        if route == "bare":
            return load.run_wrk(base + "/bench/bare", "get.lua", seconds, connections)
        if route in ("hex", "jwt"):
            header = {"BENCH_HEADER_NAME": "Authorization", "BENCH_HEADER_VALUE": f"Bearer {self.credentials[route]}"}
            return load.run_wrk(base + "/api/v1/me", "get.lua", seconds, connections, header)
        if route == "page":
            header = {"BENCH_HEADER_NAME": "Cookie", "BENCH_HEADER_VALUE": self.credentials["cookie"]}
            return load.run_wrk(base + "/tokens", "get.lua", seconds, connections, header)
        path = f"/webhooks/fireflies/{self.credentials['endpoint_id']}" if route == "webhook" else "/bench/insert"
        return self._measure_writes(base + path, route, seconds)

    def _measure_writes(self, url, route, seconds):
        pool_path = self.workdir / "pool.txt"
        pool_size = POOL_PER_SECOND * seconds
        load.write_pool(pool_path, self.credentials["hex"], f"{route[:2]}{self.runs}", pool_size)
        try:
            result = load.run_wrk(url, "post_pool.lua", seconds, self.arguments.connections,
                                  {"BENCH_POOL_FILE": str(pool_path)})
        finally:
            pool_path.unlink()
        if result.requests + self.arguments.connections > pool_size:
            raise load.BenchError(f"{route}: {result.requests} requests outran the pool of {pool_size}; raise POOL_PER_SECOND.")
        self._delete_written_rows()
        return result

    def _delete_written_rows(self):
        """Empty the tables that the write routes fill, so that every run starts alike."""
        with sqlite3.connect(self.database_path, timeout=15) as connection:
            connection.execute("DELETE FROM webhook_delivery")
            connection.execute("DELETE FROM meeting")
            connection.execute("DELETE FROM bench_write")
        self._checkpoint()

    def _checkpoint(self):
        connection = sqlite3.connect(self.database_path, timeout=15)
        try:
            connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        finally:
            connection.close()

    def run_rounds(self, routes):
        """Warm every route up, then run them interleaved; return {route: [LoadResult, ...]}."""
        for route in routes:
            if self.arguments.warmup:
                self.measure(route, self.arguments.warmup)
        results = {route: [] for route in routes}
        for _ in range(self.arguments.repetitions):
            for route in routes:
                results[route].append(self.measure(route, self.arguments.duration))
        return results


def ratios(results, numerator, denominator):
    return [top.requests_per_second / bottom.requests_per_second
            for top, bottom in zip(results[numerator], results[denominator])]


def print_routes(title, results):
    print(f"\n{title}")
    print(f"{'route':8} {'rep':>3} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8}")
    for route, runs in results.items():
        for repetition, result in enumerate(runs, start=1):
            print(f"{route:8} {repetition:>3} {result.requests_per_second:>8.0f} "
                  f"{result.p50_ms:>8.2f} {result.p99_ms:>8.2f}")


def print_ratio_rows(title, rows):
    print(f"\n{title}")
    names = list(rows)
    print(f"{'rep':>3} " + " ".join(f"{name:>15}" for name in names))
    repetitions = len(next(iter(rows.values())))
    for index in range(repetitions):
        print(f"{index + 1:>3} " + " ".join(f"{rows[name][index]:>15.3f}" for name in names))
    print("med " + " ".join(f"{statistics.median(rows[name]):>15.3f}" for name in names))


def summarize(arguments, main, large):
    main_ratios = {
        "hex/bare": ratios(main, "hex", "bare"),
        "jwt/bare": ratios(main, "jwt", "bare"),
        "webhook/insert": ratios(main, "webhook", "insert"),
    }
    p99_ratios = {
        route: [run.p99_ms / bare.p99_ms for run, bare in zip(main[route], main["bare"])]
        for route in ("hex", "jwt")
    }
    large_hex = ratios(large, "hex", "bare")
    hex_scaling = statistics.median(large_hex) / statistics.median(main_ratios["hex/bare"])
    page_small = statistics.median(run.p50_ms for run in main["page"])
    page_large = statistics.median(run.p50_ms for run in large["page"])

    print_routes(f"Routes with {arguments.tokens} tokens in the database", main)
    print_ratio_rows("Throughput ratios per repetition", main_ratios)
    print_ratio_rows("p99 latency against the bare route", {f"{name}/bare": values for name, values in p99_ratios.items()})
    print_routes(f"Routes with {arguments.large_tokens} tokens in the database", large)
    print_ratio_rows(f"hex/bare with {arguments.large_tokens} tokens", {"hex/bare": large_hex})
    print(f"\nhex/bare with {arguments.large_tokens} tokens / with {arguments.tokens}: {hex_scaling:.3f}")
    print(f"Tokens page p50: {page_small:.2f} ms with {arguments.page_tokens} tokens, "
          f"{page_large:.2f} ms with {arguments.large_page_tokens}: {page_large / page_small:.2f} times")

    checks = [
        ("hex/bare >= 0.85", statistics.median(main_ratios["hex/bare"]) >= 0.85),
        ("jwt/bare >= 0.80", statistics.median(main_ratios["jwt/bare"]) >= 0.80),
        ("webhook/insert >= 0.70", statistics.median(main_ratios["webhook/insert"]) >= 0.70),
        (f"hex/bare with {arguments.large_tokens} tokens within 5%", abs(hex_scaling - 1) <= 0.05),
        (f"Tokens page with {arguments.large_page_tokens} tokens <= 1.2 times", page_large / page_small <= 1.2),
        ("p99 of hex and jwt <= 2 times bare", all(statistics.median(values) <= 2 for values in p99_ratios.values())),
    ]
    print("\nTargets (medians of the repetitions)")
    for label, met in checks:
        print(f"  {'met   ' if met else 'MISSED'} {label}")
    return {
        "main": {route: [vars(run) for run in runs] for route, runs in main.items()},
        "large": {route: [vars(run) for run in runs] for route, runs in large.items()},
        "ratios": main_ratios, "p99_ratios": p99_ratios, "large_hex_ratios": large_hex,
        "hex_scaling": hex_scaling, "page_p50_ms": [page_small, page_large],
        "targets": {label: met for label, met in checks},
    }


def main(argv=None):
    arguments = parse_arguments(argv)
    # The app logs every token and user it creates at INFO; the table is the output here.
    logging.basicConfig(level=logging.WARNING)
    load.ensure_wrk()
    print(f"CPUs: {os.cpu_count()}, load average before: {' '.join(f'{value:.2f}' for value in os.getloadavg())}")
    with tempfile.TemporaryDirectory(prefix="exponential-bench-") as workdir:
        bench = Bench(arguments, Path(workdir))
        try:
            bench.seed()
            bench.start_server()
            main_results = bench.run_rounds(MAIN_ROUTES)
            bench.grow()
            large_results = bench.run_rounds(LARGE_ROUTES)
        finally:
            bench.stop_server()
    print(f"Load average after: {' '.join(f'{value:.2f}' for value in os.getloadavg())}")
    summary = summarize(arguments, main_results, large_results)
    if arguments.json:
        arguments.json.write_text(json.dumps(summary, indent=2) + "\n")
    return summary


if __name__ == "__main__":
    main()
