"""Calendar feeds (a private, revocable URL per user) and single-class .ics downloads."""

from __future__ import annotations

from datetime import timedelta

from aiohttp import web

from classroom import accounts, calendar_feed, timetable
from web.forms import int_param
from web.keys import CLOCK, DB, SETTINGS
from web.middlewares import current_user
from web.routes.lessons import LESSON

ICS = "text/calendar"


def setup(app: web.Application) -> None:
    app.router.add_get(r"/calendar/{token:[A-Za-z0-9_-]{10,64}}.ics", feed)
    app.router.add_get(LESSON + ".ics", download)


def _ics(body: bytes, filename: str) -> web.Response:
    return web.Response(
        body=body,
        content_type=ICS,
        charset="utf-8",
        headers={
            "Content-Disposition": f'inline; filename="{filename}"',
            "Cache-Control": "private, max-age=300",
        },
    )


async def feed(request: web.Request) -> web.StreamResponse:
    """The feed URL is the credential: calendar apps cannot log in."""
    settings, now = request.app[SETTINGS], request.app[CLOCK]()
    async with request.app[DB].begin() as db:
        user = await accounts.user_by_calendar_token(db, request.match_info["token"])
        rows = await timetable.lessons_for_calendar(db, user, now - timedelta(days=30))
    body = calendar_feed.render(
        rows,
        name=f"Kelas: {user.name}",
        base_url=settings.base_url,
        domain=settings.domain,
        now=now,
    )
    return _ics(body, "kelas.ics")


async def download(request: web.Request) -> web.StreamResponse:
    current_user(request)
    settings, now = request.app[SETTINGS], request.app[CLOCK]()
    async with request.app[DB].begin() as db:
        row = await timetable.lesson_row(db, int_param(request, "lesson_id"))
    body = calendar_feed.render(
        [row], name=row.lesson.topic, base_url=settings.base_url, domain=settings.domain, now=now
    )
    return _ics(body, f"kelas-class-{row.lesson.id}.ics")
