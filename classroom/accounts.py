"""Accounts, roles, passwords, login sessions and login throttling."""

from __future__ import annotations

import asyncio
import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

import argon2
from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from classroom import schemas
from classroom.errors import (
    N_,
    InvalidInput,
    LoginThrottled,
    NotFound,
    PermissionDenied,
)
from classroom.models import AuthSession, LoginFailure, Role, User


@dataclass(frozen=True)
class LoginPolicy:
    """How long a login lasts and how failed logins are throttled."""

    session_lifetime: timedelta = timedelta(days=14)
    max_failures: int = 5
    failure_window: timedelta = timedelta(minutes=15)
    lockout: timedelta = timedelta(minutes=15)


class Passwords:
    """Argon2id hashing, run in a worker thread so the event loop keeps serving."""

    def __init__(self, profile: str = "RFC_9106_LOW_MEMORY") -> None:
        self._hasher = argon2.PasswordHasher.from_parameters(getattr(argon2.profiles, profile))
        self.decoy = self._hasher.hash(secrets.token_urlsafe(16))

    async def hash(self, password: str) -> str:
        return await asyncio.to_thread(self._hasher.hash, password)

    async def verify(self, password_hash: str, password: str) -> bool:
        try:
            return await asyncio.to_thread(self._hasher.verify, password_hash, password)
        except (argon2.exceptions.VerificationError, argon2.exceptions.InvalidHashError):
            return False


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def _email_taken(db: AsyncSession, email: str) -> bool:
    found = await db.scalar(select(func.count()).select_from(User).where(User.email == email))
    return bool(found)


async def create_user(
    db: AsyncSession,
    *,
    email: str,
    name: str,
    role: Role,
    password_hash: str,
    timezone: str,
    language: str,
    now: datetime,
    must_change_password: bool = False,
) -> User:
    email = email.strip().lower()
    if await _email_taken(db, email):
        raise InvalidInput(
            "Please correct the marked fields.",
            {"email": N_("An account with this e-mail address already exists")},
        )
    user = User(
        email=email,
        name=name,
        role=role,
        password_hash=password_hash,
        must_change_password=must_change_password,
        timezone=timezone,
        language=language,
        calendar_token=secrets.token_urlsafe(24),
        created_at=now,
    )
    db.add(user)
    await db.flush()
    return user


async def register(
    db: AsyncSession,
    passwords: Passwords,
    data: schemas.Signup | schemas.NewCoordinator,
    role: Role,
    now: datetime,
) -> User:
    """A person who chose their own password: a student signing up, or the first
    coordinator created from the command line."""
    return await create_user(
        db,
        email=data.email,
        name=data.name,
        role=role,
        password_hash=await passwords.hash(data.password),
        timezone=data.timezone,
        language=data.language,
        now=now,
    )


async def create_tutor(
    db: AsyncSession, passwords: Passwords, actor: User, data: schemas.NewTutor, now: datetime
) -> tuple[User, str]:
    """Create a tutor with a temporary password, to be changed at first login."""
    require_role(actor, Role.COORDINATOR)
    temporary = secrets.token_urlsafe(9)
    tutor = await create_user(
        db,
        email=data.email,
        name=data.name,
        role=Role.TUTOR,
        password_hash=await passwords.hash(temporary),
        timezone=data.timezone,
        language=data.language,
        now=now,
        must_change_password=True,
    )
    return tutor, temporary


def require_role(user: User, *roles: Role) -> None:
    if user.role not in roles:
        raise PermissionDenied("You are not allowed to do this.")


