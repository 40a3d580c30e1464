"""Writing an outbox row as an e-mail, in its reader's language and time zone as they are
when it is sent: plain text, the classes it is about with their links, a calendar file
(.ics) for the classes a person will attend, and a Message-ID that stays the same if the
message has to be sent again."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime
from typing import Any

from babel.support import NullTranslations
from sqlalchemy.ext.asyncio import AsyncSession

from classroom import calendar_feed, outbox, password_reset, recaps, timetable
from classroom.errors import KelasError, NotFound
from classroom.models import LessonStatus, OutboxMail, User
from web import i18n
from web.mail import texts

# Kinds whose e-mail carries the classes as a calendar file.
WITH_CALENDAR = frozenset(
    {"booking_confirmed", "waitlist_promoted", "lesson_reminder", "lesson_assigned",
     "substitution_assigned", "lesson_moved"}
)  # fmt: skip


@dataclass(frozen=True)
class Site:
    """What links and headers need: the public address and the sender."""

    base_url: str
    domain: str
    sender: str
    secret_key: str


def message_id(mail: OutboxMail, domain: str) -> str:
    return f"<kelas.{mail.id}.{mail.token}@{domain}>"


async def compose(
    db: AsyncSession,
    mail: OutboxMail,
    site: Site,
    catalogs: dict[str, NullTranslations],
    now: datetime,
) -> EmailMessage | None:
    """The e-mail for ``mail``, or None when there is nothing worth sending any more (the
    reader's account is gone or now reads this kind in the app only, a reset link has
    lapsed, a reminder's class was cancelled)."""
    user = await db.get(User, mail.user_id)
    if user is None or not outbox.by_email(user, mail.kind):
        return None
    language = user.language if user.language in catalogs else "en"
    i18n.set_viewer(i18n.Viewer(language, user.timezone, catalogs[language]))
    if mail.kind == password_reset.KIND:
        written = _reset(user, mail.params, site, now)
    else:
        written = await _lessons(db, user, mail, site, now)
    if written is None:
        return None
    message = written
    message["From"] = site.sender
    message["To"] = Address(user.name, addr_spec=user.email)
    message["Date"] = format_datetime(now)
    message["Message-ID"] = message_id(mail, site.domain)
    message["Auto-Submitted"] = "auto-generated"
    message["X-Kelas-Kind"] = mail.kind  # for the reader's mail filters
    message["Content-Language"] = language
    return message


def _reset(user: User, params: dict[str, Any], site: Site, now: datetime) -> EmailMessage | None:
    expires = int(params.get("expires", 0))
    minutes = (expires - int(now.timestamp())) // 60
    if minutes < 1:
        return None
    token = password_reset.link_token(site.secret_key, user, expires)
    lines = [
        _t(texts.GREETING, name=user.name),
        "",
        _t(texts.RESET_BODY, minutes=str(minutes)),
        f"{site.base_url}/password/reset/{token}",
        "",
        _t(texts.RESET_IGNORE),
    ]
    message = EmailMessage()
    message["Subject"] = _t(texts.RESET_SUBJECT)
    message.set_content("\n".join(lines) + "\n")
    return message


async def _lessons(
    db: AsyncSession, user: User, mail: OutboxMail, site: Site, now: datetime
) -> EmailMessage | None:
    lessons: list[dict[str, Any]] = list(mail.params.get("lessons", []))
    if not lessons:
        return None
    rows = []
    for item in lessons:
        try:
            rows.append(await timetable.lesson_row(db, int(item["id"])))
        except NotFound:
            continue
    cancelled = all(row.lesson.status == LessonStatus.CANCELLED for row in rows)
    if mail.kind == "lesson_reminder" and cancelled:
        return None
    count = len(lessons)
    first = lessons[0]
    fields = {"topic": first["topic"], "when": _when(first), "num": str(count)}
    one, many = texts.SUBJECTS[mail.kind]
    subject = i18n.gettext(one) if count == 1 else i18n.ngettext(*many, count)
    opening = texts.OPENINGS[mail.kind][0 if count == 1 else 1]
    lines = [_t(texts.GREETING, name=user.name), "", _t(opening), ""]
    for item in lessons:
        lines.append(f"• “{item['topic']}” ({item['level']}), {_when(item)} ({user.timezone})")
        lines.append(f"  {site.base_url}/classes/{item['id']}")
    if mail.kind in ("lesson_reminder", "tutor_nudge") and count == 1:
        lines += ["", _t(texts.JOIN), f"{site.base_url}/classes/{first['id']}/live"]
    attach = mail.kind in WITH_CALENDAR and rows and not cancelled
    if attach:
        lines += ["", _t(texts.CALENDAR)]
    if mail.kind == "lesson_recap" and count == 1:
        recap = await _recap_lines(db, user, int(first["id"]), site, now)
        if recap is None:
            return None
        lines += recap
    lines += ["", "-- ", _t(texts.FOOTER, url=f"{site.base_url}/account#mail")]
    message = EmailMessage()
    message["Subject"] = subject.format(**fields)
    message.set_content("\n".join(lines) + "\n")
    if attach:
        ics = calendar_feed.render(
            rows, name="Kelas", base_url=site.base_url, domain=site.domain, now=now
        )
        message.add_attachment(ics, maintype="text", subtype="calendar", filename="kelas.ics")
    return message


async def _recap_lines(
    db: AsyncSession, user: User, lesson_id: int, site: Site, now: datetime
) -> list[str] | None:
    """The recap itself, as the student reads it on its page (classroom/recaps.py)."""
    try:
        recap = await recaps.recap(db, user, lesson_id, user.id, now)
    except KelasError:
        return None  # no longer booked in it, or the class is gone
    lines = [""]
    if recap.feedback is not None:
        lines.append(_t(texts.RECAP_FEEDBACK))
        if recap.feedback.level is not None:
            lines.append(_t(texts.RECAP_LEVEL, level=recap.feedback.level.value))
        if recap.feedback.comment:
            lines.append(recap.feedback.comment)
        lines += ["", _t(texts.RECAP_SUMMARY), recap.feedback.summary]
    for title, found in ((texts.RECAP_MINE, recap.mine), (texts.RECAP_SHARED, recap.shared)):
        if found:
            lines += ["", _t(title)]
            lines += [f"• “{n.text}” → “{n.better}”" if n.better else f"• {n.text}" for n in found]
    lines += ["", _t(texts.RECAP_LINK), f"{site.base_url}/classes/{lesson_id}/recap"]
    return lines


def _t(template: str, **fields: str) -> str:
    return i18n.gettext(template).format(**fields)


def _when(item: dict[str, Any]) -> str:
    return i18n.when(datetime.fromisoformat(str(item["starts_at"])))
