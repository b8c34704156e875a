"""A local HTTP server that responds to GraphQL requests as Fireflies' API does, for tests.

Each transcript id selects a behaviour, so one server serves every case:

- ``full-*``: a complete transcript, action items as one string
- ``list-*``: action items as a list
- ``graphql-error-*``: a GraphQL error in a 200 response
- ``rate-limited-*``: 429 with Retry-After on the first request, then a full transcript
- ``slow-*``: answers after ``slow_seconds``
- ``flaky-*``: 503 on the first two requests, then a full transcript
- ``hang-once-*``: holds the first request open until the server stops (for crash tests),
  then answers with a full transcript

A request with the key ``invalid-key`` gets 401, as Fireflies answers a revoked key.
"""

import json
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

INVALID_KEY = "invalid-key"


def transcript(transcript_id, action_items):
    return {
        "id": transcript_id,
        "title": f"Weekly sync {transcript_id}",
        "date": 1764936000000,
        "duration": 31.5,
        "participants": ["ada@example.com", "grace@example.com"],
        "speakers": [{"id": 0, "name": "Ada"}, {"id": 1, "name": "Grace"}],
        "sentences": [
            {"index": 0, "speaker_name": "Ada", "text": "Let's ship the token page.", "start_time": 0.5, "end_time": 2.4},
            {"index": 1, "speaker_name": "Grace", "text": "I will write the release notes.", "start_time": 2.6, "end_time": 4.9},
        ],
        "summary": {
            "overview": "The team agreed to ship the token page this week.",
            "keywords": ["tokens", "release"],
            "action_items": action_items,
        },
    }


class FakeFireflies:
    def __init__(self, slow_seconds=3.0):
        self.slow_seconds = slow_seconds
        self.requests = []
        self.calls = Counter()
        self._stopping = threading.Event()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                fake.handle(self)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        # Handler threads are joined when the server closes, so no connection is left open.
        self.server.daemon_threads = False
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def start(self):
        self.thread.start()
        return self

    def stop(self):
        self._stopping.set()
        self.server.shutdown()
        self.server.server_close()

    def _send(self, handler, status, payload, headers=None):
        body = json.dumps(payload).encode()
        handler.send_response(status)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(body)))
        for name, value in (headers or {}).items():
            handler.send_header(name, value)
        handler.end_headers()
        handler.wfile.write(body)

    def handle(self, handler):
        length = int(handler.headers.get("Content-Length", 0))
        request = json.loads(handler.rfile.read(length) or b"{}")
        authorization = handler.headers.get("Authorization", "")
        self.requests.append({"path": handler.path, "authorization": authorization, "body": request})

        if handler.path != "/graphql":
            return self._send(handler, 404, {"message": "Not found"})
        if authorization == f"Bearer {INVALID_KEY}" or not authorization.startswith("Bearer "):
            return self._send(handler, 401, {"errors": [{"message": "Invalid API key", "code": "invalid_api_key"}]})

        if "user" in request.get("query", "") and "transcript" not in request.get("query", ""):
            return self._send(handler, 200, {"data": {"user": {"email": "owner@example.com", "name": "Owner"}}})

        transcript_id = request.get("variables", {}).get("transcriptId", "")
        self.calls[transcript_id] += 1
        attempt = self.calls[transcript_id]

        if transcript_id.startswith("graphql-error"):
            return self._send(handler, 200, {"errors": [{"message": "Transcript not found", "code": "object_not_found"}],
                                             "data": None})
        if transcript_id.startswith("rate-limited") and attempt == 1:
            return self._send(handler, 429, {"errors": [{"message": "Too many requests"}]}, {"Retry-After": "7"})
        if transcript_id.startswith("flaky") and attempt <= 2:
            return self._send(handler, 503, {"message": "Service unavailable"})
        if transcript_id.startswith("slow"):
            time.sleep(self.slow_seconds)
        if transcript_id.startswith("hang-once") and attempt == 1:
            self._stopping.wait(timeout=60)
            return None
        items = ["Ada ships the token page", "Grace writes release notes"] if transcript_id.startswith("list") \
            else "**Ada**\nShip the token page\n**Grace**\nWrite the release notes"
        return self._send(handler, 200, {"data": {"transcript": transcript(transcript_id, items)}})
