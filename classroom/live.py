"""The durable side of live classes: who may join and when, attendance, and chat."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from classroom.errors import NotFound, PermissionDenied, TooLate
from classroom.models import (
    Attendance,
    Booking,
    BookingStatus,
    ChatMessage,
    Lesson,
    LessonStatus,
    Role,
    User,
)


class LiveRole(enum.StrEnum):
    TUTOR = "tutor"
    STUDENT = "student"
    OBSERVER = "observer"  # coordinators: silent, unseen by the media


@dataclass(frozen=True)
class JoinWindow:
    """From how long before the start a class can be joined, and how long after its end."""

    before: timedelta = timedelta(minutes=10)
    after_end: timedelta = timedelta(0)


@dataclass(frozen=True)
class Admission:
    lesson_id: int
    user_id: int
    name: str
    role: LiveRole
    topic: str
    starts_at: datetime
    ends_at: datetime
    capacity: int
    tutor_name: str | None = None  # the class's assigned tutor, for "Your tutor today is …"
    tutor_id: int | None = None


def check_window(lesson: Lesson, now: datetime, window: JoinWindow) -> None:
    if lesson.status != LessonStatus.SCHEDULED:
        raise TooLate("This class was cancelled.")
    if lesson.ended_at is not None:
        raise TooLate("The tutor has ended this class.")
    if now < lesson.starts_at - window.before:
        minutes = str(int(window.before.total_seconds() // 60))
        raise TooLate("You can join from {minutes} minutes before the start.", minutes=minutes)
    if now >= lesson.ends_at + window.after_end:
        raise TooLate("This class has ended.")


async def _role(db: AsyncSession, user: User, lesson: Lesson) -> LiveRole:
    if user.role == Role.COORDINATOR:
        return LiveRole.OBSERVER
    if user.role == Role.TUTOR:
        if lesson.tutor_id != user.id:
            raise PermissionDenied("Only the tutor of this class can teach it.")
        return LiveRole.TUTOR
    booked = await db.scalar(
        select(Booking.id).where(
            Booking.lesson_id == lesson.id,
            Booking.student_id == user.id,
            Booking.status == BookingStatus.CONFIRMED,
        )
    )
    if booked is None:
        raise PermissionDenied("Only students who booked this class can join it.")
    return LiveRole.STUDENT


async def admit(
    db: AsyncSession, user: User, lesson_id: int, now: datetime, window: JoinWindow
) -> Admission:
    """Who ``user`` is in this class, if they may join it now; raises why not otherwise."""
    lesson = await db.get(Lesson, lesson_id)
    if lesson is None:
        raise NotFound("No such class.")
    check_window(lesson, now, window)
    role = await _role(db, user, lesson)
    removed = await db.scalar(
        select(Attendance.removed).where(
            Attendance.lesson_id == lesson_id, Attendance.user_id == user.id
        )
    )
    if removed:
        raise PermissionDenied("The tutor removed you from this class.")
    tutor_name = (
        await db.scalar(select(User.name).where(User.id == lesson.tutor_id))
        if lesson.tutor_id
        else None
    )
    return Admission(
        lesson_id=lesson.id,
        user_id=user.id,
        name=user.name,
        role=role,
        topic=lesson.topic,
        starts_at=lesson.starts_at,
        ends_at=lesson.ends_at,
        capacity=lesson.capacity,
        tutor_name=tutor_name,
        tutor_id=lesson.tutor_id,
    )


async def joinable(
    db: AsyncSession, user: User, lesson_id: int, now: datetime, window: JoinWindow
) -> bool:
    """Whether the class page should offer "Join" to ``user`` now."""
    try:
        await admit(db, user, lesson_id, now, window)
    except (TooLate, PermissionDenied, NotFound):
        return False
    return True


async def record_join(db: AsyncSession, lesson_id: int, user_id: int, now: datetime) -> None:
    seen = await db.scalar(
        select(Attendance)
        .where(Attendance.lesson_id == lesson_id, Attendance.user_id == user_id)
        .with_for_update()
    )
    if seen is None:
        db.add(
            Attendance(
                lesson_id=lesson_id,
                user_id=user_id,
                first_joined_at=now,
                joins=1,
                present_seconds=0,
                span_started_at=now,
            )
        )
    else:
        seen.joins += 1
        seen.last_left_at = None
        if seen.span_started_at is None:
            seen.span_started_at = now
    await db.flush()


async def record_leave(
    db: AsyncSession, lesson_id: int, user_id: int, now: datetime, *, removed: bool = False
) -> None:
    seen = await db.scalar(
        select(Attendance)
        .where(Attendance.lesson_id == lesson_id, Attendance.user_id == user_id)
        .with_for_update()
    )
    if seen is not None:
        seen.last_left_at = now
        seen.removed = seen.removed or removed
        if seen.span_started_at is not None:
            spent = int((now - seen.span_started_at).total_seconds())
            seen.present_seconds += max(0, spent)
            seen.span_started_at = None
    await db.flush()


@dataclass(frozen=True)
class ChatLine:
    seq: int
    user_id: int
    name: str
    body: str
    at: datetime


async def post_chat(
    db: AsyncSession,
    lesson_id: int,
    user_id: int,
    body: str,
    now: datetime,
    key: str | None = None,
) -> ChatLine:
    """Store a chat message with the next sequence number of its class (the class's row lock
    serialises writers, so numbers have no gaps and no duplicates). A message whose ``key``
    this person already used in this class is the same message sent again: it is returned
    as stored, not stored twice."""
    await db.get(Lesson, lesson_id, with_for_update=True)
    name = await db.scalar(select(User.name).where(User.id == user_id)) or ""
    if key is not None:
        sent = await db.scalar(
            select(ChatMessage).where(
                ChatMessage.lesson_id == lesson_id,
                ChatMessage.user_id == user_id,
                ChatMessage.client_key == key,
            )
        )
        if sent is not None:
            return ChatLine(sent.seq, user_id, name, sent.body, sent.created_at)
    last = await db.scalar(
        select(func.max(ChatMessage.seq)).where(ChatMessage.lesson_id == lesson_id)
    )
    message = ChatMessage(
        lesson_id=lesson_id,
        seq=(last or 0) + 1,
        user_id=user_id,
        body=body,
        created_at=now,
        client_key=key,
    )
    db.add(message)
    await db.flush()
    return ChatLine(message.seq, user_id, name, body, now)


async def chat_since(
    db: AsyncSession, lesson_id: int, after: int = 0, limit: int = 500
) -> list[ChatLine]:
    """Messages with a sequence number above ``after``, oldest first."""
    query = (
        select(ChatMessage, User.name)
        .join(User, User.id == ChatMessage.user_id)
        .where(ChatMessage.lesson_id == lesson_id, ChatMessage.seq > after)
        .order_by(ChatMessage.seq)
        .limit(limit)
    )
    return [
        ChatLine(m.seq, m.user_id, name, m.body, m.created_at)
        for m, name in (await db.execute(query)).all()
    ]
