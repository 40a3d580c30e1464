"""A redis-server of the test's own, on a free port, that a test may kill and start again
(the shared one on 6379 is never restarted). It runs without persistence, as in production,
and publishes keyspace events so a test can await a change instead of polling."""

from __future__ import annotations

import asyncio
import signal
import socket
from collections.abc import Awaitable, Callable

from redis.asyncio import Redis

START_TIMEOUT = 10.0


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class RedisServer:
    def __init__(self) -> None:
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self._process: asyncio.subprocess.Process | None = None
        self._drain: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Start it and return once it says it accepts connections."""
        self._process = await asyncio.create_subprocess_exec(
            *("redis-server", "--port", str(self.port), "--bind", "127.0.0.1"),
            *("--save", "", "--appendonly", "no", "--notify-keyspace-events", "KA"),
            stdout=asyncio.subprocess.PIPE,
        )
        output = self._process.stdout
        assert output is not None

        async def ready() -> None:
            while b"Ready to accept connections" not in (line := await output.readline()):
                if not line:
                    raise RuntimeError("redis-server exited while starting")

        await asyncio.wait_for(ready(), START_TIMEOUT)
        self._drain = asyncio.get_running_loop().create_task(self._read_rest(output))

    async def _read_rest(self, output: asyncio.StreamReader) -> None:
        while await output.readline():
            pass

    async def kill(self) -> None:
        """SIGKILL: it dies at once, losing everything (no persistence)."""
        await self._stop(signal.SIGKILL)

    async def stop(self) -> None:
        await self._stop(signal.SIGTERM)

    async def _stop(self, how: signal.Signals) -> None:
        if self._process is None or self._process.returncode is not None:
            return
        self._process.send_signal(how)
        try:
            await asyncio.wait_for(self._process.wait(), START_TIMEOUT)
        except TimeoutError:
            self._process.kill()
            await self._process.wait()
        if self._drain is not None:
            await self._drain
        self._process = None

    async def until(self, holds: Callable[[], Awaitable[bool]], timeout: float = 10.0) -> None:
        """Wait until ``holds()`` is true, checking it again after every change of a kelas key
        (writes, expiries)."""
        watcher = Redis.from_url(self.url, decode_responses=True)
        changes = watcher.pubsub()
        try:
            await changes.psubscribe("__keyspace@0__:kelas:*")

            async def wait() -> None:
                while not await holds():
                    await changes.get_message(ignore_subscribe_messages=True, timeout=None)

            await asyncio.wait_for(wait(), timeout)
        finally:
            await changes.aclose()
            await watcher.aclose()
