"""Tables of the school. Times are stored in UTC; local times only in a named time zone."""

from __future__ import annotations

import enum
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    ColumnElement,
    Date,
    DateTime,
    Dialect,
    Enum,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    Time,
    TypeDecorator,
    UniqueConstraint,
    and_,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


class UTCDateTime(TypeDecorator[datetime]):
    """An aware UTC datetime on every engine (SQLite keeps no offset, so store naive UTC)."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given where UTC is required")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        return None if value is None else value.replace(tzinfo=UTC)


class Base(DeclarativeBase):
    metadata = MetaData(
        naming_convention={
            "ix": "ix_%(column_0_label)s",
            "uq": "uq_%(table_name)s_%(column_0_name)s",
            "ck": "ck_%(table_name)s_%(constraint_name)s",
            "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
            "pk": "pk_%(table_name)s",
        }
    )


class Role(enum.StrEnum):
    COORDINATOR = "coordinator"
    TUTOR = "tutor"
    STUDENT = "student"


class Level(enum.StrEnum):
    A1 = "A1"
    A2 = "A2"
    B1 = "B1"
    B2 = "B2"
    C1 = "C1"
    C2 = "C2"


class LessonStatus(enum.StrEnum):
    SCHEDULED = "scheduled"
    CANCELLED = "cancelled"


class BookingStatus(enum.StrEnum):
    CONFIRMED = "confirmed"
    WAITLISTED = "waitlisted"
    CANCELLED = "cancelled"
    LATE_CANCELLED = "late_cancelled"


def _enum(cls: type[enum.StrEnum], name: str) -> Enum:
    return Enum(
        cls, name=name, native_enum=False, length=20, values_callable=lambda e: [m.value for m in e]
    )


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    role: Mapped[Role] = mapped_column(_enum(Role, "role"), index=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    must_change_password: Mapped[bool] = mapped_column(Boolean, default=False)
    timezone: Mapped[str] = mapped_column(String(64))
    language: Mapped[str] = mapped_column(String(8))
    calendar_token: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # Kinds of message this person reads in the app only, not by e-mail (classroom/outbox.py).
    # Always replaced by a new list, never changed in place (a JSON column sees no mutation).
    mail_in_app_only: Mapped[list[str]] = mapped_column(JSON, default=list, server_default="[]")


class AuthSession(Base):
    """A login. The cookie holds a random token; only its SHA-256 is stored."""

    __tablename__ = "auth_sessions"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())

    user: Mapped[User] = relationship(lazy="joined")


class LoginFailure(Base):
    """Failed logins per e-mail address, known or not, for throttling."""

    __tablename__ = "login_failures"

    email: Mapped[str] = mapped_column(String(254), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    window_start: Mapped[datetime] = mapped_column(UTCDateTime())
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class Series(Base):
    """A weekly series: the same class on some weekdays at one local time for some weeks."""

    __tablename__ = "series"

    id: Mapped[int] = mapped_column(primary_key=True)
    topic: Mapped[str] = mapped_column(String(120))
    level: Mapped[Level] = mapped_column(_enum(Level, "level"))
    description: Mapped[str] = mapped_column(Text, default="")
    weekdays: Mapped[str] = mapped_column(String(20))  # "0,2" = Monday and Wednesday
    local_time: Mapped[time] = mapped_column(Time)
    timezone: Mapped[str] = mapped_column(String(64))
    start_date: Mapped[date] = mapped_column(Date)
    weeks: Mapped[int] = mapped_column(Integer)
    duration_minutes: Mapped[int] = mapped_column(Integer)
    capacity: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


MAX_LESSON_MINUTES = 240


class Lesson(Base):
    """One class occurrence: what students book and what a tutor teaches."""

    __tablename__ = "lessons"
    __table_args__ = (
        CheckConstraint("capacity >= 1 AND capacity <= 12", name="capacity_range"),
        CheckConstraint("ends_at > starts_at", name="ends_after_start"),
        CheckConstraint("booked >= 0 AND booked <= capacity", name="booked_within_capacity"),
        CheckConstraint("waiting >= 0", name="waiting_not_negative"),
        Index("ix_lessons_tutor_starts", "tutor_id", "starts_at"),
        Index("ix_lessons_series_starts", "series_id", "starts_at"),
        # The timetable's week, counted by row from the index alone (migration 0005).
        Index("ix_lessons_starts_status_tutor_level", "starts_at", "status", "tutor_id", "level"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    series_id: Mapped[int | None] = mapped_column(
        ForeignKey("series.id", ondelete="SET NULL"), nullable=True
    )
    topic: Mapped[str] = mapped_column(String(120))
    level: Mapped[Level] = mapped_column(_enum(Level, "level"))
    description: Mapped[str] = mapped_column(Text, default="")
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime())
    capacity: Mapped[int] = mapped_column(Integer)
    tutor_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), nullable=True
    )
    status: Mapped[LessonStatus] = mapped_column(
        _enum(LessonStatus, "lesson_status"), default=LessonStatus.SCHEDULED
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # Seats taken and places waiting, kept by booking.py under the lesson's row lock; the
    # database itself refuses a count above capacity.
    booked: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    waiting: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # When the tutor ended the live class: no process admits anyone to it after that.
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    # When its people were reminded that it starts soon (classroom/reminders.py): once.
    reminded_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)

    tutor: Mapped[User | None] = relationship(lazy="raise_on_sql")
    series: Mapped[Series | None] = relationship(lazy="raise_on_sql")

    @property
    def duration_minutes(self) -> int:
        return int((self.ends_at - self.starts_at).total_seconds() // 60)

    @classmethod
    def overlapping(cls, starts: datetime, ends: datetime) -> ColumnElement[bool]:
        """Scheduled lessons overlapping [starts, ends). No lesson is longer than
        MAX_LESSON_MINUTES, which bounds the index range scanned on ``starts_at``."""
        return and_(
            cls.status == LessonStatus.SCHEDULED,
            cls.starts_at < ends,
            cls.starts_at > starts - timedelta(minutes=MAX_LESSON_MINUTES),
            cls.ends_at > starts,
        )


class Booking(Base):
    """A student's seat, or place on the waitlist, in one lesson."""

    __tablename__ = "bookings"
    __table_args__ = (
        UniqueConstraint("lesson_id", "student_id", name="uq_bookings_lesson_student"),
        Index("ix_bookings_lesson_status", "lesson_id", "status"),
        Index("ix_bookings_student_status", "student_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    lesson_id: Mapped[int] = mapped_column(ForeignKey("lessons.id", ondelete="CASCADE"))
    student_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    status: Mapped[BookingStatus] = mapped_column(_enum(BookingStatus, "booking_status"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # When the current status began: the waitlist is served in this order.
    status_at: Mapped[datetime] = mapped_column(UTCDateTime())

    lesson: Mapped[Lesson] = relationship(lazy="raise_on_sql")
    student: Mapped[User] = relationship(lazy="raise_on_sql")


class AvailabilityWindow(Base):
    """A weekly window in which a tutor can teach, in the tutor's own time zone."""

    __tablename__ = "availability_windows"
    __table_args__ = (
        CheckConstraint("weekday >= 0 AND weekday <= 6", name="weekday_range"),
        CheckConstraint("end_time > start_time", name="end_after_start"),
        Index("ix_availability_weekday", "weekday", "start_time"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    tutor_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    weekday: Mapped[int] = mapped_column(Integer)
    start_time: Mapped[time] = mapped_column(Time)
    end_time: Mapped[time] = mapped_column(Time)


class AvailabilityException(Base):
    """A one-off absence (a day off, leave) during which a tutor cannot teach."""

    __tablename__ = "availability_exceptions"
    __table_args__ = (Index("ix_availability_exceptions_tutor", "tutor_id", "starts_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    tutor_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime())
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime())
    reason: Mapped[str] = mapped_column(String(200), default="")


class Message(Base):
    """An in-app message to one user (cancellations, substitutions, promotions)."""

    __tablename__ = "messages"
    __table_args__ = (Index("ix_messages_user_created", "user_id", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    lesson_id: Mapped[int | None] = mapped_column(
        ForeignKey("lessons.id", ondelete="SET NULL"), nullable=True
    )
    kind: Mapped[str] = mapped_column(String(40))
    # What the message is about (topic, start, names); the web layer words it in the reader's
    # language and time zone when it is shown.
    params: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class OutboxMail(Base):
    """An e-mail to send, written in the transaction of the action it tells about and sent
    later by a worker (classroom/outbox.py has the states and the claim)."""

    __tablename__ = "outbox"
    __table_args__ = (
        # What the workers look for: messages neither sent nor given up, by when they are due.
        Index(
            "ix_outbox_pending_due",
            "due_at",
            sqlite_where=text("sent_at IS NULL AND failed_at IS NULL"),
            postgresql_where=text("sent_at IS NULL AND failed_at IS NULL"),
        ),
        Index("ix_outbox_user_kind_created", "user_id", "kind", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(40))
    # What the mail is about (classes, with topic and times); worded when it is sent, in the
    # reader's language and zone as they are then.
    params: Mapped[dict[str, Any]] = mapped_column(JSON)
    # Random, part of the Message-ID: a message sent again after a lost claim keeps its id.
    token: Mapped[str] = mapped_column(String(32), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    due_at: Mapped[datetime] = mapped_column(UTCDateTime())  # not tried before then
    stale_at: Mapped[datetime] = mapped_column(UTCDateTime())  # pointless after then
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    # A worker's claim: it alone may send the message until ``claimed_until``.
    claim: Mapped[str | None] = mapped_column(String(32), nullable=True)
    claimed_until: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    failed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    last_error: Mapped[str | None] = mapped_column(String(500), nullable=True)


class ChatMessage(Base):
    """A message in a live class's chat; ``seq`` orders it within the class, gap-free."""

    __tablename__ = "chat_messages"
    __table_args__ = (
        UniqueConstraint("lesson_id", "seq", name="uq_chat_messages_lesson_seq"),
        UniqueConstraint(
            "lesson_id", "user_id", "client_key", name="uq_chat_messages_lesson_user_key"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    lesson_id: Mapped[int] = mapped_column(ForeignKey("lessons.id", ondelete="CASCADE"))
    seq: Mapped[int] = mapped_column(Integer)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # Chosen by the sender's page per message: a message sent again is stored once.
    client_key: Mapped[str | None] = mapped_column(String(64), default=None)


class Attendance(Base):
    """Who came to a live class, when they first joined and when they last left."""

    __tablename__ = "attendance"
    __table_args__ = (UniqueConstraint("lesson_id", "user_id", name="uq_attendance_lesson_user"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    lesson_id: Mapped[int] = mapped_column(ForeignKey("lessons.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    first_joined_at: Mapped[datetime] = mapped_column(UTCDateTime())
    last_left_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    joins: Mapped[int] = mapped_column(Integer, default=1)
    removed: Mapped[bool] = mapped_column(Boolean, default=False)
    # Time in the room so far, over every span (a reconnect does not end a span: the same
    # person's new connection replaces the old), and when the current span began.
    present_seconds: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    span_started_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class AlertKind(enum.StrEnum):
    NUDGE = "nudge"  # the tutor was reminded before the start (no coordinator alert)
    LATE = "late"  # the tutor was not in the room a while after the start
    DROPPED = "dropped"  # the tutor left mid-class and did not come back in time


class LessonAlert(Base):
    """What the late-tutor autopilot noticed about a class, once, and how it ended.

    ``key`` makes each alert happen once however many processes watch: the missing tutor and,
    for a tutor who dropped, which of their joins it was (``"<tutor>:<joins>"``). An open
    alert has no ``resolved_at``; ``resolution`` says how it closed, and a reassignment keeps
    the substitute: that is the class's record of the substitution."""

    __tablename__ = "lesson_alerts"
    __table_args__ = (
        UniqueConstraint("lesson_id", "kind", "key", name="uq_lesson_alerts_lesson_kind_key"),
        Index("ix_lesson_alerts_resolved_created", "resolved_at", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    lesson_id: Mapped[int] = mapped_column(ForeignKey("lessons.id", ondelete="CASCADE"))
    kind: Mapped[AlertKind] = mapped_column(_enum(AlertKind, "alert_kind"))
    key: Mapped[str] = mapped_column(String(40))
    tutor_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), nullable=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    # reassigned, dismissed, tutor_arrived, over, sent (a nudge)
    resolution: Mapped[str | None] = mapped_column(String(20), nullable=True)
    resolved_by: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), nullable=True
    )
    substitute_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), nullable=True
    )


class LiveRoomState(Base):
    """A live class's room state that must outlive its process (classroom/room_state.py):
    written by the class's home after each change, read by the next home after a failover."""

    __tablename__ = "live_room_states"

    lesson_id: Mapped[int] = mapped_column(
        ForeignKey("lessons.id", ondelete="CASCADE"), primary_key=True
    )
    state: Mapped[dict[str, Any]] = mapped_column(JSON)
    version: Mapped[int] = mapped_column(Integer, default=1)  # writes so far, for diagnosis
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class RateUnit(enum.StrEnum):
    HOUR = "hour"  # per hour of the class's scheduled duration
    CLASS = "class"  # per class taught, whatever its length


class Money(TypeDecorator[Decimal]):
    """An exact amount with two decimal places, stored as an integer of hundredths: no
    float on any engine (SQLite has no decimal type)."""

    impl = BigInteger
    cache_ok = True

    def process_bind_param(self, value: Decimal | None, dialect: Dialect) -> int | None:
        if value is None:
            return None
        hundredths = value * 100
        if hundredths != hundredths.to_integral_value():
            raise ValueError("money has at most two decimal places")
        return int(hundredths)

    def process_result_value(self, value: int | None, dialect: Dialect) -> Decimal | None:
        return None if value is None else (Decimal(value) / 100).quantize(CENT)


CENT = Decimal("0.01")


class LecturerRate(Base):
    """What a tutor is paid, from a date on: per hour or per class, in a currency. A newer
    rate supersedes an older one from its own date; rows are never changed nor deleted, so
    the history stays (classroom/pay.py)."""

    __tablename__ = "lecturer_rates"
    __table_args__ = (
        CheckConstraint("amount > 0", name="amount_positive"),
        Index("ix_lecturer_rates_tutor_effective", "tutor_id", "effective_from"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    tutor_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    unit: Mapped[RateUnit] = mapped_column(_enum(RateUnit, "rate_unit"))
    amount: Mapped[Decimal] = mapped_column(Money())
    currency: Mapped[str] = mapped_column(String(3))
    effective_from: Mapped[date] = mapped_column(Date)  # in the school's time zone
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    created_by: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), nullable=True
    )


class AttendanceStatus(enum.StrEnum):
    PRESENT = "present"
    LATE = "late"  # joined more than a set time after the start
    LEFT_EARLY = "left_early"  # left more than a set time before the end, for good
    NO_SHOW = "no_show"  # booked (or assigned) and never joined


class AttendanceRecord(Base):
    """A class's attendance once it is over: one row per booked student and for its tutor,
    written once (however many processes close the class), corrected only by coordinators."""

    __tablename__ = "attendance_records"
    __table_args__ = (
        UniqueConstraint("lesson_id", "user_id", name="uq_attendance_records_lesson_user"),
        Index("ix_attendance_records_user_lesson", "user_id", "lesson_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    lesson_id: Mapped[int] = mapped_column(ForeignKey("lessons.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    role: Mapped[str] = mapped_column(String(20))  # tutor, student
    status: Mapped[AttendanceStatus] = mapped_column(_enum(AttendanceStatus, "attendance_status"))
    minutes_present: Mapped[int] = mapped_column(Integer, default=0)
    minutes_late: Mapped[int] = mapped_column(Integer, default=0)
    closed_at: Mapped[datetime] = mapped_column(UTCDateTime())


class AttendanceCorrection(Base):
    """A coordinator's correction of a status: who changed what, when, and why."""

    __tablename__ = "attendance_corrections"

    id: Mapped[int] = mapped_column(primary_key=True)
    record_id: Mapped[int] = mapped_column(
        ForeignKey("attendance_records.id", ondelete="CASCADE"), index=True
    )
    before: Mapped[AttendanceStatus] = mapped_column(_enum(AttendanceStatus, "attendance_before"))
    after: Mapped[AttendanceStatus] = mapped_column(_enum(AttendanceStatus, "attendance_after"))
    note: Mapped[str] = mapped_column(String(500), default="")
    corrected_by: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), nullable=True
    )
    corrected_at: Mapped[datetime] = mapped_column(UTCDateTime())


class ReadinessCheck(Base):
    """One run of a person's setup check (/check): their microphone and camera, the network
    path to this server (direct over UDP, and through the TURN relay) and a short measurement
    of it. The newest is what the coordinators see before a class (classroom/readiness.py).
    ``udp`` and ``relay`` are what the server itself saw, proven by receipts it signed when
    the check's peer connection reached it; the rest is what the person's browser measured."""

    __tablename__ = "readiness_checks"
    __table_args__ = (
        Index("ix_readiness_checks_user_checked", "user_id", "checked_at"),
        CheckConstraint("verdict IN ('ok', 'warn', 'failed')", name="verdict_known"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    checked_at: Mapped[datetime] = mapped_column(UTCDateTime())
    verdict: Mapped[str] = mapped_column(String(10))  # ok, warn (works, with a but), failed
    mic: Mapped[str] = mapped_column(String(10))  # ok, silent, denied, missing, error
    camera: Mapped[str] = mapped_column(String(10))  # ok, denied, missing, error
    stun: Mapped[str] = mapped_column(String(10))  # ok, failed, none (no STUN configured)
    turn: Mapped[str] = mapped_column(String(10))  # a relay candidate: ok, failed, none
    udp: Mapped[str] = mapped_column(String(10))  # the direct path reached us: ok, failed
    relay: Mapped[str] = mapped_column(String(10))  # the TURN path reached us: ok, failed, none
    rtt_ms: Mapped[int | None] = mapped_column(Integer, nullable=True)
    loss: Mapped[float | None] = mapped_column(Float, nullable=True)  # 0..1
    down_kbps: Mapped[int | None] = mapped_column(Integer, nullable=True)
    up_kbps: Mapped[int | None] = mapped_column(Integer, nullable=True)
    browser: Mapped[str] = mapped_column(String(200), default="")  # its User-Agent, for support


class NoteKind(enum.StrEnum):
    CORRECTION = "correction"  # what was said, and a better way to say it
    WORD = "word"  # a word or phrase to learn
    PRONUNCIATION = "pronunciation"  # a pronunciation point


class LessonNote(Base):
    """What a tutor noted during a live class (classroom/notes.py): for one student, or for
    everyone (``student_id`` NULL). Students see their own and the shared ones, live and in
    their recap; the tutor's class report is pre-filled from them."""

    __tablename__ = "lesson_notes"
    __table_args__ = (
        Index("ix_lesson_notes_lesson_student", "lesson_id", "student_id"),
        CheckConstraint("kind IN ('correction', 'word', 'pronunciation')", name="kind_known"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    lesson_id: Mapped[int] = mapped_column(ForeignKey("lessons.id", ondelete="CASCADE"))
    author_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), nullable=True
    )
    student_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), nullable=True
    )
    kind: Mapped[NoteKind] = mapped_column(_enum(NoteKind, "note_kind"))
    text: Mapped[str] = mapped_column(String(500))  # for a correction: what was said
    better: Mapped[str | None] = mapped_column(String(500), nullable=True)  # corrections only
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    edited_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class LessonReport(Base):
    """The tutor's report on a class that is over: a summary for the class, and an entry per
    student who attended (``LessonReportEntry``). A class is complete once it is filed."""

    __tablename__ = "lesson_reports"

    lesson_id: Mapped[int] = mapped_column(
        ForeignKey("lessons.id", ondelete="CASCADE"), primary_key=True
    )
    tutor_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), nullable=True
    )
    summary: Mapped[str] = mapped_column(Text)
    filed_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class LessonReportEntry(Base):
    """The tutor's feedback to one student of a class: a CEFR estimate (optional) and a
    short comment."""

    __tablename__ = "lesson_report_entries"
    __table_args__ = (
        UniqueConstraint("lesson_id", "student_id", name="uq_lesson_report_entries_lesson_student"),
        Index("ix_lesson_report_entries_student", "student_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    lesson_id: Mapped[int] = mapped_column(
        ForeignKey("lesson_reports.lesson_id", ondelete="CASCADE")
    )
    student_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    level: Mapped[Level | None] = mapped_column(_enum(Level, "level"), nullable=True)
    comment: Mapped[str] = mapped_column(Text)


class LessonRating(Base):
    """A student's rating of a class they attended: 1 to 5 and a comment, once. ``tutor_id``
    is who taught it, kept for the reports per lecturer."""

    __tablename__ = "lesson_ratings"
    __table_args__ = (
        UniqueConstraint("lesson_id", "student_id", name="uq_lesson_ratings_lesson_student"),
        CheckConstraint("stars >= 1 AND stars <= 5", name="stars_range"),
        Index("ix_lesson_ratings_tutor_created", "tutor_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    lesson_id: Mapped[int] = mapped_column(ForeignKey("lessons.id", ondelete="CASCADE"))
    student_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    tutor_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), nullable=True
    )
    stars: Mapped[int] = mapped_column(Integer)
    comment: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
