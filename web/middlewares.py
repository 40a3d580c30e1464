"""Request pipeline: errors, login session, CSRF and the viewer's language and zone."""

from __future__ import annotations

import hashlib
import hmac
import logging
import math
import secrets
from urllib.parse import quote

from aiohttp import web
from aiohttp.typedefs import Handler
from babel.support import NullTranslations

from classroom import accounts, notifications
from classroom.db import UNREACHABLE, transaction, unreachable
from classroom.errors import (
    MARKED,
    N_,
    Conflict,
    InvalidInput,
    KelasError,
    LoginThrottled,
    NotAuthenticated,
    NotFound,
    PermissionDenied,
    RateLimited,
    Unavailable,
)
from classroom.models import User
from web import i18n
from web.forms import form_fields
from web.keys import ANON_CSRF, AUTH, CLOCK, DB, SESSION_TOKEN, SETTINGS, UNREAD, USER
from web.pages import csrf_token, render

log = logging.getLogger(__name__)

SESSION_COOKIE = "kelas_session"
ANON_COOKIE = "kelas_anon"
TRANSLATIONS: web.AppKey[dict[str, NullTranslations]] = web.AppKey("translations")

STATUS = [
    (InvalidInput, 422),
    (NotAuthenticated, 401),
    (LoginThrottled, 429),
    (RateLimited, 429),
    (PermissionDenied, 403),
    (NotFound, 404),
    (Conflict, 409),
    (Unavailable, 503),
]


# What people read for errors that aiohttp raises itself (its reasons are English only).
HTTP_TEXTS = {
    400: N_("The request could not be understood."),
    404: N_("There is nothing at this address."),
    405: N_("This address does not take this kind of request."),
    413: N_("What you sent is too large."),
    415: N_("This kind of content is not accepted here."),
}
# Headers of an aiohttp error that still mean something on our own error answer.
KEPT_HEADERS = ("Allow", "Retry-After")


def is_api(request: web.Request) -> bool:
    return request.path.startswith("/api/")


def status_of(exc: KelasError) -> int:
    return next((code for kind, code in STATUS if isinstance(exc, kind)), 400)


def error_json(
    status: int,
    code: str,
    message: str,
    fields: dict[str, str] | None = None,
    headers: dict[str, str] | None = None,
) -> web.Response:
    body = {"error": {"code": code, "message": message, "fields": fields or {}}}
    return web.json_response(body, status=status, headers=headers)


def error_page(
    request: web.Request,
    status: int,
    message: str,
    fields: dict[str, str] | None = None,
    headers: dict[str, str] | None = None,
) -> web.Response:
    context = {"status": status, "message": message, "fields": fields or {}}
    response = render("error.html", request, context, status=status)
    response.headers.update(headers or {})
    return response


def current_user(request: web.Request, *roles: str) -> User:
    """The logged-in user, who must have one of ``roles`` when any are given."""
    user = request[USER]
    if user is None:
        raise NotAuthenticated("Please log in first.")
    if roles and user.role not in roles:
        raise PermissionDenied("You are not allowed to do this.")
    return user


def _retry_after(request: web.Request, exc: KelasError) -> dict[str, str]:
    if isinstance(exc, RateLimited):
        return {"Retry-After": str(math.ceil(exc.retry_after))}
    if isinstance(exc, LoginThrottled):  # at most the lockout; the lock may be younger
        lockout = request.app[SETTINGS].login_lockout
        return {"Retry-After": str(int(lockout.total_seconds()))}
    return {}


def _domain_error(request: web.Request, exc: KelasError) -> web.Response:
    message = i18n.notice(exc.notice)
    fields = i18n.field_errors(exc.fields)
    headers = _retry_after(request, exc)
    if is_api(request):
        return error_json(status_of(exc), exc.code, message, fields, headers)
    if isinstance(exc, NotAuthenticated):
        raise web.HTTPSeeOther(f"/login?next={quote(request.path_qs, safe='/')}") from None
    if fields and exc.notice.template == MARKED:  # a page with no form marks nothing
        message = i18n.gettext(N_("These values could not be used:"))
    return error_page(request, status_of(exc), message, fields, headers)


def _http_error(request: web.Request, exc: web.HTTPException) -> web.Response:
    headers = {name: exc.headers[name] for name in KEPT_HEADERS if name in exc.headers}
    text = HTTP_TEXTS.get(exc.status)
    message = i18n.gettext(text) if text else exc.reason
    if is_api(request):
        return error_json(exc.status, "http_error", message, headers=headers)
    return error_page(request, exc.status, message, headers=headers)


