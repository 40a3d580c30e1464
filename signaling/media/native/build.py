"""Build Kelas's native packet path (fanout.c) with cffi.

Run by scripts/setup: ``python signaling/media/native/build.py``. It writes the extension
module ``_fanout`` next to this file; it needs gcc and Python's headers. It links no SRTP
library: it protects with pylibsrtp's libsrtp (the one aiortc uses), handed in at import.
"""

from __future__ import annotations

import re
from pathlib import Path

from cffi import FFI

HERE = Path(__file__).resolve().parent


def declarations() -> str:
    """fanout.h as cffi reads it: no comments, and the constants in array sizes spelled out."""
    text = re.sub(r"/\*.*?\*/", "", (HERE / "fanout.h").read_text(), flags=re.S)
    sizes = dict(re.findall(r"#define (KL_\w+) (\d+)", text))
    text = re.sub(r"\[(KL_\w+)( \+ (KL_\w+))?\]",
                  lambda m: "[%d]" % (int(sizes[m[1]]) + (int(sizes[m[3]]) if m[3] else 0)),
                  text)  # fmt: skip
    return text.replace("extern const", "const")


def builder() -> FFI:
    ffi = FFI()
    ffi.cdef(declarations())
    ffi.set_source(
        "signaling.media.native._fanout",
        '#include "fanout.c"',
        include_dirs=[str(HERE)],
        extra_compile_args=["-O2", "-Wall", "-Werror", "-std=c11", "-D_GNU_SOURCE"],
    )
    return ffi


if __name__ == "__main__":
    builder().compile(tmpdir=str(HERE.parents[2]), verbose=False)
