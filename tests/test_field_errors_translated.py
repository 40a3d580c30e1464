"""Every field error is written for people and translated: bad values of every kind, sent in
Bahasa Indonesia to every form and API endpoint, come back as sentences of the Indonesian
catalogue, never as the validator's own English."""

from __future__ import annotations

import re
from typing import Any

from babel.messages.pofile import read_po

from classroom.models import Role
from tests.conftest import School, Visitor
from tests.test_http_input import (
    BAD_TEXT,
    IMPOSSIBLE_DAYS,
    NOT_TIMES,
    NUMBERS,
    TEXTS,
    ZONED_TIMES,
    absence,
    lesson,
    series,
    signup,
    window,
)
from web.catalog import po_path

# What pydantic (and the e-mail checker it uses) says on its own; none of it may reach a person.
PYDANTIC_ENGLISH = [
    "value is not a valid", "Input should be", "String should have", "Field required",
    "Value error", "An email address", "Extra inputs", "should be a valid", "Unable to parse",
    "validation error", "type=", "must have an @-sign",
]  # fmt: skip
C, T, S, V = Role.COORDINATOR, Role.TUTOR, Role.STUDENT, None
LONG = "x" * 300
# (who, method, path, body): one of every other kind of bad value.
KINDS: list[tuple[Role | None, str, str, Any]] = [
    (V, "POST", "/api/v1/signup", signup(email="no-at-sign")),
    (V, "POST", "/api/v1/signup", signup(email="a@b")),
    (V, "POST", "/api/v1/signup", signup(email=f"{LONG}@example.com")),
    (V, "POST", "/api/v1/signup", signup(password="short")),
    (V, "POST", "/api/v1/signup", signup(name="")),
    (V, "POST", "/api/v1/signup", signup(name=LONG)),
    (V, "POST", "/api/v1/signup", signup(timezone="Mars/Olympus")),
    (V, "POST", "/api/v1/signup", signup(language="fr")),
    (V, "POST", "/api/v1/signup", {**signup(), "role": "coordinator"}),
    (V, "POST", "/api/v1/signup", {"name": 5, "email": [], "password": None}),
    (V, "POST", "/api/v1/signup", {}),
    (V, "POST", "/api/v1/signup", []),
    (V, "POST", "/api/v1/login", {"email": f"{LONG}@example.com", "password": "x"}),
    (V, "POST", "/api/v1/login", {"email": "", "password": ""}),
    (S, "PATCH", "/api/v1/me", {"name": "A", "timezone": "Asia/Jakarta", "language": "xx"}),
    (S, "POST", "/api/v1/me/password", {"current_password": "wrong one", "new_password": "x"}),
    (C, "POST", "/api/v1/classes", lesson(level="D9")),
    (C, "POST", "/api/v1/classes", lesson(starts_local="2020-01-01T10:00")),
    (C, "POST", "/api/v1/classes", lesson(topic=LONG)),
    (C, "POST", "/api/v1/classes", lesson(description="d" * 3000)),
    (C, "POST", "/api/v1/series", series(weekdays=[])),
    (C, "POST", "/api/v1/series", series(weekdays="monday")),
    (C, "POST", "/api/v1/series", series(weekdays=[0, 1, 2, 3, 4, 5, 6, 0])),
    (C, "POST", "/api/v1/tutors", {"name": "T", "email": "not an address"}),
    (C, "PUT", "/api/v1/classes/1/tutor", {"tutor_id": 1, "scope": "everything"}),
    (T, "POST", "/api/v1/availability/windows", window(start_time="17:00", end_time="09:00")),
    (T, "POST", "/api/v1/availability/absences",
     absence(first_day="2030-01-10", last_day="2030-01-01")),
    (T, "POST", "/api/v1/availability/absences", absence(reason=LONG)),
    (S, "POST", "/api/v1/me/checks", {"mic": "loud", "camera": "ok", "stun": "none",
                                      "turn": "none", "loss": 2, "receipts": ["forged"]}),
    (S, "POST", "/api/v1/check/offer", {"type": "offer", "sdp": "v=0\r\n" * 3}),
    (S, "POST", "/api/v1/check/offer", {"type": "offer", "sdp": "v=0 not sdp at all"}),
    (C, "POST", "/api/v1/rates", {"tutor_id": 1, "unit": "hour", "amount": "150.000",
                                  "effective_from": "2026-01-01"}),
    (C, "POST", "/api/v1/rates", {"tutor_id": 1, "unit": "day", "amount": "0",
                                  "effective_from": "2026-02-30"}),
    (T, "PUT", "/api/v1/classes/1/report",
     {"summary": "", "students": [{"student_id": 1, "level": "Z9", "comment": ""}, "x"]}),
    (T, "PUT", "/api/v1/classes/1/report", {"summary": "x" * 2001, "students": "all"}),
    (S, "POST", "/api/v1/classes/1/rating", {"stars": 9, "comment": "x" * 1001}),
    (S, "POST", "/api/v1/classes/1/rating", {"comment": "no stars"}),
]  # fmt: skip


def indonesian_sentences() -> list[re.Pattern[str]]:
    """Every Indonesian msgstr as a pattern, its fields ({max_length}, %(n)s) left open."""
    with po_path("id").open("rb") as handle:
        catalog = read_po(handle, locale="id")
    patterns = []
    for message in catalog:
        for text in [message.string] if isinstance(message.string, str) else message.string:
            if text:
                parts = re.split(r"\{\w+\}|%\(\w+\)s", text)
                patterns.append(re.compile(".+".join(map(re.escape, parts)), re.S))
    return patterns


def untranslated(texts: list[str], patterns: list[re.Pattern[str]]) -> list[str]:
    english = [t for t in texts if any(p.lower() in t.lower() for p in PYDANTIC_ENGLISH)]
    return english + [t for t in texts if not any(p.fullmatch(t) for p in patterns)]


async def indonesian(school: School) -> dict[Role | None, Visitor]:
    visitor = await school.visitor()
    visitor.client.session.cookie_jar.update_cookies({"kelas_lang": "id"})
    by_role: dict[Role | None, Visitor] = {V: visitor}
    for role in (C, T, S):
        by_role[role] = (await school.join(role, language="id"))[1]
    return by_role


async def test_every_api_field_error_is_an_indonesian_sentence(school: School) -> None:
    by_role = await indonesian(school)
    sent: list[tuple[Role | None, str, str, Any]] = [*KINDS]
    sent += [(role, method, path, body) for role, method, path, body, _, _ in NUMBERS]
    for role, method, path, valid, names in TEXTS:
        sent += [(role, method, path, {**valid, n: f"a{bad}b"}) for n in names for bad in BAD_TEXT]
    for value in [*ZONED_TIMES, *NOT_TIMES]:
        sent.append((T, "POST", "/api/v1/availability/windows", window(start_time=value)))
    for raw, _ in IMPOSSIBLE_DAYS:
        sent.append((T, "POST", "/api/v1/availability/absences", absence(first_day=raw)))
        sent.append((C, "POST", "/api/v1/classes", lesson(starts_local=f"{raw}T10:00")))
    patterns = indonesian_sentences()
    for role, method, path, body in sent:
        status, answer = await by_role[role].api(method, path, body)
        assert 400 <= status < 500, (path, body, answer)
        error = answer["error"]
        texts = [error["message"], *error["fields"].values()]
        assert untranslated(texts, patterns) == [], (path, body)
        if status == 422 and error["code"] == "invalid_input" and body not in ([], {}):
            assert error["fields"], (path, body)  # a field error names its field
