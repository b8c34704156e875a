"""Background jobs with Huey: fetch a meeting's transcript from Fireflies after a delivery.

The queue lives in a SQLite file in the instance folder by default and in Redis when
JOB_QUEUE_URL names it. Huey removes a task from the queue when a worker takes it, so a
worker killed mid-task would lose it. The meeting row is therefore the record of truth: a
meeting stays "pending" until its transcript is stored, each worker requeues pending
meetings when it starts, and a periodic sweep requeues those whose job went missing.
Running the fetch twice is harmless: only the first to finish stores the transcript.
"""

import logging
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from huey import Huey, RedisHuey, crontab
from huey.exceptions import RetryTask
from huey.storage import SqliteStorage
from sqlalchemy import delete, or_, select, update

import clock
import delivery_log
import integrations
from extensions import db
from fireflies_client import FirefliesClient, FirefliesError
from models import Meeting, MeetingActionItem, TranscriptSentence

log = logging.getLogger(__name__)

# Waits between attempts, in seconds: 5, 10, 20, ... up to 10 minutes.
BACKOFF_BASE_SECONDS = 5
BACKOFF_MAX_SECONDS = 600
# A pending fetch whose job was queued longer ago than this is queued again.
STALE_AFTER = timedelta(minutes=15)
NO_KEY_MESSAGE = (
    "No Fireflies API key is saved. Save one on the Integrations page; "
    "the meeting is fetched then."
)


class QueueStorage(SqliteStorage):
    """Huey's SQLite storage with synchronous=NORMAL, so that in WAL mode a commit skips fsync.

    A webhook delivery then pays for one fsync (the meeting row's), not two. A queue entry
    lost to a power cut costs nothing: the meeting row stays pending and is queued again.
    """

    def _create_connection(self):
        connection = super()._create_connection()
        connection.execute("pragma synchronous = 1")
        return connection


@dataclass
class Jobs:
    huey: object
    fetch_meeting: object
    requeue_stale: object
    prune_webhook_log: object


def init_app(app):
    """Create the queue and register the tasks, which run inside this app's context."""
    url = app.config.get("JOB_QUEUE_URL")
    name = app.config["JOB_QUEUE_NAME"]
    if url and url.startswith(("redis://", "rediss://", "unix://")):
        huey = RedisHuey(name, url=url, utc=True)
    else:
        path = url.removeprefix("sqlite:///") if url else str(Path(app.instance_path) / "jobs.sqlite")
        huey = Huey(name, storage_class=QueueStorage, filename=path, utc=True)

    def fetch_meeting_task(meeting_id):
        with app.app_context():
            fetch_meeting(meeting_id)

    def requeue_stale_task():
        with app.app_context():
            requeue_pending(stale_only=True)

    def prune_webhook_log_task():
        with app.app_context():
            delivery_log.prune()

    app.extensions["jobs"] = Jobs(
        huey=huey,
        fetch_meeting=huey.task(name="fetch_meeting")(fetch_meeting_task),
        requeue_stale=huey.periodic_task(crontab(minute="*"), name="requeue_stale_fetches")(requeue_stale_task),
        prune_webhook_log=huey.periodic_task(crontab(minute="17"), name="prune_webhook_log")(
            prune_webhook_log_task
        ),
    )


def _jobs():
    from flask import current_app

    return current_app.extensions["jobs"]


def enqueue_fetch(meeting_id, delay=None, record_time=True):
    """Queue a fetch of the meeting; a queue that is down only delays it until the next sweep.

    With ``record_time`` the meeting's fetch_queued_at is set to now, for the sweep.
    """
    try:
        if delay:
            _jobs().fetch_meeting.schedule(args=(meeting_id,), delay=delay)
        else:
            _jobs().fetch_meeting(meeting_id)
    except Exception:
        log.exception("Could not queue the fetch of meeting %s; the sweep will queue it again.", meeting_id)
        return False
    if not record_time:
        return True
    db.session.execute(update(Meeting).where(Meeting.id == meeting_id).values(fetch_queued_at=clock.utcnow()))
    db.session.commit()
    return True


def _queued_meeting_ids():
    """Return the ids of meetings whose fetch waits in the queue or in its schedule."""
    huey = _jobs().huey
    tasks = [*huey.pending(), *huey.scheduled()]
    return {task.args[0] for task in tasks if task.name == "fetch_meeting" and task.args}


