"""Validated inputs of every operation, shared by the HTML forms and the JSON API."""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Annotated, Literal, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    EmailStr,
    Field,
    StringConstraints,
    ValidationError,
    model_validator,
)
from pydantic_core import ErrorDetails

from classroom.errors import N_, InvalidInput, Notice
from classroom.models import MAX_LESSON_MINUTES, Level

LANGUAGES = ("en", "id")
M = TypeVar("M", bound=BaseModel)


def _check_timezone(value: str) -> str:
    if value not in _ZONES:
        raise ValueError(N_("Unknown time zone"))
    try:
        ZoneInfo(value)
    except ZoneInfoNotFoundError as exc:
        raise ValueError(N_("Unknown time zone")) from exc
    return value


_ZONES = frozenset(available_timezones())
TIME_ZONES = tuple(sorted(_ZONES))

Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=120)]
Topic = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=120)]
Description = Annotated[str, StringConstraints(strip_whitespace=True, max_length=2000)]
Password = Annotated[str, StringConstraints(min_length=10, max_length=200)]
TimeZoneName = Annotated[str, AfterValidator(_check_timezone)]
Language = Literal["en", "id"]
Capacity = Annotated[int, Field(ge=1, le=12)]
Duration = Annotated[int, Field(ge=15, le=MAX_LESSON_MINUTES)]
Id = Annotated[int, Field(ge=1, le=2**31 - 1)]


class Input(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, frozen=True)


class Signup(Input):
    name: Name
    email: EmailStr
    password: Password
    timezone: TimeZoneName = "Asia/Jakarta"
    language: Language = "en"


class NewCoordinator(Input):
    name: Name
    email: EmailStr
    password: Password
    timezone: TimeZoneName = "Asia/Jakarta"
    language: Language = "en"


class Login(Input):
    email: Annotated[str, StringConstraints(min_length=1, max_length=254)]
    password: Annotated[str, StringConstraints(min_length=1, max_length=200)]


class NewTutor(Input):
    name: Name
    email: EmailStr
    timezone: TimeZoneName = "Asia/Jakarta"
    language: Language = "en"


class PasswordChange(Input):
    current_password: Annotated[str, StringConstraints(min_length=1, max_length=200)]
    new_password: Password


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

    starts_local: datetime
    timezone: TimeZoneName


class NewSeries(LessonDetails):
    """A weekly series, e.g. Mon and Wed 19:00 Asia/Jakarta for 8 weeks."""

    weekdays: Annotated[list[Annotated[int, Field(ge=0, le=6)]], Field(min_length=1, max_length=7)]
    local_time: time
    timezone: TimeZoneName
    start_date: date
    weeks: Annotated[int, Field(ge=1, le=52)]


class LessonEdit(Input):
    """Changes to one occurrence, or to it and all following ones of its series."""

    topic: Topic
    level: Level
    description: Description = ""
    starts_local: datetime
    timezone: TimeZoneName
    duration_minutes: Duration
    capacity: Capacity
    scope: Literal["one", "following"] = "one"


class Cancel(Input):
    scope: Literal["one", "following"] = "one"


class Assign(Input):
    tutor_id: Id | None
    scope: Literal["one", "series"] = "one"


class AvailabilityWindowIn(Input):
    weekday: Annotated[int, Field(ge=0, le=6)]
    start_time: time
    end_time: time

    @model_validator(mode="after")
    def _ordered(self) -> AvailabilityWindowIn:
        if self.end_time <= self.start_time:
            raise ValueError(N_("The window must end after it starts"))
        return self


class AvailabilityExceptionIn(Input):
    """Whole days off in the tutor's own time zone, first and last day included."""

    first_day: date
    last_day: date
    reason: Annotated[str, StringConstraints(strip_whitespace=True, max_length=200)] = ""

    @model_validator(mode="after")
    def _ordered(self) -> AvailabilityExceptionIn:
        if self.last_day < self.first_day:
            raise ValueError(N_("The last day cannot be before the first day"))
        return self


class LessonFilter(Input):
    level: Level | None = None
    topic: Annotated[str, StringConstraints(strip_whitespace=True, max_length=120)] | None = None
    day: date | None = None
    tutor_id: Id | None = None


# Pydantic's messages are technical and English only: say it plainly, in a translatable way.
FRIENDLY = {
    "missing": N_("This field is required"),
    "string_too_short": N_("Please enter at least {min_length} characters"),
    "string_too_long": N_("Please enter at most {max_length} characters"),
    "greater_than_equal": N_("Must be at least {ge}"),
    "less_than_equal": N_("Must be at most {le}"),
    "int_parsing": N_("Please enter a whole number"),
    "int_type": N_("Please enter a whole number"),
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
    "model_type": N_("Send an object with the fields of this request"),
    "model_attributes_type": N_("Send an object with the fields of this request"),
}


def _friendly(err: ErrorDetails) -> Notice:
    kind, text = err["type"], err["msg"].removeprefix("Value error, ")
    template = FRIENDLY.get(kind, text)  # value_error: one of our own N_() sentences
    context = {k: str(v) for k, v in err.get("ctx", {}).items()} if kind in FRIENDLY else {}
    return Notice(template, context)


def parse(model: type[M], data: object) -> M:
    """Validate ``data`` into ``model``, raising InvalidInput with one message per field."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        fields: dict[str, str | Notice] = {}
        for err in exc.errors():
            where = ".".join(str(p) for p in err["loc"] if not isinstance(p, int)) or "__all__"
            fields.setdefault(where, _friendly(err))
        raise InvalidInput("Please correct the marked fields.", fields) from None
