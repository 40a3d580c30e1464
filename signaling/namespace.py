"""The live-class Socket.IO namespace: thin handlers over the room and the SFU.

Each handler validates its payload, applies one room rule (no await between check and
change), and hands the returned ``Change`` to ``_apply``, the one place that turns a room
change into its effects: emits, media gating, plans and slots, departures. ``_depart`` is the
one way a connection leaves a room (its socket closed, the same person connected again, the
tutor removed them, the class ended). Errors become ``{"error": {"code", "message"}}`` acks in
the user's language; nothing a client sends can crash the namespace.

A class lives in one process (its home), so every socket of a room is connected here: the
room's emits skip the message queue (``ignore_queue``), which also keeps a class going while
Redis is down. What the room must not lose when its home dies (hands, the tutor's blocks,
spotlight, lock, an ended class) is handed to the ``Keeper`` in ``_apply`` and restored when
a process opens the room.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass, field
from datetime import datetime
from functools import wraps
from typing import Any, Concatenate

import socketio
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from classroom import live, notes
from classroom.db import transaction
from classroom.errors import (
    N_,
    KelasError,
    NotAuthenticated,
    Notice,
    PermissionDenied,
    RateLimited,
    Unavailable,
)
from classroom.live import LiveRole
from classroom.models import NoteKind, User
from signaling import protocol, speaking_view
from signaling.ice import IceServers
from signaling.keeper import Keeper
from signaling.media.sfu import Sfu
from signaling.presence import Presence
from signaling.ratelimit import Buckets, Rate, TokenBucket
from signaling.room import Change, Departure, Participant, Room, Rooms
from signaling.sockets import ProtocolNamespace, error_ack

log = logging.getLogger(__name__)
Ack = dict[str, Any]
Handler = Callable[
    ["ClassNamespace", str, "Who", Room, Any], Awaitable[protocol.Ok | Change | None]
]
Wrapped = Callable[Concatenate["ClassNamespace", str, ...], Awaitable[Ack]]
# Per connection: an offer builds a peer connection (a few a second at most); chat at a
# human pace; ICE candidates come in a quick burst; everything else is a click.
EVENT_RATES: dict[str, Rate] = {
    "media:offer": Rate(per_second=1.0, burst=5),
    "chat:send": Rate(per_second=1.0, burst=8),
    "media:candidate": Rate(per_second=10.0, burst=40),
}
CLICK_RATE = Rate(per_second=5.0, burst=20)
FAILED = {
    "ice": Notice(
        N_("Your network blocks the call's connection. Trying again…"),
        {},
    ),
    "dtls": Notice(N_("The call's secure connection failed. Trying again…"), {}),
}
JOIN_RATE = Rate(per_second=5.0, burst=10)  # per client address


class HostedElsewhere(Unavailable):
    """Another process is the class's home. Behind the proxy's routing by class
    (docs/deployment.md) that is a home that has just died and whose lease still runs, so the
    page tries again soon, naming ``home`` so that the proxy can route it there if that
    process is alive (a class that moved while its first process was down)."""

    retry_after = 1.0

    def __init__(self, home: str) -> None:
        # A person sees "not reachable just now" (the class is moving); the page reads the
        # server's name from the refusal's ``home``.
        super().__init__()
        self.home = home


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
    keeper: Keeper
    ice: IceServers
    process: str = "local"
    monotonic: Callable[[], float] = time.monotonic
    join_rate: Rate = JOIN_RATE
    # The client's address (behind a trusted proxy, from X-Forwarded-For), for the join rate.
    address: Callable[[dict[str, Any]], str] = lambda environ: str(
        getattr(environ.get("aiohttp.request"), "remote", None) or "unknown"
    )
    rate_limits: bool = True
    # The speaking meter: students see their own share only if the school says so
    # (KELAS_SHOW_STUDENT_SHARE); everyone's figures are kept this often during a class.
    show_student_share: bool = False
    keep_speaking_every: float = 30.0


@dataclass(frozen=True)
class Who:
    """What the Socket.IO session remembers of a connection."""

    user_id: int
    lesson_id: int
    language: str


@dataclass
class Limits:
    """A connection's token buckets, one per kind of event; kept in its Socket.IO session."""

    started: float
    buckets: dict[str, TokenBucket] = field(default_factory=dict)

    def take(self, event: str, now: float) -> float:
        rate = EVENT_RATES.get(event, CLICK_RATE)
        key = event if event in EVENT_RATES else "click"
        bucket = self.buckets.get(key)
        if bucket is None:
            bucket = self.buckets[key] = TokenBucket(rate, self.started)
        return bucket.take(now)


