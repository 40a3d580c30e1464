"""Translations (gettext catalogues compiled by Babel) and the viewer's locale and zone."""

from __future__ import annotations

from contextvars import ContextVar
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from io import BytesIO
from pathlib import Path
from zoneinfo import ZoneInfo

from babel.dates import (
    format_date,
    format_datetime,
    format_time,
    format_timedelta,
    get_day_names,
)
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_currency, format_decimal, format_percent
from babel.support import NullTranslations, Translations

from classroom.errors import N_, Notice
from classroom.models import Message

LOCALE_DIR = Path(__file__).parent / "locale"
LANGUAGES = {"en": "English", "id": "Bahasa Indonesia"}


@dataclass(frozen=True)
class Viewer:
    language: str
    timezone: str
    translations: NullTranslations


def load_translations() -> dict[str, NullTranslations]:
    """Compile each language's messages.po in memory: no build step, no stale .mo files."""
    catalogs: dict[str, NullTranslations] = {"en": NullTranslations()}
    for language in LANGUAGES:
        po = LOCALE_DIR / language / "LC_MESSAGES" / "messages.po"
        if language == "en" or not po.exists():
            continue
        with po.open("rb") as handle:
            catalog = read_po(handle, locale=language)
        buffer = BytesIO()
        write_mo(buffer, catalog)
        buffer.seek(0)
        catalogs[language] = Translations(buffer)
    return catalogs


_viewer: ContextVar[Viewer] = ContextVar("viewer")
_fallback = Viewer("en", "UTC", NullTranslations())


def set_viewer(viewer: Viewer) -> None:
    _viewer.set(viewer)


def viewer() -> Viewer:
    return _viewer.get(_fallback)


