"""Kelas's native packet path (fanout.c, built by scripts/setup through build.py).

``ffi`` and ``lib`` are cffi's; wire.py, forwarding.py and pacer.py wrap them. C protects
with the libsrtp that pylibsrtp carries (and aiortc uses), on aiortc's own sessions
(``srtp_of``): this module hands it the two functions.
"""

from __future__ import annotations

from typing import Any

from pylibsrtp import Session, _binding

try:
    from signaling.media.native._fanout import ffi, lib
except ImportError as error:  # pragma: no cover - a machine that skipped scripts/setup
    raise ImportError(
        "Kelas's native packet path is not built: run scripts/setup "
        "(or .venv/bin/python signaling/media/native/build.py)"
    ) from error


def _pointer(value: Any) -> Any:
    """A pointer of pylibsrtp's cffi module as one of ours."""
    return ffi.cast("void *", int(_binding.ffi.cast("uintptr_t", value)))


def srtp_of(session: Session) -> Any:
    """The ``srtp_t`` of a pylibsrtp session, for C (the session must outlive its use)."""
    return _pointer(session._srtp[0])


if (
    lib.kl_init(
        _pointer(_binding.ffi.addressof(_binding.lib, "srtp_protect")),
        _pointer(_binding.ffi.addressof(_binding.lib, "srtp_protect_rtcp")),
        _pointer(_binding.ffi.addressof(_binding.lib, "srtp_unprotect")),
        _pointer(_binding.ffi.addressof(_binding.lib, "srtp_unprotect_rtcp")),
    )
    != 0
):  # pragma: no cover
    raise ImportError("pylibsrtp's libsrtp is not where it was")

__all__ = ["ffi", "lib", "srtp_of"]
