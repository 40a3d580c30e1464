"""What the JSON API answers: response models, also the source of its OpenAPI schemas."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from classroom import readiness
from classroom.grid import Grid, GridRow
from classroom.models import (
    AttendanceStatus,
    AvailabilityException,
    AvailabilityWindow,
    BookingStatus,
    LessonStatus,
    Level,
    Message,
    RateUnit,
    ReadinessCheck,
    Role,
    User,
)
from classroom.pay import PayLine, Taught
from classroom.reports import Tally
from classroom.schemas import GridRows, WallTime
from classroom.timetable import LessonRow, TutorLoad
from signaling import readiness as signaling_readiness
from signaling.protocol import StunServer, TurnServer


class Out(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class Me(Out):
    id: int
    name: str
    email: str
    role: Role
    timezone: str
    language: str
    must_change_password: bool


class Person(Out):
    id: int
    name: str
    role: Role


class SessionInfo(Out):
    user: Me | None
    csrf_token: str


class LessonOut(Out):
    id: int
    series_id: int | None
    topic: str
    level: Level
    description: str
    starts_at: datetime
    ends_at: datetime
    duration_minutes: int
    capacity: int
    status: LessonStatus
    tutor_id: int | None
    tutor_name: str | None
    booked: int
    waiting: int
    seats_left: int

    @classmethod
    def of(cls, row: LessonRow) -> LessonOut:
        lesson = row.lesson
        return cls(
            id=lesson.id,
            series_id=lesson.series_id,
            topic=lesson.topic,
            level=lesson.level,
            description=lesson.description,
            starts_at=lesson.starts_at,
            ends_at=lesson.ends_at,
            duration_minutes=lesson.duration_minutes,
            capacity=lesson.capacity,
            status=lesson.status,
            tutor_id=lesson.tutor_id,
            tutor_name=row.tutor_name,
            booked=row.booked,
            waiting=row.waiting,
            seats_left=row.seats_left,
        )


class RosterEntry(Out):
    student: Person
    status: BookingStatus


class BookingOut(Out):
    lesson_id: int
    status: BookingStatus
    waitlist_position: int | None = None


class LessonDetail(Out):
    lesson: LessonOut
    my_booking: BookingOut | None
    roster: list[RosterEntry] | None


class Scheduled(Out):
    lessons: list[LessonOut]
    warnings: list[str]


class Changed(Out):
    lesson_ids: list[int]
    warnings: list[str]


class MyLessonOut(Out):
    lesson: LessonOut
    status: BookingStatus
    waitlist_position: int | None


class LoadOut(Out):
    tutor: Person
    lessons: int
    minutes: int

    @classmethod
    def of(cls, load: TutorLoad) -> LoadOut:
        return cls(
            tutor=Person.model_validate(load.tutor), lessons=load.lessons, minutes=load.minutes
        )


class Week(Out):
    week: date
    lessons: list[LessonOut]


class PlanningWeek(Week):
    loads: list[LoadOut]


class TimetableClass(Out):
    """A class in a timetable cell; ``tutor_id`` null means it has no lecturer yet."""

    id: int
    topic: str
    level: Level
    starts_at: datetime
    ends_at: datetime
    tutor_id: int | None
    booked: int
    capacity: int
    waiting: int


class TimetableCell(Out):
    day: date
    classes: list[TimetableClass]
    more: int  # matching classes of this row and day not listed (ask for the day to see all)


class TimetableRow(Out):
    """A lecturer's row (``tutor_id``), a level's row (``level``), or, with both null, the
    classes with no lecturer yet."""

    tutor_id: int | None
    level: Level | None
    label: str
    classes: int
    unassigned: int
    cells: list[TimetableCell]

    @classmethod
    def of(cls, row: GridRow) -> TimetableRow:
        tutor_id = row.key if isinstance(row.key, int) else None
        level = row.key if isinstance(row.key, Level) else None
        cells = [TimetableCell.model_validate(cell) for cell in row.cells]
        return cls(tutor_id=tutor_id, level=level, label=row.label, classes=row.classes,
                   unassigned=row.unassigned, cells=cells)  # fmt: skip


class Timetable(Out):
    """One page of the coordinators' timetable."""

    rows_by: GridRows
    week: date
    days: list[date]
    page: int
    per_page: int
    pages: int
    total_rows: int
    total_classes: int
    total_unassigned: int
    rows: list[TimetableRow]

    @classmethod
    def of(cls, grid: Grid) -> Timetable:
        return cls(rows_by=grid.query.rows, week=grid.monday, days=grid.days,
                   page=grid.query.page, per_page=grid.query.per_page, pages=grid.pages,
                   total_rows=grid.total_rows, total_classes=grid.total_classes,
                   total_unassigned=grid.total_unassigned,
                   rows=[TimetableRow.of(row) for row in grid.rows])  # fmt: skip


