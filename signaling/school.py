"""The ``/school`` Socket.IO namespace: who has Kelas open, and the coordinators' live view.

Every logged-in page connects here (web/static/school/online.js). Connecting marks the
person online in presence, disconnecting marks that socket closed: several tabs are one
person online until the last one closes. Coordinators also join the ``coordinators`` room
and receive ``school:state`` snapshots when presence changes, at most one per ``debounce``
per process. Snapshots are computed from shared knowledge (signaling/school_state.py) and
emitted through the client manager, so with Redis a change seen by any process reaches the
coordinators connected to every process.

Handlers are thin: validate, check the role on the server, call presence, ack. Errors become
``{"error": {"code", "message"}}`` acks in the user's language.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import socketio
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from classroom import autopilot
from classroom.db import transaction
from classroom.errors import (
    N_,
    KelasError,
    NotAuthenticated,
    Notice,
    PermissionDenied,
    RateLimited,
)
from classroom.models import Role, User
from signaling import protocol
from signaling import school_protocol as sp
from signaling.namespace import channel
from signaling.presence import Presence
from signaling.ratelimit import Buckets, Rate, TokenBucket
from signaling.school_state import snapshot
from signaling.sockets import ProtocolNamespace, error_ack

log = logging.getLogger(__name__)
Ack = dict[str, Any]
COORDINATORS = "coordinators"
CONNECT_RATE = Rate(per_second=5.0, burst=20)  # per client address: pages open in bursts
EVENT_RATE = Rate(per_second=2.0, burst=10)  # per connection: clicks and refreshes
NOT_UNDERSTOOD = Notice(N_("That message was not understood."), {})
# {topic}: the class a coordinator has just given to a tutor.
CALLED = N_("A coordinator has given you “{topic}”, which is on now: your students are waiting.")
JOIN = Notice(N_("Join the class"), {})


@dataclass(frozen=True)
class SchoolDeps:
    maker: async_sessionmaker[AsyncSession]
    clock: Callable[[], datetime]
    authenticate: Callable[[dict[str, Any]], Awaitable[User | None]]
    translate: Callable[[Notice, str], str]
    presence: Presence
    debounce: float = 0.5
    monotonic: Callable[[], float] = time.monotonic
    rate_limits: bool = True
    class_namespace: str = "/class"  # where a class's room hears "Your tutor today is …"
    check_max_age: timedelta = timedelta(days=30)  # a setup check older than this is stale


def person(user_id: int) -> str:
    """The Socket.IO room of one person's /school sockets (every page they have open)."""
    return f"user:{user_id}"


@dataclass(frozen=True)
class Visitor:
    """What the Socket.IO session remembers of a connection."""

    user_id: int
    role: Role
    language: str


