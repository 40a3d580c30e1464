"""Settings: a frozen dataclass. Only the entry point reads the environment."""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from classroom import attendance, booking
from classroom.autopilot import Policy
from classroom.password_reset import ResetPolicy
from signaling.ice import IceServers, TransportPolicy
from signaling.speaking import Rules as SpeakingRules
from web.mail.smtp import DEFAULT_PORTS, SmtpSettings
from web.mail.worker import WorkerPolicy

EventLoop = Literal["uvloop", "asyncio"]


@dataclass(frozen=True)
class Settings:
    database_url: str
    secret_key: str
    base_url: str = "http://127.0.0.1:8080"
    host: str = "127.0.0.1"
    port: int = 8080
    cancellation_window: timedelta = timedelta(hours=12)
    strikes: booking.Strikes = field(default_factory=booking.Strikes)
    # Pay (classroom/pay.py): the currency new rates are set in (ISO 4217); a rate's date
    # and each class's date are read in default_timezone, the school's own.
    currency: str = "IDR"
    session_lifetime: timedelta = timedelta(days=14)
    login_max_failures: int = 5
    login_lockout: timedelta = timedelta(minutes=15)
    default_timezone: str = "Asia/Jakarta"
    password_profile: str = "RFC_9106_LOW_MEMORY"
    allowed_origins: tuple[str, ...] = field(default_factory=tuple)
    join_before: timedelta = timedelta(minutes=10)
    join_after_end: timedelta = timedelta(0)
    redis_url: str | None = None
    # ICE servers: STUN for browsers and the server, TURN for browsers with credentials
    # minted per join from a secret shared with coturn (signaling/ice.py).
    stun_urls: tuple[str, ...] = ()
    turn_urls: tuple[str, ...] = ()
    turn_secret: str = ""
    turn_credential_lifetime: timedelta = timedelta(minutes=10)
    ice_transport_policy: TransportPolicy = "all"  # "relay": browsers use TURN only
    process_name: str = "local"
    # The downlink budget: how many recent speakers' videos each person gets besides the
    # main one; a publisher is asked for a keyframe at most once per keyframe_seconds
    # (signaling/media/budget.py, repair.py).
    last_n: int = 4
    keyframe_seconds: float = 1.0
    freeze_heap: bool = False  # gc.freeze() after start-up; on for the real server
    # The server's event loop: uvloop (libuv) or the standard library's (KELAS_EVENT_LOOP).
    event_loop: EventLoop = "uvloop"
    # Per-connection event limits and the join rate per address on live sockets; off only in
    # tests and benchmarks that flood a room from one address on purpose.
    live_rate_limits: bool = True
    # Per client address (token buckets, web/ratelimit.py); a rate of 0 turns a limit off.
    login_per_minute: float = 10
    login_burst: int = 20
    signup_per_minute: float = 5
    signup_burst: int = 5
    # Reverse proxies (addresses or networks) whose X-Forwarded-For names the client;
    # without any, the socket's peer is the client.
    trusted_proxies: tuple[str, ...] = ()
    # The late-tutor autopilot: when to nudge a tutor who is not online, when to alert the
    # coordinators about a tutor missing from the room; how often each process looks.
    autopilot: Policy = field(default_factory=Policy)
    autopilot_interval: float = 5.0  # s between looks: its rules count minutes, a look costs ~13 ms
    attendance_policy: attendance.Policy = field(default_factory=attendance.Policy)
    # The setup check (/check): a person whose newest check is older than this shows as
    # "not checked lately" to the coordinators before their classes; the check's requests
    # (ICE servers, peer connections, results) per person: a burst, then this many a minute.
    check_max_age: timedelta = timedelta(days=30)
    check_per_minute: float = 10
    check_burst: int = 12
    # E-mail: the mail server (None: no e-mail, messages in the app only), the outbox
    # worker's pace and the reminder's lead time, forgotten-password links.
    smtp: SmtpSettings | None = None
    mail: WorkerPolicy = field(default_factory=WorkerPolicy)
    password_reset: ResetPolicy = field(default_factory=ResetPolicy)
    reset_per_minute: float = 5
    reset_burst: int = 5
    # The speaking meter's prompts to the tutor (a student silent this long, the tutor's
    # share of the last window), and whether students see their own share in class.
    speaking: SpeakingRules = field(default_factory=SpeakingRules)
    show_student_share: bool = False

    def __post_init__(self) -> None:
        self.ice  # noqa: B018 (a TURN URL without its secret fails at start-up, not at a join)

    @property
    def ice(self) -> IceServers:
        return IceServers(
            stun_urls=self.stun_urls,
            turn_urls=self.turn_urls,
            turn_secret=self.turn_secret,
            lifetime_s=int(self.turn_credential_lifetime.total_seconds()),
            transport_policy=self.ice_transport_policy,
        )

    @property
    def secure_cookies(self) -> bool:
        return self.base_url.startswith("https://")

    @property
    def origin(self) -> str:
        parts = urlsplit(self.base_url)
        return f"{parts.scheme}://{parts.netloc}"

    @property
    def domain(self) -> str:
        return urlsplit(self.base_url).hostname or "localhost"

    @property
    def origins(self) -> tuple[str, ...]:
        """Origins allowed to send state-changing requests (and, later, open sockets)."""
        return (self.origin, *self.allowed_origins)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        """Read KELAS_* and DATABASE_URL / SECRET_KEY / PORT from the environment."""
        env = os.environ if env is None else env
        for gone in ("KELAS_TURN_USERNAME", "KELAS_TURN_CREDENTIAL"):
            if env.get(gone):
                raise ValueError(
                    f"{gone} is no longer read: TURN credentials are minted per join from "
                    "KELAS_TURN_SECRET, shared with coturn (docs/deployment.md)"
                )
        data_dir = Path(env.get("KELAS_DATA_DIR", "data"))
        host = env.get("KELAS_HOST", "127.0.0.1")
        port = int(env.get("PORT", env.get("KELAS_PORT", "8080")))
        base_url = env.get("KELAS_BASE_URL", f"http://{host}:{port}").rstrip("/")
        return cls(
            database_url=env.get("DATABASE_URL", f"sqlite+aiosqlite:///{data_dir / 'kelas.db'}"),
            secret_key=env.get("SECRET_KEY") or _stored_secret(data_dir),
            base_url=base_url,
            host=host,
            port=port,
            cancellation_window=timedelta(
                hours=float(env.get("KELAS_CANCELLATION_WINDOW_HOURS", "12"))
            ),
            currency=_currency(env.get("KELAS_CURRENCY", "IDR")),
            strikes=booking.Strikes(
                limit=int(env.get("KELAS_STRIKE_LIMIT", "0")),
                within=timedelta(days=int(env.get("KELAS_STRIKE_DAYS", "30"))),
            ),
            session_lifetime=timedelta(days=float(env.get("KELAS_SESSION_DAYS", "14"))),
            login_max_failures=int(env.get("KELAS_LOGIN_MAX_FAILURES", "5")),
            login_lockout=timedelta(minutes=float(env.get("KELAS_LOGIN_LOCKOUT_MINUTES", "15"))),
            default_timezone=env.get("KELAS_DEFAULT_TIMEZONE", "Asia/Jakarta"),
            allowed_origins=tuple(
                o.strip().rstrip("/") for o in env.get("KELAS_ALLOWED_ORIGINS", "").split(",") if o
            ),
            join_before=timedelta(minutes=float(env.get("KELAS_JOIN_BEFORE_MINUTES", "10"))),
            join_after_end=timedelta(minutes=float(env.get("KELAS_JOIN_AFTER_END_MINUTES", "0"))),
            redis_url=env.get("REDIS_URL") or None,
            stun_urls=_split(env.get("KELAS_STUN_URLS", "")),
            turn_urls=_split(env.get("KELAS_TURN_URLS", "")),
            turn_secret=env.get("KELAS_TURN_SECRET", ""),
            turn_credential_lifetime=timedelta(
                minutes=float(env.get("KELAS_TURN_CREDENTIAL_MINUTES", "10"))
            ),
            ice_transport_policy=_policy(env.get("KELAS_ICE_TRANSPORT_POLICY", "all")),
            process_name=env.get("KELAS_PROCESS_NAME", base_url),
            last_n=int(env.get("KELAS_LAST_N", "4")),
            keyframe_seconds=float(env.get("KELAS_KEYFRAME_SECONDS", "1")),
            freeze_heap=True,
            event_loop=_event_loop(env.get("KELAS_EVENT_LOOP", "uvloop")),
            login_per_minute=float(env.get("KELAS_LOGIN_PER_MINUTE", "10")),
            login_burst=int(env.get("KELAS_LOGIN_BURST", "20")),
            signup_per_minute=float(env.get("KELAS_SIGNUP_PER_MINUTE", "5")),
            signup_burst=int(env.get("KELAS_SIGNUP_BURST", "5")),
            trusted_proxies=_split(env.get("KELAS_TRUSTED_PROXIES", "")),
            live_rate_limits=env.get("KELAS_LIVE_RATE_LIMITS", "1") != "0",
            check_max_age=timedelta(days=float(env.get("KELAS_CHECK_MAX_AGE_DAYS", "30"))),
            smtp=_smtp(env, base_url),
            mail=WorkerPolicy(
                remind_before=timedelta(minutes=float(env.get("KELAS_REMINDER_MINUTES", "60")))
            ),
            password_reset=ResetPolicy(
                lifetime=timedelta(minutes=float(env.get("KELAS_RESET_LINK_MINUTES", "60")))
            ),
            reset_per_minute=float(env.get("KELAS_RESET_PER_MINUTE", "5")),
            reset_burst=int(env.get("KELAS_RESET_BURST", "5")),
            autopilot=Policy(
                nudge_before=timedelta(minutes=float(env.get("KELAS_NUDGE_BEFORE_MINUTES", "10"))),
                late_after=timedelta(minutes=float(env.get("KELAS_LATE_AFTER_MINUTES", "2"))),
                dropped_after=timedelta(seconds=float(env.get("KELAS_TUTOR_DROP_SECONDS", "90"))),
            ),
            attendance_policy=attendance.Policy(
                late_after=timedelta(minutes=float(env.get("KELAS_LATE_JOIN_MINUTES", "5"))),
                early_before=timedelta(minutes=float(env.get("KELAS_LEFT_EARLY_MINUTES", "5"))),
            ),
            speaking=_speaking(env),
            show_student_share=env.get("KELAS_SHOW_STUDENT_SHARE", "0").strip() == "1",
        )


