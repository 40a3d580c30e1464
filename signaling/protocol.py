"""Every payload of the live-class protocol, both ways, validated (docs/protocol.md).

Client to server: the payload models, and ``CLIENT_EVENTS`` (event name -> payload model and
ack model). Server to client: the emitted models, and ``SERVER_EVENTS``. A test checks
docs/protocol.md against these two tables, so the document cannot drift from the code.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from classroom.schemas import MultiLine, OneLine

MAX_SDP = 100_000
MAX_SEQ = 2**31 - 1  # chat sequence numbers are 32-bit integers in the database
UserId = Annotated[int, Field(ge=1, le=2**31 - 1)]
ICE_UFRAG = r"^[A-Za-z0-9+/]{4,256}$"  # ice-char (RFC 8839 section 5.4)


class Payload(BaseModel):
    # Strict: a number is a number and a flag a flag (no True for 1, no "1" for 1).
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


# -- client to server --------------------------------------------------------------------


class Empty(Payload):
    """The payload of an event that takes none: nothing, or an empty object."""


class Join(Payload):
    """The ``auth`` of the Socket.IO connection."""

    lesson_id: UserId


class ChatSend(Payload):
    text: Annotated[
        str,
        StringConstraints(strip_whitespace=True, min_length=1, max_length=2000),
        MultiLine,  # no NUL or other control characters, as in every text a person types
    ]
    # Chosen by the page for each message it types: sending it again (after an `unavailable`
    # answer or a reconnect) never stores it twice.
    key: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_-]{8,64}$")] | None = None


class ChatSince(Payload):
    after: Annotated[int, Field(ge=0, le=MAX_SEQ)]


class MediaState(Payload):
    mic: bool
    cam: bool
    screen: bool = False


class Receive(Payload):
    """What this participant wants to receive: ``video`` false is audio only."""

    video: bool


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
    """A trickled ICE candidate, as the browser's ``RTCIceCandidate.toJSON()`` gives it: an
    empty ``candidate`` is the end of candidates; ``usernameFragment`` names the offer (its
    ``a=ice-ufrag``) that the candidate belongs to."""

    candidate: Annotated[
        str, StringConstraints(max_length=1000, pattern=r"^(candidate:.+)?$"), OneLine
    ]
    sdpMid: Annotated[str, StringConstraints(max_length=64), OneLine] | None = None  # noqa: N815
    sdpMLineIndex: Annotated[int, Field(ge=0, le=255)] | None = None  # noqa: N815
    usernameFragment: Annotated[str, StringConstraints(pattern=ICE_UFRAG)] | None = None  # noqa: N815

    @model_validator(mode="after")
    def _placed(self) -> Candidate:
        # As RTCPeerConnection.addIceCandidate: a candidate names its media section.
        if self.candidate and self.sdpMid is None and self.sdpMLineIndex is None:
            raise ValueError("a candidate needs sdpMid or sdpMLineIndex")
        return self


NoteText = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500), OneLine
]
NoteKind = Literal["correction", "word", "pronunciation"]


def _better_for_corrections(kind: str, better: str | None) -> None:
    if (kind == "correction") != (better is not None):
        raise ValueError("a correction, and only a correction, has `better`")


class NoteAdd(Payload):
    """The tutor's note: ``student_id`` one booked student, or null for everyone; for a
    correction, ``text`` is what was said and ``better`` a better way to say it."""

    kind: NoteKind
    student_id: UserId | None = None
    text: NoteText
    better: NoteText | None = None

    @model_validator(mode="after")
    def _shaped(self) -> NoteAdd:
        _better_for_corrections(self.kind, self.better)
        return self


class NoteEdit(Payload):
    """New words for one of the tutor's notes (``better`` as the note's kind wants it)."""

    id: UserId
    text: NoteText
    better: NoteText | None = None


class NoteRef(Payload):
    id: UserId


# -- server to client --------------------------------------------------------------------


class Out(BaseModel):
    """A server-to-client payload; emitted as ``model_dump(mode="json")``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    def wire(self) -> dict[str, Any]:
        return self.model_dump(mode="json")


