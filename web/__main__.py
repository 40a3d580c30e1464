"""Entry point: ``python -m web [serve|migrate|demo|create-coordinator]``."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import logging
import sys
from datetime import UTC, datetime

import uvloop
from aiohttp import web
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from classroom import accounts, demo, schemas
from classroom.db import create_engine, create_sessionmaker
from classroom.errors import KelasError
from classroom.migrate import alembic_config, upgrade
from classroom.models import Role
from web.app import create_app
from web.settings import Settings


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m web", description="Kelas")
    commands = parser.add_subparsers(dest="command")
    commands.add_parser("serve", help="run the web server (the default)")
    commands.add_parser("migrate", help="apply database migrations")
    commands.add_parser("demo", help="migrate, load demo data if missing, and serve")
    commands.add_parser("translations", help="extract texts and update the .po catalogues")
    coordinator = commands.add_parser("create-coordinator", help="create a coordinator account")
    coordinator.add_argument("--email", required=True)
    coordinator.add_argument("--name", required=True)
    coordinator.add_argument("--timezone", default="Asia/Jakarta")
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    try:
        settings = Settings.from_env()
    except ValueError as exc:  # a setting that cannot work: say which, without a traceback
        print(f"Kelas cannot start: {exc}", file=sys.stderr)
        return 2
    if args.command == "migrate":
        upgrade(settings.database_url)
        print("Database is up to date.")
        return 0
    if args.command == "translations":
        from web.catalog import update

        for language, missing in update().items():
            print(f"{language}: {missing} messages without a translation")
        return 0
    if args.command == "create-coordinator":
        password = getpass.getpass("Password (10 characters or more): ")
        return asyncio.run(
            _create_coordinator(settings, args.email, args.name, password, args.timezone)
        )
    if args.command == "demo":
        upgrade(settings.database_url)
        asyncio.run(_seed_demo(settings))
    elif not asyncio.run(_schema_is_current(settings)):
        print(
            "The database schema is not up to date: run `python -m web migrate`.", file=sys.stderr
        )
        return 1
    web.run_app(
        create_app(settings),
        loop=uvloop.new_event_loop() if settings.event_loop == "uvloop" else None,
        host=settings.host,
        port=settings.port,
        print=lambda _: logging.getLogger("web").info("Kelas is serving on %s", settings.base_url),
    )
    return 0


async def _schema_is_current(settings: Settings) -> bool:
    head = ScriptDirectory.from_config(alembic_config(settings.database_url)).get_current_head()
    engine = create_engine(settings.database_url)
    try:
        async with engine.connect() as connection:
            current = await connection.run_sync(
                lambda sync: MigrationContext.configure(sync).get_current_revision()
            )
    finally:
        await engine.dispose()
    return current == head


async def _create_coordinator(
    settings: Settings, email: str, name: str, password: str, zone: str
) -> int:
    engine = create_engine(settings.database_url)
    try:
        data = schemas.parse(
            schemas.NewCoordinator,
            {"email": email, "name": name, "password": password, "timezone": zone},
        )
        async with create_sessionmaker(engine).begin() as db:
            await accounts.register(
                db,
                accounts.Passwords(settings.password_profile),
                data,
                Role.COORDINATOR,
                datetime.now(UTC),
            )
    except KelasError as exc:
        problems = "; ".join(f"{field}: {text.text()}" for field, text in exc.fields.items())
        print(f"Not created: {problems or exc}", file=sys.stderr)
        return 1
    finally:
        await engine.dispose()
    print(f"Coordinator {email} created.")
    return 0


async def _seed_demo(settings: Settings) -> None:
    engine = create_engine(settings.database_url)
    try:
        async with create_sessionmaker(engine).begin() as db:
            logins = await demo.seed(
                db, accounts.Passwords(settings.password_profile), datetime.now(UTC)
            )
    finally:
        await engine.dispose()
    print()
    print(f"  Kelas is running at {settings.base_url}/")
    if logins is None:
        print("  (demo data was already loaded; delete the data directory to start afresh)")
    print(f"  Demo logins, all with the password: {demo.PASSWORD}")
    print(f"    coordinator  coordinator@{demo.DOMAIN}")
    print("    tutors       " + ", ".join(f"{t[1]}@{demo.DOMAIN}" for t in demo.TUTORS))
    print("    students     " + ", ".join(f"{s.lower()}@{demo.DOMAIN}" for s in demo.STUDENTS))
    print()


if __name__ == "__main__":
    sys.exit(main())
