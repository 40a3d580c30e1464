"""TURN credentials minted per join (signaling/ice.py) and the settings they come from.
tests/test_turn.py shows a real coturn accepting them."""

from __future__ import annotations

import time

import pytest

from signaling import protocol
from signaling.ice import IceServers, turn_credential
from tests.conftest import SchoolFactory
from tests.live import join, live_class
from web.settings import Settings

SECRET = "correct-horse-battery-staple"
PLACEHOLDER = "CHANGE-ME-to-the-value-of-KELAS_TURN_SECRET"  # deploy/turnserver.conf's
TURN = ("turn:turn.example.org:3478?transport=udp", "turn:turn.example.org:3478?transport=tcp",
        "turns:turn.example.org:443?transport=tcp")  # fmt: skip


def test_the_credential_is_the_base64_hmac_sha1_of_the_username() -> None:
    # printf '%s' 1700000600:42 | openssl dgst -sha1 -hmac "$SECRET" -binary | base64
    assert turn_credential(SECRET, "1700000600:42") == "qQ+dGDs6HN0b3bzUVWHEK0Upnpc="


def test_each_join_gets_stun_and_turn_valid_for_ten_minutes() -> None:
    ice = IceServers(stun_urls=("stun:turn.example.org:3478",), turn_urls=TURN, turn_secret=SECRET)
    stun, turn = ice.for_user(42, now=1_700_000_000.7)
    assert stun.wire() == {"urls": ["stun:turn.example.org:3478"]}  # no username: null
    assert isinstance(turn, protocol.TurnServer)
    assert turn.urls == list(TURN)
    assert turn.username == "1700000600:42"
    assert turn.credential == "qQ+dGDs6HN0b3bzUVWHEK0Upnpc="
    # Another person, or the same one later, gets another credential.
    assert ice.for_user(43, now=1_700_000_000)[1] != turn
    later = ice.for_user(42, now=1_700_000_100)[1]
    assert isinstance(later, protocol.TurnServer) and later.username == "1700000700:42"


def test_without_servers_the_browser_gets_none_and_with_stun_only_no_credential() -> None:
    assert IceServers().for_user(1, now=0) == []
    assert not IceServers().has_turn
    only = IceServers(stun_urls=("stun:a.example:3478",)).for_user(1, now=0)
    assert [type(s) for s in only] == [protocol.StunServer]


@pytest.mark.parametrize(
    ("changes", "error"),
    [
        ({"turn_urls": TURN}, "KELAS_TURN_SECRET"),
        ({"turn_urls": TURN, "turn_secret": "short"}, "KELAS_TURN_SECRET"),
        ({"turn_urls": ("http://turn.example.org",), "turn_secret": SECRET}, "not a STUN or TURN"),
        ({"turn_urls": ("turn:t.example?transport=sctp",), "turn_secret": SECRET}, "not a STUN"),
        ({"stun_urls": ("turn:t.example:3478",)}, "not a STUN or TURN"),
        ({"turn_urls": TURN, "turn_secret": SECRET, "lifetime_s": 0}, "lifetime"),
        ({"turn_urls": TURN, "turn_secret": PLACEHOLDER}, "placeholder"),
        ({"transport_policy": "relay"}, "needs TURN servers"),
        ({"turn_urls": TURN, "turn_secret": SECRET, "transport_policy": "none"}, "all or relay"),
    ],
)
def test_a_server_that_cannot_work_is_refused_at_start_up(
    changes: dict[str, object], error: str
) -> None:
    with pytest.raises(ValueError, match=error):
        IceServers(**changes)  # type: ignore[arg-type]


def test_settings_read_the_servers_and_the_secret_from_the_environment() -> None:
    env = {
        "SECRET_KEY": "s",
        "KELAS_STUN_URLS": "stun:turn.example.org:3478",
        "KELAS_TURN_URLS": ",".join(TURN),
        "KELAS_TURN_SECRET": SECRET,
        "KELAS_TURN_CREDENTIAL_MINUTES": "5",
    }
    ice = Settings.from_env(env).ice
    assert ice.turn_urls == TURN and ice.turn_secret == SECRET and ice.lifetime_s == 300
    assert ice.transport_policy == "all"
    relay = Settings.from_env({**env, "KELAS_ICE_TRANSPORT_POLICY": "relay"}).ice
    assert relay.transport_policy == "relay"
    with pytest.raises(ValueError, match="all or relay"):
        Settings.from_env({**env, "KELAS_ICE_TRANSPORT_POLICY": "tcp"})
    with pytest.raises(ValueError, match="KELAS_TURN_SECRET"):
        Settings.from_env({**env, "KELAS_TURN_SECRET": ""})


@pytest.mark.parametrize("gone", ["KELAS_TURN_USERNAME", "KELAS_TURN_CREDENTIAL"])
def test_a_static_turn_password_is_refused_with_a_pointer_to_the_secret(gone: str) -> None:
    with pytest.raises(ValueError, match="KELAS_TURN_SECRET"):
        Settings.from_env({"SECRET_KEY": "s", gone: "hunter2"})


async def test_hello_gives_each_person_their_own_fresh_turn_credential(
    school_with: SchoolFactory,
) -> None:
    school = await school_with(
        stun_urls=("stun:turn.example.org:3478",), turn_urls=TURN, turn_secret=SECRET,
        ice_transport_policy="relay",
    )  # fmt: skip
    setup = await live_class(school, students=1)
    tutor = await join(school, *setup.tutor, setup.lesson["id"])
    student = await join(school, *setup.students[0], setup.lesson["id"])
    for member in (tutor, student):
        hello = await member.call("hello", {"after": 0})
        stun, turn = hello["media"]["ice_servers"]
        assert stun == {"urls": ["stun:turn.example.org:3478"]}
        assert set(turn) == {"urls", "username", "credential"} and turn["urls"] == list(TURN)
        expires, user_id = turn["username"].split(":")
        assert user_id == str(member.user.id)
        assert 540 <= int(expires) - time.time() <= 660  # about ten minutes from now
        assert turn["credential"] == turn_credential(SECRET, turn["username"])
        assert hello["media"]["ice_transport_policy"] == "relay"
        await member.close()
