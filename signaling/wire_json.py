"""The JSON module of the live sockets (python-socketio's ``json=`` option).

python-engineio refuses integers of more than 100 digits by failing the whole packet, so the
client gets no ack at all and the server logs a traceback. Here such a number is read as
infinity instead: it fails validation like any other out-of-range value, and the client gets
an ``invalid_payload`` ack. Long digit strings are never turned into Python ints (quadratic
cost), so the decoder stays cheap whatever a client sends.
"""

from __future__ import annotations

import json
from json import JSONDecodeError, dumps
from typing import Any

__all__ = ["JSONDecodeError", "dumps", "loads"]
MAX_DIGITS = 30  # far beyond any 64-bit value a payload may carry


def _int(text: str) -> int | float:
    return int(text) if len(text) <= MAX_DIGITS else float("inf")


def loads(*args: Any, **kwargs: Any) -> Any:
    kwargs.setdefault("parse_int", _int)
    return json.loads(*args, **kwargs)
