"""The tutor's live notes over real Socket.IO connections: stored before they are sent, a
student's note to that student (and the tutor) only, a note for everyone to the class, given
back by ``hello`` after a reconnect; refusals for everyone but the tutor, bad payloads,
strangers and a class that is over. On SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import select

from classroom.models import LessonNote, Role
from tests.conftest import School, SchoolFactory
from tests.helpers import Clock, utc
from tests.live import join, live_class


def code(ack: dict[str, Any]) -> str:
    assert "error" in ack, ack
    return str(ack["error"]["code"])


async def test_a_students_notes_reach_them_and_the_tutor_only(school: School) -> None:
    setup = await live_class(school, students=2)
    lesson_id = setup.lesson["id"]
    tutor = await join(school, *setup.tutor, lesson_id)
    ana = await join(school, *setup.students[0], lesson_id)
    ben = await join(school, *setup.students[1], lesson_id)
    coordinator = await school.person(Role.COORDINATOR)
    observer = await join(school, coordinator, await school.login(coordinator), lesson_id)
    for_ana = {
        "kind": "correction",
        "student_id": ana.user.id,
        "text": "I go to home",
        "better": "I go home",
    }
    ack = await tutor.call("note:add", for_ana)
    note = ack["note"]
    assert ack["ok"] and note["student_id"] == ana.user.id and note["better"] == "I go home", ack
    assert await ana.events.wait("note:added") == note
    assert await tutor.events.wait("note:added") == note
    async with school.maker() as db:  # stored before it was sent
        stored = (await db.scalars(select(LessonNote))).one()
    assert (stored.text, stored.better, stored.student_id) == (
        "I go to home",
        "I go home",
        ana.user.id,
    )

    shared = (await tutor.call("note:add", {"kind": "word", "text": "  a piece of cake  "}))["note"]
    assert shared["text"] == "a piece of cake" and shared["student_id"] is None
    # Everyone gets the shared note; it was sent after Ana's, so Ben and the observer have
    # had every earlier note for them by now: Ana's never came.
    for member in (ana, ben, observer, tutor):
        await member.events.wait("note:added", lambda n: n["id"] == shared["id"])
    for member in (ben, observer):
        assert [n["id"] for n in member.events.seen["note:added"]] == [shared["id"]]

    # hello gives back what each may read: notes survive a reconnect.
    assert _ids(await ben.call("hello", {"after": 0})) == [shared["id"]]
    assert _ids(await tutor.call("hello", {"after": 0})) == [note["id"], shared["id"]]
    assert _ids(await observer.call("hello", {"after": 0})) == [note["id"], shared["id"]]
    await ana.close()
    # Noted while Ana is away: it waits for her next hello.
    while_away = (
        await tutor.call("note:add", {"kind": "word", "student_id": ana.user.id, "text": "errand"})
    )["note"]
    ana = await join(school, *setup.students[0], lesson_id)
    hello = await ana.call("hello", {"after": 0})
    assert _ids(hello) == [note["id"], shared["id"], while_away["id"]]
    assert (await tutor.call("note:delete", {"id": while_away["id"]}))["ok"]
    await ana.events.wait("note:deleted", lambda n: n["id"] == while_away["id"])

    # Editing and deleting reach the same people.
    edited = await tutor.call(
        "note:edit", {"id": note["id"], "text": "I goes home", "better": "I go home"}
    )
    assert edited["note"]["text"] == "I goes home", edited
    assert (await ana.events.wait("note:edited"))["text"] == "I goes home"
    assert (await tutor.call("note:delete", {"id": note["id"]}))["ok"]
    await ana.events.wait("note:deleted", lambda n: n == {"id": note["id"]})
    assert (await tutor.call("note:delete", {"id": shared["id"]}))["ok"]
    await ben.events.wait("note:deleted", lambda n: n["id"] == shared["id"])
    assert "note:edited" not in ben.events.seen
    assert [n["id"] for n in ben.events.seen["note:deleted"]] == [shared["id"]]
    assert _ids(await ana.call("hello", {"after": 0})) == []
    for member in (tutor, ana, ben, observer):
        await member.close()


def _ids(hello: dict[str, Any]) -> list[int]:
    return [n["id"] for n in hello["notes"]]


BAD_NOTES: list[Any] = [
    {"kind": "correction", "text": "I go to home"},  # a correction without its better way
    {"kind": "word", "text": "cake", "better": "cakes"},  # only corrections have one
    {"kind": "grammar", "text": "x"},
    {"kind": "word", "text": ""},
    {"kind": "word", "text": "   "},
    {"kind": "word", "text": "x" * 501},
    {"kind": "word", "text": "two\nlines"},
    {"kind": "word", "text": "nul\x00"},
    {"kind": "word", "text": "x", "student_id": "5"},
    {"kind": "word", "text": "x", "student_id": 0},
    {"kind": "word", "text": "x", "student_id": 2**31},
    {"kind": "word", "text": "x", "extra": 1},
    {"kind": "word", "text": 5},
    {"kind": "word"},
    [],
    "note",
    None,
]


async def test_only_the_tutor_may_note_and_bad_notes_are_refused(
    school_with: SchoolFactory,
) -> None:
    school = await school_with(live_rate_limits=False)  # many bad notes in a row
    setup = await live_class(school, students=1)
    lesson_id = setup.lesson["id"]
    tutor = await join(school, *setup.tutor, lesson_id)
    ana = await join(school, *setup.students[0], lesson_id)
    coordinator = await school.person(Role.COORDINATOR)
    observer = await join(school, coordinator, await school.login(coordinator), lesson_id)
    word = {"kind": "word", "text": "cake"}
    assert code(await ana.call("note:add", word)) == "forbidden"
    assert code(await observer.call("note:add", word)) == "forbidden"
    for bad in BAD_NOTES:
        assert code(await tutor.call("note:add", bad)) == "invalid_payload", bad
    stranger, _ = await school.join(Role.STUDENT, "Not booked")
    assert code(await tutor.call("note:add", {**word, "student_id": stranger.id})) == "not_found"
    assert code(await tutor.call("note:add", {**word, "student_id": 2**31 - 1})) == "not_found"

    # Someone else's note, a note of another class, or none at all: not found.
    mine = (await tutor.call("note:add", {**word, "student_id": ana.user.id}))["note"]
    other = await live_class(school, students=1)
    other_tutor = await join(school, *other.tutor, other.lesson["id"])
    theirs = (await other_tutor.call("note:add", word))["note"]
    for target in (theirs["id"], 2**31 - 1):
        assert code(await tutor.call("note:edit", {"id": target, "text": "x"})) == "not_found"
        assert code(await tutor.call("note:delete", {"id": target})) == "not_found"
    assert code(await ana.call("note:delete", {"id": mine["id"]})) == "forbidden"
    assert code(await ana.call("note:edit", {"id": mine["id"], "text": "x"})) == "forbidden"
    bad_edit = await tutor.call("note:edit", {"id": mine["id"], "text": "x", "better": "y"})
    assert code(bad_edit) == "invalid_input"
    assert code(await tutor.call("note:edit", {"id": mine["id"], "text": ""})) == "invalid_payload"
    assert code(await tutor.call("note:delete", {"id": "1"})) == "invalid_payload"
    assert "note:added" not in observer.events.seen  # only Ana's note was stored
    assert len(ana.events.seen["note:added"]) == 1
    for member in (tutor, ana, observer, other_tutor):
        await member.close()


async def test_no_notes_once_the_class_is_over(school_with: SchoolFactory) -> None:
    clock = Clock()
    school = await school_with(clock=clock)
    setup = await live_class(school, students=1)
    lesson_id = setup.lesson["id"]
    tutor = await join(school, *setup.tutor, lesson_id)
    note = (await tutor.call("note:add", {"kind": "pronunciation", "text": "th in think"}))["note"]
    clock.move_to(utc(setup.lesson["ends_at"]) + timedelta(seconds=1))
    assert code(await tutor.call("note:add", {"kind": "word", "text": "late"})) == "too_late"
    assert code(await tutor.call("note:edit", {"id": note["id"], "text": "x"})) == "too_late"
    assert code(await tutor.call("note:delete", {"id": note["id"]})) == "too_late"
    await tutor.close()
