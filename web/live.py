"""Wiring the live classroom: Socket.IO on the aiohttp app, presence, the SFU."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator
from http.cookies import SimpleCookie
from typing import Any

import socketio
from aiohttp import web

from classroom import accounts
from classroom.db import transaction
from classroom.errors import Notice
from classroom.live import JoinWindow
from classroom.models import User
from signaling import wire_json
from signaling.autopilot import Autopilot
from signaling.keeper import Keeper
from signaling.media.probe import Probes
from signaling.media.sfu import Sfu
from signaling.namespace import ClassNamespace, LiveDeps
from signaling.presence import MemoryPresence, Presence, RedisPresence, Watched
from signaling.readiness import receipt
from signaling.room import Rooms
from signaling.school import SchoolDeps, SchoolNamespace
from web.keys import CLOCK, DB, SETTINGS
from web.middlewares import SESSION_COOKIE, TRANSLATIONS
from web.ratelimit import LIMITS, client_address

log = logging.getLogger(__name__)
NAMESPACE = "/class"
LIVE: web.AppKey[ClassNamespace] = web.AppKey("live")
SCHOOL_NAMESPACE = "/school"
SCHOOL: web.AppKey[SchoolNamespace] = web.AppKey("school")
SIO: web.AppKey[socketio.AsyncServer] = web.AppKey("sio")
AUTOPILOT: web.AppKey[Autopilot] = web.AppKey("autopilot")
PROBES: web.AppKey[Probes] = web.AppKey("probes")  # the setup check's peer connections
MAX_MESSAGE_BYTES = 256 * 1024  # an SDP offer with 27 media sections is about 30 kB


def join_window(app: web.Application) -> JoinWindow:
    settings = app[SETTINGS]
    return JoinWindow(before=settings.join_before, after_end=settings.join_after_end)


def setup(app: web.Application) -> None:
    settings = app[SETTINGS]
    manager = RedisManager(settings.redis_url) if settings.redis_url else None
    sio = socketio.AsyncServer(
        async_mode="aiohttp",
        client_manager=manager,
        transports=["websocket"],
        cors_allowed_origins=list(settings.origins),
        max_http_buffer_size=MAX_MESSAGE_BYTES,
        json=wire_json,
    )
    sio.attach(app)
    app[SIO] = sio
    app.cleanup_ctx.append(_live)
    app.on_shutdown.append(_close_live)


async def _live(app: web.Application) -> AsyncIterator[None]:
    settings = app[SETTINGS]
    presence: Presence = (
        RedisPresence.from_url(settings.redis_url) if settings.redis_url else MemoryPresence()
    )
    presence = Watched(presence)
    presence.start()
    school = _school(app, presence)
    presence.listen(school.changed)
    sfu = Sfu(
        settings.stun_urls,
        last_n=settings.last_n,
        keyframe_every_s=settings.keyframe_seconds,
    )
    namespace = ClassNamespace(
        NAMESPACE,
        LiveDeps(
            maker=app[DB],
            clock=app[CLOCK],
            window=join_window(app),
            authenticate=lambda environ: _authenticate(app, environ),
            translate=lambda notice, language: _translate(app, notice, language),
            rooms=Rooms(settings.speaking),
            presence=presence,
            sfu=sfu,
            keeper=Keeper(app[DB], app[CLOCK]),
            ice=settings.ice,
            process=settings.process_name,
            rate_limits=settings.live_rate_limits,
            show_student_share=settings.show_student_share,
            address=lambda environ: _address(app, environ),
            # The rate limits follow the app's clock, as the HTTP limits do: a test stops it.
            monotonic=lambda: app[CLOCK]().timestamp(),
        ),
    )
    app[SIO].register_namespace(namespace)
    app[LIVE] = namespace
    sfu.start()
    autopilot = Autopilot(
        app[DB],
        presence,
        app[CLOCK],
        settings.autopilot,
        changed=school.alerts_changed,
        interval=settings.autopilot_interval,
        attendance_policy=settings.attendance_policy,
    )
    autopilot.start()
    app[AUTOPILOT] = autopilot
    app[PROBES] = Probes(
        settings.stun_urls,
        receipt=lambda user_id, path: receipt(
            settings.secret_key, user_id, path, int(app[CLOCK]().timestamp())
        ),
    )
    yield
    await app[PROBES].close()
    await autopilot.close()
    await school.close()
    await presence.close()


def _school(app: web.Application, presence: Presence) -> SchoolNamespace:
    """The /school namespace: who has Kelas open, and the coordinators' live view."""
    school = SchoolNamespace(
        SCHOOL_NAMESPACE,
        SchoolDeps(
            maker=app[DB],
            clock=app[CLOCK],
            authenticate=lambda environ: _authenticate(app, environ),
            translate=lambda notice, language: _translate(app, notice, language),
            presence=presence,
            rate_limits=app[SETTINGS].live_rate_limits,
            class_namespace=NAMESPACE,
            check_max_age=app[SETTINGS].check_max_age,
        ),
    )
    app[SIO].register_namespace(school)
    app[SCHOOL] = school
    return school


