"""Every payload of the ``/school`` namespace, both ways, validated (docs/protocol.md).

The same shape as signaling/protocol.py for ``/class``: ``CLIENT_EVENTS`` (event name ->
payload model and ack model) and ``SERVER_EVENTS``; a test checks the document against them.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from signaling.protocol import ClientEvent, Ok, Out, Payload, Quality, UserId

# Up to the end of a long day: "until the end of the day" is chosen by the page in the
# person's own time zone and sent as minutes.
MAX_MINUTES = 24 * 60
RowId = Annotated[int, Field(ge=1, le=2**31 - 1)]  # a row's id, as the database keeps it


# -- client to server --------------------------------------------------------------------


class SubstituteOffer(Payload):
    """Available to substitute for ``minutes`` from now; 0 withdraws the offer."""

    minutes: Annotated[int, Field(ge=0, le=MAX_MINUTES)]


class AlertReassign(Payload):
    """Give the alert's class to this tutor."""

    alert_id: RowId
    tutor_id: UserId


class AlertDismiss(Payload):
    alert_id: RowId


# -- server to client --------------------------------------------------------------------


class PersonOnline(Out):
    user_id: int
    name: str
    online: bool
    last_seen: str | None  # when they last had Kelas open (now while online); None: never


class ParticipantNow(Out):
    user_id: int
    name: str
    role: Literal["tutor", "student", "observer"]
    quality: Quality | None  # from their RTCP receiver reports; None until measured


class ClassInProgress(Out):
    lesson_id: int
    topic: str
    starts_at: str
    ends_at: str
    tutor: PersonOnline | None  # the assigned tutor; online = in Kelas anywhere
    tutor_present: bool  # the assigned tutor is in the class room
    participants: list[ParticipantNow]


class Unready(Out):
    """Someone of a class about to start whose setup is not shown to work: their newest
    setup check ``failed``, is ``stale`` (older than the school's limit), or they ``never``
    ran one (classroom/readiness.py). ``checked_at``: their newest check, if any."""

    user_id: int
    name: str
    role: Literal["tutor", "student"]
    standing: Literal["failed", "stale", "never"]
    checked_at: str | None


class ClassStarting(Out):
    lesson_id: int
    topic: str
    starts_at: str
    tutor: PersonOnline | None
    tutor_nudged: bool  # the tutor was not online before the start and was reminded
    students: list[PersonOnline]
    unready: list[Unready]  # the tutor first, then the students, by name


class TutorNow(Out):
    user_id: int
    name: str
    online: bool
    lesson_id: int | None  # the class room they are in
    substitute_until: str | None  # available to substitute until then


class SubstituteNow(Out):
    """A tutor who could take an alert's class, and why they rank where they do."""

    user_id: int
    name: str
    online: bool
    substitute_until: str | None  # offered to substitute until then
    qualified: bool  # has taught this level
    available: bool  # within their weekly availability
    load: int  # classes they teach in the week around this one


class AlertNow(Out):
    """A class whose tutor is missing: ``late`` (not in the room after the start) or
    ``dropped`` (left mid-class and not back). Newest first in ``SchoolState.alerts``."""

    alert_id: int
    kind: Literal["late", "dropped"]
    lesson_id: int
    topic: str
    starts_at: str
    tutor: str | None  # the missing tutor's name; None: no tutor was assigned
    raised_at: str
    substitutes: list[SubstituteNow]


class SchoolState(Out):
    """The coordinator's live view: ``now`` is the server's clock, for elapsed times."""

    now: str
    in_progress: list[ClassInProgress]
    starting: list[ClassStarting]
    tutors: list[TutorNow]
    alerts: list[AlertNow]


class Called(Out):
    """To a tutor on any page: a coordinator has just given them a class that is on now."""

    lesson_id: int
    topic: str
    starts_at: str
    join_url: str
    message: str  # in the tutor's language: "You are now teaching …"
    action: str  # the link's label: "Join the class"


class StateAck(Ok):
    state: SchoolState


class OfferAck(Ok):
    until: str | None


CLIENT_EVENTS: dict[str, ClientEvent] = {
    "school:state": ClientEvent(None, StateAck),
    "substitute:offer": ClientEvent(SubstituteOffer, OfferAck),
    "alert:reassign": ClientEvent(AlertReassign, Ok),
    "alert:dismiss": ClientEvent(AlertDismiss, Ok),
}

SERVER_EVENTS: dict[str, type[Out]] = {
    "school:state": SchoolState,
    "school:called": Called,
}
