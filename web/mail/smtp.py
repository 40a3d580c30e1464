"""Talking to the mail server with aiosmtplib: settings, one connection per batch of
messages, and what its answers mean for the outbox (try again later, or never).

A 4xx answer, a refused or broken connection, a timeout, a refused login or sender are
temporary (Unavailable: the outbox tries again after a back-off; most are the server's or
our configuration's state, not the message's). A 5xx answer to a message's recipient or
content is final (Undeliverable: recorded, not tried again).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Literal

import aiosmtplib

from classroom.errors import N_, Unavailable, Undeliverable

Security = Literal["starttls", "tls", "off"]
DEFAULT_PORTS: dict[str, int] = {"starttls": 587, "tls": 465, "off": 25}
SERVER_DOWN = N_("The mail server cannot take e-mail just now: {reason}")
REFUSED = N_("The mail server refused this e-mail: {reason}")


@dataclass(frozen=True)
class SmtpSettings:
    """Where e-mail goes (KELAS_SMTP_*, KELAS_MAIL_FROM). ``security``: STARTTLS on the
    submission port, implicit TLS, or none (a relay on the same machine)."""

    host: str
    port: int = 587
    user: str = ""
    password: str = ""
    security: Security = "starttls"
    sender: str = "Kelas <kelas@localhost>"
    timeout: float = 30.0


class Connection:
    """One open SMTP session; ``send`` raises Unavailable or Undeliverable."""

    def __init__(self, client: aiosmtplib.SMTP) -> None:
        self._client = client

    async def send(self, message: EmailMessage) -> None:
        try:
            await self._client.send_message(message)
        except aiosmtplib.SMTPRecipientsRefused as exc:
            if all(r.code >= 500 for r in exc.recipients):
                raise Undeliverable(REFUSED, reason=_reason(exc)) from exc
            raise Unavailable(SERVER_DOWN, reason=_reason(exc)) from exc
        except aiosmtplib.SMTPDataError as exc:
            if exc.code >= 500:
                raise Undeliverable(REFUSED, reason=_reason(exc)) from exc
            raise Unavailable(SERVER_DOWN, reason=_reason(exc)) from exc
        except (aiosmtplib.SMTPException, OSError) as exc:
            raise Unavailable(SERVER_DOWN, reason=_reason(exc)) from exc


def _reason(exc: BaseException) -> str:
    if isinstance(exc, aiosmtplib.SMTPRecipientsRefused):
        return "; ".join(f"{r.code} {r.message}" for r in exc.recipients)
    if isinstance(exc, aiosmtplib.SMTPResponseException):
        return f"{exc.code} {exc.message}"
    return f"{type(exc).__name__}: {exc}"


class Smtp:
    def __init__(self, settings: SmtpSettings) -> None:
        self.settings = settings

    @asynccontextmanager
    async def connect(self) -> AsyncIterator[Connection]:
        """An SMTP session, logged in when a user is set; raises Unavailable when the
        server cannot be reached or refuses us."""
        s = self.settings
        client = aiosmtplib.SMTP(
            hostname=s.host,
            port=s.port,
            username=s.user or None,
            password=s.password or None,
            use_tls=s.security == "tls",
            start_tls=s.security == "starttls",
            timeout=s.timeout,
        )
        try:
            await client.connect()
        except (aiosmtplib.SMTPException, OSError) as exc:
            client.close()
            raise Unavailable(SERVER_DOWN, reason=_reason(exc)) from exc
        try:
            yield Connection(client)
        finally:
            await _quit(client)


async def _quit(client: aiosmtplib.SMTP) -> None:
    if not client.is_connected:
        return
    try:
        await client.quit()
    except (aiosmtplib.SMTPException, OSError):
        client.close()
