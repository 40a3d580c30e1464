"""The live-class Socket.IO namespace: thin handlers over the room and the SFU.

Each handler validates its payload, applies one room rule (no await between check and
change), then does the effects: emits, media, durable records. Errors become
``{"error": {"code", "message"}}`` acks in the user's language; nothing a client sends can
crash the namespace.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from functools import wraps
from typing import Any, Concatenate, TypeVar

import socketio
from pydantic import BaseModel, ValidationError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from classroom import live
from classroom.errors import KelasError, NotAuthenticated, Notice, PermissionDenied
from classroom.models import User
from signaling import protocol
from signaling.media.sfu import Sfu
from signaling.presence import Presence
from signaling.room import Participant, Room, Rooms

log = logging.getLogger(__name__)
M = TypeVar("M", bound=BaseModel)
Ack = dict[str, Any]


@dataclass(frozen=True)
class LiveDeps:
    maker: async_sessionmaker[AsyncSession]
    clock: Callable[[], datetime]
    window: live.JoinWindow
    authenticate: Callable[[dict[str, Any]], Awaitable[User | None]]
    translate: Callable[[Notice, str], str]
    rooms: Rooms
    presence: Presence
    sfu: Sfu
    ice_servers: list[dict[str, Any]]
    process: str = "local"


@dataclass(frozen=True)
class Who:
    """What the Socket.IO session remembers of a connection."""

    user_id: int
    lesson_id: int
    language: str


def channel(lesson_id: int) -> str:
    return f"lesson:{lesson_id}"


def event(
    model: type[M] | None = None,
) -> Callable[
    [Callable[[ClassNamespace, str, Who, Room, Any], Awaitable[Ack | None]]],
    Callable[Concatenate[ClassNamespace, str, ...], Awaitable[Ack]],
]:
    """Wrap a handler: find who is asking and their room, validate the payload, and turn
    every failure into an error ack."""

    def wrap(
        handler: Callable[[ClassNamespace, str, Who, Room, Any], Awaitable[Ack | None]],
    ) -> Callable[Concatenate[ClassNamespace, str, ...], Awaitable[Ack]]:
        @wraps(handler)
        async def run(self: ClassNamespace, sid: str, data: Any = None, *_: Any) -> Ack:
            who: Who | None = None
            try:
                who = await self.who(sid)
                room = self.deps.rooms.get(who.lesson_id)
                if room is None:
                    raise PermissionDenied("You are not in this class.")
                payload = model.model_validate(data if data is not None else {}) if model else None
                return {"ok": True, **(await handler(self, sid, who, room, payload) or {})}
            except ValidationError:
                return self.error(
                    who, "invalid_payload", Notice("That message was not understood.", {})
                )
            except KelasError as exc:
                return self.error(who, exc.code, exc.notice)
            except Exception:
                log.exception("live event %s failed", handler.__name__)
                return self.error(who, "internal", Notice("Something went wrong on our side.", {}))

        return run

    return wrap


def _student_control(
    apply: Callable[[Room, int, int], Participant], tell: str, *, media: bool = True
) -> Callable[Concatenate[ClassNamespace, str, ...], Awaitable[Ack]]:
    """A tutor control aimed at one student: the room applies the rule, the student is told,
    and everyone sees the change."""

    async def control(
        self: ClassNamespace, sid: str, who: Who, room: Room, payload: protocol.Target
    ) -> None:
        student = apply(room, who.user_id, payload.user_id)
        await self.emit(tell, {}, to=student.sid)
        if media:
            await self.updated(room, student)

    control.__name__ = f"control {tell}"
    return event(protocol.Target)(control)


class ClassNamespace(socketio.AsyncNamespace):  # type: ignore[misc]
    def __init__(self, namespace: str, deps: LiveDeps) -> None:
        super().__init__(namespace)
        self.deps = deps
        self._tasks: set[asyncio.Task[None]] = set()  # emits started from SFU callbacks

    async def trigger_event(self, event: str, *args: Any) -> Any:
        """Events are named ``area:verb`` on the wire and handled by ``on_area_verb``;
        unknown events get an error ack instead of silence."""
        name = (event or "").replace(":", "_")
        if event not in ("connect", "disconnect") and not hasattr(self, f"on_{name}"):
            return self.error(None, "unknown_event", Notice("That message was not understood.", {}))
        return await super().trigger_event(name, *args)

    # -- helpers --------------------------------------------------------------------------

    async def who(self, sid: str) -> Who:
        try:
            session = await self.get_session(sid)
        except KeyError:  # the connection is already gone
            session = None
        who = session.get("who") if session else None
        if not isinstance(who, Who):
            raise PermissionDenied("You are not in this class.")
        return who

    def error(self, who: Who | None, code: str, notice: Notice) -> Ack:
        language = who.language if who else "en"
        return {"error": {"code": code, "message": self.deps.translate(notice, language)}}

    async def broadcast(self, room: Room, name: str, data: Any, skip: str | None = None) -> None:
        await self.emit(name, data, room=channel(room.lesson_id), skip_sid=skip)

    async def updated(self, room: Room, *people: Participant) -> None:
        for person in people:
            await self.broadcast(room, "participant:updated", person.public())
        await self.sync_media(room)

    async def sync_media(self, room: Room) -> None:
        """Gate and re-point media after any change, then tell each browser its slots."""
        layout = self.deps.sfu.sync(room)
        for user_id, slots in layout.items():
            person = room.participants.get(user_id)
            if person is not None:
                await self.emit("media:slots", slots, to=person.sid)

    def speaking(self, lesson_id: int, user_id: int, speaking: bool) -> bool:
        """Called by the SFU from audio levels (RFC 6464), without decoding anything."""
        room = self.deps.rooms.get(lesson_id)
        if room is None or not room.set_speaking(user_id, speaking):
            return False
        payload = {"user_id": user_id, "speaking": speaking}
        task = asyncio.get_running_loop().create_task(
            self.broadcast(room, "participant:speaking", payload)
        )
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return True

    # -- connection -------------------------------------------------------------------

    async def on_connect(self, sid: str, environ: dict[str, Any], auth: Any = None) -> None:
        user = await self.deps.authenticate(environ)
        language = user.language if user else "en"
        try:
            if user is None:
                raise NotAuthenticated("Please log in first.")
            try:
                join = protocol.Join.model_validate(auth or {})
            except ValidationError:
                raise PermissionDenied("Say which class to join.") from None
            now = self.deps.clock()
            async with self.deps.maker.begin() as db:
                admission = await live.admit(db, user, join.lesson_id, now, self.deps.window)
            home = await self.deps.presence.claim(admission.lesson_id, self.deps.process)
            if home != self.deps.process:
                raise PermissionDenied("This class is hosted by another server: {home}", home=home)
            room = self.deps.rooms.open(admission)
            person, replaced = room.join(admission, sid)
        except KelasError as exc:
            raise socketio.exceptions.ConnectionRefusedError(
                {"code": exc.code, "message": self.deps.translate(exc.notice, language)}
            ) from None
        await self.save_session(sid, {"who": Who(user.id, room.lesson_id, language)})
        await self.enter_room(sid, channel(room.lesson_id))
        if replaced is not None:
            # The same person on a new connection: the old one goes, no ghost remains.
            await self.save_session(replaced, {})
            await self.disconnect(replaced)
        else:
            await self.broadcast(room, "participant:joined", person.public(), skip=sid)
        await self.deps.presence.online(
            room.lesson_id, user.id, {"name": user.name, "role": person.role.value}
        )
        async with self.deps.maker.begin() as db:
            await live.record_join(db, room.lesson_id, user.id, now)

    async def on_disconnect(self, sid: str, *_: Any) -> None:
        try:
            who = await self.who(sid)
        except PermissionDenied:
            return  # replaced by a newer connection, removed, or never admitted
        room = self.deps.rooms.get(who.lesson_id)
        if room is None or not room.leave(who.user_id, sid):
            return
        await self.broadcast(room, "participant:left", {"user_id": who.user_id})
        await self.deps.sfu.leave(room, who.user_id)
        await self.sync_media(room)
        await self.deps.presence.offline(room.lesson_id, who.user_id)
        self.deps.rooms.forget_if_empty(room)
        if room.empty:
            await self.deps.presence.release(room.lesson_id, self.deps.process)
        async with self.deps.maker.begin() as db:
            await live.record_leave(db, room.lesson_id, who.user_id, self.deps.clock())

    # -- state, chat, media -----------------------------------------------------------

    @event(protocol.ChatSince)
    async def on_hello(self, sid: str, who: Who, room: Room, payload: protocol.ChatSince) -> Ack:
        """Everything a (re)joining browser needs: room, self, chat since ``after``, media."""
        async with self.deps.maker.begin() as db:
            chat = await live.chat_since(db, room.lesson_id, payload.after)
        me = room.member(who.user_id)
        return {
            "room": room.snapshot(),
            "me": me.public(),
            "chat": [_chat(line) for line in chat],
            "media": {
                "ice_servers": self.deps.ice_servers,
                "slots": self.deps.sfu.slots_for(room),
                "plan": room.send_plan(who.user_id),
            },
        }

    @event(protocol.ChatSend)
    async def on_chat_send(self, sid: str, who: Who, room: Room, payload: protocol.ChatSend) -> Ack:
        room.may_chat(who.user_id)
        async with self.deps.maker.begin() as db:
            line = await live.post_chat(
                db, room.lesson_id, who.user_id, payload.text, self.deps.clock()
            )
        await self.broadcast(room, "chat:message", _chat(line))
        return {"seq": line.seq}

    @event(protocol.ChatSince)
    async def on_chat_since(
        self, sid: str, who: Who, room: Room, payload: protocol.ChatSince
    ) -> Ack:
        async with self.deps.maker.begin() as db:
            lines = await live.chat_since(db, room.lesson_id, payload.after)
        return {"messages": [_chat(line) for line in lines]}

    @event(protocol.MediaState)
    async def on_media_state(
        self, sid: str, who: Who, room: Room, payload: protocol.MediaState
    ) -> None:
        person = room.set_media(
            who.user_id, mic=payload.mic, cam=payload.cam, screen=payload.screen
        )
        await self.updated(room, person)

    @event(protocol.Offer)
    async def on_media_offer(self, sid: str, who: Who, room: Room, payload: protocol.Offer) -> Ack:
        room.member(who.user_id)
        answer, slots = await self.deps.sfu.connect(room, who.user_id, payload.sdp)
        await self.sync_media(room)
        return {"type": "answer", "sdp": answer, "slots": slots}

    @event(protocol.Candidate)
    async def on_media_candidate(
        self, sid: str, who: Who, room: Room, payload: protocol.Candidate
    ) -> None:
        await self.deps.sfu.candidate(
            room.lesson_id, who.user_id, payload.candidate, payload.sdpMid, payload.sdpMLineIndex
        )

    # -- hands ----------------------------------------------------------------------------

    @event()
    async def on_hand_raise(self, sid: str, who: Who, room: Room, _: None) -> None:
        room.raise_hand(who.user_id)
        await self.broadcast(room, "hands", {"hands": room.hands})

    @event(protocol.OptionalTarget)
    async def on_hand_lower(
        self, sid: str, who: Who, room: Room, payload: protocol.OptionalTarget
    ) -> None:
        room.lower_hand(who.user_id, payload.user_id or who.user_id)
        await self.broadcast(room, "hands", {"hands": room.hands})

    @event()
    async def on_hand_lower_all(self, sid: str, who: Who, room: Room, _: None) -> None:
        room.require_tutor(who.user_id)
        room.hands.clear()
        await self.broadcast(room, "hands", {"hands": room.hands})

    @event()
    async def on_unmute_accept(self, sid: str, who: Who, room: Room, _: None) -> None:
        await self.updated(room, room.accept_unmute(who.user_id))

    # -- tutor controls -------------------------------------------------------------------

    @event()
    async def on_control_mute_all(self, sid: str, who: Who, room: Room, _: None) -> None:
        students = room.mute_all(who.user_id)
        for student in students:
            await self.emit("you:muted", {}, to=student.sid)
        await self.updated(room, *students)

    # One student, one rule, one word to that student (and, when media changes, to all).
    on_control_mute = _student_control(Room.mute, "you:muted")
    on_control_allow_unmute = _student_control(Room.allow_unmute, "you:may_unmute")
    on_control_request_unmute = _student_control(
        Room.request_unmute, "you:unmute_requested", media=False
    )
    on_control_camera_off = _student_control(Room.camera_off, "you:camera_off")
    on_control_allow_camera = _student_control(Room.allow_camera, "you:may_use_camera")

    @event(protocol.OptionalTarget)
    async def on_control_spotlight(
        self, sid: str, who: Who, room: Room, payload: protocol.OptionalTarget
    ) -> None:
        before = room.spotlight
        room.set_spotlight(who.user_id, payload.user_id)
        await self.broadcast(
            room, "room:updated", {"spotlight": room.spotlight, "locked": room.locked}
        )
        for user_id in {before, room.spotlight} - {None}:
            person = room.participants.get(user_id) if user_id else None
            if person is not None:
                await self.emit("media:plan", room.send_plan(person.user_id), to=person.sid)

    @event(protocol.Target)
    async def on_control_remove(
        self, sid: str, who: Who, room: Room, payload: protocol.Target
    ) -> None:
        student = room.remove(who.user_id, payload.user_id)
        await self.emit("you:removed", {}, to=student.sid)
        await self.save_session(student.sid, {})
        await self.disconnect(student.sid)
        await self.broadcast(room, "participant:left", {"user_id": student.user_id})
        await self.broadcast(room, "hands", {"hands": room.hands})
        await self.deps.sfu.leave(room, student.user_id)
        await self.sync_media(room)
        await self.deps.presence.offline(room.lesson_id, student.user_id)
        async with self.deps.maker.begin() as db:
            await live.record_leave(
                db, room.lesson_id, student.user_id, self.deps.clock(), removed=True
            )

    @event(protocol.Lock)
    async def on_control_lock(self, sid: str, who: Who, room: Room, payload: protocol.Lock) -> None:
        room.lock(who.user_id, payload.locked)
        await self.broadcast(
            room, "room:updated", {"spotlight": room.spotlight, "locked": room.locked}
        )

    @event()
    async def on_control_end(self, sid: str, who: Who, room: Room, _: None) -> None:
        everyone = room.end(who.user_id)
        await self.broadcast(room, "room:ended", {})
        await self.deps.sfu.close_room(room.lesson_id)
        now = self.deps.clock()
        for person in everyone:
            await self.deps.presence.offline(room.lesson_id, person.user_id)
            async with self.deps.maker.begin() as db:
                await live.record_leave(db, room.lesson_id, person.user_id, now)
            await self.save_session(person.sid, {})
            if person.sid != sid:  # the tutor's own connection closes after the ack
                await self.disconnect(person.sid)
        await self.deps.presence.release(room.lesson_id, self.deps.process)


def _chat(line: live.ChatLine) -> dict[str, Any]:
    return {
        "seq": line.seq,
        "user_id": line.user_id,
        "name": line.name,
        "text": line.body,
        "at": line.at.isoformat(),
    }
