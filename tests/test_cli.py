"""The entry point's commands, run as a person would run them."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import select

from classroom.db import create_engine, create_sessionmaker
from classroom.models import Role, User


def run(args: list[str], env: dict[str, str], stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "web", *args],
        input=stdin,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


async def test_migrate_then_create_the_first_coordinator(tmp_path: Path) -> None:
    env = {"KELAS_DATA_DIR": str(tmp_path)}
    serve = run(["serve"], env)
    assert serve.returncode == 1 and "python -m web migrate" in serve.stderr
    assert run(["migrate"], env).returncode == 0
    made = run(
        ["create-coordinator", "--email", "Boss@School.example.com", "--name", "Boss"],
        env,
        stdin="a strong password\n",
    )
    assert made.returncode == 0, made.stderr
    again = run(
        ["create-coordinator", "--email", "boss@school.example.com", "--name", "Boss"],
        env,
        stdin="a strong password\n",
    )
    assert again.returncode == 1 and "already exists" in again.stderr
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'kelas.db'}")
    async with create_sessionmaker(engine)() as session:
        users = (await session.scalars(select(User))).all()
    await engine.dispose()
    assert [(u.email, u.role) for u in users] == [("boss@school.example.com", Role.COORDINATOR)]


@pytest.mark.parametrize("password", ["short"])
def test_weak_coordinator_password_is_refused(tmp_path: Path, password: str) -> None:
    env = {"KELAS_DATA_DIR": str(tmp_path)}
    assert run(["migrate"], env).returncode == 0
    made = run(["create-coordinator", "--email", "a@b.example.com", "--name", "A"], env, password)
    assert made.returncode == 1 and "at least 10 characters" in made.stderr


@pytest.mark.parametrize(
    ("setting", "value"), [("KELAS_EVENT_LOOP", "trio"), ("KELAS_ICE_TRANSPORT_POLICY", "tcp")]
)
def test_a_setting_that_cannot_work_is_named_without_a_traceback(
    tmp_path: Path, setting: str, value: str
) -> None:
    refused = run(["serve"], {"KELAS_DATA_DIR": str(tmp_path), setting: value})
    assert refused.returncode == 2
    assert setting in refused.stderr and "Traceback" not in refused.stderr
