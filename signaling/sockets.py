"""What the live namespaces (/class and /school) share: telling python-socketio's own
lifecycle events from a client's, and the error ack."""

from __future__ import annotations

from typing import Any

import socketio

from classroom.errors import KelasError, RateLimited
from signaling import protocol


class ProtocolNamespace(socketio.AsyncNamespace):  # type: ignore[misc]
    def lifecycle(self, event: Any, sid: Any) -> bool:
        """Whether python-socketio itself triggers ``connect`` or ``disconnect``: it does so
        while the connection is not yet, or no longer, connected. A client that sends an
        event of that name is connected, and gets ``unknown_event``."""
        return event in ("connect", "disconnect") and not (
            isinstance(sid, str) and self.server.manager.is_connected(sid, self.namespace)
        )


def error_ack(code: str, message: str, exc: KelasError | None = None) -> dict[str, Any]:
    retry_after = exc.retry_after if isinstance(exc, RateLimited) else None
    body = protocol.ErrorBody(code=code, message=message, retry_after=retry_after)
    return protocol.ErrorAck(error=body).wire()
