"""Schemathesis against the OpenAPI document the running app serves, anonymously and as each
role: every generated request (valid and invalid) gets an answer the document allows, never
a 5xx, and nothing of ours logs a traceback.

KELAS_FUZZ_EXAMPLES sets the examples per operation and generation mode (25 by default; use
hundreds or thousands for a long run). KELAS_FUZZ_ENGINES=sqlite,postgres runs on both
databases (SQLite only by default, to keep the suite quick). Generation is derandomized, so a
run is repeatable.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from classroom.models import Role
from tests.conftest import School, Visitor
from tests.fuzz import EXAMPLES
from tests.helpers import local_in, new_class

ENGINES = os.environ.get("KELAS_FUZZ_ENGINES", "sqlite").split(",")
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
# Loggers whose ERROR records mean our code (or aiohttp on our behalf) hit a traceback.
OURS = ("web", "classroom", "signaling", "aiohttp.server", "aiohttp.web")
# A logged-in fuzzer must keep its session: logging out would turn the rest into 401s.
KEEP_SESSION = frozenset({"post_logout"})


@dataclass
class Tally:
    """What one role's run sent and got back."""

    cases: int = 0
    statuses: Counter[int] = field(default_factory=Counter)
    failures: list[str] = field(default_factory=list)


def _cookies(visitor: Visitor) -> dict[str, str]:
    return {cookie.key: cookie.value for cookie in visitor.client.session.cookie_jar}


def _strategies(operation: Any, csrf: str) -> Any:
    """Valid and invalid requests for one operation, with our CSRF token kept as it is."""
    modes = []
    for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
        try:
            modes.append(
                operation.as_strategy(generation_mode=mode, headers={"X-CSRF-Token": csrf})
            )
        except Exception:  # nothing in this operation can be made invalid
            continue
    return st.one_of(modes)


def _run_operation(operation: Any, send: Callable[[Any], Any], csrf: str, tally: Tally) -> None:
    @settings(
        max_examples=EXAMPLES,
        derandomize=True,
        database=None,
        deadline=None,
        phases=[Phase.explicit, Phase.generate, Phase.shrink],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=_strategies(operation, csrf))
    def fuzz(case: Any) -> None:
        response = send(case)
        tally.cases += 1
        tally.statuses[response.status_code] += 1
        case.validate_response(response, checks=CHECKS)

    try:
        fuzz()
    except Exception as exc:  # one report per operation, then on to the next
        tally.failures.append(f"{operation.label}: {exc}")


def fuzz_api(document: dict[str, Any], base_url: str, visitor: Visitor, role: str) -> Tally:
    """Every operation of ``document``, sent as ``visitor``; runs in a worker thread (the
    requests are synchronous) while the test's event loop serves them."""
    schema = schemathesis.openapi.from_dict(document)
    cookies = _cookies(visitor)
    tally = Tally()

    def send(case: Any) -> Any:
        return case.call(base_url=base_url, cookies=cookies, timeout=30)

    for result in schema.get_all_operations():
        operation = result.ok()
        if role != "anonymous" and operation.definition.raw.get("operationId") in KEEP_SESSION:
            continue
        _run_operation(operation, send, visitor.csrf, tally)
    return tally


async def _arrange(school: School) -> dict[str, Visitor]:
    """A small school, so that generated ids sometimes hit something real."""
    tutor_user, tutor = await school.join(Role.TUTOR)
    _, coordinator = await school.join(Role.COORDINATOR)
    _, student = await school.join(Role.STUDENT)
    for hours in (30, 54):
        await new_class(coordinator, hours=hours, tutor_id=tutor_user.id)
    lesson = (await new_class(coordinator, hours=80, capacity=1))["lessons"][0]
    status, _ = await student.api("POST", f"/api/v1/classes/{lesson['id']}/booking")
    assert status == 201
    window = {"weekday": 2, "start_time": "08:00", "end_time": "12:00"}
    status, _ = await tutor.api("POST", "/api/v1/availability/windows", window)
    assert status == 201
    days = {"first_day": local_in(200)[:10], "last_day": local_in(220)[:10]}
    status, _ = await tutor.api("POST", "/api/v1/availability/absences", days)
    assert status == 201
    return {
        "anonymous": await school.visitor(),
        "student": student,
        "tutor": tutor,
        "coordinator": coordinator,
    }


@pytest.mark.parametrize("database_url", ENGINES, indirect=True)
@pytest.mark.parametrize("role", ["anonymous", "student", "tutor", "coordinator"])
@pytest.mark.timeout(60 + EXAMPLES * 4)
async def test_the_api_answers_every_generated_request_as_documented(
    school: School, role: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.ERROR)
    visitor = (await _arrange(school))[role]
    status, document = await visitor.api("GET", "/api/openapi.json")
    assert status == 200
    base_url = str(school.server.make_url("")).rstrip("/")
    tally = await asyncio.to_thread(fuzz_api, document, base_url, visitor, role)
    print(f"\n{role}: {tally.cases} cases, statuses {dict(sorted(tally.statuses.items()))}")
    assert tally.failures == [], "\n\n".join(tally.failures)
    assert not any(status >= 500 for status in tally.statuses)
    tracebacks = [
        r for r in caplog.records if r.name.startswith(OURS) and r.levelno >= logging.ERROR
    ]
    assert tracebacks == [], [r.getMessage() for r in tracebacks]
    assert tally.cases >= EXAMPLES  # it really ran
