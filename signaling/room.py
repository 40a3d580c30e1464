"""A live class's state and its rules, in one place.

Every method checks and changes state without awaiting, so that asyncio cannot interleave
two changes (the event loop is the lock). Each transition returns a ``Change``: what it
changed, and so what must follow (who is told what, whether media gating or slots move, whose
send plan changed, who left and why). The namespace applies a Change in one place, after the
method returns. Time is passed in, never read here.

What must outlive the process (hands, the tutor's blocks, spotlight, lock, who is in the room,
an ended class) is exported by ``Room.kept`` and restored by ``Room.restored``; the namespace
writes and reads it (classroom/room_state.py).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Literal

from classroom.errors import Conflict, NotFound, PermissionDenied, TooLate
from classroom.live import Admission, LiveRole
from classroom.room_state import Blocks, KeptRoom
from classroom.speaking import Spoken
from signaling import protocol
from signaling.speaking import Meter, Rules

Kind = Literal["audio", "video", "screen"]
# Why a connection leaves the room: its socket closed, the same person connected again, the
# tutor removed them, or the class ended.
Reason = Literal["left", "replaced", "removed", "ended"]
# What the tutor's controls tell the student concerned (server-to-client events).
Notice = Literal[
    "you:muted",
    "you:may_unmute",
    "you:unmute_requested",
    "you:camera_off",
    "you:may_use_camera",
]


@dataclass
class Participant:
    user_id: int
    name: str
    role: LiveRole
    sid: str
    mic: bool = False
    cam: bool = False
    screen: bool = False
    mic_blocked: bool = False  # the tutor muted them and has not allowed them back
    cam_blocked: bool = False  # the tutor turned their camera off
    unmute_requested: bool = False
    speaking: bool = False
    quality: protocol.Quality | None = None  # their connection, as the SFU last measured it
    receive_video: bool = True  # False: they chose to receive audio only

    def public(self) -> protocol.ParticipantView:
        return protocol.ParticipantView(
            user_id=self.user_id,
            name=self.name,
            role=self.role.value,
            mic=self.mic,
            cam=self.cam,
            screen=self.screen,
            mic_blocked=self.mic_blocked,
            cam_blocked=self.cam_blocked,
            speaking=self.speaking,
            quality=self.quality,
        )


@dataclass(frozen=True)
class Departure:
    """A connection that leaves the room. For ``replaced`` the person stays (on their new
    connection); for the other reasons they are gone from the room."""

    person: Participant
    sid: str
    reason: Reason


@dataclass
class Change:
    """What one transition changed. Empty means nothing to do."""

    joined: Participant | None = None  # a new person: everyone else hears of them
    updated: list[Participant] = field(default_factory=list)  # their public state changed
    told: list[tuple[Participant, Notice]] = field(default_factory=list)  # a private word
    departures: list[Departure] = field(default_factory=list)
    media: bool = False  # forwarding gates or publishers changed: re-gate, re-point slots
    plans: list[Participant] = field(default_factory=list)  # their send plan changed
    room: bool = False  # spotlight or lock changed
    hands: bool = False  # the queue of raised hands changed
    ended: bool = False

    def __add__(self, other: Change) -> Change:
        return Change(
            joined=self.joined or other.joined,
            updated=_unique(self.updated + other.updated),
            told=self.told + other.told,
            departures=self.departures + other.departures,
            media=self.media or other.media,
            plans=_unique(self.plans + other.plans),
            room=self.room or other.room,
            hands=self.hands or other.hands,
            ended=self.ended or other.ended,
        )


def _unique(people: list[Participant]) -> list[Participant]:
    return list({id(p): p for p in people}.values())


@dataclass(frozen=True)
class SendPlan:
    """What a participant's browser should send, set through RTCRtpSender.setParameters."""

    max_bitrate: int
    width: int
    height: int
    framerate: int = 30
    # A camera's small simulcast layer (half the size; 0: it has none), sent only while
    # ``small``: while some subscriber whose link is thin needs it (media/simulcast.py).
    low_bitrate: int = 0
    low_framerate: int = 15
    small: bool = False

    def public(self) -> protocol.PlanView:
        return protocol.PlanView(
            max_bitrate=self.max_bitrate,
            low_bitrate=self.low_bitrate if self.small else 0,
            low_framerate=self.low_framerate,
            width=self.width,
            height=self.height,
            framerate=self.framerate,
        )


