"""The recap e-mail through a real SMTP server (aiosmtpd): sent when the tutor files the
class report, once, to each student who came, in their language, with the tutor's feedback,
their notes and the link to their recap; not to those who read recaps in the app only."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

import pytest

from classroom import live
from tests.conftest import SchoolFactory
from tests.smtp_server import MailServer, mail_server
from tests.test_class_reports import filing, over_class
from tests.test_mail import worker


@pytest.fixture
async def smtp() -> AsyncIterator[MailServer]:
    async with mail_server() as server:
        yield server


async def test_the_recap_is_mailed_once_in_each_students_language(
    school_with: SchoolFactory, smtp: MailServer
) -> None:
    c = await over_class(school_with)
    ana, ben, cici = c.ana, c.ben, c.cici
    status, _ = await ben[1].api(
        "PATCH", "/api/v1/me", {"name": "Student 2", "timezone": "Asia/Jakarta", "language": "id"}
    )
    assert status == 200
    # Cici came too, and reads her recaps in the app only.
    async with c.school.maker.begin() as db:
        await live.record_join(db, c.lesson_id, cici[0].id, c.start + timedelta(minutes=2))
    status, _ = await cici[1].api("PUT", "/api/v1/me/mail", {"by_email": ["booking_confirmed"]})
    assert status == 200
    await c.close()
    sender = worker(c.school.maker, smtp, clock=c.clock)
    await sender.look()  # what was queued before: bookings
    smtp.arrived.clear()

    body = filing(c)
    body["students"].append({"student_id": cici[0].id, "comment": "Nice to meet you."})
    status, filed = await c.tutor.api("PUT", c.path("/report"), body)
    assert status == 200, filed
    done = await sender.look()
    assert done.sent == 2
    (to_ana,) = smtp.to(ana[0].email, "lesson_recap")
    (to_ben,) = smtp.to(ben[0].email, "lesson_recap")
    assert smtp.to(cici[0].email) == []
    assert str(to_ana.message["Subject"]).startswith("Your recap: “Small talk”, ")
    assert "Hello Student 1," in to_ana.text
    assert "Level estimate (CEFR): B1" in to_ana.text
    assert "Watch “go home”." in to_ana.text
    assert "We practised small talk at work." in to_ana.text
    assert "• “I go to home” → “I go home”" in to_ana.text
    assert "• a piece of cake" in to_ana.text
    assert f"http://127.0.0.1/classes/{c.lesson_id}/recap" in to_ana.text
    assert not to_ana.message.is_multipart()  # no calendar file for a class that is over
    assert to_ben.message["Content-Language"] == "id"
    assert str(to_ben.message["Subject"]).startswith("Rangkuman Anda: “Small talk”, ")
    assert "Halo Student 2," in to_ben.text and "Speak up more!" in to_ben.text
    assert "I go to home" not in to_ben.text  # Ana's note stays Ana's
    assert "Level estimate" not in to_ben.text and "Perkiraan level" not in to_ben.text

    # A correction of the report sends nothing more.
    await c.tutor.api("PUT", c.path("/report"), {**body, "summary": "Better."})
    assert (await sender.look()).sent == 0