@web.middleware
async def errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Turn domain errors into 4xx answers: JSON for the API, a page (or the login) otherwise."""
    try:
        return await handler(request)
    except KelasError as exc:
        return _domain_error(request, exc)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        return _http_error(request, exc)
    except Exception as exc:
        if unreachable(exc):  # a handler's own transaction found the database away
            return _unavailable(request)
        log.exception("unhandled error in %s %s", request.method, request.path)
        message = i18n.gettext("Something went wrong on our side. Please try again.")
        if is_api(request):
            return error_json(500, "internal", message)
        return error_page(request, 500, message)


def _unavailable(request: web.Request) -> web.Response:
    exc = Unavailable(UNREACHABLE)
    if is_api(request):
        return error_json(503, exc.code, i18n.notice(exc.notice))
    return error_page(request, 503, i18n.notice(exc.notice))


@web.middleware
async def login_session(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Find the user behind the session cookie (one short transaction)."""
    request[USER] = None
    request[AUTH] = None
    request[SESSION_TOKEN] = None
    request[UNREAD] = 0
    token = request.cookies.get(SESSION_COOKIE)
    # Live sockets authenticate in the namespace, which answers a refusal the page can read.
    skip = request.path.startswith(("/static/", "/socket.io/"))
    if token and not skip:
        async with transaction(request.app[DB]) as db:
            auth = await accounts.load_session(db, token, request.app[CLOCK]())
            if auth is not None:
                request[AUTH], request[USER], request[SESSION_TOKEN] = auth, auth.user, token
                request[UNREAD] = await notifications.unread_count(db, auth.user)
    user = request[USER]
    if (
        user is not None
        and user.must_change_password
        and request.method == "GET"
        and not is_api(request)
        and request.path not in ("/account/password", "/logout")
        and not request.path.startswith("/static/")
    ):
        raise web.HTTPSeeOther("/account/password")
    return await handler(request)


FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


def _same(sent: str, expected: str) -> bool:
    """Constant-time comparison; a header may carry any bytes (compare_digest refuses
    non-ASCII str)."""
    return hmac.compare_digest(sent.encode("utf-8", "surrogateescape"), expected.encode())


def _anon_token(secret: str, nonce: str) -> str:
    return hmac.new(secret.encode(), nonce.encode(), hashlib.sha256).hexdigest()


@web.middleware
async def csrf(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Every state-changing request carries the session's token (form field or header) and,
    when the browser says where it comes from, one of our origins."""
    settings = request.app[SETTINGS]
    nonce = request.cookies.get(ANON_COOKIE)
    fresh_nonce = None
    if request[AUTH] is None and not nonce:
        nonce = fresh_nonce = secrets.token_urlsafe(24)
    request[ANON_CSRF] = _anon_token(settings.secret_key, nonce or "")
    # No route or no such method: nothing will change, so answer the 404 or 405 itself.
    routed = request.match_info.http_exception is None
    if routed and request.method not in ("GET", "HEAD", "OPTIONS"):
        origin = request.headers.get("Origin")
        if origin is not None and origin not in settings.origins:
            raise PermissionDenied("This request came from another site and was refused.")
        sent = request.headers.get("X-CSRF-Token")
        if sent is None and request.content_type in FORM_TYPES:
            sent = str((await form_fields(request)).get("csrf_token", ""))
        if fresh_nonce is not None or not sent or not _same(sent, csrf_token(request)):
            raise PermissionDenied(
                "Your form has expired or did not come from Kelas. "
                "Please reload the page and try again."
            )
    response = await handler(request)
    if fresh_nonce is not None:
        response.set_cookie(
            ANON_COOKIE,
            fresh_nonce,
            httponly=True,
            samesite="Lax",
            secure=settings.secure_cookies,
            path="/",
        )
    return response


@web.middleware
async def language(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Each page in the viewer's language and time zone."""
    catalogs = request.app[TRANSLATIONS]
    user = request[USER]
    if user is not None and user.language in catalogs:
        code, zone = user.language, user.timezone
    else:
        code = request.cookies.get("kelas_lang") or i18n.pick_language(
            request.headers.get("Accept-Language", ""), catalogs
        )
        code = code if code in catalogs else "en"
        zone = request.app[SETTINGS].default_timezone
    i18n.set_viewer(i18n.Viewer(code, zone, catalogs[code]))
    return await handler(request)


# Every answer: never inside another site's frame (a coordinator's "Correct" or "Cancel
# class" clicked through a disguise; SameSite cookies leave subdomains open), never read as
# another type than it says (a CSV or an uploaded name as HTML), and no address of ours
# (a reset link's token) in another site's Referer.
SECURITY_HEADERS = {
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": "frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}


async def security_headers(request: web.Request, response: web.StreamResponse) -> None:
    """An ``on_response_prepare`` hook, so static files and errors get them too."""
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