async def _close_live(app: web.Application) -> None:
    """On shutdown, before aiohttp waits for open requests: close every socket and peer, so
    that SIGTERM stops a server with live classes in moments, not after the 60 s timeout
    that a still-open WebSocket would cost."""
    started = time.monotonic()
    if AUTOPILOT in app:  # nothing may emit once the manager is closed
        await app[AUTOPILOT].close()
    if SCHOOL in app:
        await app[SCHOOL].close()
    if PROBES in app:
        await app[PROBES].close()
    live = app.get(LIVE)
    rooms = len(live.deps.rooms.all()) if live is not None else 0
    if live is not None:
        await live.close()
    sio = app[SIO]
    if sio.eio.sockets:  # close the transports too, not only the class namespace
        await sio.eio.disconnect()
    await sio.shutdown()
    await _close_manager(sio)
    log.info("live classes closed (%d) in %.2f s", rooms, time.monotonic() - started)


class RedisManager(socketio.AsyncRedisManager):  # type: ignore[misc]
    """python-socketio's Redis manager, keeping the clients it makes. Its publisher and its
    listener each connect by replacing ``redis`` (whichever comes first at start-up is
    replaced by the other), and ``shutdown`` closes none: ``close`` closes them all."""

    def __init__(self, url: str) -> None:
        super().__init__(url)
        self.clients: list[Any] = []

    def _redis_connect(self) -> None:
        super()._redis_connect()
        self.clients.append((self.redis, self.pubsub))

    async def close(self) -> None:
        listener = getattr(self, "thread", None)
        if isinstance(listener, asyncio.Task):
            listener.cancel()
            await asyncio.gather(listener, return_exceptions=True)
        for redis, pubsub in self.clients:
            await pubsub.aclose()
            await redis.connection_pool.disconnect(inuse_connections=True)
            await redis.aclose()


async def _close_manager(sio: socketio.AsyncServer) -> None:
    if isinstance(sio.manager, RedisManager):
        await sio.manager.close()


def _address(app: web.Application, environ: dict[str, Any]) -> str:
    """The client's address, by the same rules as the HTTP limits (trusted proxies)."""
    request = environ.get("aiohttp.request")
    if request is None:
        return "unknown"
    headers = request.headers.get("X-Forwarded-For")
    return client_address(request.remote, headers, app[LIMITS].trusted_proxies)


async def _authenticate(app: web.Application, environ: dict[str, Any]) -> User | None:
    """The user behind the session cookie of the WebSocket handshake."""
    cookies: SimpleCookie = SimpleCookie()
    cookies.load(environ.get("HTTP_COOKIE", ""))
    morsel = cookies.get(SESSION_COOKIE)
    if morsel is None:
        return None
    async with transaction(app[DB]) as db:
        auth = await accounts.load_session(db, morsel.value, app[CLOCK]())
    return auth.user if auth else None


def _translate(app: web.Application, notice: Notice, language: str) -> str:
    catalogs = app[TRANSLATIONS]
    catalog = catalogs.get(language, catalogs["en"])
    return catalog.gettext(notice.template).format(**notice.params)
