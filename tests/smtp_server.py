"""A real SMTP server for the tests (aiosmtpd), in the test's own event loop on a free port:
it keeps what arrived, can refuse the next messages with a chosen answer, and can hold a
message's DATA unanswered (to kill its sender midway)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from typing import Any

from aiosmtpd.smtp import SMTP

from web.mail.smtp import SmtpSettings

TIMEOUT = 20.0


@dataclass
class Arrived:
    sender: str
    recipients: list[str]
    message: EmailMessage

    @property
    def kind(self) -> str:
        return str(self.message["X-Kelas-Kind"])

    @property
    def text(self) -> str:
        body = self.message.get_body(("plain",))
        assert body is not None
        return str(body.get_content())  # type: ignore[attr-defined]


@dataclass
class MailServer:
    """The handler aiosmtpd calls, and what it saw."""

    port: int = 0
    arrived: list[Arrived] = field(default_factory=list)
    tries: int = 0  # DATA commands, answered or not
    refusals: list[str] = field(default_factory=list)  # answers for the next DATA commands
    hold: asyncio.Event | None = None  # while set up and not set, DATA waits unanswered
    held: list[EmailMessage] = field(default_factory=list)
    _changed: asyncio.Condition = field(default_factory=asyncio.Condition)

    @property
    def settings(self) -> SmtpSettings:
        return SmtpSettings(
            host="127.0.0.1", port=self.port, security="off", sender="Kelas <kelas@school.test>"
        )

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        message = BytesParser(policy=policy.default).parsebytes(envelope.content)
        assert isinstance(message, EmailMessage)
        async with self._changed:
            self.tries += 1
            self._changed.notify_all()
        if self.refusals:
            return self.refusals.pop(0)
        if self.hold is not None and not self.hold.is_set():
            async with self._changed:
                self.held.append(message)
                self._changed.notify_all()
            await self.hold.wait()
            return "421 Closing"
        async with self._changed:
            self.arrived.append(Arrived(envelope.mail_from, list(envelope.rcpt_tos), message))
            self._changed.notify_all()
        return "250 OK"

    async def until(self, check: Callable[[], bool]) -> None:
        async def loop() -> None:
            async with self._changed:
                await self._changed.wait_for(check)

        await asyncio.wait_for(loop(), TIMEOUT)

    async def wait_for(self, count: int) -> list[Arrived]:
        await self.until(lambda: len(self.arrived) >= count)
        return self.arrived

    def to(self, email: str, kind: str | None = None) -> list[Arrived]:
        return [
            a for a in self.arrived if email in a.recipients and (kind is None or a.kind == kind)
        ]


@asynccontextmanager
async def mail_server() -> AsyncIterator[MailServer]:
    handler = MailServer()
    loop = asyncio.get_running_loop()
    server = await loop.create_server(
        lambda: SMTP(handler, hostname="smtp.school.test"), "127.0.0.1", 0
    )
    handler.port = server.sockets[0].getsockname()[1]
    try:
        yield handler
    finally:
        if handler.hold is not None:
            handler.hold.set()
        server.close()
        await server.wait_closed()
