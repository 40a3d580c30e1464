"""Rendering pages with what every page needs (the user, CSRF token, language, zone)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import aiohttp_jinja2
from aiohttp import web

from web import i18n
from web.keys import ANON_CSRF, AUTH, UNREAD, USER


def csrf_token(request: web.Request) -> str:
    """The login session's CSRF token, or for visitors one tied to their anonymous cookie."""
    auth = request.get(AUTH)
    return auth.csrf_token if auth is not None else str(request.get(ANON_CSRF, ""))


def base_context(request: web.Request) -> dict[str, Any]:
    return {
        "user": request.get(USER),
        "csrf_token": csrf_token(request),
        "unread": request.get(UNREAD, 0),
        "viewer": i18n.viewer(),
        "languages": i18n.LANGUAGES,
        "path": request.path,
        "weekday_names": i18n.weekday_names(),
        "field_names": i18n.field_names(),
    }


def render(
    template: str, request: web.Request, context: Mapping[str, Any], status: int = 200
) -> web.Response:
    return aiohttp_jinja2.render_template(
        template, request, {**base_context(request), **context}, status=status
    )
