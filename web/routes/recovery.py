"""A forgotten password: asking for a link by e-mail, and the link's form that sets a new one."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from classroom import password_reset, schemas
from classroom.errors import InvalidInput, TooLate
from web import i18n
from web.forms import form_data
from web.keys import CLOCK, DB, PASSWORDS, SETTINGS
from web.mailing import MAIL
from web.pages import render
from web.ratelimit import LIMITS
from web.routes.account import throttle

TOKEN = r"/password/reset/{token:[0-9]{1,10}\.[0-9]{1,12}\.[A-Za-z0-9_-]{1,64}}"
# The link's token must not leave in a Referer header to another site. (Not "no-referrer":
# browsers then send "Origin: null" with the form, which the CSRF check rightly refuses.)
PRIVATE = {"Referrer-Policy": "same-origin", "Cache-Control": "no-store"}


def setup(app: web.Application) -> None:
    app.router.add_get("/password/forgot", forgot)
    app.router.add_post("/password/forgot", forgot)
    app.router.add_get(TOKEN, reset)
    app.router.add_post(TOKEN, reset)


async def forgot(request: web.Request) -> web.StreamResponse:
    """Whether or not an account has the address, the answer is the same page."""
    settings = request.app[SETTINGS]
    context: dict[str, Any] = {
        "errors": {},
        "email": "",
        "sent": False,
        "mail_on": settings.smtp is not None,
    }
    if request.method == "POST" and settings.smtp is not None:
        throttle(request, request.app[LIMITS].reset)
        data = await form_data(request)
        context["email"] = data.get("email", "")
        try:
            asked = schemas.parse(schemas.ForgotPassword, data)
        except InvalidInput as exc:
            context["errors"] = i18n.field_errors(exc.fields)
            return render("forgot.html", request, context, status=422)
        async with request.app[DB].begin() as db:
            await password_reset.request_reset(
                db, asked.email, request.app[CLOCK](), settings.password_reset
            )
        request.app[MAIL].wake()
        context["sent"] = True
    return render("forgot.html", request, context)


async def reset(request: web.Request) -> web.StreamResponse:
    """The link's page: a new password, then the login page. Every login of the account
    ends, wherever it was."""
    token = request.match_info["token"]
    secret = request.app[SETTINGS].secret_key
    context: dict[str, Any] = {"errors": {}, "expired": False, "token": token}
    try:
        if request.method == "POST":
            data = await form_data(request)
            try:
                new = schemas.parse(schemas.PasswordReset, data)
            except InvalidInput as exc:
                context["errors"] = i18n.field_errors(exc.fields)
                return _page(request, context, 422)
            async with request.app[DB].begin() as db:
                await password_reset.reset(
                    db, request.app[PASSWORDS], secret, token, new, request.app[CLOCK]()
                )
            raise web.HTTPSeeOther("/login?reset=1", headers=PRIVATE)
        async with request.app[DB].begin() as db:
            await password_reset.check(db, secret, token, request.app[CLOCK]())
    except TooLate:
        context["expired"] = True
        return _page(request, context, 410)
    return _page(request, context, 200)


def _page(request: web.Request, context: dict[str, Any], status: int) -> web.Response:
    response = render("reset.html", request, context, status=status)
    response.headers.update(PRIVATE)
    return response
