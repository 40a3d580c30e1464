"""The speaking meter's figures and prompts as the protocol sends them (signaling/protocol.py):
everyone's for the tutor and observers, a student's own only for that student."""

from __future__ import annotations

from classroom.live import LiveRole
from signaling import protocol
from signaling.room import Participant, Room
from signaling.speaking import Figure, Figures, Prompt, Silent


def view(room: Room, figures: Figures, viewer: Participant) -> protocol.SpeakingAck:
    """What ``viewer`` may see: a student only their own line, and no totals."""
    names = {p.user_id: p.name for p in room.participants.values()}
    students = figures.students
    named = ((f, names.get(f.user_id) or room.meter.name(f.user_id)) for f in figures.people)
    # Someone kept from a previous home of the class and not back since has no name here.
    people = [_person(f, name, figures, students) for f, name in named if name]
    people.sort(key=lambda p: (p.role != "tutor", p.name.casefold(), p.user_id))
    window = room.meter.rules.window_s
    if viewer.role == LiveRole.STUDENT:
        mine = [p for p in people if p.user_id == viewer.user_id]
        return protocol.SpeakingAck(
            tutor_seconds=None,
            student_seconds=None,
            tutor_window_share=None,
            window_seconds=window,
            people=mine,
        )
    return protocol.SpeakingAck(
        tutor_seconds=round(figures.tutor_seconds, 1),
        student_seconds=round(figures.student_seconds, 1),
        tutor_window_share=figures.tutor_window_share,
        window_seconds=window,
        people=people,
    )


def _person(figure: Figure, name: str, figures: Figures, students: int) -> protocol.SpeakingPerson:
    if figure.tutor:
        whole = figures.tutor_seconds + figures.student_seconds
    else:
        whole = figures.student_seconds
    return protocol.SpeakingPerson(
        user_id=figure.user_id,
        name=name,
        role="tutor" if figure.tutor else "student",
        here=figure.here,
        seconds=round(figure.seconds, 1),
        turns=figure.turns,
        share=figure.seconds / whole if whole > 0 else 0.0,
        fair_share=None if figure.tutor or not students else 1 / students,
        longest_silence=round(figure.longest_silence, 1),
        silence=round(figure.silence, 1),
    )


def prompt(room: Room, due: Prompt) -> protocol.SpeakingPrompt:
    if isinstance(due, Silent):
        person = room.participants.get(due.user_id)
        return protocol.SpeakingPrompt(
            kind="silent",
            user_id=due.user_id,
            name=person.name if person else room.meter.name(due.user_id),
            seconds=round(due.seconds, 1),
            share=None,
        )
    return protocol.SpeakingPrompt(
        kind="tutor_share", user_id=None, name=None, seconds=due.window_s, share=due.share
    )
