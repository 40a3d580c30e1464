"""A server under test in its own process: started, waited for, measured, stopped.

CPU comes from /proc/<pid>/stat (utime + stime of all its threads), so the bots' own CPU,
which runs in the benchmark process, never counts.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
import gc_pauses

TICKS = os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process (all threads), in seconds."""
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def rss_bytes(pid: int) -> int:
    """Resident memory of a process now (VmRSS in /proc/<pid>/status), in bytes."""
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


def machine_busy_seconds() -> float:
    """CPU time all cores spent on anything but idling and waiting, from /proc/stat."""
    with open("/proc/stat") as stat:
        fields = [int(n) for n in stat.readline().split()[1:]]
    user, nice, system, _idle, _iowait, irq, softirq, steal = fields[:8]
    return (user + nice + system + irq + softirq + steal) / TICKS


def udp_drops(pid: int) -> int:
    """Datagrams the kernel dropped because this process's UDP sockets were full (it did not
    read them fast enough), summed over its open sockets (/proc/net/udp, "drops")."""
    inodes = set()
    fd_dir = f"/proc/{pid}/fd"
    for fd in os.listdir(fd_dir):
        try:
            target = os.readlink(f"{fd_dir}/{fd}")
        except OSError:
            continue  # closed meanwhile
        if target.startswith("socket:["):
            inodes.add(target[8:-1])
    drops = 0
    for table in ("/proc/net/udp", "/proc/net/udp6"):
        with open(table) as lines:
            next(lines)
            for line in lines:
                fields = line.split()
                if fields[9] in inodes:
                    drops += int(fields[-1])
    return drops


@dataclass
class CpuMeter:
    """CPU of one process over a wall-clock window, as % of one core."""

    pid: int
    _cpu: float = 0.0
    _wall: float = 0.0
    cpu: float = 0.0
    wall: float = 0.0

    def start(self) -> None:
        self._cpu, self._wall = cpu_seconds(self.pid), time.perf_counter()

    def stop(self) -> float:
        self.cpu = cpu_seconds(self.pid) - self._cpu
        self.wall = time.perf_counter() - self._wall
        return self.percent

    @property
    def percent(self) -> float:
        return 100 * self.cpu / self.wall if self.wall else 0.0


@dataclass
class ServerProcess:
    """``argv`` run with ``env``; its output goes to ``log``."""

    argv: list[str]
    env: Mapping[str, str]
    log: Path
    ready_url: str
    process: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    @property
    def gc_log(self) -> Path | None:
        """Where the server logs its garbage-collector pauses (bench/gc_pauses.py)."""
        path = self.env.get(gc_pauses.ENV)
        return Path(path) if path else None

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    async def start(self, timeout: float = 30.0) -> None:
        with self.log.open("wb") as out:
            self.process = subprocess.Popen(
                self.argv, env=dict(self.env), stdout=out, stderr=subprocess.STDOUT
            )
        deadline = time.monotonic() + timeout
        async with aiohttp.ClientSession() as http:
            while time.monotonic() < deadline:
                if self.process.poll() is not None:
                    raise RuntimeError(f"{self.argv} exited:\n{self.tail()}")
                try:
                    async with http.get(self.ready_url, timeout=aiohttp.ClientTimeout(2)) as r:
                        if r.status == 200:
                            return
                except (aiohttp.ClientError, TimeoutError):
                    pass
                await asyncio.sleep(0.2)
        raise RuntimeError(f"{self.argv} not ready after {timeout:.0f} s:\n{self.tail()}")

    def tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    def stop(self, timeout: float = 15.0) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGINT)  # aiohttp's graceful shutdown
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(5)