class SuggestionOut(Out):
    tutor: Person
    load: int


class WindowOut(Out):
    id: int
    weekday: int
    start_time: WallTime
    end_time: WallTime


class AbsenceOut(Out):
    id: int
    starts_at: datetime
    ends_at: datetime
    reason: str


class Availability(Out):
    windows: list[WindowOut]
    absences: list[AbsenceOut]

    @classmethod
    def of(
        cls, windows: list[AvailabilityWindow], absences: list[AvailabilityException]
    ) -> Availability:
        return cls(
            windows=[WindowOut.model_validate(w) for w in windows],
            absences=[AbsenceOut.model_validate(a) for a in absences],
        )


class TutorCreated(Out):
    tutor: Me
    temporary_password: str


class MessageOut(Out):
    id: int
    kind: str
    lesson_id: int | None
    params: dict[str, Any]
    created_at: datetime
    read_at: datetime | None

    @classmethod
    def of(cls, message: Message) -> MessageOut:
        return cls.model_validate(message)


class MailChoice(Out):
    kind: str
    name: str  # in the reader's language
    by_email: bool


class MailChoices(Out):
    """Each kind of message the user gets, and whether it also comes by e-mail; ``sending``
    says whether this school sends e-mail at all."""

    sending: bool
    choices: list[MailChoice]


class CalendarFeed(Out):
    url: str


class CheckIce(Out):
    """The ICE servers of a setup check: as a class's (``hello``), minted for this person."""

    ice_servers: list[StunServer | TurnServer]


class CheckAnswer(Out):
    type: Literal["answer"]
    sdp: str
    path: Literal["direct", "relay"]  # which path the offer tries (its candidates say)


class CheckOut(Out):
    """One setup check: what the browser found, what the server saw (``udp``, ``relay``),
    the verdict and why (``reasons``: codes, docs/api.md)."""

    checked_at: datetime
    verdict: Literal["ok", "warn", "failed"]
    reasons: list[str]
    mic: str
    camera: str
    stun: str
    turn: str
    udp: str
    relay: str
    rtt_ms: int | None
    loss: float | None
    down_kbps: int | None
    up_kbps: int | None

    @classmethod
    def of(cls, check: ReadinessCheck) -> CheckOut:
        report = readiness.Report(**{k: getattr(check, k) for k in readiness.REPORTED})
        _, reasons = signaling_readiness.verdict(report)
        data = {k: getattr(check, k) for k in cls.model_fields if k != "reasons"}
        return cls(**{**data, "reasons": reasons})


class MyCheck(Out):
    check: CheckOut | None  # the newest; null: never checked


class PersonReadinessOut(Out):
    """Someone of a class before it starts: ``standing`` is ``failed`` (their newest check
    failed), ``stale`` (older than the school's limit), ``never``, ``warn`` or ``ready``."""

    user: Person
    standing: Literal["ready", "warn", "failed", "stale", "never"]
    check: CheckOut | None

    @classmethod
    def of(cls, found: readiness.PersonReadiness) -> PersonReadinessOut:
        return cls(
            user=Person(id=found.user_id, name=found.name, role=found.role),
            standing=found.standing,
            check=CheckOut.of(found.check) if found.check else None,
        )


class ErrorBody(Out):
    code: str
    message: str
    fields: dict[str, str]


class Error(Out):
    error: ErrorBody


def person(user: User) -> Person:
    return Person.model_validate(user)


class AttendanceLineOut(Out):
    """One person's attendance of a class that is over."""

    user_id: int
    name: str
    role: str
    status: AttendanceStatus
    minutes_present: int
    minutes_late: int
    corrected: bool


class SpeakingLineOut(Out):
    """One person's speaking in a class (from the audio levels the server read live).
    ``share``: a student's part of the students' speaking time, the tutor's part of all
    of it (0 to 1); ``fair_share``: 1 / the students measured (null for the tutor)."""

    user_id: int
    name: str
    role: str
    seconds: float
    turns: int
    longest_silence: float
    share: float
    fair_share: float | None


class SpeakingOut(Out):
    """A class's speaking figures; for a student only their own line, and the totals null."""

    lesson_id: int
    tutor_seconds: float | None
    student_seconds: float | None
    tutor_share: float | None
    people: list[SpeakingLineOut]