def channel(lesson_id: int) -> str:
    return f"lesson:{lesson_id}"


def event(name: str) -> Callable[[Handler], Wrapped]:
    """Wrap the handler of the client event ``name``: find who is asking and their room,
    validate the payload with the model that ``protocol.CLIENT_EVENTS`` names, apply the
    returned Change, and turn every failure into an error ack."""
    spec = protocol.CLIENT_EVENTS[name]

    def wrap(handler: Handler) -> Wrapped:
        @wraps(handler)
        async def run(self: ClassNamespace, sid: str, data: Any = None, *_: Any) -> Ack:
            who: Who | None = None
            try:
                who = await self.who(sid)
                room = self.deps.rooms.get(who.lesson_id)
                if room is None:
                    raise PermissionDenied("You are not in this class.")
                try:
                    payload = _parse(spec, data)
                except ValidationError:
                    return self.error(
                        who, "invalid_payload", Notice("That message was not understood.", {})
                    )
                result = await handler(self, sid, who, room, payload)
                if isinstance(result, Change):
                    await self._apply(room, result, actor=sid)
                    result = None
                return (result or protocol.Ok()).wire()
            except KelasError as exc:
                return self.error(who, exc.code, exc.notice, exc)
            except Exception:
                log.exception("live event %s failed", name)
                return self.error(who, "internal", Notice("Something went wrong on our side.", {}))

        return run

    return wrap


def _parse(spec: protocol.ClientEvent, data: Any) -> protocol.Payload | None:
    if spec.payload is not None:
        return spec.payload.model_validate(data if data is not None else {})
    protocol.Empty.model_validate(data if data is not None else {})
    return None


def _student_control(apply: Callable[[Room, int, int], Change], name: str) -> Wrapped:
    """A tutor control aimed at one student: the room applies the rule and says who is told."""

    async def control(
        self: ClassNamespace, sid: str, who: Who, room: Room, payload: protocol.Target
    ) -> Change:
        return apply(room, who.user_id, payload.user_id)

    control.__name__ = f"on_{name.replace(':', '_')}"
    return event(name)(control)