class SchoolNamespace(ProtocolNamespace):
    def __init__(self, namespace: str, deps: SchoolDeps) -> None:
        super().__init__(namespace)
        self.deps = deps
        self._connects = Buckets(CONNECT_RATE, deps.monotonic)
        self._pending: asyncio.Task[None] | None = None
        self._stale = False  # a change came that no snapshot read yet
        self._urgent: set[asyncio.Task[None]] = set()
        self._closed = False

    async def trigger_event(self, event: str, *args: Any) -> Any:
        """As in the class namespace: ``area:verb`` events handled by ``on_area_verb``; only
        python-socketio itself may trigger ``connect`` and ``disconnect``."""
        sid = args[0] if args else None
        if self.lifecycle(event, sid):
            return await super().trigger_event(event, *args)
        visitor = await self._visitor(sid)
        if not isinstance(event, str) or event not in sp.CLIENT_EVENTS:
            return self.error(visitor, "unknown_event", NOT_UNDERSTOOD)
        if visitor is None:
            return self.error(None, "not_authenticated", Notice(N_("Please log in first."), {}))
        if self.deps.rate_limits:
            session = await self.get_session(sid)
            waited = session["bucket"].take(self.deps.monotonic())
            if waited:
                exc = RateLimited(N_("Too many messages at once. Please wait a moment."), waited)
                return self.error(visitor, exc.code, exc.notice, exc)
        spec = sp.CLIENT_EVENTS[event]
        data = args[1] if len(args) > 1 else None
        try:
            payload = (spec.payload or protocol.Empty).model_validate(data or {})
        except ValidationError:
            return self.error(visitor, "invalid_payload", NOT_UNDERSTOOD)
        handler = getattr(self, "on_" + event.replace(":", "_"))
        try:
            result: protocol.Ok = await handler(visitor, payload)
            return result.wire()
        except KelasError as exc:
            return self.error(visitor, exc.code, exc.notice, exc)
        except Exception:
            log.exception("school event %s failed", event)
            return self.error(
                visitor, "internal", Notice(N_("Something went wrong on our side."), {})
            )

    async def _visitor(self, sid: Any) -> Visitor | None:
        try:
            session = await self.get_session(sid)
        except KeyError:
            return None
        visitor = session.get("visitor")
        return visitor if isinstance(visitor, Visitor) else None

    def error(
        self, visitor: Visitor | None, code: str, notice: Notice, exc: KelasError | None = None
    ) -> Ack:
        message = self.deps.translate(notice, visitor.language if visitor else "en")
        return error_ack(code, message, exc)

    # -- connection -------------------------------------------------------------------------

    async def on_connect(self, sid: str, environ: dict[str, Any], auth: Any = None) -> None:
        user: User | None = None
        try:
            if self.deps.rate_limits:
                self._admit_rate(environ)
            user = await self.deps.authenticate(environ)
            if user is None:
                raise NotAuthenticated(N_("Please log in first."))
        except KelasError as exc:
            refusal = protocol.Refusal(
                code=exc.code,
                message=self.deps.translate(exc.notice, user.language if user else "en"),
                retry_after=exc.retry_after if isinstance(exc, RateLimited) else None,
            )
            raise socketio.exceptions.ConnectionRefusedError(
                refusal.message, refusal.wire()
            ) from None
        visitor = Visitor(user.id, user.role, user.language)
        bucket = TokenBucket(EVENT_RATE, self.deps.monotonic())
        await self.save_session(sid, {"visitor": visitor, "bucket": bucket})
        await self.enter_room(sid, person(user.id))
        if user.role == Role.COORDINATOR:
            await self.enter_room(sid, COORDINATORS)
        await self.deps.presence.opened(user.id, sid, {"name": user.name, "role": user.role.value})

    def _admit_rate(self, environ: dict[str, Any]) -> None:
        request = environ.get("aiohttp.request")
        waited = self._connects.take(getattr(request, "remote", None) or "unknown")
        if waited:
            raise RateLimited(
                N_("Too many people joining from your address. Please try again in a moment."),
                retry_after=waited,
            )

    async def on_disconnect(self, sid: str, *_: Any) -> None:
        visitor = await self._visitor(sid)
        if visitor is not None:
            await self.deps.presence.closed(visitor.user_id, sid)

    # -- events -----------------------------------------------------------------------------

    async def on_school_state(self, visitor: Visitor, _: protocol.Empty) -> sp.StateAck:
        """The live view now, for a coordinator (on opening the page, and after a reconnect)."""
        if visitor.role != Role.COORDINATOR:
            raise PermissionDenied(N_("Only coordinators can see the live view."))
        return sp.StateAck(state=await self.state())

    async def on_substitute_offer(
        self, visitor: Visitor, payload: sp.SubstituteOffer
    ) -> sp.OfferAck:
        """A tutor is available to substitute for the next ``minutes`` (0: no longer)."""
        if visitor.role != Role.TUTOR:
            raise PermissionDenied(N_("Only tutors can offer to substitute."))
        now = self.deps.clock()
        until = now + timedelta(minutes=payload.minutes)
        await self.deps.presence.offer_substitute(visitor.user_id, until.timestamp())
        return sp.OfferAck(until=until.isoformat() if payload.minutes else None)

    async def on_alert_reassign(self, visitor: Visitor, payload: sp.AlertReassign) -> protocol.Ok:
        """One click: the alert's class goes to this tutor. The tutor hears it on whatever
        page they have open, the students waiting in the room read "Your tutor today is …",
        and the alert closes for every coordinator."""
        now = self.deps.clock()
        async with transaction(self.deps.maker) as db:
            actor = await self._coordinator(db, visitor)
            done = await autopilot.reassign(db, actor, payload.alert_id, payload.tutor_id, now)
        called = sp.Called(
            lesson_id=done.lesson_id,
            topic=done.topic,
            starts_at=done.starts_at.isoformat(),
            join_url=f"/classes/{done.lesson_id}/live",
            message=self.deps.translate(Notice(CALLED, {"topic": done.topic}), done.tutor_language),
            action=self.deps.translate(JOIN, done.tutor_language),
        )
        await self._tell(
            "school:called", called.wire(), room=person(done.tutor_id), namespace=self.namespace
        )
        await self._tell(
            "room:tutor",
            protocol.TutorChanged(name=done.tutor_name).wire(),
            room=channel(done.lesson_id),
            namespace=self.deps.class_namespace,
        )
        self.changed(urgent=True)
        return protocol.Ok()

    async def on_alert_dismiss(self, visitor: Visitor, payload: sp.AlertDismiss) -> protocol.Ok:
        """Close an alert without a substitution (the tutor phoned: they are on their way)."""
        async with transaction(self.deps.maker) as db:
            actor = await self._coordinator(db, visitor)
            await autopilot.dismiss(db, actor, payload.alert_id, self.deps.clock())
        self.changed(urgent=True)
        return protocol.Ok()

    async def _coordinator(self, db: AsyncSession, visitor: Visitor) -> User:
        if visitor.role != Role.COORDINATOR:
            raise PermissionDenied(N_("Only coordinators can act on alerts."))
        actor = await db.get(User, visitor.user_id)
        if actor is None:
            raise NotAuthenticated(N_("Please log in first."))
        return actor

    async def _tell(self, event: str, data: dict[str, Any], room: str, namespace: str) -> None:
        """Through the client manager, to whichever processes hold those sockets. The change
        itself is already stored: if Redis is down just now, people learn it from their
        messages and the class page instead."""
        try:
            await self.server.emit(event, data, room=room, namespace=namespace)
        except Exception:
            log.warning("could not tell %s about %s", room, event, exc_info=True)

    # -- the coordinators' live view ------------------------------------------------------------

    async def state(self) -> sp.SchoolState:
        return await snapshot(
            self.deps.maker, self.deps.presence, self.deps.clock(), self.deps.check_max_age
        )

    def changed(self, urgent: bool = False) -> None:
        """Presence changed (web/live.py wires presence through ``Watched``): tell the
        coordinators, once for all the changes within ``debounce``. An alert raised or
        closed is ``urgent``: it goes out now. Nothing goes out once closed (shutting down:
        the sockets closing then are the server's doing)."""
        if self._closed:
            return
        if urgent:
            task = asyncio.get_running_loop().create_task(self._tell_coordinators(0))
            self._urgent.add(task)
            task.add_done_callback(self._urgent.discard)
            return
        self._stale = True
        if self._pending is None or self._pending.done():
            self._pending = asyncio.get_running_loop().create_task(
                self._tell_coordinators(self.deps.debounce)
            )

    def alerts_changed(self, outcome: autopilot.Outcome) -> None:
        """The autopilot nudged a tutor, raised or closed alerts (signaling/autopilot.py)."""
        self.changed(urgent=True)

    async def _tell_coordinators(self, delay: float) -> None:
        await asyncio.sleep(delay)  # gather the changes of a burst into one
        if self._closed:
            return
        # A change from here on came after the snapshot began: once this one is out, another
        # follows (a tutor who left while the view of their arrival was being sent stayed
        # online on it: seen in CI).
        self._stale = False
        try:
            state = await self.state()
            await self.emit("school:state", state.wire(), room=COORDINATORS)
        except Exception:  # the next change or the page's own refresh will tell them
            log.warning("the coordinators' live view was not updated", exc_info=True)
        if self._stale and not self._closed:
            self._pending = asyncio.get_running_loop().create_task(
                self._tell_coordinators(self.deps.debounce)
            )

    async def close(self) -> None:
        """Stop pending updates (on shutdown). One already sending is let finish: cancelled
        midway, it would leave a Redis connection half open."""
        self._closed = True
        tasks = [*self._urgent, *([self._pending] if self._pending else [])]
        if not tasks:
            return
        _, late = await asyncio.wait(tasks, timeout=2.0)
        for task in late:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