def _speaking(env: Mapping[str, str]) -> SpeakingRules:
    """The speaking prompts' thresholds from KELAS_SPEAKING_*."""
    silent = float(env.get("KELAS_SPEAKING_SILENT_MINUTES", "6"))
    share = float(env.get("KELAS_SPEAKING_TUTOR_SHARE", "70"))
    window = float(env.get("KELAS_SPEAKING_WINDOW_MINUTES", "10"))
    if silent <= 0 or window <= 0 or not 0 < share <= 100:
        raise ValueError(
            "KELAS_SPEAKING_SILENT_MINUTES and KELAS_SPEAKING_WINDOW_MINUTES must be above 0, "
            "KELAS_SPEAKING_TUTOR_SHARE a percentage above 0"
        )
    return SpeakingRules(silent_after_s=silent * 60, tutor_share=share / 100, window_s=window * 60)


def _smtp(env: Mapping[str, str], base_url: str) -> SmtpSettings | None:
    """The mail server from KELAS_SMTP_*; None (no e-mail) without KELAS_SMTP_HOST."""
    host = env.get("KELAS_SMTP_HOST", "").strip()
    if not host:
        return None
    security = env.get("KELAS_SMTP_TLS", "starttls").strip().lower()
    if security not in DEFAULT_PORTS:
        raise ValueError("KELAS_SMTP_TLS must be starttls, tls or off")
    domain = urlsplit(base_url).hostname or "localhost"
    return SmtpSettings(
        host=host,
        port=int(env.get("KELAS_SMTP_PORT") or DEFAULT_PORTS[security]),
        user=env.get("KELAS_SMTP_USER", ""),
        password=env.get("KELAS_SMTP_PASSWORD", ""),
        security=security,  # type: ignore[arg-type]  # checked above
        sender=env.get("KELAS_MAIL_FROM") or f"Kelas <kelas@{domain}>",
    )


