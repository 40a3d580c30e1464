"""Where a process spent its CPU, from py-spy's raw (collapsed stack) output.

Each line of the file is ``frame;frame;...;frame COUNT``, outermost frame first, each frame
``function (path:line)``. py-spy only samples threads that are running, so the shares are
shares of the CPU the process used. With ``--nonblocking`` a few stacks come out truncated,
so the totals are slight underestimates.
"""

from __future__ import annotations

import collections
import re
from pathlib import Path

# The event loop waiting: asyncio's selector, or (with --native) uvloop's epoll_wait.
WAITING = ("EpollSelector.select ", "epoll_wait ", "__GI_epoll_wait ", "__epoll_wait ")
TRUNK = (
    "<module> ",
    "_run_code ",
    "_run_module_code ",
    "run_module ",
    "main ",
    "run_app ",
    "BaseEventLoop.run_",
    "BaseEventLoop._run_once ",
    "Handle._run ",
)
LOOP_THREAD = "Loop__run "  # uvloop's run loop, in a --native stack
FRAME = re.compile(r"^(?P<function>.*?) \((?P<path>[^():]*)(?::\d+)?\)$")


def frame_name(frame: str) -> str:
    """``function (package/module.py)`` without the line number and the site-packages path."""
    match = FRAME.match(frame.strip())
    if match is None:
        return frame.strip()
    path = match["path"]
    for marker in ("site-packages/", "/work/main/", "lib/python3.11/"):
        if marker in path:
            path = path.split(marker, 1)[1]
    return f"{match['function']} ({path})"


def read(path: Path) -> list[tuple[list[str], int]]:
    stacks = []
    for line in path.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if stack and count.isdigit():
            stacks.append(([frame_name(f) for f in stack.split(";")], int(count)))
    return stacks


def summary(path: Path, top: int = 15) -> str:
    """The functions with the most samples on top of the stack (self) and anywhere in it
    (total), as % of the samples that were not waiting in the event loop's epoll."""
    stacks = read(path)
    if any(f.startswith(LOOP_THREAD) for frames, _ in stacks for f in frames):
        # --native samples every thread, idle ones too (aiortc's decoder threads wait on a
        # lock): only the event loop's thread counts.
        stacks = [(f, n) for f, n in stacks if any(x.startswith(LOOP_THREAD) for x in f)]
    samples = sum(count for _, count in stacks) or 1
    busy = [(frames, count) for frames, count in stacks if not frames[-1].startswith(WAITING)]
    total = sum(count for _, count in busy) or 1
    own: collections.Counter[str] = collections.Counter()
    inclusive: collections.Counter[str] = collections.Counter()
    for frames, count in busy:
        own[frames[-1]] += count
        for name in set(frames):
            if not name.startswith(TRUNK):  # the event loop itself, in nearly every stack
                inclusive[name] += count
    lines = [
        f"{samples} samples; {100 * (samples - total) / samples:.0f} % waiting in epoll "
        f"(py-spy counts a select() that returns at once as running); shares of the rest:"
    ]
    for title, counter in (("self", own), ("total (self + callees)", inclusive)):
        lines.append(f"  top by {title}:")
        for name, count in counter.most_common(top):
            lines.append(f"    {100 * count / total:5.1f} %  {name}")
    return "\n".join(lines)
