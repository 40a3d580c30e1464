"""Wiring e-mail into the app: the outbox's worker runs beside the server, one per process."""

from __future__ import annotations

from collections.abc import AsyncIterator

from aiohttp import web

from web.keys import CLOCK, DB, SETTINGS
from web.mail.compose import Site
from web.mail.smtp import Smtp
from web.mail.worker import MailWorker
from web.middlewares import TRANSLATIONS

MAIL: web.AppKey[MailWorker] = web.AppKey("mail")


def setup(app: web.Application) -> None:
    app.cleanup_ctx.append(_worker)
    app.on_shutdown.append(_stop)


def site(app: web.Application) -> Site:
    settings = app[SETTINGS]
    sender = settings.smtp.sender if settings.smtp else f"Kelas <kelas@{settings.domain}>"
    return Site(settings.base_url, settings.domain, sender, settings.secret_key)


async def _worker(app: web.Application) -> AsyncIterator[None]:
    settings = app[SETTINGS]
    worker = MailWorker(
        app[DB],
        Smtp(settings.smtp) if settings.smtp else None,
        site(app),
        app[TRANSLATIONS],
        app[CLOCK],
        settings.mail,
    )
    worker.start()
    app[MAIL] = worker
    yield
    await worker.close()


async def _stop(app: web.Application) -> None:
    """Stop sending before aiohttp waits for open requests: an e-mail claimed and not sent
    goes back to the outbox for another process."""
    if MAIL in app:
        await app[MAIL].close()
