"""Fixtures: the real app over real SQLite and PostgreSQL databases, and logged-in clients.

Every database-facing test runs twice, once per engine. PostgreSQL comes from
KELAS_TEST_POSTGRES_URL (default: the local server, which scripts/setup starts); each test
session creates its own database and drops it at the end.
"""

from __future__ import annotations

import asyncio
import dataclasses
import os
import re
import shutil
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from classroom import accounts
from classroom.db import create_engine, create_sessionmaker
from classroom.migrate import upgrade
from classroom.models import Base, Role, User
from tests.turn_server import TurnServer
from web.app import create_app
from web.settings import Settings

PG_ADMIN = os.environ.get(
    "KELAS_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)
PASSWORD = "correct horse battery"


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One migrated SQLite file; each test gets a copy."""
    path = tmp_path_factory.mktemp("db") / "template.db"
    upgrade(f"sqlite+aiosqlite:///{path}")
    return path


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A fresh, migrated PostgreSQL database for this test session."""
    name = f"kelas_test_{uuid.uuid4().hex[:12]}"

    async def admin(sql: str) -> None:
        conn = await asyncpg.connect(PG_ADMIN)
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    asyncio.run(admin(f'CREATE DATABASE "{name}"'))
    base = re.sub(r"/[^/]*$", f"/{name}", PG_ADMIN)
    url = base.replace("postgresql://", "postgresql+asyncpg://", 1)
    upgrade(url)
    yield url
    asyncio.run(admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(params=["sqlite", "postgres"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        path = tmp_path / "kelas.db"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        return f"sqlite+aiosqlite:///{path}"
    url: str = request.getfixturevalue("postgres_url")
    tables = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)

    async def truncate() -> None:
        conn = await asyncpg.connect(url.replace("+asyncpg", ""))
        try:
            await conn.execute(f"TRUNCATE {tables} RESTART IDENTITY CASCADE")
        finally:
            await conn.close()

    asyncio.run(truncate())
    return url


@pytest.fixture
def settings(database_url: str) -> Settings:
    return Settings(
        database_url=database_url,
        secret_key="test-secret",
        base_url="http://127.0.0.1",
        password_profile="CHEAPEST",
        # Every test client comes from 127.0.0.1: room for a crowd of logins per test.
        # The rate-limit tests set their own limits.
        login_burst=1000,
        signup_burst=1000,
    )


@pytest.fixture
async def db(settings: Settings) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    """Direct access to the same database, for arranging data through the domain."""
    engine = create_engine(settings.database_url)
    yield create_sessionmaker(engine)
    await engine.dispose()


def now() -> datetime:
    return datetime.now(UTC)


@dataclass
class Visitor:
    """One person's browser: its own cookies, and the CSRF token it was given."""

    client: TestClient[Any, Any]
    csrf: str = ""
    user: dict[str, Any] = field(default_factory=dict)

    async def refresh_csrf(self) -> str:
        async with self.client.get("/api/v1/session") as resp:
            data = await resp.json()
        self.csrf = data["csrf_token"]
        self.user = data["user"] or {}
        return self.csrf

    async def api(self, method: str, path: str, json: Any = None, **kw: Any) -> tuple[int, Any]:
        headers = {"X-CSRF-Token": self.csrf}
        async with self.client.request(method, path, json=json, headers=headers, **kw) as resp:
            body = (
                await resp.json() if resp.content_type == "application/json" else await resp.text()
            )
            return resp.status, body

    async def form(
        self, path: str, data: dict[str, Any] | list[tuple[str, str]] | None = None
    ) -> tuple[int, str, str]:
        """POST a form like a browser, without following redirects: (status, location, body)."""
        fields = list(data.items()) if isinstance(data, dict) else list(data or [])
        fields.append(("csrf_token", self.csrf))
        async with self.client.post(path, data=fields, allow_redirects=False) as resp:
            return resp.status, resp.headers.get("Location", ""), await resp.text()

    async def page(self, path: str) -> tuple[int, str]:
        async with self.client.get(path) as resp:
            return resp.status, await resp.text()


@dataclass
class School:
    """The running app plus ways to arrange people and log them in."""

    server: TestServer
    maker: async_sessionmaker[AsyncSession]
    new_client: Callable[[], Awaitable[TestClient[Any, Any]]]
    counter: int = 0

    async def person(self, role: Role, name: str | None = None, **kw: Any) -> User:
        self.counter += 1
        name = name or f"{role.value.title()} {self.counter}"
        async with self.maker.begin() as session:
            return await accounts.create_user(
                session,
                email=f"{role.value}{self.counter}@school.example.com",
                name=name,
                role=role,
                password_hash=await accounts.Passwords("CHEAPEST").hash(PASSWORD),
                timezone=kw.get("timezone", "Asia/Jakarta"),
                language=kw.get("language", "en"),
                now=now(),
            )

    async def visitor(self) -> Visitor:
        visitor = Visitor(await self.new_client())
        await visitor.refresh_csrf()
        return visitor

    async def login(self, user: User, password: str = PASSWORD) -> Visitor:
        visitor = await self.visitor()
        status, body = await visitor.api(
            "POST", "/api/v1/login", {"email": user.email, "password": password}
        )
        assert status == 200, body
        visitor.csrf = body["csrf_token"]
        visitor.user = body["user"]
        return visitor

    async def join(self, role: Role, name: str | None = None, **kw: Any) -> tuple[User, Visitor]:
        user = await self.person(role, name, **kw)
        return user, await self.login(user)


SchoolFactory = Callable[..., Awaitable[School]]


@pytest.fixture
def school_with(
    settings: Settings,
    db: async_sessionmaker[AsyncSession],
    aiohttp_server: Any,
    aiohttp_client: Any,
) -> SchoolFactory:
    """Another running app on the same database, with some settings changed."""

    async def make(clock: Callable[[], datetime] = now, **changes: Any) -> School:
        app = create_app(dataclasses.replace(settings, **changes), clock=clock)
        server = await aiohttp_server(app)

        async def new_client() -> TestClient[Any, Any]:
            return await aiohttp_client(server)  # type: ignore[no-any-return]

        return School(server, db, new_client)

    return make


@pytest.fixture
async def school(school_with: SchoolFactory) -> School:
    return await school_with()


TurnFactory = Callable[..., Awaitable[TurnServer]]


@pytest.fixture
async def start_turn(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[TurnFactory]:
    """Start coturns of the test's own, from deploy/turnserver.conf (tests/turn_server.py);
    each is stopped at the end of the test."""
    started: list[TurnServer] = []

    async def start(allowed_peers: tuple[str, ...] = (), host: str = "127.0.0.1") -> TurnServer:
        server = TurnServer(tmp_path_factory.mktemp("turn"), allowed_peers, host)
        started.append(server)
        await server.start()
        return server

    yield start
    for server in started:
        await server.stop()