class Nothing(Out):
    pass


Grade = Literal["good", "fair", "poor"]


class Quality(Out):
    """A participant's connection as the server measures it from the RTCP receiver reports
    their browser sends (signaling/media/quality.py, where the grades are defined)."""

    grade: Grade
    rtt_ms: int | None  # the round trip between the server and them; None until measured
    loss: float  # the share of packets to them that stayed lost, 0..1, smoothed


class ParticipantView(Out):
    user_id: int
    name: str
    role: Literal["tutor", "student", "observer"]
    mic: bool
    cam: bool
    screen: bool
    mic_blocked: bool
    cam_blocked: bool
    speaking: bool
    quality: Quality | None  # None until measured


class ParticipantQuality(Quality):
    user_id: int


class Left(Out):
    user_id: int
    reason: Literal["left", "removed"]


class Speaking(Out):
    user_id: int
    speaking: bool


class Hands(Out):
    hands: list[int]


class TutorView(Out):
    """The class's tutor as the room sees them: ``present``; ``awaited`` (not here yet: the
    page says "Your tutor is on the way"); ``reconnecting`` (they were here and their
    connection dropped). ``name``: the assigned tutor, None while nobody is assigned."""

    name: str | None
    state: Literal["present", "awaited", "reconnecting"]


class TutorChanged(Out):
    """A coordinator gave the class to another tutor ("Your tutor today is …")."""

    name: str


class RoomState(Out):
    spotlight: int | None
    locked: bool
    tutor: TutorView


class RoomSnapshot(Out):
    lesson_id: int
    topic: str
    participants: list[ParticipantView]
    hands: list[int]
    spotlight: int | None
    locked: bool
    ended: bool
    tutor: TutorView


class NoteView(Out):
    """A note of the tutor's; ``student_id`` null: for everyone."""

    id: int
    kind: NoteKind
    student_id: int | None
    text: str
    better: str | None
    at: str


class NoteDeleted(Out):
    id: int


class ChatMessage(Out):
    seq: int
    user_id: int
    name: str
    text: str
    at: str


class Layout(Out):
    """Which slot shows whom: ``slots`` maps a slot index (as a string) to a publisher.
    ``paused``: the people whose camera is not sent to this person now (their downlink
    budget, or their choice of audio only; docs/protocol.md, "Downlink budget");
    ``screen_paused``: the same for the shared screen."""

    slots: dict[str, int]
    screen: int | None
    paused: list[int] = []
    screen_paused: bool = False


class PlanView(Out):
    max_bitrate: int
    low_bitrate: int
    low_framerate: int
    width: int
    height: int
    framerate: int


class MediaPlan(Out):
    camera: PlanView
    screen: PlanView


class MediaFailed(Out):
    reason: str
    message: str


class Refusal(Out):
    """The data of a refused connection (``connect_error``)."""

    code: str
    message: str
    retry_after: float | None = None
    home: str | None = None  # with unavailable: the process that hosts the class


class ErrorBody(Out):
    code: str
    message: str
    retry_after: float | None = None  # with rate_limited: seconds before trying again


class ErrorAck(Out):
    error: ErrorBody


class Ok(Out):
    ok: Literal[True] = True


class StunServer(Out):
    urls: list[str]


class TurnServer(Out):
    """A TURN server with this join's credentials (signaling/ice.py): they expire."""

    urls: list[str]
    username: str
    credential: str


IceServer = StunServer | TurnServer


class HelloMedia(Out):
    ice_servers: list[IceServer]
    ice_transport_policy: Literal["all", "relay"]
    slots: int
    plan: MediaPlan


class HelloAck(Ok):
    room: RoomSnapshot
    me: ParticipantView
    chat: list[ChatMessage]
    notes: list[NoteView]  # what this person may read: a student their own and the shared
    media: HelloMedia


class SentAck(Ok):
    seq: int


class MessagesAck(Ok):
    messages: list[ChatMessage]


