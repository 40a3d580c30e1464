"""Kelas's native packet path (fanout.c, built by scripts/setup through build.py).

``ffi`` and ``lib`` are cffi's; wire.py, forwarding.py and pacer.py wrap them.
"""

from __future__ import annotations

try:
    from signaling.media.native._fanout import ffi, lib
except ImportError as error:  # pragma: no cover - a machine that skipped scripts/setup
    raise ImportError(
        "Kelas's native packet path is not built: run scripts/setup "
        "(or .venv/bin/python signaling/media/native/build.py)"
    ) from error

if lib.kl_init() != 0:  # pragma: no cover
    raise ImportError("libsrtp did not initialise")

__all__ = ["ffi", "lib"]
