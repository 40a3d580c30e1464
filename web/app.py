"""The app factory: every collaborator is built here from Settings."""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from pathlib import Path

import aiohttp_jinja2
import jinja2
from aiohttp import web

from classroom.accounts import LoginPolicy, Passwords
from classroom.db import create_engine, create_sessionmaker
from signaling.ratelimit import Buckets, Rate
from web import i18n, live, mailing
from web.keys import CLOCK, DB, ENGINE, LOGIN_POLICY, PASSWORDS, SETTINGS
from web.middlewares import (
    TRANSLATIONS,
    csrf,
    errors,
    language,
    login_session,
    security_headers,
)
from web.ratelimit import LIMITS, Limits, parse_networks
from web.routes import (
    account,
    api,
    calendar,
    check,
    classroom,
    lessons,
    openapi,
    planning,
    recap,
    recovery,
    reports,
    school,
    teaching,
)
from web.settings import Settings

HERE = Path(__file__).parent


def utcnow() -> datetime:
    return datetime.now(UTC)


def create_app(settings: Settings, clock: Callable[[], datetime] = utcnow) -> web.Application:
    app = web.Application(middlewares=[errors, login_session, language, csrf])
    app.on_response_prepare.append(security_headers)
    app[SETTINGS] = settings
    app[CLOCK] = clock
    app[PASSWORDS] = Passwords(settings.password_profile)
    app[LOGIN_POLICY] = LoginPolicy(
        session_lifetime=settings.session_lifetime,
        max_failures=settings.login_max_failures,
        lockout=settings.login_lockout,
    )
    app[TRANSLATIONS] = i18n.load_translations()
    app[LIMITS] = _limits(settings, clock)
    _setup_templates(app)
    app.cleanup_ctx.append(_database)
    live.setup(app)
    mailing.setup(app)
    for module in (
        account,
        recovery,
        lessons,
        classroom,
        check,
        teaching,
        planning,
        school,
        reports,
        recap,
        calendar,
        api,
        openapi,
    ):
        module.setup(app)
    app.router.add_static("/static", HERE / "static", name="static", append_version=True)
    if settings.freeze_heap:
        app.on_startup.append(_freeze_heap)
    return app


def _limits(settings: Settings, clock: Callable[[], datetime]) -> Limits:
    """The buckets follow the app's clock, so a test moves them on with its own."""

    def seconds() -> float:
        return clock().timestamp()

    return Limits(
        login=Buckets(Rate.per_minute(settings.login_per_minute, settings.login_burst), seconds),
        signup=Buckets(Rate.per_minute(settings.signup_per_minute, settings.signup_burst), seconds),
        check=Buckets(Rate.per_minute(settings.check_per_minute, settings.check_burst), seconds),
        reset=Buckets(Rate.per_minute(settings.reset_per_minute, settings.reset_burst), seconds),
        trusted_proxies=parse_networks(settings.trusted_proxies),
    )


async def _freeze_heap(app: web.Application) -> None:
    """Move everything built at start-up (modules, templates, engine) out of the garbage
    collector's sight: full collections then walk only what requests and rooms allocate,
    which keeps their pauses short for pages and for forwarded media."""
    gc.collect()
    gc.freeze()


async def _database(app: web.Application) -> AsyncIterator[None]:
    engine = create_engine(app[SETTINGS].database_url)
    app[ENGINE] = engine
    app[DB] = create_sessionmaker(engine)
    yield
    await engine.dispose()


def _setup_templates(app: web.Application) -> None:
    env = aiohttp_jinja2.setup(
        app,
        loader=jinja2.FileSystemLoader(HERE / "templates"),
        autoescape=jinja2.select_autoescape(["html"]),
        extensions=["jinja2.ext.i18n"],
        undefined=jinja2.StrictUndefined,
    )
    env.install_gettext_callables(i18n.gettext, i18n.ngettext, newstyle=True)  # type: ignore[attr-defined]
    env.filters.update(
        when=i18n.when,
        day=i18n.day,
        clock=i18n.clock,
        notice=i18n.notice,
        format_day=i18n.format_day,
        short_day=i18n.short_day,
        dated=i18n.dated,
        last_day=i18n.last_day,
        money=i18n.money,
        month_name=i18n.month_name,
        number=i18n.number,
        percent=i18n.percent,
        ago=i18n.ago,
    )
    env.globals["message_text"] = i18n.message_text
    env.globals["message_class"] = i18n.message_class
    env.globals["static"] = lambda path: app.router["static"].url_for(filename=path)
