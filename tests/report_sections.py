"""What the seeded school of tests/report_school.py said, rated and noted, made through the
domain functions at the moments it happened: the speaking each class kept, the tutors'
notes during class, their filed class reports with a CEFR level per student, and the
students' ratings, with the figures worked out by hand (``SPOKEN`` and the answers below)."""

from __future__ import annotations

from datetime import timedelta

from classroom import class_reports, live, notes, ratings, speaking
from classroom.models import NoteKind, User
from classroom.schemas import ReportIn, ReportStudentIn
from classroom.speaking import Spoken
from tests.report_school import Arranger, Seeded, at

WINDOW = live.JoinWindow()
DAYS = {"L1": 0, "L3": 1, "L2": 3, "L6": 4, "L5": 8}

# class: tutor's seconds, then (student, seconds, turns); L6 and L5 kept nothing.
SPOKEN = {
    "L1": (600.0, [(0, 300.0, 10), (1, 100.0, 4)]),  # Ayu: 60 %
    "L3": (1200.0, [(0, 100.0, 3), (1, 200.0, 5), (2, 300.0, 6)]),  # Budi: 66.7 %
    "L2": (400.0, [(0, 400.0, 8), (1, 200.0, 2)]),  # Ayu: 40 %
}
TUTOR_SHARES = {"Ayu": 0.5, "Budi": 2 / 3}  # the mean of their classes' shares
B1_SHARE = (0.6 + 2 / 3 + 0.4) / 3  # every seeded class is B1
# S1's levels in time order (L1, L3, L2); L5 is Citra's and she files none.
S1_LEVELS = ["A2", "B1", "B1"]


async def add_sections(school: Arranger, seeded: Seeded) -> None:
    """Speaking, notes, filed reports and ratings for the seeded classes."""
    tutors = {"L1": seeded.ayu, "L3": seeded.budi, "L2": seeded.ayu}
    s1, s2, s3, _ = seeded.students
    for name, (tutor_seconds, students) in SPOKEN.items():
        during = at(seeded.monday + timedelta(days=DAYS[name]), 10, 30)
        spoken = [Spoken(tutors[name].id, True, tutor_seconds, 12)]
        spoken += [Spoken(seeded.students[i].id, False, s, t) for i, s, t in students]
        async with school.maker.begin() as db:
            await speaking.save(db, seeded.lessons[name], spoken, during)
    await _note(
        school, seeded, "L1", seeded.ayu, s1, NoteKind.CORRECTION, "I go to home", "I go home"
    )
    await _note(school, seeded, "L1", seeded.ayu, s2, NoteKind.WORD, "a secret for S2", None)
    await _note(school, seeded, "L1", seeded.ayu, None, NoteKind.WORD, "to look forward to", None)
    await _note(
        school, seeded, "L3", seeded.budi, s1, NoteKind.PRONUNCIATION, "thirty, not tirty", None
    )
    await _file(school, seeded, "L1", seeded.ayu, {s1: "A2", s2: "B1"})
    await _file(school, seeded, "L3", seeded.budi, {s1: "B1", s2: "B1", s3: "A2"})
    await _file(school, seeded, "L2", seeded.ayu, {s1: "B1", s2: None})
    await _rate(school, seeded, "L1", s1, 5, "Great class, I spoke a lot")
    await _rate(school, seeded, "L1", s2, 4, "")
    await _rate(school, seeded, "L3", s1, 2, "The tutor talked most of the time")
    await _rate(school, seeded, "L2", s2, 5, "Useful corrections")


async def _note(
    school: Arranger, seeded: Seeded, name: str, tutor: User, student: User | None,
    kind: NoteKind, text: str, better: str | None,
) -> None:  # fmt: skip
    during = at(seeded.monday + timedelta(days=DAYS[name]), 10, 20)
    async with school.maker.begin() as db:
        await notes.add(db, seeded.lessons[name], tutor.id, kind=kind,
                        student_id=student.id if student else None, text=text, better=better,
                        now=during, window=WINDOW)  # fmt: skip


async def _file(
    school: Arranger, seeded: Seeded, name: str, tutor: User, levels: dict[User, str | None]
) -> None:
    data = ReportIn(
        summary=f"We talked about {name}.",
        students=[ReportStudentIn(student_id=s.id, level=lvl, comment="Good work")  # type: ignore[arg-type]
                  for s, lvl in levels.items()],
    )  # fmt: skip
    after = at(seeded.monday + timedelta(days=DAYS[name]), 13)
    async with school.maker.begin() as db:
        await class_reports.file(db, tutor, seeded.lessons[name], data, after)


async def _rate(
    school: Arranger, seeded: Seeded, name: str, student: User, stars: int, comment: str
) -> None:
    after = at(seeded.monday + timedelta(days=DAYS[name]), 14)
    async with school.maker.begin() as db:
        await ratings.rate(db, student, seeded.lessons[name], stars, comment, after)
