"""The benchmark machinery, run with tiny counts, and revocation across gunicorn workers.

No figure is asserted, because timings on a shared machine do not show whether the code is correct.
"""

import hashlib
import hmac
import json
import urllib.error
import urllib.request

import pytest
from sqlalchemy import select

import token_service
from bench import load, run
from extensions import db
from models import ApiToken

TINY = ["--tokens", "12", "--large-tokens", "40", "--page-tokens", "3", "--large-page-tokens", "20",
        "--duration", "1", "--warmup", "0", "--repetitions", "1", "--connections", "2"]


def test_bench_run_prints_every_figure(capsys):
    summary = run.main(TINY)

    output = capsys.readouterr().out
    assert "Throughput ratios per repetition" in output
    assert "hex/bare with 40 tokens / with 12" in output
    assert "Tokens page p50" in output
    for route in run.MAIN_ROUTES:
        assert summary["main"][route][0]["requests"] > 0, route
    for route in run.LARGE_ROUTES:
        assert summary["large"][route][0]["requests"] > 0, route
    assert len(summary["targets"]) == 6


@pytest.fixture
def served_bench(tmp_path):
    bench = run.Bench(run.parse_arguments(TINY), tmp_path)
    bench.seed()
    bench.start_server()
    yield bench
    bench.stop_server()


def status_of(request):
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


def call_me(bench, value):
    request = urllib.request.Request(bench.server.base_url + "/api/v1/me",
                                     headers={"Authorization": f"Bearer {value}"})
    return status_of(request)


def deliver(bench, meeting_id):
    body = json.dumps({"event": "meeting.transcribed", "meeting_id": meeting_id}).encode()
    signature = hmac.new(bench.credentials["hex"].encode(), body, hashlib.sha256).hexdigest()
    request = urllib.request.Request(
        f"{bench.server.base_url}/webhooks/fireflies/{bench.credentials['endpoint_id']}",
        data=body, headers={"Content-Type": "application/json", "X-Hub-Signature": signature},
    )
    return status_of(request)


def test_revocation_reaches_every_gunicorn_worker(served_bench):
    bench = served_bench
    # Sync workers close each connection, so these requests spread over both workers and
    # leave a pooled database connection open in each.
    for index in range(10):
        assert call_me(bench, bench.credentials["hex"]) == 200
        assert call_me(bench, bench.credentials["jwt"]) == 200
        assert deliver(bench, f"before-{index}") == 200

    with bench.app.app_context():
        tokens = db.session.scalars(select(ApiToken).where(ApiToken.user_id == bench.load_user)).all()
        for token in tokens:
            token_service.revoke_token(token)

    for index in range(10):
        assert call_me(bench, bench.credentials["hex"]) == 401
        assert call_me(bench, bench.credentials["jwt"]) == 401
        assert deliver(bench, f"after-{index}") == 401


def test_wrk_url_must_be_loopback():
    with pytest.raises(load.BenchError, match="only sends traffic"):
        load.run_wrk("http://example.com/", "get.lua", 1, 1)
