"""Sign-up, login sessions, CSRF, throttling, tutors' first login, roles."""

from __future__ import annotations

import asyncio
import re
from typing import Any

from classroom.models import Role
from tests.conftest import PASSWORD, School
from web.app import create_app
from web.settings import Settings


def csrf_in(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, "page has no CSRF field"
    return match.group(1)


async def test_student_signs_up_with_the_form_and_lands_on_classes(school: School) -> None:
    visitor = await school.visitor()
    status, html = await visitor.page("/signup")
    assert status == 200
    visitor.csrf = csrf_in(html)
    form = {
        "name": "Rina",
        "email": "Rina@Example.com",
        "password": "a long password",
        "timezone": "Asia/Jakarta",
        "language": "id",
    }
    status, location, _ = await visitor.form("/signup", form)
    assert (status, location) == (303, "/classes")
    await visitor.refresh_csrf()
    assert visitor.user["email"] == "rina@example.com"
    assert visitor.user["role"] == "student"
    async with school.maker() as session:
        from sqlalchemy import select

        from classroom.models import User

        stored = await session.scalar(select(User).where(User.email == "rina@example.com"))
    assert stored is not None and stored.password_hash.startswith("$argon2id$")


async def test_signup_form_shows_field_errors_and_keeps_input(school: School) -> None:
    visitor = await school.visitor()
    bad = {
        "name": "",
        "email": "not-an-email",
        "password": "short",
        "timezone": "Mars/Olympus",
        "language": "en",
    }
    status, _, html = await visitor.form("/signup", bad)
    assert status == 422
    assert html.count('class="field-error"') == 4
    assert "Unknown time zone" in html
    assert 'value="not-an-email"' in html


async def test_duplicate_email_is_a_field_error(school: School) -> None:
    existing = await school.person(Role.STUDENT)
    visitor = await school.visitor()
    status, body = await visitor.api(
        "POST",
        "/api/v1/signup",
        {"name": "X", "email": existing.email, "password": "a long password"},
    )
    assert status == 422
    assert "already exists" in body["error"]["fields"]["email"]


async def test_login_starts_a_new_session_and_logout_ends_it(school: School) -> None:
    user = await school.person(Role.STUDENT)
    visitor = await school.visitor()
    status, html = await visitor.page("/login")
    visitor.csrf = csrf_in(html)
    form = {"email": user.email, "password": PASSWORD}
    status, location, _ = await visitor.form("/login", form)
    assert (status, location) == (303, "/my")
    cookie = visitor.client.session.cookie_jar.filter_cookies(visitor.client.make_url("/"))
    first = cookie["kelas_session"].value
    await visitor.refresh_csrf()
    # Logging in again replaces the session: the old token no longer works.
    status, _, _ = await visitor.form("/login", form)
    assert status == 303
    second = visitor.client.session.cookie_jar.filter_cookies(visitor.client.make_url("/"))[
        "kelas_session"
    ].value
    assert second != first
    other = await school.visitor()
    other.client.session.cookie_jar.update_cookies({"kelas_session": first})
    assert (await other.api("GET", "/api/v1/me/classes"))[0] == 401
    await visitor.refresh_csrf()
    status, location, _ = await visitor.form("/logout")
    assert (status, location) == (303, "/login")
    assert (await visitor.api("GET", "/api/v1/me/classes"))[0] == 401


async def test_session_cookie_is_httponly_and_lax(school: School) -> None:
    user = await school.person(Role.STUDENT)
    visitor = await school.visitor()
    async with visitor.client.post(
        "/api/v1/login",
        json={"email": user.email, "password": PASSWORD},
        headers={"X-CSRF-Token": visitor.csrf},
    ) as resp:
        header = resp.headers["Set-Cookie"]
    assert "HttpOnly" in header
    assert "SameSite=Lax" in header
    assert "Secure" not in header  # the test base URL is plain http


async def test_state_changing_requests_need_the_csrf_token(school: School) -> None:
    user, visitor = await school.join(Role.STUDENT)
    visitor.csrf = "forged"
    status, body = await visitor.api(
        "PATCH", "/api/v1/me", {"name": "X", "timezone": "UTC", "language": "en"}
    )
    assert status == 403
    status, _, _ = await visitor.form(
        "/account", {"name": "X", "timezone": "UTC", "language": "en"}
    )
    assert status == 403
    await visitor.refresh_csrf()
    async with visitor.client.patch(
        "/api/v1/me",
        json={"name": "X", "timezone": "UTC", "language": "en"},
        headers={"X-CSRF-Token": visitor.csrf, "Origin": "https://evil.example"},
    ) as resp:
        assert resp.status == 403
    status, body = await visitor.api(
        "PATCH", "/api/v1/me", {"name": "Y", "timezone": "UTC", "language": "en"}
    )
    assert status == 200 and body["name"] == "Y"


async def test_login_form_needs_csrf_too(school: School) -> None:
    user = await school.person(Role.STUDENT)
    visitor = await school.visitor()
    visitor.csrf = "nope"
    status, _, _ = await visitor.form("/login", {"email": user.email, "password": PASSWORD})
    assert status == 403


async def test_logins_are_throttled_after_repeated_failures(school: School) -> None:
    user = await school.person(Role.STUDENT)
    visitor = await school.visitor()
    wrong = {"email": user.email, "password": "wrong password"}
    for _ in range(5):
        status, body = await visitor.api("POST", "/api/v1/login", wrong)
        assert status == 401, body
    async with visitor.client.post(
        "/api/v1/login",
        json={"email": user.email, "password": PASSWORD},
        headers={"X-CSRF-Token": visitor.csrf},
    ) as resp:
        assert resp.status == 429
        assert resp.headers["Retry-After"] == "900"  # the lockout, at most
        body = await resp.json()
    assert body["error"]["code"] == "login_throttled"
    assert "Too many failed logins" in body["error"]["message"]


async def test_coordinator_creates_a_tutor_who_must_change_the_password(school: School) -> None:
    _, coordinator = await school.join(Role.COORDINATOR)
    status, body = await coordinator.api(
        "POST",
        "/api/v1/tutors",
        {"name": "Wulan", "email": "wulan@school.example.com", "timezone": "Asia/Makassar"},
    )
    assert status == 201
    temporary = body["temporary_password"]
    tutor = await school.visitor()
    status, body = await tutor.api(
        "POST", "/api/v1/login", {"email": "wulan@school.example.com", "password": temporary}
    )
    assert status == 200 and body["user"]["must_change_password"] is True
    tutor.csrf = body["csrf_token"]
    status, location = await _get_redirect(tutor, "/teaching")
    assert (status, location) == (303, "/account/password")
    status, _, html = await tutor.form(
        "/account/password", {"current_password": temporary, "new_password": "short"}
    )
    assert status == 422 and "at least 10 characters" in html
    status, location, _ = await tutor.form(
        "/account/password", {"current_password": temporary, "new_password": "my own password"}
    )
    assert status == 303
    status, _ = await tutor.page("/teaching")
    assert status == 200


async def _get_redirect(visitor: object, path: str) -> tuple[int, str]:
    client = visitor.client  # type: ignore[attr-defined]
    async with client.get(path, allow_redirects=False) as resp:
        return resp.status, resp.headers.get("Location", "")


async def test_students_cannot_create_tutors_or_see_coordinator_pages(school: School) -> None:
    _, student = await school.join(Role.STUDENT)
    for path in ("/planning", "/tutors", "/planning/series/new", "/teaching", "/availability"):
        status, html = await student.page(path)
        assert status == 403, path
        assert "not allowed" in html
    status, body = await student.api(
        "POST", "/api/v1/tutors", {"name": "X", "email": "x@school.example.com"}
    )
    assert status == 403 and body["error"]["code"] == "forbidden"


async def test_anonymous_visitors_are_sent_to_login(school: School) -> None:
    visitor = await school.visitor()
    status, location = await _get_redirect(visitor, "/planning")
    assert status == 303 and location.startswith("/login?next=/planning")
    status, body = await visitor.api("GET", "/api/v1/planning")
    assert status == 401 and body["error"]["code"] == "not_authenticated"


async def test_login_redirect_stays_on_this_site(school: School) -> None:
    user = await school.person(Role.STUDENT)
    visitor = await school.visitor()
    status, location, _ = await visitor.form(
        "/login", {"email": user.email, "password": PASSWORD, "next": "//evil.example/x"}
    )
    assert (status, location) == (303, "/my")


async def test_concurrent_failed_logins_are_all_counted(school: School) -> None:
    visitor = await school.visitor()
    wrong = {"email": "nobody@school.example.com", "password": "guess"}
    results = await asyncio.gather(*(visitor.api("POST", "/api/v1/login", wrong) for _ in range(8)))
    assert sorted(status for status, _ in results)[:5] == [401] * 5
    assert {status for status, _ in results} <= {401, 429}
    status, _ = await visitor.api("POST", "/api/v1/login", wrong)
    assert status == 429


async def test_https_base_url_makes_cookies_secure(aiohttp_client: Any, database_url: str) -> None:
    settings = Settings(
        database_url=database_url,
        secret_key="s",
        base_url="https://kelas.example.org",
        password_profile="CHEAPEST",
    )
    client = await aiohttp_client(create_app(settings))
    async with client.get("/login") as resp:
        assert "Secure" in resp.headers["Set-Cookie"]


async def test_absurd_ids_are_refused_with_the_field_named(school: School) -> None:
    _, student = await school.join(Role.STUDENT)
    status, html = await student.page("/classes/99999999999999999999")
    assert status == 422 and "Class: Must be at most 2147483647" in html
    status, body = await student.api("GET", "/api/v1/classes?tutor_id=99999999999")
    assert status == 422
