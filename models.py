"""Database models: accounts, workspaces, API tokens and what arrives through them."""

from datetime import date, datetime, timezone
from typing import Optional

from flask_login import UserMixin
from sqlalchemy import JSON, Float, ForeignKey, Index, LargeBinary, String, Text, UniqueConstraint, select
from sqlalchemy.orm import Mapped, mapped_column, relationship
from sqlalchemy.types import DateTime, TypeDecorator

import clock
from extensions import db


# The largest id a row can have: ids are 32-bit integers on PostgreSQL. Lookups return
# "not found" for larger numbers from URLs instead of sending them to the database, which
# would raise an error.
MAX_ID = 2**31 - 1


def valid_id(value):
    return isinstance(value, int) and 0 < value <= MAX_ID


def token_status(token, now=None):
    """Return "revoked", "expired" or "active" for anything with ``revoked_at`` and ``expires_at``.

    It takes rows of Core selects as well as ApiToken objects, so the status has one rule.
    """
    if token.revoked_at is not None:
        return "revoked"
    if token.expires_at <= (now or clock.utcnow()):
        return "expired"
    return "active"


class UTCDateTime(TypeDecorator):
    """A timezone-aware UTC datetime on every database.

    SQLite stores datetimes without a zone; values read back are taken as UTC.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"Naive datetime {value!r}: pass a timezone-aware UTC datetime.")
        value = value.astimezone(timezone.utc)
        if dialect.name == "sqlite":
            return value.replace(tzinfo=None)
        return value

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=timezone.utc)
        return value.astimezone(timezone.utc)


class User(UserMixin, db.Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    # Stored lower-cased, so that sign-in ignores the case of the email.
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    password_hash: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.utcnow)

    memberships: Mapped[list["Membership"]] = relationship(back_populates="user")

    @classmethod
    def find_by_email(cls, email):
        return db.session.scalar(select(cls).where(cls.email == email.strip().lower()))

    def workspaces(self):
        """Return the workspaces this user is a member of, personal workspace first."""
        statement = (
            select(Workspace)
            .join(Membership)
            .where(Membership.user_id == self.id)
            .order_by(Workspace.personal.desc(), Workspace.id)
        )
        return db.session.scalars(statement).all()

    def personal_workspace(self):
        statement = (
            select(Workspace)
            .join(Membership)
            .where(Membership.user_id == self.id, Workspace.personal.is_(True))
        )
        return db.session.scalar(statement)


class UserSession(db.Model):
    """A signed-in browser session. The cookie carries the id; the database keeps its SHA-256.

    Signing out revokes the row, so a copy of the old cookie no longer signs anyone in.
    """

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id"))
    id_digest: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.utcnow)
    revoked_at: Mapped[Optional[datetime]] = mapped_column(UTCDateTime)


class Workspace(db.Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    # The workspace created for a user at sign-up.
    personal: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.utcnow)

    memberships: Mapped[list["Membership"]] = relationship(back_populates="workspace")


class Membership(db.Model):
    ROLES = ("owner", "member")

    user_id: Mapped[int] = mapped_column(ForeignKey("user.id"), primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspace.id"), primary_key=True)
    role: Mapped[str] = mapped_column(String(20), default="member")

    user: Mapped[User] = relationship(back_populates="memberships")
    workspace: Mapped[Workspace] = relationship(back_populates="memberships")


class ApiToken(db.Model):
    """An API token. The value itself is never stored in plaintext.

    A Hex Key keeps a SHA-256 digest of its value for lookup and an encrypted copy,
    because a webhook signature can only be checked with the secret itself. A JWT Token
    keeps only its ``jti`` claim.
    """

    KINDS = ("hex", "jwt")

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id"))
    kind: Mapped[str] = mapped_column(String(10))
    name: Mapped[str] = mapped_column(String(100))
    description: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    revoked_at: Mapped[Optional[datetime]] = mapped_column(UTCDateTime)
    # The last four characters of the value, so that people can tell tokens apart.
    last_four: Mapped[str] = mapped_column(String(4))

    # Hex Key only: SHA-256 of the value as hex, the value encrypted, and the random
    # public id that forms its webhook URL.
    secret_digest: Mapped[Optional[str]] = mapped_column(String(64), unique=True)
    secret_encrypted: Mapped[Optional[bytes]] = mapped_column(LargeBinary)
    endpoint_id: Mapped[Optional[str]] = mapped_column(String(32), unique=True)

    # JWT Token only: the token's unique id claim.
    jti: Mapped[Optional[str]] = mapped_column(String(64), unique=True)

    # Last authenticated API request, written at most once per token_service.LAST_USED_RESOLUTION.
    last_used_at: Mapped[Optional[datetime]] = mapped_column(UTCDateTime)
    last_used_ip: Mapped[Optional[str]] = mapped_column(String(45))

    user: Mapped[User] = relationship()

    __table_args__ = (Index("ix_api_token_user_id_id", "user_id", "id"),)

    @property
    def kind_label(self):
        """The short type shown in lists: Hex or JWT."""
        return "Hex" if self.kind == "hex" else "JWT"

    @property
    def kind_name(self):
        """The full type name: Hex Key or JWT Token."""
        return "Hex Key" if self.kind == "hex" else "JWT Token"

    def status(self, now=None):
        """Return "revoked", "expired" or "active", computed at the time of the call."""
        return token_status(self, now)

    def display_status(self, now=None):
        """Return status(), or "expiring" for an active token with under 10% of its lifetime left."""
        now = now or clock.utcnow()
        status = self.status(now)
        if status == "active" and (self.expires_at - now) < (self.expires_at - self.created_at) / 10:
            return "expiring"
        return status

    @classmethod
    def listed_for(cls, user_id, before_id=None, limit=25):
        """Return a page of the user's tokens that are not revoked, newest first."""
        statement = select(cls).where(cls.user_id == user_id, cls.revoked_at.is_(None))
        if before_id is not None:
            statement = statement.where(cls.id < before_id)
        statement = statement.order_by(cls.id.desc()).limit(limit)
        return db.session.scalars(statement).all()

    @classmethod
    def owned_by(cls, user_id, token_id):
        """Return the user's token with this id, or None if there is no such token."""
        if not valid_id(token_id):
            return None
        return db.session.scalar(select(cls).where(cls.id == token_id, cls.user_id == user_id))


