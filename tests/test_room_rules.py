"""The room's rules and what each transition says changed: pure logic, no IO."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import UTC, datetime

import pytest

from classroom.errors import Conflict, KelasError, NotFound, PermissionDenied, TooLate
from classroom.live import Admission, LiveRole
from classroom.room_state import Blocks, KeptRoom
from signaling.room import LARGE, SMALL, Change, Room

TUTOR, ANA, BUDI, COORD = 1, 2, 3, 9
AT = datetime(2026, 11, 30, 12, tzinfo=UTC)


def admission(user_id: int, role: LiveRole) -> Admission:
    return Admission(1, user_id, f"user {user_id}", role, "Topic", AT, AT, 4)


def room() -> Room:
    """A class with a tutor, two students (Ana with mic and camera on) and an observer."""
    r = Room(1, "Topic", 4)
    for user_id, role in (
        (TUTOR, LiveRole.TUTOR),
        (ANA, LiveRole.STUDENT),
        (BUDI, LiveRole.STUDENT),
        (COORD, LiveRole.OBSERVER),
    ):
        r.join(admission(user_id, role), f"sid{user_id}")
    r.set_media(ANA, mic=True, cam=True, screen=False)
    return r


def summary(change: Change) -> dict[str, object]:
    """The parts of a Change a reader checks, with people as user ids."""
    return {
        "joined": change.joined.user_id if change.joined else None,
        "updated": sorted(p.user_id for p in change.updated),
        "told": sorted((p.user_id, n) for p, n in change.told),
        "left": sorted((d.person.user_id, d.reason) for d in change.departures),
        "media": change.media,
        "plans": sorted(p.user_id for p in change.plans),
        "room": change.room,
        "hands": change.hands,
        "ended": change.ended,
    }


NONE = summary(Change())


def expect(**parts: object) -> dict[str, object]:
    return {**NONE, **parts}


CASES: list[tuple[str, Callable[[Room], Change], dict[str, object]]] = [
    ("mute", lambda r: r.mute(TUTOR, ANA), expect(updated=[ANA], told=[(ANA, "you:muted")], media=True)),
    ("mute all", lambda r: r.mute_all(TUTOR), expect(updated=[ANA, BUDI], told=[(ANA, "you:muted"), (BUDI, "you:muted")], media=True)),
    ("allow unmute: nothing forwarded yet", lambda r: r.allow_unmute(TUTOR, ANA), expect(updated=[ANA], told=[(ANA, "you:may_unmute")])),
    ("request unmute: only Ana is asked", lambda r: r.request_unmute(TUTOR, BUDI), expect(told=[(BUDI, "you:unmute_requested")])),
    ("camera off", lambda r: r.camera_off(TUTOR, ANA), expect(updated=[ANA], told=[(ANA, "you:camera_off")], media=True)),
    ("allow camera", lambda r: r.allow_camera(TUTOR, ANA), expect(updated=[ANA], told=[(ANA, "you:may_use_camera")])),
    ("spotlight", lambda r: r.set_spotlight(TUTOR, ANA), expect(plans=[ANA], room=True)),
    ("spotlight moves", lambda r: r.set_spotlight(TUTOR, ANA) + r.set_spotlight(TUTOR, BUDI), expect(plans=[ANA, BUDI], room=True)),
    ("spotlight unchanged", lambda r: r.set_spotlight(TUTOR, None), NONE),
    ("lock", lambda r: r.lock(TUTOR, True), expect(room=True)),
    ("lock twice", lambda r: r.lock(TUTOR, True) and r.lock(TUTOR, True), NONE),
    ("raise hand", lambda r: r.raise_hand(BUDI), expect(hands=True)),
    ("raise a raised hand", lambda r: r.raise_hand(BUDI) and r.raise_hand(BUDI), NONE),
    ("lower a hand not raised", lambda r: r.lower_hand(BUDI, BUDI), NONE),
    ("lower all hands", lambda r: r.raise_hand(BUDI) and r.lower_all_hands(TUTOR), expect(hands=True)),
    ("media unchanged", lambda r: r.set_media(ANA, mic=True, cam=True, screen=False), NONE),
    ("camera on", lambda r: r.set_media(BUDI, mic=False, cam=True, screen=False), expect(updated=[BUDI], media=True)),
    ("leave", lambda r: r.leave(ANA, "sid2"), expect(left=[(ANA, "left")], media=True)),
    ("leave of a replaced connection", lambda r: r.leave(ANA, "old sid"), NONE),
    ("leave with a raised hand", lambda r: r.raise_hand(BUDI) and r.leave(BUDI, "sid3"), expect(left=[(BUDI, "left")], media=True, hands=True)),
    ("the spotlit student leaves", lambda r: r.set_spotlight(TUTOR, ANA) and r.leave(ANA, "sid2"), expect(left=[(ANA, "left")], media=True, room=True)),
    ("remove", lambda r: r.remove(TUTOR, BUDI), expect(left=[(BUDI, "removed")], media=True)),
    ("end", lambda r: r.end(TUTOR), expect(left=[(TUTOR, "ended"), (ANA, "ended"), (BUDI, "ended"), (COORD, "ended")], media=True, ended=True)),
    ("a new student", lambda r: r.join(admission(5, LiveRole.STUDENT), "sid5")[1], expect(joined=5, media=True)),
    ("the same student again", lambda r: r.join(admission(ANA, LiveRole.STUDENT), "new")[1], expect(left=[(ANA, "replaced")])),
    ("audio only", lambda r: r.set_receive(BUDI, False), expect(media=True)),
    ("audio only, as already", lambda r: r.set_receive(BUDI, False) and r.set_receive(BUDI, False), NONE),
    ("an observer too", lambda r: r.set_receive(COORD, False), expect(media=True)),
    ("a student whose hand was kept returns", lambda r: moved(r.raise_hand(BUDI) and r).join(admission(BUDI, LiveRole.STUDENT), "s")[1], expect(joined=BUDI, media=True, hands=True)),
]  # fmt: skip


@pytest.mark.parametrize(("name", "transition", "expected"), CASES, ids=[c[0] for c in CASES])
def test_each_transition_says_what_changed(
    name: str, transition: Callable[[Room], Change], expected: dict[str, object]
) -> None:
    assert summary(transition(room())) == expected


REFUSALS: list[tuple[str, Callable[[Room], object], type[KelasError]]] = [
    ("a student mutes", lambda r: r.mute(ANA, BUDI), PermissionDenied),
    ("the tutor mutes an observer", lambda r: r.mute(TUTOR, COORD), NotFound),
    ("the tutor mutes a stranger", lambda r: r.mute(TUTOR, 77), NotFound),
    ("an observer turns the mic on", lambda r: r.set_media(COORD, mic=True, cam=False, screen=False), PermissionDenied),
    ("an observer chats", lambda r: r.may_chat(COORD), PermissionDenied),
    ("a student shares a screen", lambda r: r.set_media(ANA, mic=True, cam=True, screen=True), PermissionDenied),
    ("a muted student unmutes", lambda r: r.mute(TUTOR, ANA) and r.set_media(ANA, mic=True, cam=True, screen=False), PermissionDenied),
    ("a blocked camera comes back", lambda r: r.camera_off(TUTOR, ANA) and r.set_media(ANA, mic=True, cam=True, screen=False), PermissionDenied),
    ("accepting an unrequested unmute", lambda r: r.accept_unmute(ANA), Conflict),
    ("the tutor raises a hand", lambda r: r.raise_hand(TUTOR), PermissionDenied),
    ("a student lowers another's hand", lambda r: r.lower_hand(ANA, BUDI), PermissionDenied),
    ("a stranger acts", lambda r: r.raise_hand(77), PermissionDenied),
    ("a student ends the class", lambda r: r.end(ANA), PermissionDenied),
    ("a student locks", lambda r: r.lock(ANA, True), PermissionDenied),
    ("a new student in a locked room", lambda r: r.lock(TUTOR, True) and r.join(admission(5, LiveRole.STUDENT), "s"), PermissionDenied),
    ("a removed student rejoins", lambda r: r.remove(TUTOR, ANA) and r.join(admission(ANA, LiveRole.STUDENT), "s"), PermissionDenied),
    ("anyone joins an ended class", lambda r: r.end(TUTOR) and r.join(admission(TUTOR, LiveRole.TUTOR), "s"), TooLate),
]  # fmt: skip


@pytest.mark.parametrize(("name", "transition", "error"), REFUSALS, ids=[c[0] for c in REFUSALS])
def test_rules_refuse(name: str, transition: Callable[[Room], object], error: type) -> None:
    with pytest.raises(error):
        transition(room())


def test_a_tutors_restrictions_survive_a_reconnect_and_plans_follow_the_spotlight() -> None:
    r = room()
    r.mute(TUTOR, ANA)
    r.camera_off(TUTOR, ANA)
    r.leave(ANA, "sid2")
    ana, _ = r.join(admission(ANA, LiveRole.STUDENT), "sid2b")
    assert (ana.mic_blocked, ana.cam_blocked) == (True, True)
    assert not r.forwards(ANA, "audio") and not r.forwards(ANA, "video")
    assert r.send_plan(TUTOR).camera == LARGE and r.send_plan(ANA).camera == SMALL
    r.set_spotlight(TUTOR, ANA)
    assert r.send_plan(ANA).camera == LARGE
    assert [p.user_id for p in r.publishers()] == [TUTOR, ANA, BUDI]


CARL = 4


def moved(r: Room) -> Room:
    """The room as the next process restores it, once its home died: nobody in it yet."""
    return Room.restored(admission(TUTOR, LiveRole.TUTOR), r.kept())


def test_the_last_speakers_come_first_and_only_while_here() -> None:
    r = room()
    r.set_media(BUDI, mic=True, cam=True, screen=False)
    r.set_media(TUTOR, mic=True, cam=True, screen=False)
    for user_id in (ANA, BUDI, TUTOR):
        assert r.set_speaking(user_id, True)
        r.set_speaking(user_id, False)
    assert r.set_speaking(ANA, True)
    assert r.speakers == [ANA, TUTOR, BUDI]
    assert not r.set_speaking(COORD, True)  # an observer's audio is never forwarded
    r.leave(BUDI, "sid3")
    assert r.speakers == [ANA, TUTOR]


def test_what_a_room_keeps_comes_back_in_the_next_process() -> None:
    r = room()
    r.join(admission(CARL, LiveRole.STUDENT), "sid4")
    r.raise_hand(CARL)
    r.raise_hand(ANA)
    r.mute(TUTOR, ANA)
    r.camera_off(TUTOR, BUDI)
    r.allow_unmute(TUTOR, ANA)  # Ana may unmute again: only Budi's camera stays blocked
    r.set_spotlight(TUTOR, BUDI)
    r.lock(TUTOR, True)
    kept = r.kept()
    assert kept == KeptRoom(
        hands=(CARL, ANA),
        restrictions={BUDI: Blocks(cam=True)},
        spotlight=BUDI,
        locked=True,
        present=(TUTOR, ANA, BUDI, CARL, COORD),
    )
    assert KeptRoom.model_validate(kept.model_dump(mode="json")) == kept  # the stored JSON
    again = moved(r)
    assert again.kept() == kept and again.unkept() is None  # restoring is not a change
    assert (again.spotlight, again.locked, again.hands) == (BUDI, True, [])
    # Those who were in the room come back through the lock, with their blocks.
    again.join(admission(TUTOR, LiveRole.TUTOR), "t")
    budi, _ = again.join(admission(BUDI, LiveRole.STUDENT), "b")
    assert (budi.mic_blocked, budi.cam_blocked) == (False, True)
    assert again.send_plan(BUDI).camera == LARGE
    with pytest.raises(PermissionDenied):
        again.join(admission(5, LiveRole.STUDENT), "new")
    assert again.unkept() is None  # the same state, now with people in it


def test_kept_hands_keep_their_place_as_people_come_back() -> None:
    r = room()
    r.join(admission(CARL, LiveRole.STUDENT), "sid4")
    for student in (CARL, ANA, BUDI):
        r.raise_hand(student)
    again = moved(r)
    again.join(admission(TUTOR, LiveRole.TUTOR), "t")
    again.join(admission(BUDI, LiveRole.STUDENT), "b")
    assert again.hands == [BUDI]
    again.join(admission(6, LiveRole.STUDENT), "new")
    again.raise_hand(6)  # raised after the move: behind everyone kept, back or not
    assert again.hands == [BUDI, 6]
    assert again.kept().hands == (CARL, ANA, BUDI, 6)
    _, change = again.join(admission(CARL, LiveRole.STUDENT), "c")
    assert change.hands and again.hands == [CARL, BUDI, 6]
    again.lower_hand(TUTOR, ANA)  # lowered while away: she comes back with her hand down
    again.join(admission(ANA, LiveRole.STUDENT), "a")
    assert again.hands == [CARL, BUDI, 6]
    again.leave(CARL, "c")  # leaving lowers a kept hand too
    assert again.kept().hands == (BUDI, 6)


def test_an_ended_class_stays_ended_and_unchanged_state_is_not_kept_again() -> None:
    r = room()
    assert r.unkept() is not None and r.unkept() is None
    r.set_media(BUDI, mic=True, cam=False, screen=False)
    assert r.unkept() is None  # media is not kept: it comes back with the people
    r.end(TUTOR)
    assert r.unkept() == KeptRoom(ended=True)
    with pytest.raises(TooLate):
        moved(r).join(admission(TUTOR, LiveRole.TUTOR), "t")


def test_the_tutor_is_reconnecting_after_a_move_if_they_were_in_the_room() -> None:
    """Students who come back to a class's next process read "Your tutor is reconnecting"
    for a tutor who was there, "on the way" for one who was not."""
    tutor = dataclasses.replace(admission(ANA, LiveRole.STUDENT), tutor_id=TUTOR, tutor_name="T")
    again = Room.restored(tutor, room().kept())
    again.join(tutor, "a")
    assert again.tutor().state == "reconnecting"
    _, change = again.join(dataclasses.replace(tutor, user_id=TUTOR, role=LiveRole.TUTOR), "t")
    assert change.room and again.tutor().state == "present"
    fresh = Room.restored(tutor, room().kept().model_copy(update={"present": (ANA,)}))
    assert fresh.tutor().state == "awaited"
