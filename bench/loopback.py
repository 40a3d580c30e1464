"""Keep every benchmark peer connection on 127.0.0.1.

aioice gathers host candidates from every interface except 127.0.0.1, so on a machine with a
network card the peers would talk over its address. The benchmark must only use loopback, in
its own process and in the servers it starts, so it narrows aioice's address list.

Run a module as ``__main__`` with the same restriction (how the Kelas server is started):

    .venv/bin/python bench/loopback.py web serve      # = python -m web serve, on loopback

With ``BENCH_GC_LOG`` set, the process also logs its garbage-collector pauses
(bench/gc_pauses.py).
"""

from __future__ import annotations

import runpy
import sys

import aioice.ice
import gc_pauses

LOOPBACK = "127.0.0.1"


def _loopback_only(use_ipv4: bool, use_ipv6: bool) -> list[str]:
    return [LOOPBACK] if use_ipv4 else []


def restrict_ice_to_loopback() -> None:
    """Make aioice offer only 127.0.0.1 (looked up at call time by aioice.ice.Connection)."""
    if not hasattr(aioice.ice, "get_host_addresses"):
        raise RuntimeError("aioice.ice.get_host_addresses is gone: update bench/loopback.py")
    aioice.ice.get_host_addresses = _loopback_only


def main() -> None:
    if len(sys.argv) < 2:
        raise SystemExit("usage: loopback.py MODULE [ARGS...]")
    restrict_ice_to_loopback()
    gc_pauses.install_from_env()
    module = sys.argv[1]
    sys.argv = [module, *sys.argv[2:]]
    runpy.run_module(module, run_name="__main__", alter_sys=True)


if __name__ == "__main__":
    main()