class Meeting(db.Model):
    """A meeting that a Fireflies delivery announced, in the personal workspace of the user.

    The delivery only names the meeting; a background job fetches the rest from Fireflies.
    """

    FETCH_STATUSES = ("pending", "done", "failed")

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id"))
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspace.id"))
    fireflies_meeting_id: Mapped[str] = mapped_column(String(200))
    client_reference_id: Mapped[Optional[str]] = mapped_column(String(200))
    title: Mapped[Optional[str]] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.utcnow)
    # When the meeting took place, and how long it lasted in minutes, as Fireflies reports.
    held_at: Mapped[Optional[datetime]] = mapped_column(UTCDateTime)
    duration_minutes: Mapped[Optional[float]] = mapped_column(Float)
    participants: Mapped[list] = mapped_column(JSON, default=lambda: [])
    summary_overview: Mapped[Optional[str]] = mapped_column(Text)
    summary_keywords: Mapped[list] = mapped_column(JSON, default=lambda: [])

    # "pending" until the transcript is fetched ("done") or fetching gave up ("failed").
    fetch_status: Mapped[str] = mapped_column(String(20), default="pending")
    fetch_attempts: Mapped[int] = mapped_column(default=0)
    fetch_error: Mapped[Optional[str]] = mapped_column(Text)
    fetched_at: Mapped[Optional[datetime]] = mapped_column(UTCDateTime)
    # Last time a job was queued for the fetch; a sweep requeues fetches left pending too long.
    fetch_queued_at: Mapped[Optional[datetime]] = mapped_column(UTCDateTime)

    sentences: Mapped[list["TranscriptSentence"]] = relationship(
        order_by="TranscriptSentence.index", cascade="all, delete-orphan"
    )
    action_items: Mapped[list["MeetingActionItem"]] = relationship(
        order_by="MeetingActionItem.position", cascade="all, delete-orphan"
    )

    __table_args__ = (UniqueConstraint("user_id", "fireflies_meeting_id"),)

    @classmethod
    def owned_by(cls, user_id, meeting_id):
        if not valid_id(meeting_id):
            return None
        return db.session.scalar(select(cls).where(cls.id == meeting_id, cls.user_id == user_id))


