"""Typed keys for what the app and each request carry."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from classroom.accounts import LoginPolicy, Passwords
from classroom.models import AuthSession, User
from web.settings import Settings

SETTINGS = web.AppKey("settings", Settings)
ENGINE = web.AppKey("engine", AsyncEngine)
DB = web.AppKey("db", async_sessionmaker[AsyncSession])
PASSWORDS = web.AppKey("passwords", Passwords)
LOGIN_POLICY = web.AppKey("login_policy", LoginPolicy)
CLOCK: web.AppKey[Callable[[], datetime]] = web.AppKey("clock")

USER: web.RequestKey[User | None] = web.RequestKey("user")
AUTH: web.RequestKey[AuthSession | None] = web.RequestKey("auth")
SESSION_TOKEN: web.RequestKey[str | None] = web.RequestKey("session_token")
ANON_CSRF = web.RequestKey("anon_csrf", str)
UNREAD = web.RequestKey("unread", int)
