"""Run gunicorn and wrk for the benchmark, on 127.0.0.1 only."""

import hashlib
import hmac
import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
WRK_DIR = Path(__file__).resolve().parent / "wrk"
HOST = "127.0.0.1"
# The body of every delivery and bare insert, in bytes.
BODY_SIZE = 10 * 1024


class BenchError(RuntimeError):
    """The benchmark could not run or produced a result that cannot be trusted."""


def ensure_wrk():
    """Return the path of wrk, installing Debian's package when it is missing."""
    path = shutil.which("wrk")
    if path:
        return path
    print("Installing Debian's wrk package ...", flush=True)
    prefix = [] if os.geteuid() == 0 else ["sudo"]
    subprocess.run(prefix + ["apt-get", "update", "-qq"], check=True)
    subprocess.run(prefix + ["apt-get", "install", "-y", "-qq", "wrk"], check=True,
                   env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"})
    path = shutil.which("wrk")
    if not path:
        raise BenchError("wrk is still missing after apt-get install wrk; install it by hand.")
    return path


def free_port():
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return probe.getsockname()[1]


class Gunicorn:
    """The bench app under gunicorn with two sync workers, bound to 127.0.0.1."""

    def __init__(self, environment, log_path, workers=2):
        self.port = free_port()
        self.base_url = f"http://{HOST}:{self.port}"
        self._log = open(log_path, "ab")
        command = [
            str(Path(sys.executable).parent / "gunicorn"),
            "--workers", str(workers),
            "--worker-class", "sync",
            "--bind", f"{HOST}:{self.port}",
            "bench.bench_app:create_bench_app()",
        ]
        self.process = subprocess.Popen(
            command, cwd=REPO, env={**os.environ, **environment},
            stdout=self._log, stderr=subprocess.STDOUT,
        )

    def wait_until_ready(self, timeout=30):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise BenchError(f"gunicorn exited with status {self.process.returncode}; see {self._log.name}.")
            try:
                with urllib.request.urlopen(self.base_url + "/bench/bare", timeout=2):
                    return
            except OSError:
                time.sleep(0.2)
        raise BenchError(f"gunicorn did not respond on {self.base_url} within {timeout} s; see {self._log.name}.")

    def stop(self):
        """Stop the gunicorn master this object started, and with it its workers."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._log.close()


@dataclass
class LoadResult:
    requests_per_second: float
    p50_ms: float
    p99_ms: float
    requests: int


def run_wrk(url, script, seconds, connections, environment=None):
    """Drive ``url`` for ``seconds`` with one wrk thread and return the measured figures.

    Raise BenchError on any socket error or non-2xx/3xx response, because a figure that
    includes failed requests measures the failure path.
    """
    if not url.startswith(f"http://{HOST}:"):
        raise BenchError(f"The benchmark only sends traffic to {HOST}, not to {url}.")
    command = [
        ensure_wrk(), "--threads", "1", "--connections", str(connections),
        "--duration", f"{seconds}s", "--timeout", "10s", "--script", str(WRK_DIR / script), url,
    ]
    env = {**os.environ, "BENCH_WRK_DIR": str(WRK_DIR), **(environment or {})}
    completed = subprocess.run(command, env=env, capture_output=True, text=True, timeout=seconds + 60)
    if completed.returncode != 0:
        raise BenchError(f"wrk failed with status {completed.returncode}: {completed.stderr.strip()}")

    lines = [line for line in completed.stdout.splitlines() if line.startswith("BENCH_RESULT ")]
    if not lines:
        raise BenchError(f"wrk printed no result line for {url}:\n{completed.stdout}")
    figures = json.loads(lines[-1].removeprefix("BENCH_RESULT "))
    failures = {name: count for name, count in figures.items() if name.endswith(("errors", "timeouts")) and count}
    if failures:
        raise BenchError(f"Requests to {url} failed: {failures}.")
    return LoadResult(
        requests_per_second=figures["requests"] / (figures["duration_us"] / 1e6),
        p50_ms=figures["p50_us"] / 1000,
        p99_ms=figures["p99_us"] / 1000,
        requests=figures["requests"],
    )


def delivery_body_parts():
    """Return the bytes of a 10 KB V2 delivery before and after its meeting id."""
    # A current timestamp (13 digits of milliseconds), because older V2 deliveries are rejected as stale.
    timestamp = str(int(time.time() * 1000)).encode()
    head = b'{"event": "meeting.transcribed", "timestamp": ' + timestamp + b', "client_reference_id": "bench", "notes": "'
    tail_before_id = b'", "meeting_id": "'
    suffix = b'"}'
    # The meeting ids have 20 characters, so that every body is exactly BODY_SIZE bytes.
    filler = b"x" * (BODY_SIZE - len(head) - len(tail_before_id) - 20 - len(suffix))
    return head + filler + tail_before_id, suffix


def write_pool(path, secret, label, size):
    """Write ``size`` signed deliveries with new meeting ids for post_pool.lua.

    The HMAC state after the shared prefix is computed once and copied for each id.
    """
    prefix, suffix = delivery_body_parts()
    prefix_mac = hmac.new(secret.encode(), prefix, hashlib.sha256)
    with open(path, "wb") as pool:
        os.fchmod(pool.fileno(), 0o600)
        pool.write(prefix + b"\n" + suffix + b"\n")
        for index in range(size):
            meeting_id = f"{label[:8]:-<8}{index:012d}".encode()
            mac = prefix_mac.copy()
            mac.update(meeting_id + suffix)
            pool.write(meeting_id + b" sha256=" + mac.hexdigest().encode() + b"\n")
