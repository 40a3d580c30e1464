"""docs/protocol.md says what signaling/protocol.py does: every event, its payload and ack."""

from __future__ import annotations

import re
from pathlib import Path

from pydantic import BaseModel

from signaling import protocol, school_protocol
from signaling.namespace import ClassNamespace
from signaling.school import SchoolNamespace

DOC = (Path(__file__).parent.parent / "docs" / "protocol.md").read_text()
ROW = re.compile(r"^\|(?P<names>[^|]+)\|(?P<payload>[^|]+)\|(?P<rest>.*)\|\s*$", re.M)


def table(heading: str) -> dict[str, list[str]]:
    """Event name -> the row's cells, from the table under ``heading``."""
    section = DOC.split(f"## {heading}\n", 1)[1].split("\n## ", 1)[0]
    rows: dict[str, list[str]] = {}
    for match in ROW.finditer(section):
        cells = [match["payload"], *match["rest"].split("|")]
        for name in re.findall(r"`([a-z_:]+)`", match["names"]):
            rows[name] = cells
    return rows


def fields(model: type[BaseModel] | None) -> set[str]:
    return set(model.model_fields) - {"ok"} if model else set()


# Shapes the document defines once and names in the tables ("A participant is `{...}`").
SHAPES = {
    name: set(re.findall(r"[A-Za-z_]+", body))
    for name, body in re.findall(r"An? `?(\w+)`? is\s+`\{([^}]*)\}`", DOC)
}


def named(cell: str) -> set[str]:
    words = set(re.findall(r"[A-Za-z_]+", cell))
    return words.union(*(SHAPES[w] for w in words if w in SHAPES))


def test_every_client_event_is_documented_with_its_payload_and_ack() -> None:
    rows = table("Client to server")
    assert set(rows) == set(protocol.CLIENT_EVENTS)
    for name, spec in protocol.CLIENT_EVENTS.items():
        payload, ack = rows[name][0], rows[name][1]
        assert fields(spec.payload) <= named(payload), (name, payload)
        assert fields(spec.ack) <= named(ack), (name, ack)


def test_every_server_event_is_documented_with_its_payload() -> None:
    rows = table("Server to client")
    assert set(rows) == set(protocol.SERVER_EVENTS)
    for name, model in protocol.SERVER_EVENTS.items():
        assert fields(model) <= named(rows[name][0]), (name, rows[name][0])


def test_every_client_event_has_a_handler() -> None:
    for name in protocol.CLIENT_EVENTS:
        assert callable(getattr(ClassNamespace, "on_" + name.replace(":", "_"), None)), name


def test_every_school_event_is_documented_with_its_payload_and_ack() -> None:
    rows = table("School: client to server")
    assert set(rows) == set(school_protocol.CLIENT_EVENTS)
    for name, spec in school_protocol.CLIENT_EVENTS.items():
        payload, ack = rows[name][0], rows[name][1]
        assert fields(spec.payload) <= named(payload), (name, payload)
        assert fields(spec.ack) <= named(ack), (name, ack)
        assert callable(getattr(SchoolNamespace, "on_" + name.replace(":", "_"), None)), name
    rows = table("School: server to client")
    assert set(rows) == set(school_protocol.SERVER_EVENTS)
    for name, model in school_protocol.SERVER_EVENTS.items():
        assert fields(model) <= named(rows[name][0]), (name, rows[name][0])