class NoteAck(Ok):
    note: NoteView


class AnswerAck(Ok):
    type: Literal["answer"]
    sdp: str
    slots: int


class SpeakingPerson(Out):
    """One person's speaking in this class so far (signaling/speaking.py). ``share``: a
    student's part of the students' speaking time, the tutor's part of all of it (0 to 1);
    ``fair_share``: 1 / the students who came (None for the tutor); ``silence``: how long a
    student present has not spoken now; ``longest_silence``: the longest so far."""

    user_id: int
    name: str
    role: Literal["tutor", "student"]
    here: bool
    seconds: float
    turns: int
    share: float
    fair_share: float | None
    longest_silence: float
    silence: float


class SpeakingAck(Ok):
    """The speaking view: for the tutor (and observers) everyone, for a student only
    themselves (and no totals: they are null)."""

    tutor_seconds: float | None
    student_seconds: float | None
    tutor_window_share: float | None  # of the last window_seconds; null until one passed
    window_seconds: float
    people: list[SpeakingPerson]


class SpeakingPrompt(Out):
    """A prompt for the tutor: ``silent`` (a student has not spoken for ``seconds``) or
    ``tutor_share`` (the tutor spoke ``share`` of the last ``seconds``)."""

    kind: Literal["silent", "tutor_share"]
    user_id: int | None
    name: str | None
    seconds: float
    share: float | None


@dataclass(frozen=True)
class ClientEvent:
    payload: type[Payload] | None
    ack: type[Ok]


CLIENT_EVENTS: dict[str, ClientEvent] = {
    "hello": ClientEvent(ChatSince, HelloAck),
    "chat:send": ClientEvent(ChatSend, SentAck),
    "chat:since": ClientEvent(ChatSince, MessagesAck),
    "media:offer": ClientEvent(Offer, AnswerAck),
    "media:candidate": ClientEvent(Candidate, Ok),
    "media:state": ClientEvent(MediaState, Ok),
    "media:receive": ClientEvent(Receive, Ok),
    "hand:raise": ClientEvent(None, Ok),
    "hand:lower": ClientEvent(OptionalTarget, Ok),
    "hand:lower_all": ClientEvent(None, Ok),
    "unmute:accept": ClientEvent(None, Ok),
    "control:mute": ClientEvent(Target, Ok),
    "control:mute_all": ClientEvent(None, Ok),
    "control:allow_unmute": ClientEvent(Target, Ok),
    "control:request_unmute": ClientEvent(Target, Ok),
    "control:camera_off": ClientEvent(Target, Ok),
    "control:allow_camera": ClientEvent(Target, Ok),
    "control:spotlight": ClientEvent(OptionalTarget, Ok),
    "control:remove": ClientEvent(Target, Ok),
    "control:lock": ClientEvent(Lock, Ok),
    "control:end": ClientEvent(None, Ok),
    "note:add": ClientEvent(NoteAdd, NoteAck),
    "note:edit": ClientEvent(NoteEdit, NoteAck),
    "note:delete": ClientEvent(NoteRef, Ok),
    "speaking:get": ClientEvent(None, SpeakingAck),
}

SERVER_EVENTS: dict[str, type[Out]] = {
    "participant:joined": ParticipantView,
    "participant:updated": ParticipantView,
    "participant:left": Left,
    "participant:speaking": Speaking,
    "participant:quality": ParticipantQuality,
    "hands": Hands,
    "room:updated": RoomState,
    "room:ended": Nothing,
    "room:tutor": TutorChanged,
    "chat:message": ChatMessage,
    "note:added": NoteView,
    "note:edited": NoteView,
    "note:deleted": NoteDeleted,
    "media:slots": Layout,
    "media:plan": MediaPlan,
    "media:failed": MediaFailed,
    "you:muted": Nothing,
    "you:may_unmute": Nothing,
    "you:unmute_requested": Nothing,
    "you:camera_off": Nothing,
    "you:may_use_camera": Nothing,
    "you:removed": Nothing,
    "speaking:prompt": SpeakingPrompt,
}
