"""Validated inputs of every operation, shared by the HTML forms and the JSON API.

Every value a client controls is checked here, once, against what the database can hold:
ids are 32-bit signed integers on PostgreSQL, text never carries control characters
(PostgreSQL refuses NUL in text, and nobody types the others), dates stay in a range where
converting them between time zones cannot overflow, and wall-clock times carry no offset
(they are read in a named zone). The building blocks below are Annotated types; each model
field uses one of them.
"""

from __future__ import annotations

import re
from datetime import date, datetime, time
from decimal import Decimal
from typing import Annotated, Any, Literal, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    TypeAdapter,
    ValidationError,
    ValidationInfo,
    WithJsonSchema,
    field_validator,
)
from pydantic.networks import validate_email
from pydantic_core import ErrorDetails, PydanticCustomError

from classroom.errors import MARKED, N_, InvalidInput, Notice
from classroom.models import MAX_LESSON_MINUTES, AttendanceStatus, Level
from classroom.outbox import CHOICES

LANGUAGES = ("en", "id")
M = TypeVar("M", bound=BaseModel)
MAX_ID = 2**31 - 1  # PostgreSQL INTEGER
# Far enough either way for a school's calendar, and near enough that a local day or time
# converted to UTC (up to 14 hours either way) and a class or series added to it stay
# within what Python and the database store.
FIRST_DAY, LAST_DAY = date(1970, 1, 1), date(2999, 12, 31)

# -- text ------------------------------------------------------------------------------
# C0 and C1 controls, DEL, and lone UTF-16 surrogates (JSON can spell "\ud800"; no
# database encoding can store one). Tab, line feed and carriage return are allowed in
# multi-line text only.
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\ud800-\udfff]")
_CONTROL_BUT_LINES = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")
CONTROL_MESSAGE = N_(
    "Please remove the control characters (such as NUL or line breaks) from this text"
)


def _one_line(value: object) -> object:
    if isinstance(value, str) and _CONTROL.search(value):
        raise ValueError(CONTROL_MESSAGE)
    return value


def _multi_line(value: object) -> object:
    if isinstance(value, str) and _CONTROL_BUT_LINES.search(value):
        raise ValueError(N_("Please remove the control characters (such as NUL) from this text"))
    return value


OneLine = BeforeValidator(_one_line)
"""Refuses control characters: for names, e-mail addresses, topics, passwords."""
MultiLine = BeforeValidator(_multi_line)
"""Refuses control characters except tab and line breaks: for descriptions."""


def _check_timezone(value: str) -> str:
    if value not in _ZONES:
        raise ValueError(N_("Unknown time zone"))
    try:
        ZoneInfo(value)
    except ZoneInfoNotFoundError as exc:
        raise ValueError(N_("Unknown time zone")) from exc
    return value


def _lower_email(value: str) -> str:
    """E-mail addresses are kept in lower case; lowering can lengthen a few letters (İ)."""
    value = value.strip().lower()
    if len(value) > 254:
        raise ValueError(N_("This e-mail address is too long"))
    return value


def _valid_email(value: str) -> str:
    try:
        _, address = validate_email(value)
    except PydanticCustomError:
        raise ValueError(N_("Please enter a valid e-mail address")) from None
    return _lower_email(address)


_ZONES = frozenset(available_timezones())
TIME_ZONES = tuple(sorted(_ZONES))

Name = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=120), OneLine
]
Topic = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=120), OneLine
]
Description = Annotated[str, StringConstraints(strip_whitespace=True, max_length=2000), MultiLine]
Reason = Annotated[str, StringConstraints(strip_whitespace=True, max_length=200), OneLine]
Password = Annotated[str, StringConstraints(min_length=10, max_length=200), OneLine]
GivenPassword = Annotated[str, StringConstraints(min_length=1, max_length=200), OneLine]
Email = Annotated[
    str,
    StringConstraints(max_length=254),
    OneLine,
    AfterValidator(_valid_email),
    WithJsonSchema({"type": "string", "format": "email", "maxLength": 254}),
]
LoginEmail = Annotated[
    str, StringConstraints(min_length=1, max_length=254), OneLine, AfterValidator(_lower_email)
]
TimeZoneName = Annotated[
    str, StringConstraints(max_length=64), OneLine, AfterValidator(_check_timezone)
]
Language = Literal["en", "id"]