class RateOut(Out):
    """No-shows out of what was expected: a student's booked classes, or a class's students."""

    id: int
    name: str
    expected: int
    no_shows: int
    late: int
    no_show_rate: float


class NoShows(Out):
    since: date
    until: date
    students: list[RateOut]
    classes: list[RateOut]


# -- reports, pay and progress -------------------------------------------------------------


class LecturerRateOut(Out):
    """A tutor's rate from a day on (in the school's time zone); amounts are decimal strings."""

    id: int
    tutor_id: int
    tutor_name: str
    unit: RateUnit
    amount: Decimal
    currency: str
    effective_from: date
    created_at: datetime


class TallyOut(Out):
    """Counts over the classes of a period (classroom/reports.py says what each means)."""

    held: int
    cancelled: int
    not_held: int
    unrecorded: int
    upcoming: int
    expected: int
    attended: int
    no_shows: int
    late: int
    seats: int
    booked: int
    came: int
    attendance_rate: float
    no_show_rate: float
    booked_fill: float
    attended_fill: float

    @classmethod
    def of(cls, tally: Tally) -> TallyOut:
        return cls(**{name: getattr(tally, name) for name in TallyOut.model_fields})


class WeekOut(TallyOut):
    week: date


class PayLineOut(Out):
    """What a lecturer is owed in one currency; ``currency`` null: classes without a rate."""

    tutor_id: int
    name: str
    email: str
    currency: str | None
    classes: int
    hours: Decimal
    amount: Decimal | None

    @classmethod
    def of(cls, line: PayLine) -> PayLineOut:
        return cls(
            tutor_id=line.tutor_id,
            name=line.name,
            email=line.email,
            currency=line.currency,
            classes=line.classes,
            hours=hours(line.minutes),
            amount=line.amount,
        )


def hours(minutes: int) -> Decimal:
    return (Decimal(minutes) / 60).quantize(Decimal("0.01"))


class LecturerOut(Out):
    tutor_id: int
    name: str
    classes: int
    hours: Decimal
    late_starts: int
    minutes_late: int
    missed: int
    substitutions_given: int
    substitutions_received: int
    pay: list[PayLineOut]


class StrikesOut(Out):
    """A student's late cancellations and no-shows, which the policy counts alike."""

    student_id: int
    name: str
    late_cancellations: int
    no_shows: int
    total: int


class ClassBalanceOut(Out):
    """One class's speaking balance: ``tutor_share`` is the tutor's part of all speaking
    time (null: nobody spoke); the students' minutes and turns beside it."""

    lesson_id: int
    topic: str
    starts_at: datetime
    level: Level
    tutor_id: int | None
    tutor_name: str
    tutor_seconds: float
    student_seconds: float
    students: int
    turns: int
    tutor_share: float | None
    student_minutes: float


class TutorBalanceOut(Out):
    """A tutor's classes in the period: the mean of their tutor shares."""

    tutor_id: int
    name: str
    classes: int
    tutor_share: float | None
    student_minutes: float
    turns: int


class LevelBalanceOut(Out):
    """The classes of one CEFR level in the period: the mean of their tutor shares."""

    level: Level
    classes: int
    tutor_share: float | None
    student_minutes: float
    turns: int


class SpeakingBalanceOut(Out):
    """Speaking balance by class, tutor and level; ``target``: the tutor share above which
    the live meter prompts the tutor (a setting)."""

    target: float
    classes: list[ClassBalanceOut]
    tutors: list[TutorBalanceOut]
    levels: list[LevelBalanceOut]


class RatingCommentOut(Out):
    """A student's comment on a class (who wrote it is not shown)."""

    lesson_id: int
    topic: str
    stars: int
    comment: str
    at: datetime


class LecturerRatingOut(Out):
    """A lecturer's ratings in the period: average stars (null: none), how many, and the
    newest comments."""

    tutor_id: int
    name: str
    average: float | None
    count: int
    comments: list[RatingCommentOut]


class SchoolReport(Out):
    since: date
    until: date
    totals: TallyOut
    weeks: list[WeekOut]
    lecturers: list[LecturerOut]
    students: list[StrikesOut]
    speaking: SpeakingBalanceOut
    ratings: list[LecturerRatingOut]  # the best rated first


