"""A live class's state and its rules, in one place.

Every method checks and changes state without awaiting, so that asyncio cannot interleave
two changes (the event loop is the lock). Effects (emits, media changes) are the caller's job,
done after the method returns. Time is passed in, never read here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from classroom.errors import Conflict, NotFound, PermissionDenied, TooLate
from classroom.live import Admission, LiveRole

Kind = Literal["audio", "video", "screen"]


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

    def public(self) -> dict[str, Any]:
        return {
            "user_id": self.user_id,
            "name": self.name,
            "role": self.role.value,
            "mic": self.mic,
            "cam": self.cam,
            "screen": self.screen,
            "mic_blocked": self.mic_blocked,
            "cam_blocked": self.cam_blocked,
            "speaking": self.speaking,
        }


@dataclass
class SendPlan:
    """What a participant's browser should send, set through RTCRtpSender.setParameters."""

    max_bitrate: int
    width: int
    height: int
    framerate: int = 30

    def public(self) -> dict[str, int]:
        return {
            "max_bitrate": self.max_bitrate,
            "width": self.width,
            "height": self.height,
            "framerate": self.framerate,
        }


LARGE = SendPlan(max_bitrate=1_000_000, width=640, height=480)
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
    locked: bool = False
    ended: bool = False
    removed: set[int] = field(default_factory=set)
    # What the tutor imposed on someone who dropped off: a reconnect does not lift a mute.
    restrictions: dict[int, tuple[bool, bool]] = field(default_factory=dict)

    # -- arriving and leaving -----------------------------------------------------------

    def join(self, admission: Admission, sid: str) -> tuple[Participant, str | None]:
        """Admit a participant, or take them back after a reconnect: the same person keeps
        their state and only their connection changes. Returns the replaced connection."""
        if self.ended:
            raise TooLate("The tutor has ended this class.")
        if admission.user_id in self.removed:
            raise PermissionDenied("The tutor removed you from this class.")
        present = self.participants.get(admission.user_id)
        if present is not None:
            replaced, present.sid = present.sid, sid
            return present, replaced
        if self.locked and admission.role == LiveRole.STUDENT:
            raise PermissionDenied("The tutor has locked the room.")
        participant = Participant(admission.user_id, admission.name, admission.role, sid)
        mic_blocked, cam_blocked = self.restrictions.pop(admission.user_id, (False, False))
        participant.mic_blocked, participant.cam_blocked = mic_blocked, cam_blocked
        self.participants[admission.user_id] = participant
        return participant, None

    def leave(self, user_id: int, sid: str) -> bool:
        """Forget a participant, unless they already came back on another connection."""
        present = self.participants.get(user_id)
        if present is None or present.sid != sid:
            return False
        del self.participants[user_id]
        if present.mic_blocked or present.cam_blocked:
            self.restrictions[user_id] = (present.mic_blocked, present.cam_blocked)
        self._drop_hand(user_id)
        if self.spotlight == user_id:
            self.spotlight = None
        return True

    @property
    def empty(self) -> bool:
        return not self.participants

    # -- the participant's own media and hand -------------------------------------------

    def set_media(self, user_id: int, *, mic: bool, cam: bool, screen: bool) -> Participant:
        me = self.member(user_id)
        if me.role == LiveRole.OBSERVER and (mic or cam or screen):
            raise PermissionDenied("Observers watch silently.")
        if mic and not me.mic and me.mic_blocked:
            raise PermissionDenied("The tutor has muted you. Raise your hand to ask to speak.")
        if cam and not me.cam and me.cam_blocked:
            raise PermissionDenied("The tutor has turned your camera off.")
        if screen and me.role != LiveRole.TUTOR:
            raise PermissionDenied("Only the tutor can share a screen.")
        me.mic, me.cam, me.screen = mic, cam, screen
        if not mic:
            me.speaking = False
        return me

    def may_chat(self, user_id: int) -> None:
        if self.member(user_id).role == LiveRole.OBSERVER:
            raise PermissionDenied("Observers watch silently.")

    def raise_hand(self, user_id: int) -> None:
        me = self.member(user_id)
        if me.role != LiveRole.STUDENT:
            raise PermissionDenied("Only students raise their hands.")
        if user_id not in self.hands:
            self.hands.append(user_id)

    def lower_hand(self, actor: int, target: int) -> None:
        if actor != target:
            self.require_tutor(actor)
        self.member(actor)
        self._drop_hand(target)

    def accept_unmute(self, user_id: int) -> Participant:
        me = self.member(user_id)
        if not me.unmute_requested:
            raise Conflict("The tutor has not asked you to unmute.")
        me.unmute_requested = me.mic_blocked = False
        me.mic = True
        return me

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
        return True

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

    def mute(self, actor: int, target: int) -> Participant:
        self.require_tutor(actor)
        student = self.student(target)
        student.mic = student.speaking = student.unmute_requested = False
        student.mic_blocked = True
        return student

    def mute_all(self, actor: int) -> list[Participant]:
        self.require_tutor(actor)
        students = [p for p in self.participants.values() if p.role == LiveRole.STUDENT]
        return [self.mute(actor, p.user_id) for p in students]

    def allow_unmute(self, actor: int, target: int) -> Participant:
        """Let the student unmute themselves when they wish."""
        self.require_tutor(actor)
        student = self.student(target)
        student.mic_blocked = False
        return student

    def request_unmute(self, actor: int, target: int) -> Participant:
        """Ask the student to unmute; their microphone opens only if they accept."""
        self.require_tutor(actor)
        student = self.student(target)
        student.unmute_requested = True
        return student

    def camera_off(self, actor: int, target: int) -> Participant:
        self.require_tutor(actor)
        student = self.student(target)
        student.cam, student.cam_blocked = False, True
        return student

    def allow_camera(self, actor: int, target: int) -> Participant:
        self.require_tutor(actor)
        student = self.student(target)
        student.cam_blocked = False
        return student

    def set_spotlight(self, actor: int, target: int | None) -> None:
        self.require_tutor(actor)
        if target is not None:
            self.student(target)
        self.spotlight = target

    def remove(self, actor: int, target: int) -> Participant:
        """Send a student out; they cannot come back to this class."""
        self.require_tutor(actor)
        student = self.student(target)
        self.removed.add(target)
        self.leave(target, student.sid)
        return student

    def lock(self, actor: int, locked: bool) -> None:
        self.require_tutor(actor)
        self.locked = locked

    def end(self, actor: int) -> list[Participant]:
        self.require_tutor(actor)
        self.ended = True
        everyone = list(self.participants.values())
        self.participants.clear()
        self.hands.clear()
        return everyone

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

    def send_plan(self, user_id: int) -> dict[str, Any]:
        me = self.member(user_id)
        large = me.role == LiveRole.TUTOR or self.spotlight == user_id
        return {"camera": (LARGE if large else SMALL).public(), "screen": SCREEN.public()}

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

    def snapshot(self) -> dict[str, Any]:
        return {
            "lesson_id": self.lesson_id,
            "topic": self.topic,
            "participants": [p.public() for p in self.participants.values()],
            "hands": list(self.hands),
            "spotlight": self.spotlight,
            "locked": self.locked,
            "ended": self.ended,
        }

    def _drop_hand(self, user_id: int) -> None:
        if user_id in self.hands:
            self.hands.remove(user_id)


class Rooms:
    """The live rooms this process hosts."""

    def __init__(self) -> None:
        self._rooms: dict[int, Room] = {}

    def open(self, admission: Admission) -> Room:
        room = self._rooms.get(admission.lesson_id)
        if room is None:
            room = Room(admission.lesson_id, admission.topic, admission.capacity)
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