# -- numbers ---------------------------------------------------------------------------
def _not_bool(value: object) -> object:
    # Pydantic reads JSON true as 1: {"stars": true} would be one star, {"tutor_id": true}
    # the first tutor.
    if isinstance(value, bool):
        raise PydanticCustomError("int_type", "Input should be a valid integer")
    return value


Whole = BeforeValidator(_not_bool)
"""A number, never true or false."""
Id = Annotated[int, Field(ge=1, le=MAX_ID), Whole]
Capacity = Annotated[int, Field(ge=1, le=12), Whole]
Duration = Annotated[int, Field(ge=15, le=MAX_LESSON_MINUTES), Whole]
Weekday = Annotated[int, Field(ge=0, le=6), Whole]
Weeks = Annotated[int, Field(ge=1, le=52), Whole]

# -- days and wall-clock times -----------------------------------------------------------
_DAY = r"[0-9]{4}-[0-9]{2}-[0-9]{2}"
_CLOCK = r"(?:[01][0-9]|2[0-3]):[0-5][0-9](?::[0-5][0-9])?"
_LOCAL = rf"{_DAY}[T ]{_CLOCK}"
_OFFSET = r"(?:[Zz]|[+-].*|\s*\[.*|\s*[A-Za-z].*)"  # "Z", "+07:00", " WIB", "[Asia/Jakarta]"...
NO_ZONE_MESSAGE = N_("Please enter a local time without a UTC offset or time zone")
NO_DAY_MESSAGE = N_("There is no such date")
DAY_RANGE_MESSAGE = N_("Please enter a date between 1970-01-01 and 2999-12-31")


def _within_range(day: date) -> None:
    if not FIRST_DAY <= day <= LAST_DAY:
        raise ValueError(DAY_RANGE_MESSAGE)


def _calendar_day(value: object) -> date:
    """YYYY-MM-DD only: not a timestamp ("0" is not 1970-01-01), not a date and time."""
    if isinstance(value, date) and not isinstance(value, datetime):
        day = value
    elif isinstance(value, str) and re.fullmatch(_DAY, value):
        try:
            day = date.fromisoformat(value)
        except ValueError:
            raise ValueError(NO_DAY_MESSAGE) from None
    else:
        raise ValueError(N_("Please enter a date"))
    _within_range(day)
    return day


def _wall_time(value: object) -> time:
    """HH:MM or HH:MM:SS on the clock of a named zone; an offset would contradict the zone."""
    if isinstance(value, time):
        if value.tzinfo is not None:
            raise ValueError(NO_ZONE_MESSAGE)
        return value
    if isinstance(value, str):
        if re.fullmatch(_CLOCK, value):
            return time.fromisoformat(value)
        if re.fullmatch(_CLOCK + r"(?:\.[0-9]+)?" + _OFFSET, value):
            raise ValueError(NO_ZONE_MESSAGE)
    raise ValueError(N_("Please enter a time"))


def _wall_datetime(value: object) -> datetime:
    """A date and a wall-clock time in a named zone (what a datetime-local input sends)."""
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, str) and re.fullmatch(_LOCAL, value):
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            raise ValueError(NO_DAY_MESSAGE) from None
    elif isinstance(value, str) and re.fullmatch(_LOCAL + r"(?:\.[0-9]+)?" + _OFFSET, value):
        raise ValueError(NO_ZONE_MESSAGE)
    else:
        raise ValueError(N_("Please enter a date and time"))
    if moment.tzinfo is not None:
        raise ValueError(NO_ZONE_MESSAGE)
    _within_range(moment.date())
    return moment


