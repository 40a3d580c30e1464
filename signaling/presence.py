"""Who is online in which live class, and which process hosts each class.

One interface, two backends: in memory for the single-process default, Redis when several
processes serve one school (python-socketio's Redis manager carries their emits).

With Redis, Redis is shared knowledge but never the only copy. Each process keeps the truth
of what it holds (its people per class, the homes it hosts) and re-asserts it every
``interval`` with a time to live, so:

- a Redis restart (it runs without persistence) is repaired by the next re-assert, about one
  interval after Redis accepts connections again;
- what a process that died had asserted expires after ``ttl`` (its homes after ``lease``),
  while the entries of live processes are rewritten before they can expire;
- while Redis is down a live class goes on where it is hosted: reads answer from this
  process's own knowledge, writes wait for the next re-assert, and only taking a home this
  process does not hold is refused (Unavailable), since nobody can tell whether another
  process hosts that class.

Key layout (one Redis database; Redis 7.0 has no per-field expiry, so what expires together
lives in one key):

    kelas:people:<instance>  hash lesson -> JSON {user: info}: one process's people, the whole
                             key with a PEXPIRE of ``ttl``, replaced whole by each re-assert
    kelas:instances          set of the instances that may have people; readers visit each,
                             and a re-assert drops those whose people key has expired
    kelas:home:<lesson>      the name of the process hosting the class, with a PX lease of
                             ``lease``, renewed by the holder's re-asserts

    kelas:online:<instance>  hash user -> JSON {name, role, since, seen, sockets}: the people
                             with Kelas open on one process (a socket on any page), kept
                             like the people key: whole-key PEXPIRE, re-asserted
    kelas:online-instances   set of the instances that may have people online, pruned like
                             kelas:instances
    kelas:substitutes        sorted set user -> until (epoch seconds): tutors available to
                             substitute; not tied to a process, read past their time as gone

``<instance>`` is unique per RedisPresence (host, pid and a random tag), so two processes
given the same name by mistake cannot overwrite each other's people.

Known limit, left to the failover design: right after a Redis restart the homes are gone
until their holders' next re-assert; a claim by another process in that window wins, and the
holder then logs a warning and stops claiming that class.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import secrets
import socket
import time
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from typing import Any, Final, TypeVar

from pydantic import ValidationError
from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import RedisError

from classroom.errors import N_, Unavailable
from signaling.protocol import Quality

log = logging.getLogger(__name__)

T = TypeVar("T")
People = dict[int, dict[str, Any]]


@dataclass(frozen=True)
class Seen:
    """One person with Kelas open right now (a socket on any page), as presence knows them.

    ``since``: when their first open socket connected; ``seen``: when a process last
    confirmed a socket of theirs open (epoch seconds). ``lesson_id``: the live class room
    they are in, if any; ``quality``: their connection there, once the server measured it
    (the room's presence info key ``quality``, see ``quality_of``)."""

    user_id: int
    name: str
    role: str
    since: float
    seen: float
    lesson_id: int | None = None
    quality: Quality | None = None


def quality_of(info: dict[str, Any]) -> Quality | None:
    """The measured connection in a room's presence info (``{grade, rtt_ms, loss}``, as
    ``Quality.wire()`` wrote it); None when there is none, or none this version can read
    (another process of another version may share Redis during an upgrade)."""
    found = info.get("quality")
    if found is None:
        return None
    try:
        return Quality.model_validate(found)
    except ValidationError:
        return None


class Presence(ABC):
    @abstractmethod
    async def online(self, lesson_id: int, user_id: int, info: dict[str, Any]) -> None: ...

    @abstractmethod
    async def offline(self, lesson_id: int, user_id: int) -> None: ...

    @abstractmethod
    async def who(self, lesson_id: int) -> People: ...

    @abstractmethod
    async def live_lessons(self) -> list[int]: ...

    @abstractmethod
    async def claim(self, lesson_id: int, process: str) -> str:
        """Make ``process`` the home of the class unless another one already is; returns
        the home. Raises Unavailable when that cannot be known just now."""

    @abstractmethod
    async def release(self, lesson_id: int, process: str) -> None: ...

    # -- who has Kelas open, anywhere (the /school namespace) --------------------------------

    @abstractmethod
    async def opened(self, user_id: int, sid: str, info: dict[str, Any]) -> None:
        """A socket of this person opened (``info``: name and role). Several tabs, several
        sockets: the person stays online until the last one closes."""

    @abstractmethod
    async def closed(self, user_id: int, sid: str) -> None: ...

    @abstractmethod
    async def everyone(self) -> dict[int, Seen]:
        """Everybody with a socket open on any process, with the class room each is in."""

    @abstractmethod
    async def last_seen(self, user_ids: list[int]) -> dict[int, float]:
        """When each of these people last had Kelas open (epoch seconds; now for those online),
        for those who ever had."""

    @abstractmethod
    async def offer_substitute(self, user_id: int, until: float) -> None:
        """This tutor is available to substitute until ``until`` (epoch seconds); a time
        in the past withdraws the offer."""

    @abstractmethod
    async def substitutes(self, now: float) -> dict[int, float]:
        """The tutors available to substitute at ``now``, with until when."""

    @property
    def complete(self) -> bool:
        """Whether ``everyone`` sees every process's people (not while Redis is down)."""
        return True

    def start(self) -> None:
        """Begin the backend's background work, if it has any (once, in a running loop)."""
        return None

    async def close(self) -> None:
        return None


class MemoryPresence(Presence):
    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._people: dict[int, People] = {}
        self._homes: dict[int, str] = {}
        self._clock = clock
        self._sockets = Sockets(clock)
        self._substitutes: dict[int, float] = {}
        self._last: dict[int, float] = {}

    async def online(self, lesson_id: int, user_id: int, info: dict[str, Any]) -> None:
        self._people.setdefault(lesson_id, {})[user_id] = info

    async def offline(self, lesson_id: int, user_id: int) -> None:
        people = self._people.get(lesson_id, {})
        people.pop(user_id, None)
        if not people:
            self._people.pop(lesson_id, None)
        self._last[user_id] = self._clock()

    async def who(self, lesson_id: int) -> People:
        return dict(self._people.get(lesson_id, {}))

    async def live_lessons(self) -> list[int]:
        return sorted(self._people)

    async def claim(self, lesson_id: int, process: str) -> str:
        return self._homes.setdefault(lesson_id, process)

    async def release(self, lesson_id: int, process: str) -> None:
        if self._homes.get(lesson_id) == process:
            del self._homes[lesson_id]

    async def opened(self, user_id: int, sid: str, info: dict[str, Any]) -> None:
        self._sockets.open(user_id, sid, info)

    async def closed(self, user_id: int, sid: str) -> None:
        self._sockets.close(user_id, sid)
        if user_id not in self._sockets.people:
            self._last[user_id] = self._clock()

    async def everyone(self) -> dict[int, Seen]:
        return _in_rooms(self._sockets.seen(), self._people, self._clock())

    async def last_seen(self, user_ids: list[int]) -> dict[int, float]:
        online = await self.everyone()
        now = self._clock()
        found = {u: now if u in online else self._last.get(u) for u in user_ids}
        return {u: at for u, at in found.items() if at is not None}

    async def offer_substitute(self, user_id: int, until: float) -> None:
        self._substitutes[user_id] = until

    async def substitutes(self, now: float) -> dict[int, float]:
        self._substitutes = {u: until for u, until in self._substitutes.items() if until > now}
        return dict(self._substitutes)


class Sockets:
    """One process's open sockets per person, and what it tells others of them."""

    def __init__(self, clock: Callable[[], float]) -> None:
        self._clock = clock
        self.people: dict[int, dict[str, Any]] = {}  # user -> {name, role, since, sids}

    def open(self, user_id: int, sid: str, info: dict[str, Any]) -> None:
        person = self.people.setdefault(user_id, {"since": self._clock(), "sids": set()})
        person.update(name=info.get("name", ""), role=info.get("role", ""))
        person["sids"].add(sid)

    def close(self, user_id: int, sid: str) -> None:
        person = self.people.get(user_id)
        if person is not None:
            person["sids"].discard(sid)
            if not person["sids"]:
                del self.people[user_id]

    def now(self) -> float:
        return self._clock()

    def seen(self) -> dict[int, Seen]:
        now = self._clock()
        return {
            user: Seen(user, p["name"], p["role"], since=p["since"], seen=now)
            for user, p in self.people.items()
        }

    def dump(self, user_id: int) -> str | None:
        found = self.seen().get(user_id)
        if found is None:
            return None
        return json.dumps(
            {"name": found.name, "role": found.role, "since": found.since, "seen": found.seen}
        )


# A room's roles, as the account roles that ``Seen.role`` holds.
ACCOUNT_ROLE = {"tutor": "tutor", "student": "student", "observer": "coordinator"}


def _in_rooms(online: dict[int, Seen], rooms: dict[int, People], now: float) -> dict[int, Seen]:
    """``online`` with the class room (and its quality) of each person who is in one. Someone
    in a class room is online even without a /school socket: the class page keeps its one
    connection to itself."""
    found = dict(online)
    for lesson, people in sorted(rooms.items()):
        for user, info in people.items():
            known = found.get(user) or Seen(
                user,
                str(info.get("name", "")),
                ACCOUNT_ROLE.get(str(info.get("role")), "student"),
                since=now,
                seen=now,
            )
            found[user] = replace(known, lesson_id=lesson, quality=quality_of(info))
    return found


INSTANCES: Final = "kelas:instances"
PEOPLE: Final = "kelas:people:"
HOME: Final = "kelas:home:"
ONLINE_INSTANCES: Final = "kelas:online-instances"
ONLINE: Final = "kelas:online:"
SUBSTITUTES: Final = "kelas:substitutes"
LAST_SEEN: Final = "kelas:last-seen"


def _assert_script(prefix: str) -> str:
    """Replaces one instance's entries whole (so an offline missed while Redis was down cannot
    linger) and drops from the index every instance whose entries (``prefix`` + instance) have
    expired. The index is pruned here, atomically, because a prune from outside could race a
    live instance's re-assert and hide its people until the next one."""
    return f"""
redis.call('DEL', KEYS[2])
for i = 3, #ARGV, 2 do
  redis.call('HSET', KEYS[2], ARGV[i], ARGV[i + 1])
end
if #ARGV > 2 then
  redis.call('PEXPIRE', KEYS[2], ARGV[2])
  redis.call('SADD', KEYS[1], ARGV[1])
end
for _, instance in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  if redis.call('EXISTS', '{prefix}' .. instance) == 0 then
    redis.call('SREM', KEYS[1], instance)
  end
end
return 1
"""


ASSERT_PEOPLE = _assert_script(PEOPLE)  # who is in which class room
ASSERT_ONLINE = _assert_script(ONLINE)  # who has Kelas open anywhere (the /school namespace)

# Takes or renews each home KEYS[i] for the process ARGV[i + 1] with the lease ARGV[1] (ms);
# returns each class's home after the call.
CLAIM_HOMES = """
local homes = {}
for i, key in ipairs(KEYS) do
  local process = ARGV[i + 1]
  local home = redis.call('GET', key)
  if not home then
    redis.call('SET', key, process, 'PX', ARGV[1])
    home = process
  elseif home == process then
    redis.call('PEXPIRE', key, ARGV[1])
  end
  homes[i] = home
end
return homes
"""

RELEASE_HOME = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('DEL', KEYS[1])
end
return 1
"""

# Redis being down shows as a RedisError (ConnectionError, TimeoutError) from the client, or
# as a bare OSError from the socket on some paths.
REDIS_DOWN = (RedisError, OSError)


class _Down:
    """What a guarded Redis call gives when Redis could not answer."""


DOWN: Final = _Down()


class RedisPresence(Presence):
    """Presence shared through Redis, kept alive by this process (see the module docstring).

    ``interval``: seconds between re-asserts; ``ttl``: how long this process's people outlive
    its last re-assert; ``lease``: the same for the homes it hosts. The default lease, 4 s, is
    three missed renewals, and a dead process's classes can be hosted elsewhere at most 4 s
    after it died (docs/deployment.md: failover within 10 s). A Redis stall longer than that
    loses a home only if another process claims the class meanwhile, which the proxy's routing
    by class does only when this process is unreachable. ``redis`` must decode responses;
    ``from_url`` builds a client that fails fast.
    """

    def __init__(
        self,
        redis: Redis,
        *,
        interval: float = 1.0,
        ttl: float = 5.0,
        lease: float = 4.0,
        instance: str | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._redis = redis
        self._interval = interval
        self._ttl_ms = round(ttl * 1000)
        self._lease_ms = round(lease * 1000)
        self.instance = instance or f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}"
        self._people: dict[int, People] = {}
        self._homes: dict[int, str] = {}
        self._reachable = True
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._assert_people = redis.register_script(ASSERT_PEOPLE)
        self._claim_homes = redis.register_script(CLAIM_HOMES)
        self._release_home = redis.register_script(RELEASE_HOME)
        self._sockets = Sockets(clock)
        self._assert_online = redis.register_script(ASSERT_ONLINE)
        self._online_asserted = False  # whether Redis may hold people online from here
        # This process's writes of its people, one at a time, each of the state when it is
        # written: a re-assert's snapshot reaching Redis after a newer change (on another
        # connection of the pool) would put back someone who had left.
        self._writing = asyncio.Lock()

    @property
    def complete(self) -> bool:
        return self._reachable

    @classmethod
    def from_url(cls, url: str, **options: Any) -> RedisPresence:
        """A client that fails fast while Redis is down: the re-assert loop is the retry, and
        a live class must not wait on Redis. One immediate retry, for a pooled connection
        that a Redis restart left dead."""
        redis = Redis.from_url(
            url,
            decode_responses=True,
            retry=Retry(NoBackoff(), 1),
            socket_timeout=2.0,
            socket_connect_timeout=2.0,
        )
        return cls(redis, **options)

    # -- the interface ------------------------------------------------------------------

    async def online(self, lesson_id: int, user_id: int, info: dict[str, Any]) -> None:
        self._people.setdefault(lesson_id, {})[user_id] = info
        await self._publish(lesson_id)

    async def offline(self, lesson_id: int, user_id: int) -> None:
        people = self._people.get(lesson_id, {})
        people.pop(user_id, None)
        if not people:
            self._people.pop(lesson_id, None)
        await self._publish(lesson_id)
        await self._record_last_seen([user_id])

    async def who(self, lesson_id: int) -> People:
        found: People = {}
        others = await self._attempt(self._others(lambda pipe, key: pipe.hget(key, lesson_id)))
        if not isinstance(others, _Down):
            for raw in others:
                found.update({int(user): info for user, info in json.loads(raw).items()})
        found.update(self._people.get(lesson_id, {}))
        return found

    async def live_lessons(self) -> list[int]:
        lessons = set(self._people)
        others = await self._attempt(self._others(lambda pipe, key: pipe.hkeys(key)))
        if not isinstance(others, _Down):
            lessons.update(int(lesson) for fields in others for lesson in fields)
        return sorted(lessons)

    async def claim(self, lesson_id: int, process: str) -> str:
        held = self._homes.get(lesson_id) == process
        if held and not self._reachable:
            return process  # ours already; the re-assert renews it once Redis is back
        homes = await self._attempt(
            self._claim_homes(keys=[HOME + str(lesson_id)], args=[self._lease_ms, process])
        )
        if isinstance(homes, _Down):
            if held:
                return process
            raise Unavailable()
        home = str(homes[0])
        if home == process:
            self._homes[lesson_id] = process
        elif held:
            self._lose_home(lesson_id, home)
        return home

    async def release(self, lesson_id: int, process: str) -> None:
        if self._homes.get(lesson_id) == process:
            del self._homes[lesson_id]
        if self._reachable:
            # While Redis is down the lease runs out by itself.
            await self._attempt(self._release_home(keys=[HOME + str(lesson_id)], args=[process]))

    async def opened(self, user_id: int, sid: str, info: dict[str, Any]) -> None:
        self._sockets.open(user_id, sid, info)
        await self._publish_online(user_id)

    async def closed(self, user_id: int, sid: str) -> None:
        self._sockets.close(user_id, sid)
        await self._publish_online(user_id)
        if user_id not in self._sockets.people:
            await self._record_last_seen([user_id])

    async def _record_last_seen(self, user_ids: list[int]) -> None:
        if user_ids and self._reachable:
            now = self._sockets.now()
            seen = {str(user): now for user in user_ids}
            await self._attempt(self._redis.hset(LAST_SEEN, mapping=seen))  # type: ignore[arg-type]

    async def last_seen(self, user_ids: list[int]) -> dict[int, float]:
        """Those online now, and what Redis recorded of the others when they closed their
        last tab or left a class room (nothing while it is down). The people of a process
        that vanished keep their earlier record: a re-assert does not write it, since the
        extra Redis call each second made the Redis-restart test hang (see the commit)."""
        online = await self.everyone()
        now = self._sockets.now()
        found = {u: now for u in user_ids if u in online}
        others = [u for u in user_ids if u not in online]
        if others:
            stored = await self._attempt(self._redis.hmget(LAST_SEEN, [str(u) for u in others]))
            if not isinstance(stored, _Down):
                found.update({u: float(at) for u, at in zip(others, stored, strict=True) if at})
        return found

    async def everyone(self) -> dict[int, Seen]:
        online: dict[int, Seen] = {}
        rooms: dict[int, People] = {}
        found = await self._attempt(self._everywhere())
        if not isinstance(found, _Down):
            online, rooms = found
        for user, mine in self._sockets.seen().items():
            theirs = online.get(user)
            online[user] = replace(mine, since=min(mine.since, theirs.since)) if theirs else mine
        for lesson, people in self._people.items():
            rooms.setdefault(lesson, {}).update(people)
        return _in_rooms(online, rooms, self._sockets.now())

    async def offer_substitute(self, user_id: int, until: float) -> None:
        """Raises Unavailable while Redis is down: the offer would be lost."""
        stored = await self._attempt(self._redis.zadd(SUBSTITUTES, {str(user_id): until}))
        if isinstance(stored, _Down):
            raise Unavailable(N_("This cannot be saved just now. Please try again in a moment."))

    async def substitutes(self, now: float) -> dict[int, float]:
        """Nobody while Redis is down (the offers live there only)."""

        async def read() -> list[Any]:
            async with self._redis.pipeline(transaction=True) as pipe:
                _ = pipe.zremrangebyscore(SUBSTITUTES, "-inf", now)
                _ = pipe.zrange(SUBSTITUTES, 0, -1, withscores=True)
                _, found = await pipe.execute()
            return list(found)

        found = await self._attempt(read())
        if isinstance(found, _Down):
            return {}
        return {int(user): float(until) for user, until in found}

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._reassert_forever())

    async def close(self) -> None:
        """Stop re-asserting and withdraw what this process asserted, then close the client."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        if self._reachable:
            await self._attempt(self._withdraw())
        await self._redis.aclose()

    # -- re-asserting ---------------------------------------------------------------------

    async def _reassert_forever(self) -> None:
        while True:
            try:
                await self.reassert()
            except Exception:  # a bug here must not end the loop: presence would expire
                log.exception("re-asserting presence failed")
            # Not wait_for: on Python 3.11 it can swallow the cancel of close() when its
            # wait ends at the same moment, and the loop, never cancelled, makes close()
            # hang (seen once in CI). asyncio.timeout tells its own cancel from others'.
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self._interval):
                    await self._wake.wait()
            self._wake.clear()

    async def reassert(self) -> None:
        """Write everything this process holds to Redis again (the loop does it every
        ``interval``; a call does it now). Homes first: whoever sees this process's people
        again also sees the classes it hosts."""
        async with self._writing:
            await self._reassert()

    async def _reassert(self) -> None:
        if self._homes:
            held = list(self._homes.items())
            homes = await self._attempt(
                self._claim_homes(
                    keys=[HOME + str(lesson) for lesson, _ in held],
                    args=[self._lease_ms, *(process for _, process in held)],
                )
            )
            if isinstance(homes, _Down):
                return
            for (lesson, process), home in zip(held, homes, strict=True):
                if home != process and self._homes.get(lesson) == process:
                    self._lose_home(lesson, str(home))
        fields = [
            str(item) for lesson, people in self._people.items() for item in (lesson, _dump(people))
        ]
        keys = [INSTANCES, PEOPLE + self.instance]
        await self._attempt(
            self._assert_people(keys=keys, args=[self.instance, self._ttl_ms, *fields])
        )
        await self._reassert_online()

    async def _reassert_online(self) -> None:
        if not self._sockets.people and not self._online_asserted:
            return  # nothing to assert and nothing left to withdraw: no Redis call
        fields = [
            str(item)
            for user in self._sockets.people
            for item in (user, self._sockets.dump(user) or "")
        ]
        keys = [ONLINE_INSTANCES, ONLINE + self.instance]
        done = await self._attempt(
            self._assert_online(keys=keys, args=[self.instance, self._ttl_ms, *fields])
        )
        if not isinstance(done, _Down):
            self._online_asserted = bool(fields)

    def _lose_home(self, lesson_id: int, home: str) -> None:
        del self._homes[lesson_id]
        log.warning(
            "class %s is now hosted by %s although this process still hosted it", lesson_id, home
        )

    # -- Redis calls, each guarded ----------------------------------------------------------

    async def _publish(self, lesson_id: int) -> None:
        """Write one class's people now if Redis is up; if it is down, the re-assert will."""
        if not self._reachable:
            return
        key = PEOPLE + self.instance

        async def write() -> None:
            people = self._people.get(lesson_id)  # as they are when written (_writing)
            async with self._redis.pipeline(transaction=True) as pipe:
                if people:
                    _ = pipe.hset(key, str(lesson_id), _dump(people))
                else:
                    _ = pipe.hdel(key, str(lesson_id))
                _ = pipe.pexpire(key, self._ttl_ms)
                _ = pipe.sadd(INSTANCES, self.instance)
                await pipe.execute()

        async with self._writing:
            await self._attempt(write())

    async def _publish_online(self, user_id: int) -> None:
        """Write one person's sockets now if Redis is up; if it is down, the re-assert will."""
        if not self._reachable:
            return
        key = ONLINE + self.instance

        async def write() -> None:
            dumped = self._sockets.dump(user_id)  # as they are when written (_writing)
            async with self._redis.pipeline(transaction=True) as pipe:
                if dumped:
                    _ = pipe.hset(key, str(user_id), dumped)
                else:
                    _ = pipe.hdel(key, str(user_id))
                _ = pipe.pexpire(key, self._ttl_ms)
                _ = pipe.sadd(ONLINE_INSTANCES, self.instance)
                await pipe.execute()
            self._online_asserted = True

        async with self._writing:
            await self._attempt(write())

    async def _everywhere(self) -> tuple[dict[int, Seen], dict[int, People]]:
        """The people online and in class rooms on every other instance that answered."""
        online: dict[int, Seen] = {}
        rooms: dict[int, People] = {}
        for raw in await self._others_in(ONLINE_INSTANCES, ONLINE, lambda p, k: p.hgetall(k)):
            for user, dumped in raw.items():
                info = json.loads(dumped)
                seen = Seen(int(user), info["name"], info["role"], info["since"], info["seen"])
                known = online.get(seen.user_id)
                if known is not None:
                    seen = replace(seen, since=min(seen.since, known.since))
                    seen = replace(seen, seen=max(seen.seen, known.seen))
                online[seen.user_id] = seen
        for raw in await self._others(lambda pipe, key: pipe.hgetall(key)):
            for lesson, people in raw.items():
                room = rooms.setdefault(int(lesson), {})
                room.update({int(user): info for user, info in json.loads(people).items()})
        return online, rooms

    async def _others_in(self, index: str, prefix: str, read: Any) -> list[Any]:
        """``read(pipe, key)`` on the ``prefix`` key of every other instance in ``index``."""
        instances = await self._redis.smembers(index)
        others = [str(i) for i in instances if i != self.instance]
        if not others:
            return []
        async with self._redis.pipeline(transaction=False) as pipe:
            for instance in others:
                _ = read(pipe, prefix + instance)
            results = await pipe.execute()
        return [r for r in results if r]

    async def _others(self, read: Any) -> list[Any]:
        """``read(pipe, key)`` on the people of every other instance that answered."""
        instances = await self._redis.smembers(INSTANCES)
        others = [str(i) for i in instances if i != self.instance]
        if not others:
            return []
        async with self._redis.pipeline(transaction=False) as pipe:
            for instance in others:
                _ = read(pipe, PEOPLE + instance)
            results = await pipe.execute()
        return [r for r in results if r]

    async def _withdraw(self) -> None:
        await self._redis.delete(PEOPLE + self.instance, ONLINE + self.instance)
        for lesson, process in list(self._homes.items()):
            await self._release_home(keys=[HOME + str(lesson)], args=[process])

    async def _attempt(self, call: Awaitable[T]) -> T | _Down:
        """Await a Redis call; if Redis is down, note it and give DOWN instead of raising."""
        try:
            result = await call
        except REDIS_DOWN as exc:
            if self._reachable:
                self._reachable = False
                log.warning(
                    "Redis is unreachable (%s); live classes go on with this process's own "
                    "presence until it is back",
                    exc,
                )
            return DOWN
        if not self._reachable:
            self._reachable = True
            self._wake.set()  # re-assert now rather than at the next tick
            log.info("Redis is reachable again; re-asserting this process's presence")
        return result


