"""The clients of the join benchmark (bench/joins.py): joins paced by the clock, and a class
that chats while they happen.

Every client is a real ``socketio.AsyncClient`` with its own aiohttp session bound to a
loopback address (``TCPConnector(local_addr=...)``), which is how the server tells one
client address from another. A session each, not one per address: the Engine.IO client
moves the handshake's Cookie header into its session's cookie jar, so people sharing a
session would join as one another.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import socketio
from live_school import Person

NAMESPACE = "/class"
TIMEOUT = 10.0


class Unexpected(Exception):
    """A client got something the benchmark did not expect: its run is not reported."""


@dataclass(frozen=True)
class Attempt:
    """One join: admitted, or refused as rate-limited after ``retry_after`` seconds."""

    address: str
    started: float  # time.perf_counter() when connect() was called
    seconds: float  # until connected, or until the refusal arrived
    admitted: bool
    retry_after: float | None = None


def bound_client(address: str) -> tuple[socketio.AsyncClient, aiohttp.ClientSession]:
    http = aiohttp.ClientSession(connector=aiohttp.TCPConnector(local_addr=(address, 0)))
    return socketio.AsyncClient(reconnection=False, http_session=http), http


async def connect(client: socketio.AsyncClient, base_url: str, person: Person, lesson: int) -> None:
    await client.connect(
        base_url,
        headers={"Cookie": f"kelas_session={person.cookie}"},
        auth={"lesson_id": lesson},
        namespaces=[NAMESPACE],
        transports=["websocket"],
        wait_timeout=TIMEOUT,
    )


async def join_once(base_url: str, address: str, person: Person, lesson: int) -> Attempt:
    """Connect, wait until the server admits or refuses, and leave again if admitted.

    Admitted means the namespace connected: python-socketio sends CONNECT only after
    ``on_connect`` returned, so the person was checked, placed in the room and recorded.
    """
    client, http = bound_client(address)
    refusals: list[Any] = []
    client.on("connect_error", refusals.append, namespace=NAMESPACE)
    started = time.perf_counter()
    try:
        try:
            await asyncio.wait_for(connect(client, base_url, person, lesson), 2 * TIMEOUT)
        except socketio.exceptions.ConnectionError as exc:
            return refused(address, started, refusals, exc)
        seconds = time.perf_counter() - started
        await asyncio.wait_for(client.disconnect(), TIMEOUT)
        return Attempt(address, started, seconds, admitted=True)
    finally:
        await http.close()


def refused(address: str, started: float, refusals: list[Any], exc: Exception) -> Attempt:
    seconds = time.perf_counter() - started
    # python-socketio hands the handler {message, data}: data is what the server refused with.
    error = refusals[0] if refusals else None
    data = error.get("data") if isinstance(error, dict) else None
    if not isinstance(data, dict) or data.get("code") != "rate_limited":
        raise Unexpected(f"join from {address} refused: {exc} {error!r}")
    retry_after = data.get("retry_after")
    if not isinstance(retry_after, int | float) or not data.get("message"):
        raise Unexpected(f"rate_limited without retry_after or message: {data!r}")
    return Attempt(address, started, seconds, admitted=False, retry_after=float(retry_after))


class People:
    """People who take turns joining from one address, never one person twice at once: a
    second connection of someone already in the room would replace the first."""

    def __init__(self, people: list[Person]) -> None:
        self._free = deque(people)

    async def join(self, base_url: str, address: str, lesson: int) -> Attempt:
        if not self._free:
            raise Unexpected(f"more joins from {address} at once than people to join")
        person = self._free.popleft()
        try:
            return await join_once(base_url, address, person, lesson)
        finally:
            self._free.append(person)


@dataclass
class Outcome:
    """What a set of clients did: their attempts, and what went wrong with any of them."""

    attempts: list[Attempt] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    @property
    def admitted(self) -> list[Attempt]:
        return [a for a in self.attempts if a.admitted]

    @property
    def refused(self) -> list[Attempt]:
        return [a for a in self.attempts if not a.admitted]


async def gather(joins: Sequence[Awaitable[Attempt]]) -> Outcome:
    outcome = Outcome()
    for result in await asyncio.gather(*joins, return_exceptions=True):
        if isinstance(result, BaseException):
            outcome.problems.append(f"{type(result).__name__}: {result}")
        else:
            outcome.attempts.append(result)
    return outcome


async def paced(rate: float, seconds: float, join: Callable[[], Awaitable[Attempt]]) -> Outcome:
    """``rate`` joins a second for ``seconds``, each started on time by the clock whether
    or not the ones before it have finished (an open loop: a slow server cannot slow the
    offered rate down)."""
    started = time.perf_counter()
    tasks = []
    for n in range(round(rate * seconds)):
        delay = started + n / rate - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.ensure_future(join()))
    return await gather(tasks)


@dataclass(frozen=True)
class Line:
    """One chat message: its ack, and its arrival at the other person, after sending."""

    ack: float
    delivered: float


class ChatPair:
    """A class's tutor and student, connected from their own address, taking turns to say
    something every ``every`` seconds (each stays under the chat limit of one a second)."""

    def __init__(self, base_url: str, address: str, lesson: int, people: list[Person]) -> None:
        self.base_url, self.address, self.lesson, self.people = base_url, address, lesson, people
        self.clients: list[tuple[socketio.AsyncClient, aiohttp.ClientSession]] = []
        self.waiting: dict[tuple[int, str], asyncio.Future[float]] = {}
        self.problems: list[str] = []
        self.sent = 0
        self.closing = False

    async def open(self) -> None:
        for index, person in enumerate(self.people):
            client, http = bound_client(self.address)
            self.clients.append((client, http))
            client.on("chat:message", self._heard(index), namespace=NAMESPACE)
            client.on("disconnect", self._dropped(person), namespace=NAMESPACE)
            await connect(client, self.base_url, person, self.lesson)
            hello = await client.call("hello", {"after": 0}, namespace=NAMESPACE, timeout=TIMEOUT)
            if "error" in hello:
                raise Unexpected(f"hello refused: {hello}")

    def _heard(self, index: int) -> Callable[[dict[str, Any]], None]:
        def heard(message: dict[str, Any]) -> None:
            waiting = self.waiting.pop((index, str(message.get("text"))), None)
            if waiting is not None and not waiting.done():
                waiting.set_result(time.perf_counter())

        return heard

    def _dropped(self, person: Person) -> Callable[..., None]:
        def dropped(*_: Any) -> None:
            if not self.closing:
                self.problems.append(f"chat: {person.email} was disconnected")

        return dropped

    async def talk(self, seconds: float, every: float) -> list[Line]:
        started, tasks = time.perf_counter(), []
        for n in range(round(seconds / every)):
            delay = started + n * every - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.ensure_future(self._say(n % len(self.clients))))
        lines = []
        for result in await asyncio.gather(*tasks, return_exceptions=True):
            if isinstance(result, BaseException):
                self.problems.append(f"chat: {type(result).__name__}: {result}")
            else:
                lines.append(result)
        return lines

    async def _say(self, sender: int) -> Line:
        self.sent += 1
        text = f"line {self.sent}"
        other = (sender + 1) % len(self.clients)
        arrival = self.waiting[(other, text)] = asyncio.get_running_loop().create_future()
        client = self.clients[sender][0]
        started = time.perf_counter()
        ack = await client.call("chat:send", {"text": text}, namespace=NAMESPACE, timeout=TIMEOUT)
        acked = time.perf_counter()
        if "seq" not in ack:
            raise Unexpected(f"chat:send answered {ack}")
        delivered = await asyncio.wait_for(arrival, TIMEOUT)
        return Line(ack=acked - started, delivered=delivered - started)

    async def close(self) -> None:
        self.closing = True
        for client, http in self.clients:
            await asyncio.wait_for(client.disconnect(), TIMEOUT)
            await http.close()