def _pattern(regex: str, example: str, description: str) -> WithJsonSchema:
    schema = {"type": "string", "pattern": f"^{regex}$", "examples": [example]}
    return WithJsonSchema({**schema, "description": description})


Day = Annotated[
    date,
    BeforeValidator(_calendar_day),
    WithJsonSchema({"type": "string", "format": "date", "examples": ["2026-03-02"]}),
]
WallTime = Annotated[
    time,
    BeforeValidator(_wall_time),
    _pattern(_CLOCK, "09:00", "Wall-clock time (HH:MM), no UTC offset"),
]
WallDateTime = Annotated[
    datetime,
    BeforeValidator(_wall_datetime),
    _pattern(_LOCAL, "2026-03-02T19:00", "Wall-clock date and time in `timezone`, no UTC offset"),
]


class Input(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, frozen=True)


class Signup(Input):
    name: Name
    email: Email
    password: Password
    timezone: TimeZoneName = "Asia/Jakarta"
    language: Language = "en"


class NewCoordinator(Input):
    name: Name
    email: Email
    password: Password
    timezone: TimeZoneName = "Asia/Jakarta"
    language: Language = "en"


class Login(Input):
    email: LoginEmail
    password: GivenPassword


class NewTutor(Input):
    name: Name
    email: Email
    timezone: TimeZoneName = "Asia/Jakarta"
    language: Language = "en"


class PasswordChange(Input):
    current_password: GivenPassword
    new_password: Password


class PasswordReset(Input):
    new_password: Password


class ForgotPassword(Input):
    email: LoginEmail


def _mail_kind(value: str) -> str:
    if value not in CHOICES:
        raise ValueError(N_("Unknown kind of message"))
    return value


MailKind = Annotated[str, StringConstraints(max_length=40), OneLine, AfterValidator(_mail_kind)]


class MailChoices(Input):
    """The kinds of message to get by e-mail; the others of the person's role come in the
    app only."""

    by_email: list[MailKind] = Field(default_factory=list, max_length=20)


class Profile(Input):
    name: Name
    timezone: TimeZoneName
    language: Language


class LessonDetails(Input):
    """What a class is about and how big it is."""

    topic: Topic
    level: Level
    description: Description = ""
    duration_minutes: Duration = 60
    capacity: Capacity = 8
    tutor_id: Id | None = None


class NewLesson(LessonDetails):
    """A single class; ``starts_local`` is wall-clock time in ``timezone``."""

    starts_local: WallDateTime
    timezone: TimeZoneName


class NewSeries(LessonDetails):
    """A weekly series, e.g. Mon and Wed 19:00 Asia/Jakarta for 8 weeks."""

    weekdays: Annotated[list[Weekday], Field(min_length=1, max_length=7)]
    local_time: WallTime
    timezone: TimeZoneName
    start_date: Day
    weeks: Weeks


class LessonEdit(Input):
    """Changes to one occurrence, or to it and all following ones of its series."""

    topic: Topic
    level: Level
    description: Description = ""
    starts_local: WallDateTime
    timezone: TimeZoneName
    duration_minutes: Duration
    capacity: Capacity
    scope: Literal["one", "following"] = "one"


class Cancel(Input):
    scope: Literal["one", "following"] = "one"


class Assign(Input):
    tutor_id: Id | None
    scope: Literal["one", "series"] = "one"


class AttendanceFix(Input):
    """A coordinator's correction of one person's attendance of a class."""

    status: AttendanceStatus
    note: Annotated[str, StringConstraints(max_length=500), OneLine] = ""


def _no_level(value: object) -> object:
    return None if value == "" else value


Comment = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=1000), MultiLine
]


class ReportStudentIn(Input):
    """The tutor's feedback to one student who attended: a CEFR estimate (optional; "" or
    null for none) and a short comment."""

    student_id: Id
    level: Annotated[Level | None, BeforeValidator(_no_level)] = None
    comment: Comment