class TaughtOut(Out):
    """One class a lecturer taught and what it earns (null: no rate that day)."""

    lesson_id: int
    tutor_id: int
    topic: str
    starts_at: datetime
    day: date
    minutes: int
    unit: RateUnit | None
    rate: Decimal | None
    currency: str | None
    amount: Decimal | None

    @classmethod
    def of(cls, item: Taught) -> TaughtOut:
        rate = item.rate
        return cls(
            lesson_id=item.lesson_id,
            tutor_id=item.tutor_id,
            topic=item.topic,
            starts_at=item.starts_at,
            day=item.day,
            minutes=item.minutes,
            unit=rate.unit if rate else None,
            rate=rate.amount if rate else None,
            currency=rate.currency if rate else None,
            amount=item.amount,
        )


class PayReport(Out):
    since: date
    until: date
    lines: list[PayLineOut]
    classes: list[TaughtOut]


class ProgressClassOut(Out):
    lesson_id: int
    topic: str
    starts_at: datetime
    minutes: int
    tutor_name: str | None
    status: str
    minutes_present: int
    minutes_late: int


class TeachingClassOut(Out):
    lesson_id: int
    topic: str
    starts_at: datetime
    minutes: int
    status: str
    minutes_late: int


class SpeakingPointOut(Out):
    """A student's speaking in one class: ``share`` of the students' speaking time against
    ``fair_share`` (1 / the students measured)."""

    lesson_id: int
    topic: str
    starts_at: datetime
    seconds: float
    turns: int
    share: float
    fair_share: float | None


class LevelPointOut(Out):
    """The CEFR level a tutor estimated in a filed class report."""

    lesson_id: int
    topic: str
    starts_at: datetime
    level: Level
    tutor_name: str


class ReviewNoteOut(Out):
    """A note to review: a correction (``text`` what was said, ``better``), a word or a
    pronunciation point; ``shared``: for the whole class."""

    id: int
    lesson_id: int
    topic: str
    starts_at: datetime
    kind: Literal["correction", "word", "pronunciation"]
    text: str
    better: str | None
    shared: bool


class StudentProgressOut(Out):
    kind: Literal["student"] = "student"
    user_id: int
    name: str
    since: date
    until: date
    attended: int
    no_shows: int
    late: int
    late_cancellations: int
    minutes_present: int
    classes: list[ProgressClassOut]
    speaking: list[SpeakingPointOut]  # oldest first; a tutor sees their own classes only
    levels: list[LevelPointOut]  # oldest first
    to_review: list[ReviewNoteOut]  # newest first, at most 30


class TutorProgressOut(Out):
    kind: Literal["tutor"] = "tutor"
    user_id: int
    name: str
    since: date
    until: date
    classes_taught: int
    hours: Decimal
    late_starts: int
    missed: int
    classes: list[TeachingClassOut]
    month: date  # the first day of the month whose pay is shown
    pay: list[PayLineOut]
    speaking: list[ClassBalanceOut]  # their classes' balance, oldest first
    speaking_target: float  # the tutor share at which the live meter prompts
    ratings: LecturerRatingOut  # in the chosen days; the newest five comments


# -- after class: notes, the tutor's report, recaps, ratings -------------------------------


class NoteOut(Out):
    """A note of the tutor's from the live class; ``student_id`` null: for everyone."""

    id: int
    kind: Literal["correction", "word", "pronunciation"]
    student_id: int | None
    text: str
    better: str | None
    at: datetime


class ReportEntryOut(Out):
    """The tutor's feedback to one student who attended (pre-filled from their notes until
    the report is filed)."""

    student_id: int
    name: str
    level: Level | None
    comment: str
    notes: list[NoteOut]


class ReportOut(Out):
    lesson_id: int
    filed_at: datetime | None  # null: not filed yet; the class is complete once it is
    summary: str
    students: list[ReportEntryOut]
    shared_notes: list[NoteOut]


class FeedbackOut(Out):
    level: Level | None
    comment: str
    summary: str
    filed_at: datetime


class RecapSpeakingOut(Out):
    """A student's own speaking in a class, in their recap."""

    seconds: int
    share: float | None


class RatingOut(Out):
    lesson_id: int
    stars: int
    comment: str
    at: datetime


class RecapOut(Out):
    lesson_id: int
    topic: str
    starts_at: datetime
    tutor_name: str | None
    student_id: int
    student_name: str
    notes: list[NoteOut]  # the student's own
    shared_notes: list[NoteOut]
    feedback: FeedbackOut | None  # null until the tutor files the report
    speaking: RecapSpeakingOut | None  # null when it was not measured
    rating: RatingOut | None
    may_rate: bool


class MissingReportOut(Out):
    """A class that is over and whose tutor has not filed its report."""

    lesson_id: int
    topic: str
    starts_at: datetime
    over_at: datetime
    tutor_id: int
    tutor_name: str
