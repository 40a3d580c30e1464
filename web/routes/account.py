"""Logging in and out, signing up, the user's own account and messages."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from classroom import accounts, notifications, outbox, readiness, schemas
from classroom.errors import N_, InvalidInput, NotAuthenticated, RateLimited
from classroom.models import Role, User
from signaling.ratelimit import Buckets
from web import i18n
from web.forms import form_data
from web.keys import CLOCK, DB, LOGIN_POLICY, PASSWORDS, SESSION_TOKEN, SETTINGS, USER
from web.middlewares import SESSION_COOKIE, current_user
from web.pages import render
from web.ratelimit import LIMITS

HOME = {Role.STUDENT: "/my", Role.TUTOR: "/teaching", Role.COORDINATOR: "/planning"}


def setup(app: web.Application) -> None:
    app.router.add_get("/", home)
    app.router.add_get("/login", login)
    app.router.add_post("/login", login)
    app.router.add_post("/logout", logout)
    app.router.add_get("/signup", signup)
    app.router.add_post("/signup", signup)
    app.router.add_get("/account", account)
    app.router.add_post("/account", account)
    app.router.add_get("/account/password", password)
    app.router.add_post("/account/password", password)
    app.router.add_post("/account/calendar", rotate_calendar)
    app.router.add_post("/account/mail", mail_choices)
    app.router.add_post("/language", choose_language)
    app.router.add_get("/messages", messages)


async def home(request: web.Request) -> web.StreamResponse:
    user = request[USER]
    raise web.HTTPSeeOther(HOME[user.role] if user else "/login")


def _safe_next(value: str | None) -> str | None:
    """Only local paths: never send a user to another site after login. Browsers read
    ``/\\host`` as ``//host`` and drop tabs and line breaks from addresses, so neither
    may appear; nor anything that cannot go into a Location header."""
    if (
        value
        and value.startswith("/")
        and not value.startswith("//")
        and "\\" not in value
        and value.isprintable()
        and value.isascii()
    ):
        return value
    return None


def throttle(request: web.Request, bucket: Buckets) -> None:
    """Count one attempt from this client; refuse it when its bucket is empty."""
    wait = request.app[LIMITS].wait(bucket, request)
    if wait:
        raise RateLimited(
            N_("Too many attempts from your address. Please wait {seconds} seconds and try again."),
            retry_after=wait,
            seconds=str(wait),
        )


def set_session_cookie(request: web.Request, response: web.StreamResponse, token: str) -> None:
    settings = request.app[SETTINGS]
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=int(settings.session_lifetime.total_seconds()),
        httponly=True,
        samesite="Lax",
        secure=settings.secure_cookies,
        path="/",
    )


async def log_in(request: web.Request, data: Any) -> tuple[User, str, str]:
    """Check the credentials and start a fresh session (ending the one the browser had)."""
    throttle(request, request.app[LIMITS].login)
    credentials = schemas.parse(schemas.Login, data)
    now = request.app[CLOCK]()
    async with request.app[DB].begin() as db:
        user = await accounts.authenticate(
            db, request.app[PASSWORDS], credentials, now, request.app[LOGIN_POLICY]
        )
        if user is not None:
            old_token = request[SESSION_TOKEN]
            if old_token:
                await accounts.end_session(db, old_token)
            token, auth = await accounts.start_session(db, user, now, request.app[LOGIN_POLICY])
    if user is None:
        raise NotAuthenticated("Wrong e-mail address or password.")
    return user, token, auth.csrf_token


async def login(request: web.Request) -> web.StreamResponse:
    context: dict[str, Any] = {
        "next": _safe_next(request.query.get("next")),
        "error": None,
        "errors": {},
        "email": "",
        "reset": request.query.get("reset") == "1",
        "mail_on": request.app[SETTINGS].smtp is not None,
    }
    if request.method == "POST":
        data = await form_data(request)
        nxt = _safe_next(data.pop("next", None))
        context.update(email=data.get("email", ""), next=nxt)
        try:
            user, token, _ = await log_in(request, data)
        except InvalidInput as exc:
            context["errors"] = i18n.field_errors(exc.fields)
            return render("login.html", request, context, status=422)
        except NotAuthenticated as exc:
            context["error"] = i18n.notice(exc.notice)
            return render("login.html", request, context, status=422)
        response = web.HTTPSeeOther(nxt or HOME[user.role])
        set_session_cookie(request, response, token)
        raise response
    return render("login.html", request, context)


async def logout(request: web.Request) -> web.StreamResponse:
    token = request[SESSION_TOKEN]
    if token:
        async with request.app[DB].begin() as db:
            await accounts.end_session(db, token)
    response = web.HTTPSeeOther("/login")
    response.del_cookie(SESSION_COOKIE, path="/")
    raise response


async def sign_up(request: web.Request, data: Any) -> tuple[User, str, str]:
    throttle(request, request.app[LIMITS].signup)
    details = schemas.parse(schemas.Signup, data)
    now = request.app[CLOCK]()
    async with request.app[DB].begin() as db:
        user = await accounts.register(db, request.app[PASSWORDS], details, Role.STUDENT, now)
        token, auth = await accounts.start_session(db, user, now, request.app[LOGIN_POLICY])
    return user, token, auth.csrf_token


async def signup(request: web.Request) -> web.StreamResponse:
    viewer = i18n.viewer()
    context: dict[str, Any] = {
        "errors": {},
        "form": {"timezone": viewer.timezone, "language": viewer.language},
        "zones": schemas.TIME_ZONES,
    }
    if request.method == "POST":
        data = await form_data(request)
        context["form"] = data
        try:
            _, token, _ = await sign_up(request, data)
        except InvalidInput as exc:
            context["errors"] = i18n.field_errors(exc.fields)
            return render("signup.html", request, context, status=422)
        response = web.HTTPSeeOther("/classes")
        set_session_cookie(request, response, token)
        raise response
    return render("signup.html", request, context)


async def account(request: web.Request) -> web.StreamResponse:
    user = current_user(request)
    settings = request.app[SETTINGS]
    context: dict[str, Any] = {
        "errors": {},
        "form": {"name": user.name, "timezone": user.timezone, "language": user.language},
        "zones": schemas.TIME_ZONES,
        "feed_url": f"{settings.base_url}/calendar/{user.calendar_token}.ics",
        "saved": request.query.get("saved") == "1",
        "mail": mail_choices_of(user),
        "mail_on": settings.smtp is not None,
    }
    async with request.app[DB].begin() as db:
        context["last_check"] = (await readiness.latest(db, [user.id])).get(user.id)
    if request.method == "POST":
        data = await form_data(request)
        context["form"] = data
        try:
            profile = schemas.parse(schemas.Profile, data)
        except InvalidInput as exc:
            context["errors"] = i18n.field_errors(exc.fields)
            return render("account.html", request, context, status=422)
        async with request.app[DB].begin() as db:
            await accounts.update_profile(db, await accounts.get_user(db, user.id), profile)
        raise web.HTTPSeeOther("/account?saved=1")
    return render("account.html", request, context)


async def password(request: web.Request) -> web.StreamResponse:
    user = current_user(request)
    context: dict[str, Any] = {"errors": {}, "forced": user.must_change_password}
    if request.method == "POST":
        try:
            change = schemas.parse(schemas.PasswordChange, await form_data(request))
            async with request.app[DB].begin() as db:
                await accounts.change_password(
                    db,
                    request.app[PASSWORDS],
                    await accounts.get_user(db, user.id),
                    change,
                    request[SESSION_TOKEN] or "",
                )
        except InvalidInput as exc:
            context["errors"] = i18n.field_errors(exc.fields)
            return render("password.html", request, context, status=422)
        raise web.HTTPSeeOther("/account?saved=1")
    return render("password.html", request, context)


async def rotate_calendar(request: web.Request) -> web.StreamResponse:
    user = current_user(request)
    async with request.app[DB].begin() as db:
        await accounts.rotate_calendar_token(db, await accounts.get_user(db, user.id))
    raise web.HTTPSeeOther("/account?saved=1")


def mail_choices_of(user: User) -> list[tuple[str, str, bool]]:
    """Each kind of message the user gets: (kind, its name, whether it comes by e-mail)."""
    return [
        (kind, i18n.gettext(outbox.CHOICES[kind][1]), outbox.by_email(user, kind))
        for kind in outbox.kinds_for(user.role)
    ]


async def mail_choices(request: web.Request) -> web.StreamResponse:
    user = current_user(request)
    choices = schemas.parse(schemas.MailChoices, await form_data(request))
    async with request.app[DB].begin() as db:
        await outbox.set_choices(db, await accounts.get_user(db, user.id), choices.by_email)
    raise web.HTTPSeeOther("/account?saved=1#mail")


async def choose_language(request: web.Request) -> web.StreamResponse:
    """Language for visitors who are not logged in (users set theirs in their account)."""
    data = await form_data(request)
    code = data.get("language", "en")
    response = web.HTTPSeeOther(_safe_next(data.get("next")) or "/")
    if code in i18n.LANGUAGES:
        response.set_cookie("kelas_lang", code, max_age=365 * 86400, samesite="Lax", path="/")
    raise response


async def messages(request: web.Request) -> web.StreamResponse:
    user = current_user(request)
    async with request.app[DB].begin() as db:
        items = await notifications.inbox(db, user)
        await notifications.mark_all_read(db, user, request.app[CLOCK]())
    return render("messages.html", request, {"messages": items})