@dataclass(frozen=True)
class Plans:
    """A publisher's plans: their camera and (the tutor's) screen."""

    camera: SendPlan
    screen: SendPlan

    def public(self) -> protocol.MediaPlan:
        return protocol.MediaPlan(camera=self.camera.public(), screen=self.screen.public())


LARGE = SendPlan(max_bitrate=1_000_000, width=640, height=480, low_bitrate=200_000)
SMALL = SendPlan(max_bitrate=300_000, width=320, height=240, framerate=24)
SCREEN = SendPlan(max_bitrate=1_500_000, width=1280, height=720, framerate=15)


@dataclass
class Room:
    lesson_id: int
    topic: str
    capacity: int
    participants: dict[int, Participant] = field(default_factory=dict)
    hands: list[int] = field(default_factory=list)
    spotlight: int | None = None
    # Who spoke, the most recent first: the last few are the videos a person on a thin link
    # still gets (signaling/media/budget.py).
    speakers: list[int] = field(default_factory=list)
    locked: bool = False
    ended: bool = False
    removed: set[int] = field(default_factory=set)
    # What the tutor imposed on someone who dropped off: a reconnect does not lift a mute.
    restrictions: dict[int, tuple[bool, bool]] = field(default_factory=dict)
    tutor_name: str | None = None  # the assigned tutor, as of the latest admission
    tutor_away: bool = False  # the tutor was here and their connection dropped
    # Raised hands kept from the class's previous home, in their order, until each is lowered
    # or its person leaves: someone not back yet keeps their place in the queue. Those back
    # are the head of ``hands``, in this order.
    carried: list[int] = field(default_factory=list)
    # Who was in the room when its previous home stopped: a lock does not keep them out.
    returning: set[int] = field(default_factory=set)
    # Who speaks how much (signaling/speaking.py): fed by the SFU, told of arrivals and
    # departures by the namespace, kept apart from ``kept`` (classroom/speaking.py).
    meter: Meter = field(default_factory=Meter, repr=False, compare=False)
    _kept: KeptRoom | None = field(default=None, repr=False, compare=False)

    @classmethod
    def restored(
        cls,
        admission: Admission,
        kept: KeptRoom,
        rules: Rules | None = None,
        spoken: tuple[Spoken, ...] = (),
    ) -> Room:
        """The room of a class opened (again) in this process, from what it kept. Nobody is
        in it yet: each person gets their blocks and their place in the queue back on
        returning, and the speaking figures go on from those kept."""
        room = cls(
            admission.lesson_id,
            admission.topic,
            admission.capacity,
            spotlight=kept.spotlight,
            locked=kept.locked,
            ended=kept.ended,
            restrictions={u: (b.mic, b.cam) for u, b in kept.restrictions.items()},
            carried=list(kept.hands),
            returning=set(kept.present),
            tutor_name=admission.tutor_name,
            # The tutor was in the room when its previous home stopped: they are on their way
            # back, not late.
            tutor_away=admission.tutor_id is not None and admission.tutor_id in kept.present,
            meter=Meter(rules),
        )
        room.meter.restore(spoken)
        room._kept = room.kept()
        return room

    # -- arriving and leaving -----------------------------------------------------------

    def join(self, admission: Admission, sid: str) -> tuple[Participant, Change]:
        """Admit a participant, or take them back after a reconnect: the same person keeps
        their state and only their connection changes (the old one departs, "replaced")."""
        if self.ended:
            raise TooLate("The tutor has ended this class.")
        self.tutor_name = admission.tutor_name  # a coordinator may have given it to another
        if admission.user_id in self.removed:
            raise PermissionDenied("The tutor removed you from this class.")
        present = self.participants.get(admission.user_id)
        if present is not None:
            replaced, present.sid = present.sid, sid
            return present, Change(departures=[Departure(present, replaced, "replaced")])
        returning = admission.user_id in self.returning
        if self.locked and admission.role == LiveRole.STUDENT and not returning:
            raise PermissionDenied("The tutor has locked the room.")
        self.returning.discard(admission.user_id)
        participant = Participant(admission.user_id, admission.name, admission.role, sid)
        mic_blocked, cam_blocked = self.restrictions.pop(admission.user_id, (False, False))
        participant.mic_blocked, participant.cam_blocked = mic_blocked, cam_blocked
        self.participants[admission.user_id] = participant
        change = Change(joined=participant, media=True)
        if participant.role == LiveRole.TUTOR:
            self.tutor_away = False
            change.room = True  # the students stop waiting
        if admission.user_id in self.carried:
            ahead = self.carried[: self.carried.index(admission.user_id)]
            self.hands.insert(sum(u in self.hands for u in ahead), admission.user_id)
            change.hands = True
        return participant, change

    def leave(self, user_id: int, sid: str) -> Change:
        """Forget a participant whose connection closed, unless they already came back on
        another connection (then nothing changes)."""
        present = self.participants.get(user_id)
        if present is None or present.sid != sid:
            return Change()
        return self._forget(present, "left")

    def _forget(self, person: Participant, reason: Reason) -> Change:
        del self.participants[person.user_id]
        if person.mic_blocked or person.cam_blocked:
            self.restrictions[person.user_id] = (person.mic_blocked, person.cam_blocked)
        change = Change(departures=[Departure(person, person.sid, reason)], media=True)
        if person.role == LiveRole.TUTOR:
            self.tutor_away = reason == "left"
            change.room = True  # "Your tutor is reconnecting"
        change.hands = self._drop_hand(person.user_id)
        self.speakers = [u for u in self.speakers if u != person.user_id]
        if self.spotlight == person.user_id:
            self.spotlight = None
            change.room = True
        return change

    @property
    def empty(self) -> bool:
        return not self.participants

    # -- the participant's own media and hand -------------------------------------------

    def set_media(self, user_id: int, *, mic: bool, cam: bool, screen: bool) -> Change:
        me = self.member(user_id)
        if me.role == LiveRole.OBSERVER and (mic or cam or screen):
            raise PermissionDenied("Observers watch silently.")
        if mic and not me.mic and me.mic_blocked:
            raise PermissionDenied("The tutor has muted you. Raise your hand to ask to speak.")
        if cam and not me.cam and me.cam_blocked:
            raise PermissionDenied("The tutor has turned your camera off.")
        if screen and me.role != LiveRole.TUTOR:
            raise PermissionDenied("Only the tutor can share a screen.")
        if (me.mic, me.cam, me.screen) == (mic, cam, screen):
            return Change()
        me.mic, me.cam, me.screen = mic, cam, screen
        if not mic:
            me.speaking = False
        return Change(updated=[me], media=True)

    def may_chat(self, user_id: int) -> None:
        if self.member(user_id).role == LiveRole.OBSERVER:
            raise PermissionDenied("Observers watch silently.")

    def raise_hand(self, user_id: int) -> Change:
        me = self.member(user_id)
        if me.role != LiveRole.STUDENT:
            raise PermissionDenied("Only students raise their hands.")
        if user_id in self.hands:
            return Change()
        self.hands.append(user_id)
        return Change(hands=True)

    def lower_hand(self, actor: int, target: int) -> Change:
        if actor != target:
            self.require_tutor(actor)
        self.member(actor)
        return Change(hands=self._drop_hand(target))

    def _drop_hand(self, user_id: int) -> bool:
        """Lower someone's hand, kept or raised here; True when the queue shown changed."""
        if user_id in self.carried:
            self.carried.remove(user_id)
        if user_id not in self.hands:
            return False
        self.hands.remove(user_id)
        return True

    def lower_all_hands(self, actor: int) -> Change:
        self.require_tutor(actor)
        lowered = bool(self.hands)
        self.hands.clear()
        self.carried.clear()
        return Change(hands=lowered)

    def accept_unmute(self, user_id: int) -> Change:
        me = self.member(user_id)
        if not me.unmute_requested:
            raise Conflict("The tutor has not asked you to unmute.")
        me.unmute_requested = me.mic_blocked = False
        me.mic = True
        return Change(updated=[me], media=True)

    def set_speaking(self, user_id: int, speaking: bool) -> bool:
        """Record who speaks (from audio levels); True when it changed."""
        me = self.participants.get(user_id)
        if (
            me is None
            or me.speaking == speaking
            or (speaking and not self.forwards(user_id, "audio"))
        ):
            return False
        me.speaking = speaking
        if speaking:
            self.speakers = [user_id, *(u for u in self.speakers if u != user_id)]
        return True

    def set_receive(self, user_id: int, video: bool) -> Change:
        """Receive video, or audio only (anyone may, observers too)."""
        me = self.member(user_id)
        if me.receive_video == video:
            return Change()
        me.receive_video = video
        return Change(media=True)

    def set_quality(self, user_id: int, quality: protocol.Quality) -> Participant | None:
        """Record a participant's measured connection; returns them, or None if they are
        not here (any more)."""
        me = self.participants.get(user_id)
        if me is not None:
            me.quality = quality
        return me

    # -- tutor controls -----------------------------------------------------------------

    def require_tutor(self, user_id: int) -> Participant:
        me = self.member(user_id)
        if me.role != LiveRole.TUTOR:
            raise PermissionDenied("Only the tutor can do this.")
        return me

    def student(self, user_id: int) -> Participant:
        target = self.participants.get(user_id)
        if target is None or target.role != LiveRole.STUDENT:
            raise NotFound("That student is not in the class.")
        return target

    def mute(self, actor: int, target: int) -> Change:
        self.require_tutor(actor)
        student = self.student(target)
        student.mic = student.speaking = student.unmute_requested = False
        student.mic_blocked = True
        return Change(updated=[student], told=[(student, "you:muted")], media=True)

    def mute_all(self, actor: int) -> Change:
        self.require_tutor(actor)
        change = Change()
        for person in list(self.participants.values()):
            if person.role == LiveRole.STUDENT:
                change += self.mute(actor, person.user_id)
        return change

    def allow_unmute(self, actor: int, target: int) -> Change:
        """Let the student unmute themselves when they wish (nothing is forwarded yet)."""
        self.require_tutor(actor)
        student = self.student(target)
        student.mic_blocked = False
        return Change(updated=[student], told=[(student, "you:may_unmute")])

    def request_unmute(self, actor: int, target: int) -> Change:
        """Ask the student to unmute; their microphone opens only if they accept."""
        self.require_tutor(actor)
        student = self.student(target)
        student.unmute_requested = True
        return Change(told=[(student, "you:unmute_requested")])

    def camera_off(self, actor: int, target: int) -> Change:
        self.require_tutor(actor)
        student = self.student(target)
        student.cam, student.cam_blocked = False, True
        return Change(updated=[student], told=[(student, "you:camera_off")], media=True)

    def allow_camera(self, actor: int, target: int) -> Change:
        self.require_tutor(actor)
        student = self.student(target)
        student.cam_blocked = False
        return Change(updated=[student], told=[(student, "you:may_use_camera")])

    def set_spotlight(self, actor: int, target: int | None) -> Change:
        """Show one student large to everyone (their camera plan grows), or nobody."""
        self.require_tutor(actor)
        if target is not None:
            self.student(target)
        if target == self.spotlight:
            return Change()
        moved = [self.participants[u] for u in (self.spotlight, target) if u in self.participants]
        self.spotlight = target
        return Change(room=True, plans=moved)

    def remove(self, actor: int, target: int) -> Change:
        """Send a student out; they cannot come back to this class."""
        self.require_tutor(actor)
        student = self.student(target)
        self.removed.add(target)
        return self._forget(student, "removed")

    def lock(self, actor: int, locked: bool) -> Change:
        self.require_tutor(actor)
        if locked == self.locked:
            return Change()
        self.locked = locked
        return Change(room=True)

    def end(self, actor: int) -> Change:
        self.require_tutor(actor)
        self.ended = True
        departures = [Departure(p, p.sid, "ended") for p in self.participants.values()]
        self.participants.clear()
        self.hands.clear()
        self.carried.clear()
        return Change(departures=departures, ended=True, media=True)

    # -- what the media layer should do -------------------------------------------------

    def forwards(self, user_id: int, kind: Kind) -> bool:
        """Whether the server forwards this participant's media of ``kind`` to the others."""
        me = self.participants.get(user_id)
        if me is None or me.role == LiveRole.OBSERVER:
            return False
        if kind == "audio":
            return me.mic and not me.mic_blocked
        if kind == "video":
            return me.cam and not me.cam_blocked
        return me.screen and me.role == LiveRole.TUTOR

    def send_plan(self, user_id: int, small: bool = False) -> Plans:
        """What ``user_id`` sends; ``small``: the small layer of their camera (if it has
        one) is wanted by someone."""
        me = self.member(user_id)
        large = me.role == LiveRole.TUTOR or self.spotlight == user_id
        camera = replace(LARGE, small=small) if large else SMALL
        return Plans(camera=camera, screen=SCREEN)

    def publishers(self) -> list[Participant]:
        """Everyone whose media others receive, the tutor first."""
        people = [p for p in self.participants.values() if p.role != LiveRole.OBSERVER]
        return sorted(people, key=lambda p: (p.role != LiveRole.TUTOR, p.user_id))

    # -- views --------------------------------------------------------------------------

    def member(self, user_id: int) -> Participant:
        me = self.participants.get(user_id)
        if me is None:
            raise PermissionDenied("You are not in this class.")
        return me

    def snapshot(self) -> protocol.RoomSnapshot:
        return protocol.RoomSnapshot(
            lesson_id=self.lesson_id,
            topic=self.topic,
            participants=[p.public() for p in self.participants.values()],
            hands=list(self.hands),
            spotlight=self.spotlight,
            locked=self.locked,
            ended=self.ended,
            tutor=self.tutor(),
        )

    def state(self) -> protocol.RoomState:
        return protocol.RoomState(spotlight=self.spotlight, locked=self.locked, tutor=self.tutor())

    def tutor(self) -> protocol.TutorView:
        if any(p.role == LiveRole.TUTOR for p in self.participants.values()):
            state: Literal["present", "awaited", "reconnecting"] = "present"
        else:
            state = "reconnecting" if self.tutor_away else "awaited"
        return protocol.TutorView(name=self.tutor_name, state=state)

    # -- what outlives the process ------------------------------------------------------

    def kept(self) -> KeptRoom:
        """The part of this room that a restart or a failover must not lose."""
        blocks = {u: Blocks(mic=mic, cam=cam) for u, (mic, cam) in self.restrictions.items()}
        for p in self.participants.values():
            if p.mic_blocked or p.cam_blocked:
                blocks[p.user_id] = Blocks(mic=p.mic_blocked, cam=p.cam_blocked)
        return KeptRoom(
            hands=(*self.carried, *(u for u in self.hands if u not in self.carried)),
            restrictions=dict(sorted(blocks.items())),
            spotlight=self.spotlight,
            locked=self.locked,
            present=tuple(sorted(self.participants.keys() | self.returning)),
            ended=self.ended,
        )

    def unkept(self) -> KeptRoom | None:
        """``kept()`` when it changed since the last call (or since the room was restored),
        else None: most changes (media, speaking) leave it as it was."""
        kept = self.kept()
        if kept == self._kept:
            return None
        self._kept = kept
        return kept


class Rooms:
    """The live rooms this process hosts."""

    def __init__(self, speaking: Rules | None = None) -> None:
        self._rooms: dict[int, Room] = {}
        self.speaking = speaking or Rules()  # each room's speaking meter and its prompts

    def open(self, admission: Admission, kept: KeptRoom, spoken: tuple[Spoken, ...] = ()) -> Room:
        """The class's room, restored from ``kept`` and ``spoken`` unless it is open already."""
        room = self._rooms.get(admission.lesson_id)
        if room is None:
            room = Room.restored(admission, kept, self.speaking, spoken)
            self._rooms[admission.lesson_id] = room
        return room

    def get(self, lesson_id: int) -> Room | None:
        return self._rooms.get(lesson_id)

    def forget_if_empty(self, room: Room) -> None:
        """An empty room is dropped; an ended one stays to refuse late rejoins."""
        if room.empty and not room.ended and self._rooms.get(room.lesson_id) is room:
            del self._rooms[room.lesson_id]

    def all(self) -> list[Room]:
        return list(self._rooms.values())