def _currency(value: str) -> str:
    code = value.strip().upper()
    if not (len(code) == 3 and code.isascii() and code.isalpha()):
        raise ValueError(
            f"KELAS_CURRENCY is a three-letter ISO 4217 code (IDR, USD), not {value!r}"
        )
    return code


def _event_loop(value: str) -> EventLoop:
    if value not in ("uvloop", "asyncio"):
        raise ValueError(f"KELAS_EVENT_LOOP is uvloop or asyncio, not {value!r}")
    return "uvloop" if value == "uvloop" else "asyncio"


def _policy(value: str) -> TransportPolicy:
    if value not in ("all", "relay"):
        raise ValueError(f"KELAS_ICE_TRANSPORT_POLICY is all or relay, not {value!r}")
    return "relay" if value == "relay" else "all"


def _split(value: str) -> tuple[str, ...]:
    return tuple(item.strip() for item in value.split(",") if item.strip())


def _stored_secret(data_dir: Path) -> str:
    """Without SECRET_KEY, keep a random one in the data directory so that restarts of a
    single-machine install keep their logins."""
    path = data_dir / "secret_key"
    if path.exists():
        return path.read_text().strip()
    data_dir.mkdir(parents=True, exist_ok=True)
    secret = secrets.token_urlsafe(48)
    path.write_text(secret)
    path.chmod(0o600)
    return secret