def requeue_pending(stale_only=False, user_id=None):
    """Queue a fetch for each pending meeting that has no job waiting in the queue.

    With ``stale_only``, only meetings whose last job was queued longer ago than
    STALE_AFTER count, so that a fetch running in a live worker is left alone.
    """
    statement = select(Meeting.id).where(Meeting.fetch_status == "pending")
    if stale_only:
        cutoff = clock.utcnow() - STALE_AFTER
        statement = statement.where(or_(Meeting.fetch_queued_at.is_(None), Meeting.fetch_queued_at < cutoff))
    if user_id is not None:
        statement = statement.where(Meeting.user_id == user_id)
    queued = _queued_meeting_ids()
    meeting_ids = [meeting_id for meeting_id in db.session.scalars(statement) if meeting_id not in queued]
    for meeting_id in meeting_ids:
        enqueue_fetch(meeting_id)
    if meeting_ids:
        log.info("Queued %d pending meeting fetch(es).", len(meeting_ids))
    return len(meeting_ids)


def backoff_seconds(attempt, retry_after=None):
    """Return the wait before the next attempt, honouring a Retry-After from Fireflies."""
    wait = min(BACKOFF_BASE_SECONDS * 2 ** max(attempt - 1, 0), BACKOFF_MAX_SECONDS)
    if retry_after is not None:
        wait = max(wait, min(retry_after, BACKOFF_MAX_SECONDS))
    return wait


def fetch_meeting(meeting_id):
    """Fetch the meeting's transcript from Fireflies and store it, or record why not.

    Timeouts, 5xx and 429 responses are retried with backoff up to FETCH_MAX_ATTEMPTS; a
    rejected key (401) or a GraphQL error stops at once with the reason stored.
    """
    from flask import current_app

    meeting = db.session.get(Meeting, meeting_id)
    if meeting is None or meeting.fetch_status != "pending":
        return

    api_key = integrations.fireflies_api_key(meeting.user_id)
    if api_key is None:
        meeting.fetch_error = NO_KEY_MESSAGE
        db.session.commit()
        log.info("Meeting %s waits for a Fireflies API key of user %s.", meeting.id, meeting.user_id)
        return

    meeting.fetch_attempts += 1
    attempt = meeting.fetch_attempts
    db.session.commit()

    client = FirefliesClient(current_app.config["FIREFLIES_API_URL"], api_key)
    try:
        transcript = client.fetch_transcript(meeting.fireflies_meeting_id)
    except FirefliesError as error:
        _record_failure(meeting, error, attempt)
        return

    if _store_transcript(meeting.id, transcript):
        log.info("Meeting %s fetched from Fireflies on attempt %d.", meeting.id, attempt)


def _record_failure(meeting, error, attempt):
    from flask import current_app

    meeting.fetch_error = str(error)
    if error.retryable and attempt < current_app.config["FETCH_MAX_ATTEMPTS"]:
        delay = backoff_seconds(attempt, error.retry_after)
        meeting.fetch_queued_at = clock.utcnow() + timedelta(seconds=delay)
        db.session.commit()
        log.warning("Fetching meeting %s failed (attempt %d): %s Retrying in %ss.", meeting.id, attempt, error, delay)
        raise RetryTask(delay=delay)

    meeting.fetch_status = "failed"
    db.session.commit()
    log.warning("Fetching meeting %s failed for good after %d attempt(s): %s", meeting.id, attempt, error)


def _store_transcript(meeting_id, transcript):
    """Store the transcript unless another run already did; return True if this run stored it."""
    claimed = db.session.execute(
        update(Meeting)
        .where(Meeting.id == meeting_id, Meeting.fetch_status == "pending")
        .values(
            fetch_status="done",
            fetch_error=None,
            fetched_at=clock.utcnow(),
            title=transcript.title,
            held_at=transcript.held_at,
            duration_minutes=transcript.duration_minutes,
            participants=transcript.participants,
            summary_overview=transcript.overview,
            summary_keywords=transcript.keywords,
        )
    ).rowcount
    if claimed != 1:
        db.session.rollback()
        return False

    db.session.execute(delete(TranscriptSentence).where(TranscriptSentence.meeting_id == meeting_id))
    db.session.execute(
        delete(MeetingActionItem).where(
            MeetingActionItem.meeting_id == meeting_id, MeetingActionItem.action_id.is_(None)
        )
    )
    db.session.add_all(
        TranscriptSentence(meeting_id=meeting_id, index=sentence.index, speaker=sentence.speaker,
                           text=sentence.text, start_time=sentence.start_time, end_time=sentence.end_time)
        for sentence in transcript.sentences
    )
    db.session.add_all(
        MeetingActionItem(meeting_id=meeting_id, position=position, text=text)
        for position, text in enumerate(transcript.action_items)
    )
    db.session.commit()
    return True


def run_burst(app):
    """Run every queued task that is due, then return the number run."""
    huey = app.extensions["jobs"].huey
    count = 0
    while True:
        for task in huey.read_schedule():
            huey.enqueue(task)
        task = huey.dequeue()
        if task is None:
            return count
        huey.execute(task)
        count += 1
