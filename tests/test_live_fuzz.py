"""Random and malformed payloads for every socket event, as each role: never an `internal`
ack, never a traceback, and afterwards a fresh participant joins, publishes and chats."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from classroom.models import Role
from signaling import protocol
from tests.conftest import SchoolFactory
from tests.fuzz import EXAMPLES, SEED, Fuzzer
from tests.live import Member, join, live_class, publish

CODES = {
    "invalid_payload",
    "invalid_input",
    "unknown_event",
    "forbidden",
    "not_found",
    "conflict",
    "too_late",
}
# A valid shape for each event, for the fuzzer to mutate.
VALID: dict[str, dict[str, Any] | None] = {
    "hello": {"after": 0},
    "chat:send": {"text": "hello", "key": "abcdefgh"},
    "chat:since": {"after": 0},
    "media:offer": {"type": "offer", "sdp": "v=0\r\no=- 0 0 IN IP4 0.0.0.0\r\n"},
    "media:candidate": {"candidate": "candidate:1 1 udp 1 127.0.0.1 9 typ host", "sdpMid": "0"},
    "media:state": {"mic": True, "cam": True, "screen": False},
    "hand:lower": {"user_id": 1},
    "control:mute": {"user_id": 1},
    "control:allow_unmute": {"user_id": 1},
    "control:request_unmute": {"user_id": 1},
    "control:camera_off": {"user_id": 1},
    "control:allow_camera": {"user_id": 1},
    "control:spotlight": {"user_id": None},
    "control:remove": {"user_id": 1},
    "control:lock": {"locked": False},
}
# Valid calls of these end the fuzzing itself (the class ends, a fuzzer is sent out, the
# room locks out the fresh participant): only their invalid variants are sent.
ENDING = {"control:end", "control:remove", "control:lock"}


def ending(name: str, payload: Any) -> bool:
    if name not in ENDING:
        return False
    model = protocol.CLIENT_EVENTS[name].payload
    try:
        if model is not None:
            model.model_validate(payload if payload is not None else {})
        elif payload not in (None, {}):
            return False
    except Exception:
        return False
    return True


@pytest.mark.timeout(600)
async def test_every_event_survives_random_payloads_from_every_role(
    school_with: SchoolFactory, caplog: pytest.LogCaptureFixture
) -> None:
    school = await school_with(live_rate_limits=False)
    setup = await live_class(school, students=2)
    lesson_id = setup.lesson["id"]
    coordinator = await school.person(Role.COORDINATOR)
    tutor = await join(school, *setup.tutor, lesson_id)
    student = await join(school, *setup.students[0], lesson_id)
    observer = await join(school, coordinator, await school.login(coordinator), lesson_id)
    await publish(tutor)
    fuzz = Fuzzer(SEED)
    sent = 0
    caplog.set_level(logging.WARNING)
    for member in (student, observer, tutor):
        for name in protocol.CLIENT_EVENTS:
            for _ in range(EXAMPLES):
                payload = fuzz.payload(VALID.get(name))
                if ending(name, payload):
                    continue
                ack = await member.call(name, payload)
                sent += 1
                assert ack.get("ok") or ack["error"]["code"] in CODES, (name, payload, ack)
        assert member.client.connected
    # The room still works: a fresh participant joins, gets the tutor's media, and chats.
    assert (await tutor.call("media:state", {"mic": True, "cam": True})).get("ok")
    fresh = await join(school, *setup.students[1], lesson_id)
    bot = await publish(fresh)
    await bot.until(lambda: sum(n for (kind, _), n in bot.received.items() if kind == "video") > 20)
    assert (await fresh.call("chat:send", {"text": "made it"})).get("ok")
    await tutor.events.wait("chat:message", lambda m: m["text"] == "made it")
    problems = [r for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info]
    assert not problems, [r.getMessage() for r in problems]
    print(f"socket fuzz: {sent} events, 0 internal acks, 0 tracebacks")
    members: list[Member] = [tutor, student, observer, fresh]
    for member in members:
        await member.close()