class ReportIn(Input):
    """The tutor's report on a class: a summary, and an entry per student who attended."""

    summary: Annotated[
        str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000), MultiLine
    ]
    students: Annotated[list[ReportStudentIn], Field(max_length=12)] = []


def parse_report(data: object) -> ReportIn:
    """A report, with each student's field errors named ``students.<index>.<field>`` (the
    entry's place in ``students``), so that a form can mark the row at fault."""
    fields: dict[str, str | Notice] = {}
    students = data.get("students") if isinstance(data, dict) else None
    if isinstance(students, list):
        for index, item in enumerate(students[:12]):
            try:
                parse(ReportStudentIn, item)
            except InvalidInput as exc:
                for name, message in exc.fields.items():
                    where = f"students.{index}" + ("" if name == "__all__" else f".{name}")
                    fields[where] = message
    try:
        return parse(ReportIn, data)
    except InvalidInput as exc:
        for name, message in exc.fields.items():
            if not (name.startswith("students.") and fields):
                fields.setdefault(name, message)
        raise InvalidInput(MARKED, fields) from None


class RatingIn(Input):
    """A student's rating of a class they attended: 1 to 5, and a comment (optional)."""

    stars: Annotated[int, Field(ge=1, le=5), Whole]
    comment: Annotated[
        str, StringConstraints(strip_whitespace=True, max_length=1000), MultiLine
    ] = ""


class Period(Input):
    """A report's days, ``since`` to ``until`` both included, in the viewer's time zone
    (default: the 30 days up to today); at most MAX_PERIOD_DAYS."""

    since: Day | None = None
    until: Day | None = None

    @field_validator("until")
    @classmethod
    def _after_since(cls, until: date | None, info: ValidationInfo) -> date | None:
        since = info.data.get("since")
        if since is not None and until is not None:
            if until < since:
                raise ValueError(N_("The last day must not be before the first"))
            if (until - since).days >= MAX_PERIOD_DAYS:
                raise ValueError(N_("Please choose at most 366 days"))
        return until


MAX_PERIOD_DAYS = 366


class NoShowQuery(Period):
    """No-show rates of the classes that started from ``since`` up to ``until`` (dates in the
    coordinator's time zone; default: the last 30 days); at most MAX_PERIOD_DAYS."""


class PayQuery(Period):
    """A pay report's days, and one lecturer's pay only if ``tutor_id`` is given."""

    tutor_id: Id | None = None


_AMOUNT = r"[0-9]{1,12}(?:\.[0-9]{1,2})?"
AMOUNT_MESSAGE = N_(
    "Please enter an amount in digits, with a point before any cents: 150000 or 12.50"
)


def _amount(value: object) -> Decimal:
    """Digits with at most two decimals: "150.000" is refused rather than read as 150 (in
    Indonesian it means a hundred and fifty thousand)."""
    if isinstance(value, bool) or not isinstance(value, (str, int, float, Decimal)):
        raise ValueError(AMOUNT_MESSAGE)
    text = str(value).strip() if not isinstance(value, float) else repr(value)
    if isinstance(value, float) and text.endswith(".0"):
        text = text[:-2]
    if not re.fullmatch(_AMOUNT, text):
        raise ValueError(AMOUNT_MESSAGE)
    amount = Decimal(text)
    if amount <= 0:
        raise ValueError(N_("The amount must be more than 0"))
    return amount


Amount = Annotated[
    Decimal,
    BeforeValidator(_amount),
    WithJsonSchema(
        {
            "type": "string",
            "pattern": f"^{_AMOUNT}$",
            "examples": ["150000", "12.50"],
            "description": "An amount in the school's currency; a JSON number is read too",
        }
    ),
]


class RateIn(Input):
    """A tutor's pay from ``effective_from`` on (a date in the school's time zone): per hour
    of a class's scheduled length, or per class."""

    tutor_id: Id
    unit: Literal["hour", "class"]
    amount: Amount
    effective_from: Day


