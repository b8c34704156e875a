"""A small client for Fireflies' GraphQL API: test a key and fetch one transcript.

Requests go to ``POST <FIREFLIES_API_URL>/graphql`` with ``Authorization: Bearer <key>``.
Errors state whether trying again later can help (``retryable``) and how long to wait.
"""

import http.client
import json
import logging
import socket
from urllib.parse import urlsplit
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Optional

log = logging.getLogger(__name__)

TIMEOUT_SECONDS = 10

TRANSCRIPT_QUERY = """
query Transcript($transcriptId: String!) {
  transcript(id: $transcriptId) {
    id
    title
    date
    duration
    participants
    speakers { id name }
    sentences { index speaker_name text start_time end_time }
    summary { overview keywords action_items }
  }
}
"""

USER_QUERY = "query { user { email name } }"


class FirefliesError(Exception):
    """A Fireflies request failed. ``retryable`` is True when trying later can succeed."""

    def __init__(self, message, retryable, retry_after=None):
        super().__init__(message)
        self.retryable = retryable
        # Seconds to wait, from a Retry-After header, when Fireflies sent one.
        self.retry_after = retry_after


@dataclass
class Sentence:
    index: int
    speaker: str
    text: str
    start_time: Optional[float]
    end_time: Optional[float]


@dataclass
class Transcript:
    title: Optional[str]
    held_at: Optional[datetime]
    duration_minutes: Optional[float]
    participants: list
    overview: Optional[str]
    keywords: list
    action_items: list
    sentences: list = field(default_factory=list)


class FirefliesClient:
    def __init__(self, base_url, api_key, timeout=TIMEOUT_SECONDS):
        self.endpoint = base_url.rstrip("/") + "/graphql"
        self.api_key = api_key
        self.timeout = timeout

    def check_key(self):
        """Return the email of the key's Fireflies user, or raise FirefliesError."""
        data = self._query(USER_QUERY, {})
        user = data.get("user") or {}
        return user.get("email") or ""

    def fetch_transcript(self, transcript_id):
        data = self._query(TRANSCRIPT_QUERY, {"transcriptId": transcript_id})
        transcript = data.get("transcript")
        if not isinstance(transcript, dict):
            raise FirefliesError(f"Fireflies has no transcript with id {transcript_id!r}.", retryable=False)
        return parse_transcript(transcript)

    def _query(self, query, variables):
        body = json.dumps({"query": query, "variables": variables}).encode()
        parts = urlsplit(self.endpoint)
        connection_class = http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
        connection = connection_class(parts.netloc, timeout=self.timeout)
        headers = {"Content-Type": "application/json", "Authorization": f"Bearer {self.api_key}"}
        try:
            connection.request("POST", parts.path or "/", body=body, headers=headers)
            response = connection.getresponse()
            raw = response.read()
            status, retry_after = response.status, response.getheader("Retry-After")
        except (TimeoutError, socket.timeout):
            raise FirefliesError(f"Fireflies did not respond within {self.timeout} seconds.", retryable=True) from None
        except (OSError, http.client.HTTPException) as error:
            raise FirefliesError(f"Could not reach Fireflies: {error}.", retryable=True) from None
        finally:
            # Closed here, also after a timeout, so that no socket waits for the garbage collector.
            connection.close()

        if status >= 400:
            raise _http_error(status, retry_after)
        try:
            payload = json.loads(raw)
        except (json.JSONDecodeError, UnicodeDecodeError):
            raise FirefliesError("Fireflies sent a response that is not JSON.", retryable=True) from None

        errors = payload.get("errors") if isinstance(payload, dict) else None
        if errors:
            messages = "; ".join(str(error.get("message", error)) for error in errors if isinstance(error, dict))
            raise FirefliesError(f"Fireflies reported an error: {messages or errors}", retryable=False)
        data = payload.get("data") if isinstance(payload, dict) else None
        if not isinstance(data, dict):
            raise FirefliesError("Fireflies sent a response without data.", retryable=True)
        return data


def _http_error(status, retry_after):
    if status == 401 or status == 403:
        return FirefliesError(
            f"Fireflies rejected the API key (HTTP {status}). Save a current key on the Integrations page.",
            retryable=False,
        )
    if status == 429 or status >= 500:
        return FirefliesError(
            f"Fireflies returned HTTP {status}; trying again later.",
            retryable=True,
            retry_after=_retry_after(retry_after),
        )
    return FirefliesError(f"Fireflies returned HTTP {status}.", retryable=False)


def _retry_after(value):
    """Return the seconds of a Retry-After header in its seconds form, or None."""
    try:
        seconds = float(value)
    except (TypeError, ValueError):
        return None
    return seconds if seconds >= 0 else None


def _as_list(value):
    """Return action items or keywords as a list, whether Fireflies sent a string or a list."""
    if value is None:
        return []
    if isinstance(value, str):
        # One item a line, sometimes grouped under "**Name**" headings and with list bullets.
        items = []
        for line in value.splitlines():
            line = line.strip()
            if not line or (line.startswith("**") and line.endswith("**")):
                continue
            items.append(line.lstrip("-*\u2022").strip())
        return [item for item in items if item]
    if isinstance(value, list):
        return [str(item).strip() for item in value if str(item).strip()]
    return [str(value)]


def _number(value):
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def _held_at(value):
    """Fireflies sends the date as milliseconds since the epoch."""
    number = _number(value)
    if number is None:
        return None
    try:
        return datetime.fromtimestamp(number / 1000, tz=timezone.utc)
    except (OverflowError, OSError, ValueError):
        return None


def parse_transcript(data):
    summary = data.get("summary") or {}
    sentences = []
    for position, sentence in enumerate(data.get("sentences") or []):
        if not isinstance(sentence, dict) or not str(sentence.get("text") or "").strip():
            continue
        sentences.append(Sentence(
            index=sentence.get("index") if isinstance(sentence.get("index"), int) else position,
            speaker=str(sentence.get("speaker_name") or "")[:200],
            text=str(sentence["text"]),
            start_time=_number(sentence.get("start_time")),
            end_time=_number(sentence.get("end_time")),
        ))
    participants = data.get("participants") or [
        speaker.get("name") for speaker in data.get("speakers") or [] if isinstance(speaker, dict)
    ]
    return Transcript(
        title=(str(data["title"])[:500] if data.get("title") else None),
        held_at=_held_at(data.get("date")),
        duration_minutes=_number(data.get("duration")),
        participants=[str(name) for name in participants if name],
        overview=summary.get("overview") if isinstance(summary.get("overview"), str) else None,
        keywords=_as_list(summary.get("keywords")),
        action_items=_as_list(summary.get("action_items")),
        sentences=sentences,
    )
