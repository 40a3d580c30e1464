"""SIGTERM stops a real server process that hosts a live class within moments: its sockets
and peer connections are closed on shutdown instead of holding aiohttp for 60 s."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import sys
import time
from pathlib import Path

from tests.conftest import School
from tests.live import Events, Member, connect, live_class, publish
from web.settings import Settings

ARTIFACTS = Path(__file__).parent.parent / "test-artifacts"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def serving(process: asyncio.subprocess.Process) -> None:
    """Until the server logs that it accepts connections (aiohttp's access log is off, so
    the first line from web.app or the runner is the signal)."""
    assert process.stderr is not None
    while line := await process.stderr.readline():
        if b"Kelas is serving" in line:
            return
    raise AssertionError("the server exited before serving")


async def test_sigterm_with_a_live_class_exits_in_moments(
    school: School, settings: Settings, tmp_path: Path
) -> None:
    setup = await live_class(school, students=1)
    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": settings.database_url,
        "SECRET_KEY": settings.secret_key,
        "PORT": str(port),
        "KELAS_DATA_DIR": str(tmp_path),
    }
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "web", "serve", env=env, stderr=asyncio.subprocess.PIPE
    )
    url = f"http://127.0.0.1:{port}/"
    members: list[Member] = []
    try:
        await asyncio.wait_for(serving(process), 30)
        for user, visitor in (setup.tutor, setup.students[0]):
            client, events = await connect(school, user, visitor, setup.lesson["id"], url=url)
            member = Member(user, visitor, client, events)
            await publish(member)
            members.append(member)
        tutor, student = members
        assert tutor.bot is not None
        await tutor.bot.until(lambda: sum(tutor.bot.received.values()) > 50)  # type: ignore[union-attr]
        gone = [asyncio.ensure_future(m.events.wait("__disconnect__")) for m in members]
        for member in members:
            member.client.on("disconnect", _noting(member.events), namespace="/class")
        started = time.monotonic()
        process.send_signal(signal.SIGTERM)
        code = await asyncio.wait_for(process.wait(), 30)
        took = time.monotonic() - started
        assert code == 0
        await asyncio.wait_for(asyncio.gather(*gone), 10)
        ARTIFACTS.mkdir(exist_ok=True)
        (ARTIFACTS / "sigterm-seconds.json").write_text(json.dumps({"seconds": round(took, 3)}))
        print(f"SIGTERM to exit with a live class: {took:.2f} s")
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
        for member in members:
            await member.close()


def _noting(events: Events) -> object:
    async def disconnected(*_: object) -> None:
        await events.add("__disconnect__", None)

    return disconnected