class AvailabilityWindowIn(Input):
    """A weekly window on the tutor's own clock: times carry no offset."""

    weekday: Weekday
    start_time: WallTime
    end_time: WallTime

    # On the later field, so that the form marks the field at fault (a model validator's
    # error belongs to no field).
    @field_validator("end_time")
    @classmethod
    def _ends_after_start(cls, end: time, info: ValidationInfo) -> time:
        start = info.data.get("start_time")
        if start is not None and end <= start:
            raise ValueError(N_("The window must end after it starts"))
        return end


class AvailabilityExceptionIn(Input):
    """Whole days off in the tutor's own time zone, first and last day included."""

    first_day: Day
    last_day: Day
    reason: Reason = ""

    @field_validator("last_day")
    @classmethod
    def _not_before_first(cls, last: date, info: ValidationInfo) -> date:
        first = info.data.get("first_day")
        if first is not None and last < first:
            raise ValueError(N_("The last day cannot be before the first day"))
        return last


class LessonFilter(Input):
    level: Level | None = None
    topic: Annotated[str, StringConstraints(max_length=120), OneLine] | None = None
    day: Day | None = None
    tutor_id: Id | None = None


GridRows = Literal["lecturers", "levels"]
MAX_ROWS_PER_PAGE = 200


class TimetableQuery(Input):
    """The coordinators' timetable: which days, which rows, which classes, which page.

    ``day`` shows that one day; otherwise the week holding ``week`` (default: this week)."""

    week: Day | None = None
    day: Day | None = None
    rows: GridRows = "lecturers"
    level: Level | None = None
    topic: Annotated[str, StringConstraints(max_length=120), OneLine] | None = None
    lecturer: Annotated[str, StringConstraints(max_length=120), OneLine] | None = None
    tutor_id: Id | None = None
    unassigned: bool = False
    page: Annotated[int, Field(ge=1, le=100_000)] = 1
    per_page: Annotated[int, Field(ge=1, le=MAX_ROWS_PER_PAGE)] = 50


class WeekChoice(Input):
    """?week=YYYY-MM-DD: the week that holds this day."""

    week: Day | None = None


Kbps = Annotated[int, Field(ge=0, le=10_000_000)]
# A receipt the server signed when a check's peer connection reached it (signaling/readiness.py).
Receipt = Annotated[
    str,
    StringConstraints(
        max_length=120, pattern=r"^[0-9]{1,10}\.(direct|relay)\.[0-9]{1,12}\.[A-Za-z0-9_-]{43}$"
    ),
]


class CheckReport(Input):
    """What the setup check (/check) found in the person's browser. Whether the server was
    reached, directly and through the relay, is not the browser's word: ``receipts``, signed
    by the server when each path reached it, prove it."""

    mic: Literal["ok", "silent", "denied", "missing", "error"]
    camera: Literal["ok", "denied", "missing", "error"]
    stun: Literal["ok", "failed", "none"]  # a server-reflexive candidate; none: no STUN given
    turn: Literal["ok", "failed", "none"]  # a relay candidate; none: no TURN given
    rtt_ms: Annotated[int, Field(ge=0, le=60_000)] | None = None
    loss: Annotated[float, Field(ge=0, le=1, allow_inf_nan=False)] | None = None
    down_kbps: Kbps | None = None
    up_kbps: Kbps | None = None
    receipts: Annotated[list[Receipt], Field(max_length=4)] = []


class CheckOffer(Input):
    """The setup check's SDP offer: one section, for data channels (signaling/media/probe.py)."""

    model_config = ConfigDict(**{**Input.model_config, "str_strip_whitespace": False})

    type: Literal["offer"]
    sdp: Annotated[str, StringConstraints(min_length=10, max_length=20_000)]