async def authenticate(
    db: AsyncSession,
    passwords: Passwords,
    data: schemas.Login,
    now: datetime,
    policy: LoginPolicy,
) -> User | None:
    """Check e-mail and password; refuse for a while after repeated failures.

    A wrong password returns None rather than raising, so that the caller commits the
    recorded failure before it answers.
    """
    email = data.email.strip().lower()
    failure = await db.get(LoginFailure, email, with_for_update=True)
    if failure and failure.locked_until and failure.locked_until > now:
        raise LoginThrottled("Too many failed logins. Please wait a few minutes and try again.")
    user = await db.scalar(select(User).where(User.email == email))
    # Hash even for unknown addresses, so that timing does not tell which accounts exist.
    stored = user.password_hash if user is not None else passwords.decoy
    if await passwords.verify(stored, data.password) and user is not None:
        if failure is not None:
            await db.delete(failure)
        return user
    if failure is None:
        failure = await _new_failure(db, email, now)
    if now - failure.window_start > policy.failure_window:
        failure.failures, failure.window_start, failure.locked_until = 0, now, None
    failure.failures += 1
    if failure.failures >= policy.max_failures:
        failure.locked_until = now + policy.lockout
    await db.flush()
    return None


async def _new_failure(db: AsyncSession, email: str, now: datetime) -> LoginFailure:
    """The failure counter for ``email``, created if needed; a concurrent failed login may
    create it first, and then we count on that row."""
    try:
        async with db.begin_nested():
            failure = LoginFailure(email=email, failures=0, window_start=now)
            db.add(failure)
        return failure
    except IntegrityError:
        found = await db.get(LoginFailure, email, with_for_update=True, populate_existing=True)
        assert found is not None
        return found


async def start_session(
    db: AsyncSession, user: User, now: datetime, policy: LoginPolicy
) -> tuple[str, AuthSession]:
    """Start a fresh login session; the returned token goes into the cookie."""
    await db.execute(
        delete(AuthSession).where(AuthSession.user_id == user.id, AuthSession.expires_at <= now)
    )
    token = secrets.token_urlsafe(32)
    auth = AuthSession(
        token_hash=_digest(token),
        user_id=user.id,
        csrf_token=secrets.token_urlsafe(32),
        created_at=now,
        expires_at=now + policy.session_lifetime,
    )
    db.add(auth)
    await db.flush()
    return token, auth


async def load_session(db: AsyncSession, token: str, now: datetime) -> AuthSession | None:
    auth = await db.get(AuthSession, _digest(token))
    if auth is None or auth.expires_at <= now:
        return None
    return auth


async def end_session(db: AsyncSession, token: str) -> None:
    await db.execute(delete(AuthSession).where(AuthSession.token_hash == _digest(token)))


async def change_password(
    db: AsyncSession,
    passwords: Passwords,
    user: User,
    data: schemas.PasswordChange,
    keep_token: str,
) -> None:
    """Set a new password; every other login of this user ends."""
    if not await passwords.verify(user.password_hash, data.current_password):
        raise InvalidInput(
            "Please correct the marked fields.",
            {"current_password": N_("This is not your current password")},
        )
    if data.new_password == data.current_password:
        raise InvalidInput(
            "Please correct the marked fields.",
            {"new_password": N_("Choose a password different from the current one")},
        )
    user.password_hash = await passwords.hash(data.new_password)
    user.must_change_password = False
    await db.execute(
        delete(AuthSession).where(
            AuthSession.user_id == user.id, AuthSession.token_hash != _digest(keep_token)
        )
    )


async def update_profile(db: AsyncSession, user: User, data: schemas.Profile) -> None:
    user.name = data.name
    user.timezone = data.timezone
    user.language = data.language
    await db.flush()


async def rotate_calendar_token(db: AsyncSession, user: User) -> str:
    """Revoke the old calendar feed address and issue a new one."""
    user.calendar_token = secrets.token_urlsafe(24)
    await db.flush()
    return user.calendar_token


async def user_by_calendar_token(db: AsyncSession, token: str) -> User:
    user = await db.scalar(select(User).where(User.calendar_token == token))
    if user is None:
        raise NotFound("No such calendar.")
    return user


async def get_user(db: AsyncSession, user_id: int, role: Role | None = None) -> User:
    user = await db.get(User, user_id)
    if user is None or (role is not None and user.role != role):
        raise NotFound("No such person.")
    return user


async def list_users(db: AsyncSession, role: Role) -> list[User]:
    return list((await db.scalars(select(User).where(User.role == role).order_by(User.name))).all())