def _dump(people: People) -> str:
    return json.dumps({str(user): info for user, info in people.items()})


class Watched(Presence):
    """Another presence, calling ``changed()`` after every change of who is where (so the
    coordinators' live view hears of the class rooms' joins and leaves too)."""

    def __init__(self, inner: Presence) -> None:
        self.inner = inner
        self._changed: Callable[[], None] = lambda: None

    def listen(self, changed: Callable[[], None]) -> None:
        self._changed = changed

    async def online(self, lesson_id: int, user_id: int, info: dict[str, Any]) -> None:
        await self.inner.online(lesson_id, user_id, info)
        self._changed()

    async def offline(self, lesson_id: int, user_id: int) -> None:
        await self.inner.offline(lesson_id, user_id)
        self._changed()

    async def who(self, lesson_id: int) -> People:
        return await self.inner.who(lesson_id)

    async def live_lessons(self) -> list[int]:
        return await self.inner.live_lessons()

    async def claim(self, lesson_id: int, process: str) -> str:
        return await self.inner.claim(lesson_id, process)

    async def release(self, lesson_id: int, process: str) -> None:
        await self.inner.release(lesson_id, process)

    async def opened(self, user_id: int, sid: str, info: dict[str, Any]) -> None:
        await self.inner.opened(user_id, sid, info)
        self._changed()

    async def closed(self, user_id: int, sid: str) -> None:
        await self.inner.closed(user_id, sid)
        self._changed()

    async def everyone(self) -> dict[int, Seen]:
        return await self.inner.everyone()

    async def last_seen(self, user_ids: list[int]) -> dict[int, float]:
        return await self.inner.last_seen(user_ids)

    async def offer_substitute(self, user_id: int, until: float) -> None:
        await self.inner.offer_substitute(user_id, until)
        self._changed()

    async def substitutes(self, now: float) -> dict[int, float]:
        return await self.inner.substitutes(now)

    @property
    def complete(self) -> bool:
        return self.inner.complete

    def start(self) -> None:
        self.inner.start()

    async def close(self) -> None:
        await self.inner.close()
