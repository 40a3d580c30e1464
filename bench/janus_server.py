"""Janus, the C SFU baseline: Debian's ``janus`` with its VideoRoom plugin, on loopback.

bench/sfu.py starts one Janus process per configuration (``el1``: ``event_loops = 1``, one
thread carries every peer's media; ``default``: Janus's own threading, a loop and thread per
handle) and measures it like the Kelas server: CPU from /proc/<pid>/stat, RSS from
/proc/<pid>/status. Its configuration is written into the run's folder:

- ``janus.jcfg``: ``interface = "127.0.0.1"`` (the address in its SDP), half-trickle
  (``full_trickle = false``: Janus sends its SDP with its candidates in it, as aiortc does),
  ``ice_enforce_list = "lo,127.0.0.1"``; every plugin but the VideoRoom, every transport but
  HTTP, every logger and event handler disabled; debug level 3 (warnings), so that logging
  costs nothing in the window.
- ``janus.transport.http.jcfg``: the Janus HTTP API on 127.0.0.1 at a free port, no admin API.
- ``janus.plugin.videoroom.jcfg``: no rooms; each run creates its own through the API.

Janus still skips every interface flagged ``IFF_LOOPBACK`` when it gathers candidates
(janus-gateway issues #586 and #2251), whatever the configuration says, so it would offer
no candidate at all. bench/janus_loopback.c, loaded with ``LD_PRELOAD``, makes its
``getifaddrs()`` show 127.0.0.1 without that flag and every other address as down. It is
compiled with ``gcc`` once into ``~/.cache/kelas-bench`` (``$XDG_CACHE_HOME``), keyed by
the hash of its source.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from server_process import ServerProcess, free_port

BENCH = Path(__file__).resolve().parent
SHIM_SOURCE = BENCH / "janus_loopback.c"
LIBRARY_FOLDERS = (
    "/usr/lib/*/janus",
    "/usr/lib/janus",
    "/usr/local/lib/janus",
    "/opt/janus/lib/janus",
)
KEEP = {"plugins": "libjanus_videoroom.so", "transports": "libjanus_http.so"}


@dataclass(frozen=True)
class JanusConfig:
    """One Janus target: ``el1`` (``event_loops = 1``), ``elN``, or ``default``."""

    label: str

    def __post_init__(self) -> None:
        loops = self.label[2:]
        if self.label != "default" and not (
            self.label[:2] == "el" and loops.isdigit() and int(loops)
        ):
            raise ValueError(f"a Janus target is 'default' or 'el<N>', not {self.label!r}")

    @property
    def event_loops(self) -> int | None:
        return None if self.label == "default" else int(self.label[2:])

    @property
    def server(self) -> str:
        return f"janus-{self.label}"


def janus_binary() -> Path:
    found = shutil.which("janus") or ("/usr/bin/janus" if Path("/usr/bin/janus").exists() else None)
    if found is None:
        raise RuntimeError("janus is not installed (Debian: apt-get install janus)")
    return Path(found)


def library_folder() -> Path:
    """Where the Janus package keeps its plugins and transports."""
    for pattern in LIBRARY_FOLDERS:
        for folder in sorted(Path("/").glob(pattern.lstrip("/"))):
            if (folder / "plugins" / KEEP["plugins"]).exists():
                return folder
    raise RuntimeError(f"no Janus VideoRoom plugin in {', '.join(LIBRARY_FOLDERS)}")


def cache_folder() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "kelas-bench"


def loopback_shim() -> Path:
    """bench/janus_loopback.c as a shared library, built once per version of its source."""
    source = SHIM_SOURCE.read_bytes()
    target = cache_folder() / f"janus_loopback-{hashlib.sha256(source).hexdigest()[:16]}.so"
    if target.exists():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_suffix(f".{os.getpid()}.tmp")
    gcc = shutil.which("gcc")
    if gcc is None:
        raise RuntimeError("gcc is needed to build bench/janus_loopback.c")
    subprocess.run(
        [gcc, "-shared", "-fPIC", "-O2", "-Wall", "-o", str(partial), str(SHIM_SOURCE), "-ldl"],
        check=True,
        capture_output=True,
        timeout=60,
    )
    partial.replace(target)  # atomic: a concurrent run sees the whole library or none
    return target


def disabled(folder: Path, keep: str) -> str:
    """Every library in ``folder`` but ``keep``, as Janus's ``disable`` list."""
    names = sorted(p.name for p in folder.glob("*.so")) if folder.is_dir() else []
    return ",".join(n for n in names if n != keep)


def write_config(conf: Path, port: int, config: JanusConfig) -> None:
    lib = library_folder()
    loops = config.event_loops
    conf.mkdir(parents=True, exist_ok=True)
    (conf / "janus.jcfg").write_text(
        f"""general: {{
    configs_folder = "{conf}"
    plugins_folder = "{lib / "plugins"}"
    transports_folder = "{lib / "transports"}"
    events_folder = "{lib / "events"}"
    loggers_folder = "{lib / "loggers"}"
    debug_level = 3
    debug_colors = false
    interface = "127.0.0.1"
    session_timeout = 60
{f"    event_loops = {loops}" if loops is not None else ""}
}}
certificates: {{
}}
media: {{
}}
nat: {{
    nice_debug = false
    full_trickle = false
    ice_enforce_list = "lo,127.0.0.1"
}}
plugins: {{
    disable = "{disabled(lib / "plugins", KEEP["plugins"])}"
}}
transports: {{
    disable = "{disabled(lib / "transports", KEEP["transports"])}"
}}
loggers: {{
    disable = "{disabled(lib / "loggers", "")}"
}}
events: {{
    broadcast = false
}}
"""
    )
    (conf / "janus.transport.http.jcfg").write_text(
        f"""general: {{
    json = "plain"
    base_path = "/janus"
    http = true
    port = {port}
    ip = "127.0.0.1"
    https = false
}}
admin: {{
    admin_http = false
    admin_https = false
}}
"""
    )
    (conf / "janus.plugin.videoroom.jcfg").write_text("general: {\n}\n")


async def start_janus(folder: Path, config: JanusConfig) -> tuple[ServerProcess, str]:
    """Janus running ``config`` from ``folder``; the base URL of its HTTP API."""
    conf = folder / config.server
    port = free_port()
    write_config(conf, port, config)
    env = {**os.environ, "LD_PRELOAD": str(loopback_shim())}
    base_url = f"http://127.0.0.1:{port}/janus"
    server = ServerProcess(
        [str(janus_binary()), "-C", str(conf / "janus.jcfg"), "-F", str(conf)],
        env,
        folder / f"{config.server}.log",
        base_url + "/info",
    )
    await server.start()
    return server, base_url