class ClassNamespace(ProtocolNamespace):
    def __init__(self, namespace: str, deps: LiveDeps) -> None:
        super().__init__(namespace)
        self.deps = deps
        self._tasks: set[asyncio.Task[None]] = set()  # emits started from SFU callbacks
        self._joins = Buckets(deps.join_rate, deps.monotonic)
        deps.sfu.listen(self)

    async def trigger_event(self, event: str, *args: Any) -> Any:
        """Events are named ``area:verb`` on the wire and handled by ``on_area_verb``. Only
        python-socketio itself may trigger ``connect`` and ``disconnect`` (it does so while
        the connection is not yet, or no longer, connected); a client that sends an event of
        that name, or any name not in the protocol, gets ``unknown_event``."""
        sid = args[0] if args else None
        if self.lifecycle(event, sid):
            return await super().trigger_event(event, *args)
        if not isinstance(event, str) or event not in protocol.CLIENT_EVENTS:
            return self.error(None, "unknown_event", Notice("That message was not understood.", {}))
        waited = await self._limited(sid, event) if self.deps.rate_limits else 0.0
        if waited:
            return self.error(
                None,
                "rate_limited",
                Notice("Too many messages at once. Please wait a moment.", {}),
                RateLimited("Too many messages at once. Please wait a moment.", waited),
            )
        return await super().trigger_event(event.replace(":", "_"), *args)

    async def _limited(self, sid: Any, event: str) -> float:
        try:
            session = await self.get_session(sid)
        except KeyError:
            return 0.0
        limits = session.get("limits")
        return limits.take(event, self.deps.monotonic()) if isinstance(limits, Limits) else 0.0

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

    def error(
        self, who: Who | None, code: str, notice: Notice, exc: KelasError | None = None
    ) -> Ack:
        language = who.language if who else "en"
        message = self.deps.translate(notice, language)
        return error_ack(code, message, exc)

    async def tell(self, name: str, data: protocol.Out, to: str) -> None:
        await self.emit(name, data.wire(), to=to, ignore_queue=True)

    async def broadcast(
        self, room: Room, name: str, data: protocol.Out, skip: str | None = None
    ) -> None:
        await self.emit(
            name, data.wire(), room=channel(room.lesson_id), skip_sid=skip, ignore_queue=True
        )

    async def close_socket(self, sid: str) -> None:
        await self.server.disconnect(sid, namespace=self.namespace, ignore_queue=True)

    def speaking(self, lesson_id: int, user_id: int, speaking: bool) -> bool:
        """Called by the SFU from audio levels (RFC 6464), without decoding anything."""
        room = self.deps.rooms.get(lesson_id)
        if room is None or not room.set_speaking(user_id, speaking):
            return False
        payload = protocol.Speaking(user_id=user_id, speaking=speaking)
        self._spawn(self.broadcast(room, "participant:speaking", payload))
        return True

    def failed(self, lesson_id: int, user_id: int, reason: str) -> None:
        """Called by the SFU when a participant's peer connection failed and was closed: they
        are told (the page starts a new one), and the others' slots let go of them."""
        room = self.deps.rooms.get(lesson_id)
        person = room.participants.get(user_id) if room else None
        if room is not None and person is not None:
            self._spawn(self._after_failure(room, person.sid, reason))

    def quality(self, lesson_id: int, user_id: int, quality: protocol.Quality) -> None:
        """Called by the SFU with a participant's connection, measured from their receiver
        reports: the class hears it (the tutor's tiles) and presence keeps it (the
        coordinators' live view)."""
        room = self.deps.rooms.get(lesson_id)
        person = room.set_quality(user_id, quality) if room is not None else None
        if room is not None and person is not None:
            self._spawn(self._tell_quality(room, person, quality))

    def tick(self, lesson_id: int, now: float) -> None:
        """Called by the SFU about twice a second (``now`` on the clock of the audio levels
        it feeds the meter with): the meter's prompts go to the tutor, once per crossing of
        a threshold, and everyone's figures are kept every ``keep_speaking_every``."""
        room = self.deps.rooms.get(lesson_id)
        if room is None:
            return
        due = room.meter.tick(now)
        tutor = next((p for p in room.participants.values() if p.role == LiveRole.TUTOR), None)
        if tutor is not None:
            for prompt in due:
                payload = speaking_view.prompt(room, prompt)
                self._spawn(self.tell("speaking:prompt", payload, to=tutor.sid))
        if room.meter.due(now, self.deps.keep_speaking_every):
            self.deps.keeper.keep_speaking(lesson_id, room.meter.spoken(now))

    def rebudget(self, lesson_id: int) -> None:
        """Called by the SFU about twice a second: what each subscriber receives within their
        downlink is decided again, and those whose layout changed are told."""
        room = self.deps.rooms.get(lesson_id)
        if room is None:
            return
        for user_id, layout in self.deps.sfu.budget(room).items():
            person = room.participants.get(user_id)
            if person is not None:
                self._spawn(self.tell("media:slots", layout, to=person.sid))
        for user_id in self.deps.sfu.replans(room):  # a small simulcast layer wanted, or not
            person = room.participants.get(user_id)
            if person is not None:
                self._spawn(self._replan(room, person))

    async def _replan(self, room: Room, person: Participant) -> None:
        """Tell ``person`` what to send now, and the SFU what to expect."""
        plans = room.send_plan(person.user_id, self.deps.sfu.small_layer(room, person.user_id))
        self.deps.sfu.plan(room, person.user_id, plans)
        await self.tell("media:plan", plans.public(), to=person.sid)

    async def _tell_quality(
        self, room: Room, person: Participant, quality: protocol.Quality
    ) -> None:
        payload = protocol.ParticipantQuality(user_id=person.user_id, **quality.model_dump())
        await self.broadcast(room, "participant:quality", payload)
        if room.participants.get(person.user_id) is person:  # still here after the await
            await self.deps.presence.online(room.lesson_id, person.user_id, _presence(person))

    async def _after_failure(self, room: Room, sid: str, reason: str) -> None:
        try:
            who = await self.who(sid)
        except PermissionDenied:
            return  # gone meanwhile
        notice = FAILED.get(reason, FAILED["ice"])
        message = self.deps.translate(notice, who.language)
        await self.tell("media:failed", protocol.MediaFailed(reason=reason, message=message), sid)
        await self._apply(room, Change(media=True))

    def _spawn(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # -- the one path from a room change to its effects ------------------------------------

    async def _apply(self, room: Room, change: Change, actor: str | None = None) -> None:
        kept = room.unkept()
        if kept is not None:
            self.deps.keeper.keep(room.lesson_id, kept)
        self._meter(room, change)
        if change.ended:  # the class's figures are kept before the tutor hears it ended
            await self.deps.keeper.settled(room.lesson_id)
        if change.ended:
            await self.broadcast(room, "room:ended", protocol.Nothing())
        for departure in change.departures:
            await self._depart(room, departure, actor)
        if change.joined is not None:
            joined = change.joined
            await self.broadcast(room, "participant:joined", joined.public(), skip=joined.sid)
        for person in change.updated:
            await self.broadcast(room, "participant:updated", person.public())
        for person, notice in change.told:
            await self.tell(notice, protocol.Nothing(), to=person.sid)
        if change.hands:
            await self.broadcast(room, "hands", protocol.Hands(hands=list(room.hands)))
        if change.room:
            await self.broadcast(room, "room:updated", room.state())
        for person in change.plans:
            await self._replan(room, person)
        if change.media:
            self.deps.sfu.gate(room)
            for user_id, layout in self.deps.sfu.assign(room).items():
                await self.tell("media:slots", layout, to=room.participants[user_id].sid)
        if change.departures and room.empty:
            self.deps.rooms.forget_if_empty(room)
            await self.deps.presence.release(room.lesson_id, self.deps.process)

    def _meter(self, room: Room, change: Change) -> None:
        """The speaking meter hears who came and who went; a room that ends or empties
        keeps its figures now (the SFU's clock: the one its audio levels come with)."""
        now = time.monotonic()
        joined = change.joined
        if joined is not None and joined.role != LiveRole.OBSERVER:
            room.meter.arrive(joined.user_id, joined.role == LiveRole.TUTOR, now, joined.name)
        gone = [d.person.user_id for d in change.departures if d.reason != "replaced"]
        for user_id in gone:
            room.meter.depart(user_id, now)
        if change.ended or (gone and room.empty):
            self.deps.keeper.keep_speaking(room.lesson_id, room.meter.spoken(now))

    async def _depart(self, room: Room, departure: Departure, actor: str | None) -> None:
        """A connection leaves the room: its socket is closed unless it already is (or it is
        the actor's own, which closes after its ack); unless the person is still here on a
        newer connection, the others are told, their media stops and attendance records it."""
        person, sid, reason = departure.person, departure.sid, departure.reason
        if reason != "left":
            if reason == "removed":
                await self.tell("you:removed", protocol.Nothing(), to=sid)
            try:
                await self.save_session(sid, {})
            except KeyError:
                # Its socket closed meanwhile (its disconnect handler runs next and finds
                # nobody): nothing to forget or to close.
                log.info("class %s: user %s had already gone", room.lesson_id, person.user_id)
            else:
                if sid != actor:
                    await self.close_socket(sid)
        if reason == "replaced":
            log.info("class %s: user %s reconnected", room.lesson_id, person.user_id)
            return
        if reason in ("left", "removed"):
            await self.broadcast(
                room, "participant:left", protocol.Left(user_id=person.user_id, reason=reason)
            )
        await self.deps.sfu.leave(room, person.user_id)
        await self.deps.presence.offline(room.lesson_id, person.user_id)
        await self._record(
            live.record_leave, room.lesson_id, person.user_id, removed=reason == "removed"
        )
        log.info("class %s: user %s %s", room.lesson_id, person.user_id, reason)

    # -- connection -------------------------------------------------------------------

    async def on_connect(self, sid: str, environ: dict[str, Any], auth: Any = None) -> None:
        user: User | None = None
        try:
            if self.deps.rate_limits:
                self._admit_rate(environ)
            user = await self.deps.authenticate(environ)
            if user is None:
                raise NotAuthenticated("Please log in first.")
            try:
                join = protocol.Join.model_validate(auth or {})
            except ValidationError:
                raise PermissionDenied("Say which class to join.") from None
            now = self.deps.clock()
            async with transaction(self.deps.maker) as db:
                admission = await live.admit(db, user, join.lesson_id, now, self.deps.window)
            home = await self.deps.presence.claim(admission.lesson_id, self.deps.process)
            if home != self.deps.process:
                raise HostedElsewhere(home)
            room = await self._open(admission)
            person, change = room.join(admission, sid)
        except Exception as exc:
            raise self._refusal(exc, user) from None
        session = {
            "who": Who(user.id, room.lesson_id, user.language),
            "limits": Limits(self.deps.monotonic()),
        }
        await self.save_session(sid, session)
        await self.enter_room(sid, channel(room.lesson_id))
        await self._apply(room, change)
        await self.deps.presence.online(room.lesson_id, user.id, _presence(person))
        await self._record(live.record_join, room.lesson_id, user.id)

    async def _open(self, admission: live.Admission) -> Room:
        """The class's room here; when it is not open yet (its first join, or the first
        after a failover or a restart), restored from what the class kept."""
        room = self.deps.rooms.get(admission.lesson_id)
        if room is None:
            kept, spoken = await self.deps.keeper.load(admission.lesson_id)
            room = self.deps.rooms.open(admission, kept, spoken)  # or the one opened meanwhile
        return room

    async def _record(
        self, record: Callable[..., Awaitable[None]], lesson_id: int, user_id: int, **kw: Any
    ) -> None:
        """Attendance: recorded when the database answers; a class goes on when it does not."""
        try:
            async with transaction(self.deps.maker) as db:
                await record(db, lesson_id, user_id, self.deps.clock(), **kw)
        except Unavailable:
            log.warning("class %s: attendance of user %s not recorded", lesson_id, user_id)

    def _refusal(
        self, exc: Exception, user: User | None
    ) -> socketio.exceptions.ConnectionRefusedError:
        """A refused connection, as data the page can read: ``{code, message}``."""
        if not isinstance(exc, KelasError):
            log.error("live connect failed", exc_info=exc)
            exc = KelasError("Something went wrong on our side.")
            exc.code = "internal"
        language = user.language if user else "en"
        refusal = protocol.Refusal(
            code=exc.code,
            message=self.deps.translate(exc.notice, language),
            retry_after=exc.retry_after if isinstance(exc, RateLimited | HostedElsewhere) else None,
            home=exc.home if isinstance(exc, HostedElsewhere) else None,
        )
        # The first argument becomes the error's message, the second its data: the page
        # reads data.code to know whether reconnecting can help.
        return socketio.exceptions.ConnectionRefusedError(refusal.message, refusal.wire())

    def _admit_rate(self, environ: dict[str, Any]) -> None:
        waited = self._joins.take(self.deps.address(environ))
        if waited:
            raise RateLimited(
                "Too many people joining from your address. Please try again in a moment.",
                retry_after=waited,
            )

    async def on_disconnect(self, sid: str, *_: Any) -> None:
        try:
            who = await self.who(sid)
        except PermissionDenied:
            return  # replaced by a newer connection, removed, or never admitted
        room = self.deps.rooms.get(who.lesson_id)
        if room is not None:
            await self._apply(room, room.leave(who.user_id, sid))

    # -- state, chat, media -----------------------------------------------------------

    @event("hello")
    async def on_hello(
        self, sid: str, who: Who, room: Room, payload: protocol.ChatSince
    ) -> protocol.HelloAck:
        """Everything a (re)joining browser needs: room, self, chat since ``after``, media."""
        async with transaction(self.deps.maker) as db:
            chat = await live.chat_since(db, room.lesson_id, payload.after)
            me = room.member(who.user_id)
            reader = who.user_id if me.role == live.LiveRole.STUDENT else None
            noted = await notes.of_class(db, room.lesson_id, reader)
        return protocol.HelloAck(
            room=room.snapshot(),
            me=me.public(),
            chat=[_chat(line) for line in chat],
            notes=[_note(note) for note in noted],
            media=protocol.HelloMedia(
                # Fresh TURN credentials for each hello: each peer connection is new.
                ice_servers=self.deps.ice.for_user(who.user_id, self.deps.clock().timestamp()),
                ice_transport_policy=self.deps.ice.transport_policy,
                slots=self.deps.sfu.slots_for(room),
                plan=room.send_plan(who.user_id).public(),
            ),
        )

    @event("chat:send")
    async def on_chat_send(
        self, sid: str, who: Who, room: Room, payload: protocol.ChatSend
    ) -> protocol.SentAck:
        room.may_chat(who.user_id)
        async with transaction(self.deps.maker) as db:
            line = await live.post_chat(
                db, room.lesson_id, who.user_id, payload.text, self.deps.clock(), payload.key
            )
        await self.broadcast(room, "chat:message", _chat(line))
        return protocol.SentAck(seq=line.seq)

    @event("chat:since")
    async def on_chat_since(
        self, sid: str, who: Who, room: Room, payload: protocol.ChatSince
    ) -> protocol.MessagesAck:
        async with transaction(self.deps.maker) as db:
            lines = await live.chat_since(db, room.lesson_id, payload.after)
        return protocol.MessagesAck(messages=[_chat(line) for line in lines])

    @event("media:state")
    async def on_media_state(
        self, sid: str, who: Who, room: Room, payload: protocol.MediaState
    ) -> Change:
        return room.set_media(who.user_id, mic=payload.mic, cam=payload.cam, screen=payload.screen)

    @event("media:receive")
    async def on_media_receive(
        self, sid: str, who: Who, room: Room, payload: protocol.Receive
    ) -> Change:
        return room.set_receive(who.user_id, payload.video)

    @event("media:offer")
    async def on_media_offer(
        self, sid: str, who: Who, room: Room, payload: protocol.Offer
    ) -> protocol.AnswerAck:
        room.member(who.user_id)
        plans = room.send_plan(who.user_id)
        answer, slots = await self.deps.sfu.connect(room, who.user_id, payload.sdp, plans)
        if who.user_id in room.participants:  # still here after the await
            await self._apply(room, Change(media=True))
        return protocol.AnswerAck(type="answer", sdp=answer, slots=slots)

    @event("media:candidate")
    async def on_media_candidate(
        self, sid: str, who: Who, room: Room, payload: protocol.Candidate
    ) -> None:
        await self.deps.sfu.candidate(
            room.lesson_id,
            who.user_id,
            payload.candidate,
            payload.sdpMid,
            payload.sdpMLineIndex,
            payload.usernameFragment,
        )

    # -- the tutor's notes -------------------------------------------------------------------

    @event("note:add")
    async def on_note_add(
        self, sid: str, who: Who, room: Room, payload: protocol.NoteAdd
    ) -> protocol.NoteAck:
        room.require_tutor(who.user_id)
        async with transaction(self.deps.maker) as db:
            note = await notes.add(
                db, room.lesson_id, who.user_id, kind=NoteKind(payload.kind),
                student_id=payload.student_id, text=payload.text, better=payload.better,
                now=self.deps.clock(), window=self.deps.window,
            )  # fmt: skip
        return await self._noted(room, "note:added", note, sid)

    @event("note:edit")
    async def on_note_edit(
        self, sid: str, who: Who, room: Room, payload: protocol.NoteEdit
    ) -> protocol.NoteAck:
        room.require_tutor(who.user_id)
        async with transaction(self.deps.maker) as db:
            note = await notes.edit(
                db, room.lesson_id, who.user_id, payload.id, text=payload.text,
                better=payload.better, now=self.deps.clock(), window=self.deps.window,
            )  # fmt: skip
        return await self._noted(room, "note:edited", note, sid)

    @event("note:delete")
    async def on_note_delete(
        self, sid: str, who: Who, room: Room, payload: protocol.NoteRef
    ) -> None:
        room.require_tutor(who.user_id)
        async with transaction(self.deps.maker) as db:
            note = await notes.delete(
                db, room.lesson_id, who.user_id, payload.id,
                now=self.deps.clock(), window=self.deps.window,
            )  # fmt: skip
        await self._tell_note(room, "note:deleted", protocol.NoteDeleted(id=note.id), note, sid)

    async def _noted(self, room: Room, name: str, note: notes.Note, sid: str) -> protocol.NoteAck:
        view = _note(note)
        await self._tell_note(room, name, view, note, sid)
        return protocol.NoteAck(note=view)

    async def _tell_note(
        self, room: Room, name: str, data: protocol.Out, note: notes.Note, tutor: str
    ) -> None:
        """A note for everyone goes to the whole class; one for a student to that student
        (if they are in the room now: they get it in their next ``hello`` otherwise) and to
        the tutor, nobody else."""
        if note.student_id is None:
            await self.broadcast(room, name, data)
            return
        await self.tell(name, data, to=tutor)
        student = room.participants.get(note.student_id)
        if student is not None:
            await self.tell(name, data, to=student.sid)

    # -- hands ----------------------------------------------------------------------------

    @event("hand:raise")
    async def on_hand_raise(self, sid: str, who: Who, room: Room, _: None) -> Change:
        return room.raise_hand(who.user_id)

    @event("hand:lower")
    async def on_hand_lower(
        self, sid: str, who: Who, room: Room, payload: protocol.OptionalTarget
    ) -> Change:
        return room.lower_hand(who.user_id, payload.user_id or who.user_id)

    @event("hand:lower_all")
    async def on_hand_lower_all(self, sid: str, who: Who, room: Room, _: None) -> Change:
        return room.lower_all_hands(who.user_id)

    @event("unmute:accept")
    async def on_unmute_accept(self, sid: str, who: Who, room: Room, _: None) -> Change:
        return room.accept_unmute(who.user_id)

    # -- tutor controls -------------------------------------------------------------------

    @event("control:mute_all")
    async def on_control_mute_all(self, sid: str, who: Who, room: Room, _: None) -> Change:
        return room.mute_all(who.user_id)

    on_control_mute = _student_control(Room.mute, "control:mute")
    on_control_allow_unmute = _student_control(Room.allow_unmute, "control:allow_unmute")
    on_control_request_unmute = _student_control(Room.request_unmute, "control:request_unmute")
    on_control_camera_off = _student_control(Room.camera_off, "control:camera_off")
    on_control_allow_camera = _student_control(Room.allow_camera, "control:allow_camera")
    on_control_remove = _student_control(Room.remove, "control:remove")

    @event("control:spotlight")
    async def on_control_spotlight(
        self, sid: str, who: Who, room: Room, payload: protocol.OptionalTarget
    ) -> Change:
        return room.set_spotlight(who.user_id, payload.user_id)

    @event("control:lock")
    async def on_control_lock(
        self, sid: str, who: Who, room: Room, payload: protocol.Lock
    ) -> Change:
        return room.lock(who.user_id, payload.locked)

    @event("control:end")
    async def on_control_end(self, sid: str, who: Who, room: Room, _: None) -> Change:
        return room.end(who.user_id)

    # -- the speaking meter ------------------------------------------------------------------

    @event("speaking:get")
    async def on_speaking_get(
        self, sid: str, who: Who, room: Room, _: None
    ) -> protocol.SpeakingAck:
        """The speaking view: everyone's figures for the tutor and observers; a student's
        own, when the school shows students their share."""
        me = room.member(who.user_id)
        if me.role == LiveRole.STUDENT and not self.deps.show_student_share:
            raise PermissionDenied("Only the tutor sees the speaking figures.")
        return speaking_view.view(room, room.meter.figures(time.monotonic()), me)

    # -- shutting down ----------------------------------------------------------------------

    async def close(self) -> None:
        """Close every live connection and peer (server shutdown): people reconnect to
        whichever process serves the class next, which restores what each room kept."""
        now = time.monotonic()
        for room in self.deps.rooms.all():  # the next home goes on from these figures
            self.deps.keeper.keep_speaking(room.lesson_id, room.meter.spoken(now))
        await self.deps.keeper.close()
        for room in self.deps.rooms.all():
            for person in list(room.participants.values()):
                await self.close_socket(person.sid)
            await self.deps.presence.release(room.lesson_id, self.deps.process)
        await self.deps.sfu.close()


def _presence(person: Participant) -> dict[str, Any]:
    """What presence holds of someone in a class room (as JSON, when Redis shares it)."""
    info: dict[str, Any] = {"name": person.name, "role": person.role.value}
    if person.quality is not None:
        info["quality"] = person.quality.wire()
    return info


def _chat(line: live.ChatLine) -> protocol.ChatMessage:
    return protocol.ChatMessage(
        seq=line.seq, user_id=line.user_id, name=line.name, text=line.body, at=line.at.isoformat()
    )


def _note(note: notes.Note) -> protocol.NoteView:
    return protocol.NoteView(
        id=note.id,
        kind=note.kind.value,
        student_id=note.student_id,
        text=note.text,
        better=note.better,
        at=note.at.isoformat(),
    )
