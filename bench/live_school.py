"""The school the SFU benchmark teaches in, made the way a school would make it.

Accounts go straight into the (not yet served) database through ``classroom.accounts``, as
``python -m web create-coordinator`` does; everything else goes through the JSON API of the
running server: logins, one class per benchmark run (each an hour and a half after the
previous one, so that nobody is double-booked) and the students' bookings.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import aiohttp

from classroom import accounts
from classroom.db import create_engine, create_sessionmaker
from classroom.models import Role

PASSWORD = "bench-password-123"
ZONE = "Asia/Jakarta"
DOMAIN = "bench.kelas"
FIRST_CLASS_IN = timedelta(hours=1)
CLASS_EVERY = timedelta(minutes=90)


@dataclass(frozen=True)
class Person:
    user_id: int
    email: str
    cookie: str  # kelas_session
    csrf: str


@dataclass
class LiveSchool:
    base_url: str
    coordinator: Person
    tutor: Person
    students: list[Person]
    observers: list[Person]  # coordinators: in a live class they receive and never publish
    lessons: list[int] = field(default_factory=list)
    more_tutors: list[Person] = field(default_factory=list)  # for classes at the same time


def accounts_wanted(students: int, observers: int, tutors: int = 1) -> list[tuple[str, str, Role]]:
    people = [("coordinator", "Coordinator", Role.COORDINATOR), ("tutor", "Tutor", Role.TUTOR)]
    people += [(f"student{n}", f"Student {n}", Role.STUDENT) for n in range(1, students + 1)]
    people += [(f"observer{n}", f"Observer {n}", Role.COORDINATOR) for n in range(1, observers + 1)]
    people += [(f"tutor{n}", f"Tutor {n}", Role.TUTOR) for n in range(2, tutors + 1)]
    return people


async def create_accounts(
    database_url: str, students: int, observers: int, tutors: int = 1
) -> None:
    engine = create_engine(database_url)
    password_hash = await accounts.Passwords("CHEAPEST").hash(PASSWORD)
    now = datetime.now(UTC)
    try:
        async with create_sessionmaker(engine).begin() as db:
            for login, name, role in accounts_wanted(students, observers, tutors):
                await accounts.create_user(
                    db,
                    email=f"{login}@{DOMAIN}",
                    name=name,
                    role=role,
                    password_hash=password_hash,
                    timezone=ZONE,
                    language="en",
                    now=now,
                )
    finally:
        await engine.dispose()


class Api:
    """One logged-in person's JSON API client."""

    def __init__(self, base_url: str, person: Person) -> None:
        self.base_url, self.person = base_url, person

    async def call(self, method: str, path: str, json: Any = None) -> Any:
        headers = {
            "X-CSRF-Token": self.person.csrf,
            "Cookie": f"kelas_session={self.person.cookie}",
        }
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(30)) as http:
            async with http.request(method, self.base_url + path, json=json, headers=headers) as r:
                body = await r.json()
                if r.status >= 300:
                    raise RuntimeError(f"{method} {path}: {r.status} {body}")
                return body


async def log_in(base_url: str, email: str) -> Person:
    async with aiohttp.ClientSession(
        cookie_jar=aiohttp.CookieJar(unsafe=True), timeout=aiohttp.ClientTimeout(30)
    ) as http:
        async with http.get(base_url + "/api/v1/session") as response:
            csrf = (await response.json())["csrf_token"]
        async with http.post(
            base_url + "/api/v1/login",
            json={"email": email, "password": PASSWORD},
            headers={"X-CSRF-Token": csrf},
        ) as response:
            body = await response.json()
            if response.status != 200:
                raise RuntimeError(f"login {email}: {response.status} {body}")
            cookie = response.cookies["kelas_session"].value
    return Person(body["user"]["id"], email, cookie, body["csrf_token"])


async def open_school(base_url: str, students: int, observers: int, tutors: int = 1) -> LiveSchool:
    """Log everyone in (accounts must exist)."""
    people = [await log_in(base_url, f"{login}@{DOMAIN}") for login, _, _ in
              accounts_wanted(students, observers, tutors)]  # fmt: skip
    return LiveSchool(
        base_url=base_url,
        coordinator=people[0],
        tutor=people[1],
        students=people[2 : 2 + students],
        observers=people[2 + students : 2 + students + observers],
        more_tutors=people[2 + students + observers :],
    )


async def new_class(
    school: LiveSchool,
    booked: int,
    capacity: int = 12,
    tutor: Person | None = None,
    students: list[Person] | None = None,
    starts_in: int | None = None,
) -> int:
    """A class taught by ``tutor`` (the school's tutor) with the first ``booked`` of
    ``students`` (the school's) booked, starting after the classes made before it (or in
    the ``starts_in``-th place)."""
    tutor = tutor or school.tutor
    students = school.students if students is None else students
    place = len(school.lessons) if starts_in is None else starts_in
    starts = datetime.now(ZoneInfo(ZONE)) + FIRST_CLASS_IN + CLASS_EVERY * place
    body = await Api(school.base_url, school.coordinator).call(
        "POST",
        "/api/v1/classes",
        {
            "topic": f"SFU benchmark {len(school.lessons) + 1}",
            "level": "B1",
            "starts_local": starts.replace(tzinfo=None).isoformat(timespec="minutes"),
            "timezone": ZONE,
            "duration_minutes": 60,
            "capacity": capacity,
            "tutor_id": tutor.user_id,
        },
    )
    lesson_id = int(body["lessons"][0]["id"])
    school.lessons.append(lesson_id)
    for student in students[:booked]:
        await Api(school.base_url, student).call("POST", f"/api/v1/classes/{lesson_id}/booking")
    return lesson_id
