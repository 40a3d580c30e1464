"""Forgotten passwords: a link sent by e-mail that sets a new password, once, for a while.

The link carries ``<user id>.<expiry>.<signature>``, the signature an HMAC (keyed by the
server's secret) of the user, the expiry and the user's current password hash. Nothing
secret is stored: the outbox holds only the expiry, and the worker signs the link when it
writes the e-mail. Setting a password changes the hash (Argon2 salts every hash), so a link
works once, and every link sent before any password change stops working with it.

Asking is answered the same way whether or not an account has that address; an account gets
at most ``per_account`` links in ``window`` (further requests are quietly dropped, so that the
answer still tells nothing), and the web layer limits requests per client address.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from classroom import outbox, schemas
from classroom.accounts import Passwords
from classroom.errors import TooLate
from classroom.models import AuthSession, LoginFailure, User

KIND = "password_reset"
EXPIRED = "This link has expired or has already been used. Please ask for a new one."


@dataclass(frozen=True)
class ResetPolicy:
    lifetime: timedelta = timedelta(hours=1)
    per_account: int = 3
    window: timedelta = timedelta(hours=1)


async def request_reset(db: AsyncSession, email: str, now: datetime, policy: ResetPolicy) -> None:
    """Queue a reset link for the account with this address, if there is one and it has not
    had ``per_account`` links lately. Says nothing either way."""
    user = await db.scalar(select(User).where(User.email == email.strip().lower()))
    if user is None:
        return
    if await outbox.recent(db, user, KIND, now - policy.window) >= policy.per_account:
        return
    expires = now + policy.lifetime
    params = {"expires": int(expires.timestamp())}
    await outbox.enqueue(db, user, KIND, params, now, stale_at=expires)


def _key(secret: str) -> bytes:
    """A key of its own, so a reset signature can never pass for another of the secret's
    uses (the visitors' CSRF tokens)."""
    return hmac.new(secret.encode(), b"kelas password reset", hashlib.sha256).digest()


def _signature(secret: str, user: User, expires: int) -> str:
    message = f"{user.id}.{expires}.{user.password_hash}".encode()
    digest = hmac.new(_key(secret), message, hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def link_token(secret: str, user: User, expires: int) -> str:
    """The token for the link in the e-mail (signed when the e-mail is written)."""
    return f"{user.id}.{expires}.{_signature(secret, user, expires)}"


def expiry(token: str) -> datetime | None:
    parts = token.split(".")
    if len(parts) != 3 or not parts[1].isdigit() or len(parts[1]) > 12:
        return None
    return datetime.fromtimestamp(int(parts[1]), UTC)


async def check(
    db: AsyncSession, secret: str, token: str, now: datetime, *, lock: bool = False
) -> User:
    """The user a link is for, while it is valid; TooLate otherwise (expired, used, or
    never ours: a page needs to tell none of these apart)."""
    parts = token.split(".")
    until = expiry(token)
    if until is None or until <= now or not parts[0].isdigit() or len(parts[0]) > 10:
        raise TooLate(EXPIRED)
    user = await db.get(User, int(parts[0]), with_for_update=lock, populate_existing=lock)
    if user is None:
        raise TooLate(EXPIRED)
    expected = _signature(secret, user, int(parts[1]))
    if not hmac.compare_digest(expected.encode(), parts[2].encode("utf-8", "replace")):
        raise TooLate(EXPIRED)
    return user


async def reset(
    db: AsyncSession,
    passwords: Passwords,
    secret: str,
    token: str,
    data: schemas.PasswordReset,
    now: datetime,
) -> User:
    """Set the new password and end every login of the account. The user's row stays locked
    until the commit, so a link sent twice at once sets one password and refuses the other."""
    user = await check(db, secret, token, now, lock=True)
    user.password_hash = await passwords.hash(data.new_password)
    user.must_change_password = False
    await db.execute(delete(AuthSession).where(AuthSession.user_id == user.id))
    await db.execute(delete(LoginFailure).where(LoginFailure.email == user.email))
    await db.flush()
    return user
