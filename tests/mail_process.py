"""The outbox's worker alone in a process of its own, for the tests that kill it midway:
``python -m tests.mail_process DATABASE_URL SMTP_PORT``."""

from __future__ import annotations

import asyncio
import sys
from datetime import UTC, datetime

from classroom.db import create_engine, create_sessionmaker
from web import i18n
from web.mail.compose import Site
from web.mail.smtp import Smtp, SmtpSettings
from web.mail.worker import MailWorker, WorkerPolicy


async def main(url: str, port: int) -> None:
    engine = create_engine(url)
    settings = SmtpSettings(host="127.0.0.1", port=port, security="off", sender="kelas@school.test")
    worker = MailWorker(
        create_sessionmaker(engine),
        Smtp(settings),
        Site("http://127.0.0.1", "127.0.0.1", settings.sender, "test-secret"),
        i18n.load_translations(),
        lambda: datetime.now(UTC),
        WorkerPolicy(interval=0.05),
    )
    worker.start()
    await asyncio.Event().wait()  # until killed


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], int(sys.argv[2])))
