"""Floods of logins and sign-ups from one address get 429 with Retry-After, on the form and
the API; the buckets refill with the app's clock, so no test sleeps."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from ipaddress import ip_network
from typing import Any

import pytest

from classroom.models import Role
from signaling.ratelimit import Buckets, Rate
from tests.conftest import PASSWORD, School, Visitor, now
from web.app import create_app
from web.ratelimit import client_address
from web.settings import Settings


@dataclass
class Clock:
    moment: datetime = field(default_factory=now)

    def __call__(self) -> datetime:
        return self.moment

    def advance(self, seconds: float) -> None:
        self.moment += timedelta(seconds=seconds)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
async def strict(
    settings: Settings, school: School, clock: Clock, aiohttp_server: Any, aiohttp_client: Any
) -> Any:
    """A second app on the same database with small buckets: 2 logins, then 1 every 6 s;
    1 sign-up, then 1 every 12 s."""
    limited = replace(
        settings, login_per_minute=10, login_burst=2, signup_per_minute=5, signup_burst=1
    )
    server = await aiohttp_server(create_app(limited, clock))

    async def visitor(**headers: str) -> Visitor:
        client = await aiohttp_client(server, headers=headers)
        v = Visitor(client)
        await v.refresh_csrf()
        return v

    return visitor


def signup(n: int) -> dict[str, str]:
    return {"name": f"Flood {n}", "email": f"flood{n}@example.com", "password": "a long password"}


async def test_api_logins_beyond_the_burst_wait_for_the_bucket(
    strict: Any, school: School, clock: Clock
) -> None:
    user = await school.person(Role.STUDENT)
    visitor = await strict()
    wrong = {"email": user.email, "password": "not the password"}
    for _ in range(2):
        status, _ = await visitor.api("POST", "/api/v1/login", wrong)
        assert status == 401
    right = {"email": user.email, "password": PASSWORD}
    async with visitor.client.post(
        "/api/v1/login", json=right, headers={"X-CSRF-Token": visitor.csrf}
    ) as resp:
        assert resp.status == 429 and resp.headers["Retry-After"] == "6"
        body = await resp.json()
    assert body["error"]["code"] == "rate_limited"
    assert body["error"]["message"] == (
        "Too many attempts from your address. Please wait 6 seconds and try again."
    )
    clock.advance(5)
    status, _ = await visitor.api("POST", "/api/v1/login", right)
    assert status == 429
    clock.advance(1)
    status, _ = await visitor.api("POST", "/api/v1/login", right)
    assert status == 200


async def test_the_login_form_shows_a_translated_429_page(strict: Any, school: School) -> None:
    user = await school.person(Role.STUDENT)
    visitor = await strict(**{"Accept-Language": "id"})
    form = {"email": user.email, "password": "wrong", "csrf_token": visitor.csrf}
    for expected in (422, 422, 429):
        async with visitor.client.post("/login", data=form, allow_redirects=False) as resp:
            assert resp.status == expected
            if expected == 429:
                assert resp.headers["Retry-After"] == "6"
                assert resp.content_type == "text/html"
                html = await resp.text()
    assert "Terlalu banyak percobaan dari alamat Anda. Tunggu 6 detik" in html


async def test_sign_ups_are_limited_on_the_api_and_the_form(strict: Any, clock: Clock) -> None:
    visitor = await strict()
    status, _ = await visitor.api("POST", "/api/v1/signup", signup(1))
    assert status == 201
    other = await strict()
    async with other.client.post(
        "/api/v1/signup", json=signup(2), headers={"X-CSRF-Token": other.csrf}
    ) as resp:
        assert resp.status == 429 and resp.headers["Retry-After"] == "12"
        assert (await resp.json())["error"]["code"] == "rate_limited"
    status, _, html = await other.form("/signup", signup(3))
    assert status == 429 and "Please wait 12 seconds" in html
    clock.advance(12)
    status, location, _ = await other.form("/signup", signup(4))
    assert (status, location) == (303, "/classes")


async def test_forwarded_for_counts_only_behind_a_trusted_proxy(
    settings: Settings, school: School, aiohttp_client: Any
) -> None:
    user = await school.person(Role.STUDENT)
    wrong = {"email": user.email, "password": "wrong"}

    async def statuses(limited: Settings) -> list[int]:
        client = await aiohttp_client(create_app(limited))
        results = []
        for n in range(3):
            visitor = Visitor(client)
            await visitor.refresh_csrf()
            async with client.post(
                "/api/v1/login",
                json=wrong,
                headers={"X-CSRF-Token": visitor.csrf, "X-Forwarded-For": f"203.0.113.{n}"},
            ) as resp:
                results.append(resp.status)
        return results

    small = replace(settings, login_per_minute=1, login_burst=1, login_max_failures=100)
    assert await statuses(small) == [401, 429, 429]  # the header is the client's own word
    trusted = replace(small, trusted_proxies=("127.0.0.0/8",))
    assert await statuses(trusted) == [401, 401, 401]


def test_token_bucket_refills_at_its_rate() -> None:
    t = [0.0]
    bucket = Buckets(Rate.per_minute(60, 3), clock=lambda: t[0])
    assert [bucket.take("a") for _ in range(3)] == [0.0, 0.0, 0.0]
    assert bucket.take("a") == pytest.approx(1.0)
    assert bucket.take("b") == 0.0  # each key its own bucket
    t[0] = 0.5
    assert bucket.take("a") == pytest.approx(0.5)
    t[0] = 1.0
    assert bucket.take("a") == 0.0
    t[0] = 1000.0
    assert [bucket.take("a") for _ in range(4)][-1] > 0  # refilled to the burst, no more
    assert Buckets(Rate.per_minute(0, 0), clock=lambda: 0.0).take("x") == 0.0


def test_token_bucket_forgets_full_buckets_first() -> None:
    t = [0.0]
    bucket = Buckets(Rate.per_minute(60, 1), clock=lambda: t[0], limit=2)
    bucket.take("old")
    t[0] = 10.0
    bucket.take("busy")
    bucket.take("new")  # "old" has refilled: forgetting it forgives nobody
    assert bucket.take("busy") > 0


@pytest.mark.parametrize(
    ("peer", "forwarded", "trusted", "expected"),
    [
        ("198.51.100.7", "203.0.113.9", (), "198.51.100.7"),
        ("10.0.0.2", "203.0.113.9", ("10.0.0.0/8",), "203.0.113.9"),
        ("10.0.0.2", "1.1.1.1, 203.0.113.9, 10.0.0.3", ("10.0.0.0/8",), "203.0.113.9"),
        ("10.0.0.2", "not-an-address, 10.0.0.3", ("10.0.0.0/8",), "10.0.0.3"),
        ("10.0.0.2", "10.0.0.4", ("10.0.0.0/8",), "10.0.0.4"),
        ("10.0.0.2", None, ("10.0.0.0/8",), "10.0.0.2"),
        ("::1", "2001:db8::5", ("::1",), "2001:db8::5"),
        (None, "203.0.113.9", (), "unknown"),
    ],
)
def test_client_address(
    peer: str | None, forwarded: str | None, trusted: tuple[str, ...], expected: str
) -> None:
    networks = tuple(ip_network(n) for n in trusted)
    assert client_address(peer, forwarded, networks) == expected


def test_settings_read_limits_and_proxies_from_the_environment() -> None:
    env = {
        "SECRET_KEY": "s",
        "KELAS_LOGIN_PER_MINUTE": "3",
        "KELAS_LOGIN_BURST": "4",
        "KELAS_SIGNUP_PER_MINUTE": "1",
        "KELAS_SIGNUP_BURST": "2",
        "KELAS_TRUSTED_PROXIES": "10.0.0.0/8, ::1",
    }
    s = Settings.from_env(env)
    assert (s.login_per_minute, s.login_burst, s.signup_per_minute, s.signup_burst) == (
        3,
        4,
        1,
        2,
    )
    assert s.trusted_proxies == ("10.0.0.0/8", "::1")
    assert Settings.from_env({"SECRET_KEY": "s"}).trusted_proxies == ()