def gettext(message: str) -> str:
    return viewer().translations.gettext(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    return viewer().translations.ngettext(singular, plural, n)


def notice(item: Notice) -> str:
    """A domain sentence in the viewer's language, fields filled in after translation."""
    return gettext(item.template).format(**item.params)


def _zone() -> ZoneInfo:
    return ZoneInfo(viewer().timezone)


def when(instant: datetime, style: str = "EEE d MMM y, HH:mm") -> str:
    return format_datetime(instant, style, tzinfo=_zone(), locale=viewer().language)


def day(instant: datetime) -> str:
    return format_date(instant.astimezone(_zone()), "EEEE d MMMM", locale=viewer().language)


def clock(instant: datetime) -> str:
    return format_time(instant, "HH:mm", tzinfo=_zone(), locale=viewer().language)


def pick_language(accept: str, available: dict[str, NullTranslations]) -> str:
    """The first language of an Accept-Language header that we ship, else English."""
    for part in accept.split(","):
        code = part.split(";")[0].strip().lower()[:2]
        if code in available:
            return code
    return "en"


def field_errors(fields: dict[str, Notice]) -> dict[str, str]:
    return {name: notice(message) for name, message in fields.items()}


MESSAGE_TEXTS = {
    "lesson_cancelled": N_("“{topic}” on {when} was cancelled."),
    "lesson_moved": N_("“{topic}” has moved: it now starts {when}."),
    "waitlist_promoted": N_("A seat became free: you are now booked for “{topic}” on {when}."),
    "lesson_assigned": N_("You will teach “{topic}” on {when}."),
    "substitution_assigned": N_("You are substituting in “{topic}” on {when}."),
    "substitution_removed": N_("Another tutor will teach “{topic}” on {when} in your place."),
    "tutor_nudge": N_("“{topic}” starts {when} and your students will be waiting: please join."),
    "booking_confirmed": N_("You are booked for “{topic}” on {when}."),
    "lesson_reminder": N_("Reminder: “{topic}” starts {when}."),
    "lesson_recap": N_(
        "Your recap of “{topic}” on {when} is ready: your tutor's feedback and your notes."
    ),
}

DONE_TEXTS = {
    "booked": N_("You are booked. See you in class!"),
    "full": N_("Sorry, the last seat was just taken. You can join the waitlist."),
    "waitlisted": N_("You are on the waitlist. If a seat frees up, it is yours."),
    "cancelled": N_("Your booking is cancelled."),
    "late_cancelled": N_("Your booking is cancelled. It was less than the free cancellation "
                         "window before the start, so it is recorded as a late cancellation."),
    "saved": N_("Saved."),
    "report_filed": N_("Your report is filed, and each student who came has their recap."),
    "rated": N_("Thank you for rating the class."),
    "cancelled_class": N_("The class is cancelled and everyone who booked has been told."),
}  # fmt: skip


# What people call each input field, for an error shown away from its field (an error page,
# or a field the form does not show).
FIELD_NAMES = {
    "name": N_("Name"), "email": N_("E-mail"), "password": N_("Password"),
    "timezone": N_("Time zone"), "language": N_("Language"),
    "current_password": N_("Current (or temporary) password"),
    "new_password": N_("New password"), "topic": N_("Topic"), "level": N_("Level (CEFR)"),
    "description": N_("Description (optional)"), "duration_minutes": N_("Length in minutes"),
    "capacity": N_("Seats (1 to 12)"), "tutor_id": N_("Tutor"), "starts_local": N_("Starts"),
    "weekdays": N_("On"), "local_time": N_("At (local time)"), "start_date": N_("From"),
    "weeks": N_("For how many weeks"), "scope": N_("Apply to"), "weekday": N_("Day"),
    "start_time": N_("From"), "end_time": N_("Until"), "first_day": N_("First day"),
    "last_day": N_("Last day"), "reason": N_("Reason (optional)"), "day": N_("Day"),
    "week": N_("Week"), "lesson_id": N_("Class"), "item_id": N_("Item"),
    "rows": N_("Rows"), "per_page": N_("Rows per page"), "page": N_("Page"),
    "unassigned": N_("No tutor yet"), "lecturer": N_("Tutor"),
    "since": N_("From"), "until": N_("Until"), "unit": N_("Paid"), "amount": N_("Amount"),
    "effective_from": N_("From (date)"), "user_id": N_("Person"),
}  # fmt: skip


def field_names() -> dict[str, str]:
    return {key: gettext(text) for key, text in FIELD_NAMES.items()}


def message_text(message: Message) -> str:
    template = MESSAGE_TEXTS.get(message.kind, "{topic}")
    return gettext(template).format(
        topic=message.params.get("topic", ""), when=message_when(message)
    )


def message_class(message: Message) -> str:
    """The class a message is about, "topic, when": what tells its link apart from others."""
    return f"{message.params.get('topic', '')}, {message_when(message)}"


def message_when(message: Message) -> str:
    return when(datetime.fromisoformat(str(message.params.get("starts_at"))))


def done_text(key: str | None) -> str | None:
    return gettext(DONE_TEXTS[key]) if key in DONE_TEXTS else None


def format_day(value: date) -> str:
    return format_date(value, "EEEE d MMMM", locale=viewer().language)


def short_day(value: date) -> str:
    """A column heading: "Mon 2 Mar"."""
    return format_date(value, "EEE d MMM", locale=viewer().language)


def dated(value: date) -> str:
    """A day in a list that may span years: "2 Mar 2026"."""
    return format_date(value, "d MMM y", locale=viewer().language)


def last_day(end: datetime) -> str:
    """The last day of a range that ends at the start of the next day."""
    return format_date((end - timedelta(seconds=1)).astimezone(_zone()), "EEE d MMM y",
                       locale=viewer().language)  # fmt: skip


def ago(delta: timedelta) -> str:
    """How long ago, in words: "3 hours ago", "3 jam yang lalu"."""
    return format_timedelta(-delta, add_direction=True, locale=viewer().language)


def weekday_names() -> dict[int, str]:
    return dict(get_day_names("wide", locale=viewer().language))


def money(amount: Decimal | None, currency: str | None) -> str:
    """An amount in the viewer's way of writing money: "IDR 150,000.00", "Rp 150.000,00"."""
    if amount is None or currency is None:
        return ""
    # CLDR writes rupiah without cents; an amount that has some shows them.
    whole = amount == amount.to_integral_value()
    return format_currency(amount, currency, locale=viewer().language, currency_digits=whole)


def number(value: float | Decimal) -> str:
    return format_decimal(value, locale=viewer().language)


def percent(value: float) -> str:
    return format_percent(value, locale=viewer().language)


def month_name(value: date) -> str:
    """ "November 2026"."""
    return format_date(value, "LLLL y", locale=viewer().language)