class TranscriptSentence(db.Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    meeting_id: Mapped[int] = mapped_column(ForeignKey("meeting.id"), index=True)
    index: Mapped[int]
    speaker: Mapped[str] = mapped_column(String(200), default="")
    text: Mapped[str] = mapped_column(Text)
    # Seconds from the start of the recording.
    start_time: Mapped[Optional[float]] = mapped_column(Float)
    end_time: Mapped[Optional[float]] = mapped_column(Float)


class MeetingActionItem(db.Model):
    """An action item from a meeting summary: a draft until someone adds it as an action."""

    id: Mapped[int] = mapped_column(primary_key=True)
    meeting_id: Mapped[int] = mapped_column(ForeignKey("meeting.id"), index=True)
    position: Mapped[int]
    text: Mapped[str] = mapped_column(Text)
    action_id: Mapped[Optional[int]] = mapped_column(ForeignKey("action.id", ondelete="SET NULL"))


class Action(db.Model):
    """Something to do, in a workspace, captured in the app, through the API or from a meeting."""

    STATUSES = ("open", "done")
    SOURCES = ("app", "api", "extension", "fireflies")

    id: Mapped[int] = mapped_column(primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspace.id"))
    created_by_id: Mapped[int] = mapped_column(ForeignKey("user.id"))
    title: Mapped[str] = mapped_column(String(500))
    notes: Mapped[str] = mapped_column(Text, default="")
    source_url: Mapped[Optional[str]] = mapped_column(String(2048))
    status: Mapped[str] = mapped_column(String(10), default="open")
    due_date: Mapped[Optional[date]]
    source: Mapped[str] = mapped_column(String(20), default="app")
    meeting_id: Mapped[Optional[int]] = mapped_column(ForeignKey("meeting.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.utcnow, onupdate=clock.utcnow)

    workspace: Mapped[Workspace] = relationship()

    __table_args__ = (Index("ix_action_workspace_id_id", "workspace_id", "id"),)

    @classmethod
    def visible_to(cls, user_id):
        """Return a select of the actions in the workspaces the user is a member of."""
        member_of = select(Membership.workspace_id).where(Membership.user_id == user_id)
        return select(cls).where(cls.workspace_id.in_(member_of))


class FirefliesCredential(db.Model):
    """A user's own Fireflies API key, encrypted like a Hex Key, and the result of its last test."""

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id"), unique=True)
    api_key_encrypted: Mapped[bytes] = mapped_column(LargeBinary)
    last_four: Mapped[str] = mapped_column(String(4))
    saved_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.utcnow)
    last_tested_at: Mapped[Optional[datetime]] = mapped_column(UTCDateTime)
    last_test_ok: Mapped[Optional[bool]]
    last_test_error: Mapped[Optional[str]] = mapped_column(Text)


class IdempotencyRecord(db.Model):
    """The response to a POST sent with an Idempotency-Key, replayed when the key comes again."""

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id"))
    key: Mapped[str] = mapped_column(String(255))
    # SHA-256 of the method, path and body, so a key reused for another request is caught.
    request_digest: Mapped[str] = mapped_column(String(64))
    status_code: Mapped[int]
    response_body: Mapped[str] = mapped_column(Text)
    location: Mapped[Optional[str]] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.utcnow)

    __table_args__ = (UniqueConstraint("user_id", "key"),)


class WebhookDelivery(db.Model):
    """A Fireflies delivery that passed the signature check and was stored."""

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id"))
    token_id: Mapped[int] = mapped_column(ForeignKey("api_token.id"))
    meeting_id: Mapped[int] = mapped_column(ForeignKey("meeting.id"))
    fireflies_meeting_id: Mapped[str] = mapped_column(String(200))
    event: Mapped[str] = mapped_column(String(100))
    # 1 for {"meetingId", "eventType"} bodies, 2 for {"meeting_id", "event"} bodies.
    payload_version: Mapped[int]
    # V2 bodies carry the time of the event in milliseconds since the epoch.
    event_timestamp: Mapped[Optional[datetime]] = mapped_column(UTCDateTime)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.utcnow)
    body: Mapped[bytes] = mapped_column(LargeBinary)

    # One stored delivery per event and meeting: Fireflies retries, and repeats are no-ops.
    __table_args__ = (UniqueConstraint("user_id", "fireflies_meeting_id", "event"),)


class WebhookAttempt(db.Model):
    """Requests to one webhook URL with the same verdict and reason within one minute.

    Repeats within the minute add to ``count`` and overwrite the ``last_*`` details, so a
    flood of requests to one URL stores at most one row per verdict and reason a minute.
    Requests to unknown URLs share the ``endpoint_key`` "", so random URLs cannot add rows.
    """

    VERDICTS = ("accepted", "duplicate", "rejected")

    id: Mapped[int] = mapped_column(primary_key=True)
    endpoint_key: Mapped[str] = mapped_column(String(32))
    token_id: Mapped[Optional[int]] = mapped_column(ForeignKey("api_token.id"))
    user_id: Mapped[Optional[int]] = mapped_column(ForeignKey("user.id"))
    window_start: Mapped[datetime] = mapped_column(UTCDateTime)
    verdict: Mapped[str] = mapped_column(String(20))
    # A DeliveryRejected reason (or "body_too_large"); "" for accepted and duplicate.
    reason: Mapped[str] = mapped_column(String(40))
    # True for a "Send test delivery" run from the Tokens page, which stores no meeting.
    is_test: Mapped[bool]
    count: Mapped[int]
    first_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_at: Mapped[datetime] = mapped_column(UTCDateTime)
    source_ip: Mapped[Optional[str]] = mapped_column(String(45))
    event: Mapped[Optional[str]] = mapped_column(String(100))
    meeting_id: Mapped[Optional[str]] = mapped_column(String(200))
    # The body of an accepted delivery, cut to WEBHOOK_LOG_BODY_LIMIT bytes.
    body: Mapped[Optional[bytes]] = mapped_column(LargeBinary)

    __table_args__ = (
        UniqueConstraint("endpoint_key", "window_start", "verdict", "reason", "is_test"),
        Index("ix_webhook_attempt_token_id_last_at", "token_id", "last_at"),
        Index("ix_webhook_attempt_window_start", "window_start"),
    )


class Workflow(db.Model):
    """The token that one of the user's workflows uses, chosen when it was set up."""

    KINDS = ("fireflies", "extension", "api")

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id"))
    kind: Mapped[str] = mapped_column(String(20))
    token_id: Mapped[Optional[int]] = mapped_column(ForeignKey("api_token.id"))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.utcnow, onupdate=clock.utcnow)

    __table_args__ = (UniqueConstraint("user_id", "kind"),)


class TokenEvent(db.Model):
    """Something that happened to a token: created, revoked, first_used, rejected_expired, rejected_revoked."""

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id"))
    token_id: Mapped[int] = mapped_column(ForeignKey("api_token.id"))
    kind: Mapped[str] = mapped_column(String(30))
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    source_ip: Mapped[Optional[str]] = mapped_column(String(45))

    __table_args__ = (Index("ix_token_event_user_id_id", "user_id", "id"),)
