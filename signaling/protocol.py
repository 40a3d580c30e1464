"""Every client-to-server payload of the live-class protocol, validated (docs/protocol.md)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

MAX_SDP = 100_000
UserId = Annotated[int, Field(ge=1, le=2**31 - 1)]


class Payload(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Join(Payload):
    """The ``auth`` of the Socket.IO connection."""

    lesson_id: UserId


class ChatSend(Payload):
    text: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000)]


class ChatSince(Payload):
    after: Annotated[int, Field(ge=0)]


class MediaState(Payload):
    mic: bool
    cam: bool
    screen: bool = False


class Target(Payload):
    user_id: UserId


class OptionalTarget(Payload):
    user_id: UserId | None = None


class Lock(Payload):
    locked: bool


class Offer(Payload):
    type: Literal["offer"]
    sdp: Annotated[str, StringConstraints(min_length=10, max_length=MAX_SDP)]


class Candidate(Payload):
    candidate: Annotated[str, StringConstraints(max_length=1000)]
    sdpMid: Annotated[str, StringConstraints(max_length=64)] | None = None  # noqa: N815
    sdpMLineIndex: Annotated[int, Field(ge=0, le=255)] | None = None  # noqa: N815
