"""Real servers for the proofs: gunicorn instances, a cuttable TCP proxy and a small HTTP client.

Every server listens on a free port of 127.0.0.1 and is stopped by the process id or the
socket this module holds, never by name.
"""

import http.client
import json
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
START_TIMEOUT = 30
STOP_TIMEOUT = 20
REQUEST_TIMEOUT = 30


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class Response:
    status: int
    headers: dict
    body: bytes

    def json(self):
        return json.loads(self.body)

    @property
    def text(self):
        return self.body.decode()


def send(port, method, path, body=None, headers=None, timeout=REQUEST_TIMEOUT):
    """Send one request to 127.0.0.1:``port`` on a new connection and read the whole response."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        connection.request(method, path, body=body, headers=headers or {})
        response = connection.getresponse()
        return Response(response.status, {k.lower(): v for k, v in response.getheaders()}, response.read())
    finally:
        connection.close()


@dataclass
class Instance:
    """One gunicorn master with its workers."""

    process: subprocess.Popen
    port: int
    log_path: Path

    def log_text(self):
        return self.log_path.read_text(errors="replace")


@contextmanager
def gunicorn(environment, log_path, workers=2):
    """Start ``gunicorn -c gunicorn.conf.py 'app:create_app()'`` with ``environment`` added to
    this process's environment; yield it once /healthz returns 200, and stop it on exit."""
    port = free_port()
    env = {**os.environ, **{name: str(value) for name, value in environment.items()}}
    command = [
        sys.executable, "-m", "gunicorn", "-c", str(ROOT / "gunicorn.conf.py"),
        "--bind", f"127.0.0.1:{port}", "--workers", str(workers), "app:create_app()",
    ]
    with open(log_path, "ab") as log_file:
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log_file, stderr=subprocess.STDOUT)
    instance = Instance(process, port, Path(log_path))
    try:
        _wait_until_serving(instance)
        yield instance
    finally:
        stop(process)


def _wait_until_serving(instance):
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if instance.process.poll() is not None:
            raise RuntimeError(f"gunicorn exited with {instance.process.returncode}:\n{instance.log_text()[-3000:]}")
        try:
            if send(instance.port, "GET", "/healthz", timeout=2).status == 200:
                return
        except OSError:
            pass
        time.sleep(0.1)
    raise TimeoutError(f"gunicorn did not serve /healthz within {START_TIMEOUT} s:\n{instance.log_text()[-3000:]}")


def stop(process):
    """Stop a process this module started: SIGTERM to its id, then SIGKILL if it lingers."""
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=STOP_TIMEOUT)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=STOP_TIMEOUT)


@dataclass
class Browser:
    """A cookie-keeping client for the dashboard of one instance, signed up through its forms."""

    port: int
    cookies: dict = field(default_factory=dict)
    csrf_token: str = ""

    def request(self, method, path, form=None, headers=None):
        headers = dict(headers or {})
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{name}={value}" for name, value in self.cookies.items())
        body = None
        if form is not None:
            body = urlencode(form)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        response = send(self.port, method, path, body=body, headers=headers)
        for header in (response.headers.get("set-cookie") or "").split(", "):
            parsed = SimpleCookie()
            parsed.load(header)
            self.cookies.update({name: morsel.value for name, morsel in parsed.items()})
        return response

    def sign_up(self, email, password):
        page = self.request("GET", "/signup").text
        form = {"name": "Load Test", "email": email, "password": password, "csrf_token": _csrf_token(page)}
        response = self.request("POST", "/signup", form=form)
        assert response.status == 303, response.text
        self.csrf_token = _csrf_token(self.request("GET", "/tokens").text)

    def htmx_headers(self):
        return {"HX-Request": "true", "X-CSRFToken": self.csrf_token,
                "HX-Current-URL": f"http://127.0.0.1:{self.port}/tokens"}

    def create_token(self, kind, name):
        """Create a token through the Tokens page and return its value."""
        form = {"name": name, "kind": kind, "expires_in": "30d", "description": ""}
        response = self.request("POST", "/tokens", form=form, headers=self.htmx_headers())
        assert response.status == 201, response.text
        match = re.search(r'id="token-value"[^>]*value="([^"]+)"', response.text)
        assert match, "The response has no reveal panel with a token value."
        return match.group(1)


def _csrf_token(html):
    match = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"|"X-CSRFToken": "([^"]+)"', html)
    assert match, "The page has no CSRF token."
    return match.group(1) or match.group(2)


class CuttableProxy:
    """A TCP proxy from a free loopback port to ``target``, which the test can cut and restore.

    Cutting closes the listening socket (new connections are refused) and every open
    connection, as when a database server goes away.
    """

    def __init__(self, target_host, target_port):
        self.target = (target_host, target_port)
        self.port = free_port()
        self._lock = threading.Lock()
        self._connections = set()
        self._listener = None
        self._threads = []

    def start(self):
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(128)
        self._listener = listener
        thread = threading.Thread(target=self._accept, args=(listener,), daemon=True)
        thread.start()
        self._threads.append(thread)

    def cut(self):
        listener, self._listener = self._listener, None
        if listener is not None:
            # shutdown wakes the thread blocked in accept(); close alone does not on Linux.
            _close(listener)
        with self._lock:
            connections, self._connections = self._connections, set()
        for connection in connections:
            _close(connection)

    def _accept(self, listener):
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            try:
                upstream = socket.create_connection(self.target, timeout=5)
            except OSError:
                _close(client)
                continue
            upstream.settimeout(None)
            with self._lock:
                if self._listener is not listener:
                    _close(client)
                    _close(upstream)
                    return
                self._connections.update((client, upstream))
            for source, destination in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(source, destination), daemon=True).start()

    def _pump(self, source, destination):
        try:
            while data := source.recv(65536):
                destination.sendall(data)
        except OSError:
            pass
        finally:
            _close(source)
            _close(destination)
            with self._lock:
                self._connections.discard(source)
                self._connections.discard(destination)


def _close(connection):
    try:
        connection.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    connection.close()


def reachable(host, port, timeout=1.0):
    """Return True if something accepts TCP connections at ``host``:``port``."""
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def app_environment(database_url, keys, **overrides):
    """Return the environment variables of an app instance on ``database_url`` with ``keys``.

    The limits that a load from one address would hit are raised, because the proofs
    measure storage and revocation, not rate limiting.
    """
    environment = {
        "APP_ENV": "development",
        "DATABASE_URL": database_url,
        "PASSWORD_HASH_METHOD": "scrypt:1024:8:1",
        "WEBHOOK_RATE_LIMIT": "1000000 per minute",
        "BEARER_FAILURE_RATE_LIMIT": "1000000 per minute",
        # Accepted deliveries queue transcript fetches; keep that queue with the test.
        "JOB_QUEUE_URL": "sqlite:///" + tempfile.mkdtemp(prefix="jobs-") + "/jobs.sqlite",
        **keys,
    }
    environment.update(overrides)
    return environment