# Pydantic's messages are technical and English only: say it plainly, in a translatable way.
FRIENDLY = {
    "missing": N_("This field is required"),
    "string_too_short": N_("Please enter at least {min_length} characters"),
    "string_too_long": N_("Please enter at most {max_length} characters"),
    "greater_than_equal": N_("Must be at least {ge}"),
    "less_than_equal": N_("Must be at most {le}"),
    "int_parsing": N_("Please enter a whole number"),
    "bool_parsing": N_("Please choose yes or no"),
    "bool_type": N_("Please choose yes or no"),
    "int_parsing_size": N_("Please enter a whole number"),
    "int_type": N_("Please enter a whole number"),
    "int_from_float": N_("Please enter a whole number"),
    "finite_number": N_("Please enter a whole number"),
    "datetime_parsing": N_("Please enter a date and time"),
    "datetime_from_date_parsing": N_("Please enter a date and time"),
    "datetime_type": N_("Please enter a date and time"),
    "date_parsing": N_("Please enter a date"),
    "date_from_datetime_parsing": N_("Please enter a date"),
    "date_from_datetime_inexact": N_("Please enter a date"),
    "date_type": N_("Please enter a date"),
    "time_parsing": N_("Please enter a time"),
    "time_type": N_("Please enter a time"),
    "enum": N_("Please choose one of the options"),
    "literal_error": N_("Please choose one of the options"),
    "too_short": N_("Please choose at least {min_length}"),
    "too_long": N_("Please choose at most {max_length}"),
    "list_type": N_("Please choose from the list"),
    "extra_forbidden": N_("Unknown field"),
    "string_type": N_("Please enter text"),
    "string_unicode": N_("Please enter text"),
    "model_type": N_("Send an object with the fields of this request"),
    "model_attributes_type": N_("Send an object with the fields of this request"),
}


# Where a field's own words say it better than the general ones.
FIELD_FRIENDLY = {
    ("comment", "string_too_short"): N_("Please write a short comment"),
    ("comment", "missing"): N_("Please write a short comment"),
    ("summary", "string_too_short"): N_("Please write a short summary of the class"),
    ("summary", "missing"): N_("Please write a short summary of the class"),
    ("stars", "missing"): N_("Please choose from 1 to 5 stars"),
    ("weekdays", "missing"): N_("Please choose at least one day"),
    ("weekdays", "too_short"): N_("Please choose at least one day"),
}


def _friendly(err: ErrorDetails) -> Notice:
    kind, text = err["type"], err["msg"].removeprefix("Value error, ")
    if (_where(err), kind) in FIELD_FRIENDLY:
        return Notice(FIELD_FRIENDLY[_where(err), kind], {})
    if kind == "value_error":  # one of our own N_() sentences
        return Notice(text, {})
    # Anything else we have not worded (e.g. the e-mail checker's English) gets a plain
    # sentence rather than a technical one that cannot be translated.
    template = FRIENDLY.get(kind, N_("Please check this value"))
    context = {k: str(v) for k, v in err.get("ctx", {}).items()} if kind in FRIENDLY else {}
    return Notice(template, context)


def _where(err: ErrorDetails) -> str:
    return ".".join(str(p) for p in err["loc"] if not isinstance(p, int)) or "__all__"


def parse(model: type[M], data: object) -> M:
    """Validate ``data`` into ``model``, raising InvalidInput with one message per field."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        fields: dict[str, str | Notice] = {}
        for err in exc.errors():
            fields.setdefault(_where(err), _friendly(err))
        raise InvalidInput("Please correct the marked fields.", fields) from None


_ID = TypeAdapter(Id)


def parse_id(name: str, raw: str) -> int:
    """An id from a path or query string, in 1..2**31-1, else a field error named ``name``."""
    try:
        return _ID.validate_python(raw, strict=False)
    except ValidationError as exc:
        notice = _friendly(exc.errors()[0])
        raise InvalidInput("Please correct the marked fields.", {name: notice}) from None


def value_schema(kind: Any) -> dict[str, Any]:
    """The JSON schema of one annotated type (for documenting path parameters)."""
    return TypeAdapter(kind).json_schema()
