"""Domain errors, translated once per transport (HTTP middleware, Socket.IO acks).

KelasError
├── InvalidInput        bad field values; carries {field: message}
├── NotAuthenticated    no valid session or credentials
├── LoginThrottled      too many failed logins for this account
├── RateLimited         too many requests in a short time; carries retry_after (seconds)
├── PermissionDenied    the role or relation does not allow it
├── NotFound            no such object (or not visible to the actor)
├── Conflict            the request clashes with current state
│   ├── ClassFull           no free seat left
│   ├── DoubleBooked        overlapping class for the same person
│   ├── TooLate             outside the allowed time window
│   └── BookingPaused       too many late cancellations and no-shows lately
├── Unavailable         a service it needs (the database, Redis, the mail server) is down
│                       just now; trying again later may work
└── Undeliverable       the mail server refused an e-mail for good (no such mailbox): sending
                        it again cannot help
"""

from __future__ import annotations

from typing import NamedTuple


def N_(message: str) -> str:
    """Mark an English sentence for translation where it is written; it is translated where
    it is shown (the extraction keyword for Babel)."""
    return message


MARKED = N_("Please correct the marked fields.")
"""The headline of an InvalidInput whose fields say what is wrong."""


class Notice(NamedTuple):
    """A sentence for a person: an English template with ``{name}`` fields, translated by the
    transport before the fields are filled in."""

    template: str
    params: dict[str, str]

    def text(self) -> str:
        return self.template.format(**self.params)


class KelasError(Exception):
    """Base of every error the domain raises on purpose.

    ``message`` is an English template (see Notice); ``fields`` maps input fields to messages
    (plain English sentences or Notices).
    """

    code = "error"

    def __init__(
        self, message: str, fields: dict[str, str | Notice] | None = None, **params: str
    ) -> None:
        super().__init__(message.format(**params))
        self.notice = Notice(message, params)
        self.fields = {
            name: text if isinstance(text, Notice) else Notice(text, {})
            for name, text in (fields or {}).items()
        }


class InvalidInput(KelasError):
    code = "invalid_input"


class NotAuthenticated(KelasError):
    code = "not_authenticated"


class LoginThrottled(KelasError):
    code = "login_throttled"


class RateLimited(KelasError):
    """Too many requests from one place in a short time (a client address, a connection);
    ``retry_after`` is the seconds until the next one is let through."""

    code = "rate_limited"

    def __init__(self, message: str, retry_after: float, **params: str) -> None:
        super().__init__(message, None, **params)
        self.retry_after = retry_after


class PermissionDenied(KelasError):
    code = "forbidden"


class NotFound(KelasError):
    code = "not_found"


class Conflict(KelasError):
    code = "conflict"


class ClassFull(Conflict):
    code = "class_full"


class DoubleBooked(Conflict):
    code = "double_booked"


class TooLate(Conflict):
    code = "too_late"


class BookingPaused(Conflict):
    code = "booking_paused"


class Unavailable(KelasError):
    """A service the request needs (the database; Redis, for a live class's home) cannot be
    reached just now; nothing was changed, and the same request may succeed in a moment."""

    code = "unavailable"

    def __init__(
        self,
        message: str = N_("The class is not reachable just now. Please try again in a moment."),
        fields: dict[str, str | Notice] | None = None,
        **params: str,
    ) -> None:
        super().__init__(message, fields, **params)


class Undeliverable(KelasError):
    """The mail server refused an e-mail for good (a 5xx answer to its recipient or its
    content); the outbox records it and does not try again."""

    code = "undeliverable"
