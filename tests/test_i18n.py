"""Text goes through gettext; English and Bahasa Indonesia ship complete; times in the
viewer's own zone."""

from __future__ import annotations

import re
from datetime import timedelta
from zoneinfo import ZoneInfo

from babel.messages.pofile import read_po

from classroom.models import Role
from tests.conftest import School, now
from tests.helpers import new_class
from web.catalog import extract, po_path

FIELDS = re.compile(r"\{\w+\}|%\(\w+\)s")


def test_every_text_has_an_indonesian_translation_with_the_same_fields() -> None:
    with po_path("id").open("rb") as handle:
        shipped = read_po(handle, locale="id")
    missing, broken = [], []
    for message in extract():
        if not message.id:
            continue
        singular = message.id if isinstance(message.id, str) else message.id[0]
        translated = shipped.get(message.id)
        strings = (
            []
            if translated is None
            else (
                [translated.string]
                if isinstance(translated.string, str)
                else list(translated.string)
            )
        )
        if not strings or not all(strings) or translated.fuzzy:
            missing.append(singular)
            continue
        if any(set(FIELDS.findall(singular)) != set(FIELDS.findall(s)) for s in strings):
            broken.append(singular)
    assert missing == [], "run `python -m web translations` and translate these"
    assert broken == []


async def test_pages_follow_the_users_language_and_time_zone(school: School) -> None:
    _, coordinator = await school.join(Role.COORDINATOR)
    lesson = (await new_class(coordinator, hours=30, topic="Ngobrol"))["lessons"][0]
    _, student = await school.join(Role.STUDENT, language="id", timezone="Asia/Jayapura")
    status, html = await student.page(f"/classes/{lesson['id']}")
    assert status == 200
    assert 'lang="id"' in html
    with po_path("id").open("rb") as handle:
        book = read_po(handle, locale="id")["Book a seat"].string
    assert book and book != "Book a seat" and book in html
    starts = (now() + timedelta(hours=30)).astimezone(ZoneInfo("Asia/Jayapura"))
    assert starts.strftime("%H:%M") in html and "Asia/Jayapura" in html
    status, body = await student.api("POST", "/api/v1/classes/999999/booking")
    assert status == 404 and body["error"]["message"] != "No such class."


async def test_visitors_get_their_browsers_language(school: School) -> None:
    visitor = await school.visitor()
    async with visitor.client.get("/login", headers={"Accept-Language": "id-ID,id;q=0.9"}) as resp:
        html = await resp.text()
    assert 'lang="id"' in html
    async with visitor.client.get("/login", headers={"Accept-Language": "fr-FR"}) as resp:
        assert 'lang="en"' in await resp.text()
