"""A large synthetic school for the benchmarks, bulk-loaded into PostgreSQL with COPY.

The rows keep every rule of ``classroom/models.py`` and of the app: capacities of 4 to 12,
classes that end after they start, no tutor teaching two classes at once, never more
confirmed seats than capacity, waitlists only on full classes, and no student holding two
confirmed seats at the same time. Lessons last 60 minutes and start on the hour in zones
with whole-hour offsets, so two lessons overlap exactly when they start at the same instant;
that keeps the overlap checks here to set lookups.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import asyncpg

from classroom.clock import to_local, to_utc, week_start
from classroom.models import BookingStatus, LessonStatus, Level, Role
from classroom.scheduling import occurrence_dates

WEEKS = 52
WEEKS_BEFORE_NOW = 4
LESSON = timedelta(minutes=60)
SCHOOL_ZONE = "Asia/Jakarta"
# Mostly Jakarta, a few other zones (two with DST), every one a whole number of hours from UTC.
TUTOR_ZONES = {
    "Asia/Jakarta": 80,
    "Asia/Makassar": 8,
    "Asia/Jayapura": 4,
    "Europe/London": 4,
    "Australia/Sydney": 4,
}
STUDENT_ZONES = {"Asia/Jakarta": 85, "Asia/Makassar": 10, "Asia/Jayapura": 5}
FIRST_NAMES = (
    "Ayu Budi Citra Dewi Eko Fajar Gita Hadi Indah Joko Kartika Lestari Made Nur Oka Putri "
    "Rizky Sari Teguh Utami Wayan Yuni Agus Bayu Dian Endah Farah Gilang Hana Irfan"
).split()
LAST_NAMES = (
    "Lestari Santoso Wijaya Pratama Saputra Hidayat Kusuma Nugroho Wibowo Siregar Nasution "
    "Halim Gunawan Setiawan Purnomo Susanto Rahman Putra Sihombing Tanjung"
).split()
TOPICS = (
    "Small talk at work",
    "Ordering food",
    "Job interviews",
    "Travel plans",
    "Talking about films",
    "Giving directions",
    "At the doctor's",
    "Describing people",
    "Making complaints",
    "Presentations",
    "News of the week",
    "Negotiating",
    "Hobbies",
    "Phone calls",
    "Shopping",
    "Debate club",
)

Record = tuple[Any, ...]


@dataclass(frozen=True)
class Size:
    tutors: int
    students: int
    lessons: int


@dataclass(frozen=True)
class Window:
    """A weekly availability window, whole hours in the tutor's zone."""

    weekday: int
    start: int
    end: int


@dataclass
class Tutor:
    id: int
    zone: str
    windows: list[Window]
    absence: tuple[datetime, datetime] | None = None


@dataclass(slots=True)
class PlannedLesson:
    starts_at: datetime
    capacity: int
    tutor_id: int | None
    created_at: datetime
    series_id: int | None = None
    status: LessonStatus = LessonStatus.SCHEDULED
    topic: str = ""
    level: Level = Level.B1
    id: int = 0


@dataclass
class School:
    """Every row to load, as COPY records, in foreign-key order."""

    tables: dict[str, tuple[list[str], list[Record]]] = field(default_factory=dict)
    first_monday: date = date.min

    def count(self, table: str) -> int:
        return len(self.tables[table][1])


def _naive(instant: datetime) -> datetime:
    """The timestamp columns hold naive UTC (see models.UTCDateTime)."""
    return instant.astimezone(UTC).replace(tzinfo=None)


class _Builder:
    def __init__(self, size: Size, now: datetime, password_hash: str, seed: int) -> None:
        self.size, self.now, self.password_hash = size, now, password_hash
        self.rng = random.Random(seed)
        self.first_monday = week_start(to_local(now, SCHOOL_ZONE).date()) - timedelta(
            weeks=WEEKS_BEFORE_NOW
        )
        self.tutor_busy: set[tuple[int, datetime]] = set()
        self.student_busy: set[tuple[int, datetime]] = set()

    def _pick(self, weights: dict[str, int]) -> str:
        return self.rng.choices(list(weights), weights=list(weights.values()))[0]

    def _name(self) -> str:
        return f"{self.rng.choice(FIRST_NAMES)} {self.rng.choice(LAST_NAMES)}"

    def _user(self, user_id: int, login: str, role: Role, zone: str) -> Record:
        created = self.now - timedelta(days=self.rng.uniform(30, 700))
        token = f"{user_id:x}-{self.rng.getrandbits(128):032x}"
        language = "id" if self.rng.random() < 0.6 else "en"
        return (
            user_id,
            f"{login}@bench.kelas",
            self._name(),
            role.value,
            self.password_hash,
            False,
            zone,
            language,
            token,
            _naive(created),
        )

    def users(self) -> tuple[list[Record], list[Tutor], list[int]]:
        records = [self._user(1, "coordinator", Role.COORDINATOR, SCHOOL_ZONE)]
        tutors: list[Tutor] = []
        for n in range(self.size.tutors):
            tutor = Tutor(2 + n, self._pick(TUTOR_ZONES), self._windows())
            tutors.append(tutor)
            records.append(self._user(tutor.id, f"tutor{n}", Role.TUTOR, tutor.zone))
        first_student = 2 + self.size.tutors
        students = list(range(first_student, first_student + self.size.students))
        for n, student_id in enumerate(students):
            zone = self._pick(STUDENT_ZONES)
            records.append(self._user(student_id, f"student{n}", Role.STUDENT, zone))
        return records, tutors, students

    def _windows(self) -> list[Window]:
        """About five weekly windows: mornings to evenings, never near midnight (no DST gap)."""
        days = sorted(self.rng.sample(range(7), self.rng.randint(4, 6)))
        windows = []
        for weekday in days:
            start = self.rng.randint(7, 14)
            windows.append(Window(weekday, start, start + self.rng.randint(4, 8)))
        return windows

    def availability(self, tutors: list[Tutor]) -> tuple[list[Record], list[Record]]:
        windows: list[Record] = []
        absences: list[Record] = []
        for tutor in tutors:
            for w in tutor.windows:
                windows.append((len(windows) + 1, tutor.id, w.weekday, time(w.start), time(w.end)))
            if self.rng.random() < 0.03:
                first = self.first_monday + timedelta(days=self.rng.randrange(WEEKS * 7))
                last = first + timedelta(days=self.rng.randint(0, 9))
                tutor.absence = (
                    to_utc(datetime.combine(first, time()), tutor.zone),
                    to_utc(datetime.combine(last + timedelta(days=1), time()), tutor.zone),
                )
                starts, ends = tutor.absence
                absences.append(
                    (len(absences) + 1, tutor.id, _naive(starts), _naive(ends), "leave")
                )
        return windows, absences

    def _take(self, tutor: Tutor, starts: datetime) -> bool:
        """Reserve the hour for the tutor unless it is taken or falls in an absence."""
        key = (tutor.id, starts)
        absent = tutor.absence and tutor.absence[0] < starts + LESSON and starts < tutor.absence[1]
        if absent or key in self.tutor_busy:
            return False
        self.tutor_busy.add(key)
        return True

    def _created(self, starts: datetime) -> datetime:
        """Created some weeks before it starts, and before now."""
        planned = starts - timedelta(days=self.rng.uniform(7, 42))
        return min(planned, self.now - timedelta(hours=self.rng.uniform(1, 24 * 30)))

    def _lesson(self, starts: datetime, tutor_id: int | None) -> PlannedLesson:
        return PlannedLesson(
            starts,
            self.rng.randint(4, 12),
            tutor_id,
            self._created(starts),
            topic=self.rng.choice(TOPICS),
            level=self.rng.choice(list(Level)),
        )

    def one_series(self, series_id: int, tutor: Tutor) -> tuple[Record, list[PlannedLesson]]:
        """A weekly series on one or two of the tutor's windows, at one local hour."""
        chosen = self.rng.sample(tutor.windows, min(len(tutor.windows), self.rng.randint(1, 2)))
        low, high = max(w.start for w in chosen), min(w.end for w in chosen) - 1
        if low > high:
            chosen = chosen[:1]
            low, high = chosen[0].start, chosen[0].end - 1
        hour = time(self.rng.randint(low, high))
        first_week = self.rng.randrange(WEEKS)
        weeks = min(self.rng.randint(4, 12), WEEKS - first_week)
        start_date = self.first_monday + timedelta(weeks=first_week)
        weekdays = sorted(w.weekday for w in chosen)
        template = self._lesson(to_utc(datetime.combine(start_date, hour), tutor.zone), tutor.id)
        lessons = []
        for day in occurrence_dates(start_date, weekdays, weeks):
            starts = to_utc(datetime.combine(day, hour), tutor.zone)
            if self._take(tutor, starts):
                lessons.append(
                    PlannedLesson(
                        starts,
                        template.capacity,
                        tutor.id,
                        template.created_at,
                        series_id,
                        topic=template.topic,
                        level=template.level,
                    )
                )
        record = (
            series_id,
            template.topic,
            template.level.value,
            "",
            ",".join(map(str, weekdays)),
            hour,
            tutor.zone,
            start_date,
            weeks,
            60,
            template.capacity,
            _naive(template.created_at),
        )
        return record, lessons

    def lessons(self, tutors: list[Tutor]) -> tuple[list[Record], list[PlannedLesson]]:
        """About a quarter in weekly series, 90% with a tutor, 2% cancelled."""
        total = self.size.lessons
        assigned = round(total * 0.9)
        series: list[Record] = []
        lessons: list[PlannedLesson] = []
        while len(lessons) < total // 4:
            record, occurrences = self.one_series(len(series) + 1, self.rng.choice(tutors))
            series.append(record)
            lessons += occurrences[: total // 4 - len(lessons)]
        while len(lessons) < assigned:
            tutor = self.rng.choice(tutors)
            window = self.rng.choice(tutor.windows)
            day = self.first_monday + timedelta(
                weeks=self.rng.randrange(WEEKS), days=window.weekday
            )
            hour = time(self.rng.randint(window.start, window.end - 1))
            starts = to_utc(datetime.combine(day, hour), tutor.zone)
            if self._take(tutor, starts):
                lessons.append(self._lesson(starts, tutor.id))
        while len(lessons) < total:
            day = self.first_monday + timedelta(days=self.rng.randrange(WEEKS * 7))
            starts = to_utc(datetime.combine(day, time(self.rng.randint(7, 21))), SCHOOL_ZONE)
            lessons.append(self._lesson(starts, None))
        for lesson in self.rng.sample(lessons, total // 50):
            lesson.status = LessonStatus.CANCELLED
        # Ids in creation order, as the app would have handed them out.
        lessons.sort(key=lambda item: item.created_at)
        for n, lesson in enumerate(lessons, start=1):
            lesson.id = n
        return series, lessons

    def _student(
        self, students: list[int], lesson: PlannedLesson, taken: set[int], *, free: bool
    ) -> int | None:
        """A student not yet in this lesson and, if ``free``, without a seat at its time."""
        for _ in range(20):
            student = self.rng.choice(students)
            if student in taken or (free and (student, lesson.starts_at) in self.student_busy):
                continue
            taken.add(student)
            return student
        return None

    def _moment(self, lesson: PlannedLesson) -> datetime:
        """A random instant between the lesson's creation and now (or its start)."""
        latest = min(self.now, lesson.starts_at)
        return lesson.created_at + (latest - lesson.created_at) * self.rng.random()

    def _fill(self, lesson: PlannedLesson) -> tuple[int, int]:
        """Seats taken and places waiting: fuller near now, thinner far ahead."""
        days_ahead = (lesson.starts_at - self.now) / timedelta(days=1)
        if days_ahead < 7:
            fill = self.rng.uniform(0.5, 1.0)
        elif days_ahead < 28:
            fill = self.rng.uniform(0.2, 0.9)
        else:
            fill = self.rng.uniform(0.0, 0.5)
        seats = round(fill * lesson.capacity)
        return seats, self.rng.randint(1, 3) if seats == lesson.capacity else 0

    def _lesson_bookings(
        self, lesson: PlannedLesson, students: list[int]
    ) -> list[tuple[int, int, str, datetime, datetime]]:
        rows = []
        taken: set[int] = set()
        seats, waiting = self._fill(lesson)
        for _ in range(seats):
            student = self._student(students, lesson, taken, free=True)
            if student is not None:
                self.student_busy.add((student, lesson.starts_at))
                at = self._moment(lesson)
                rows.append((lesson.id, student, BookingStatus.CONFIRMED.value, at, at))
        for _ in range(waiting):
            student = self._student(students, lesson, taken, free=False)
            if student is not None:
                at = self._moment(lesson)
                rows.append((lesson.id, student, BookingStatus.WAITLISTED.value, at, at))
        cancelled = (
            self._student(students, lesson, taken, free=False) if self.rng.random() < 0.3 else None
        )
        if cancelled is not None:
            booked = self._moment(lesson)
            gave_up = booked + (min(self.now, lesson.starts_at) - booked) * self.rng.random()
            late = gave_up > lesson.starts_at - timedelta(hours=12)
            status = BookingStatus.LATE_CANCELLED if late else BookingStatus.CANCELLED
            rows.append((lesson.id, cancelled, status.value, booked, gave_up))
        return rows

    def bookings(self, lessons: list[PlannedLesson], students: list[int]) -> list[Record]:
        """Seats, waitlists on full classes, and a cancelled booking in about a third of
        the classes; a tenth of the students never book."""
        active = self.rng.sample(students, round(len(students) * 0.9))
        rows = []
        for lesson in lessons:
            rows += self._lesson_bookings(lesson, active)
        # Rows in creation order, as they would lie in a real table.
        rows.sort(key=lambda row: row[3])
        return [
            (n, lesson_id, student, status, _naive(created), _naive(status_at))
            for n, (lesson_id, student, status, created, status_at) in enumerate(rows, start=1)
        ]


def build(size: Size, now: datetime, password_hash: str, seed: int = 1) -> School:
    """Generate the school around ``now``: lessons from four weeks ago to 48 weeks ahead."""
    builder = _Builder(size, now, password_hash, seed)
    users, tutors, students = builder.users()
    windows, absences = builder.availability(tutors)
    series, lessons = builder.lessons(tutors)
    lesson_rows = [
        (
            item.id,
            item.series_id,
            item.topic,
            item.level.value,
            "",
            _naive(item.starts_at),
            _naive(item.starts_at + LESSON),
            item.capacity,
            item.tutor_id,
            item.status.value,
            _naive(item.created_at),
        )
        for item in lessons
    ]
    school = School(first_monday=builder.first_monday)
    school.tables = {
        "users": (
            "id email name role password_hash must_change_password timezone language "
            "calendar_token created_at".split(),
            users,
        ),
        "availability_windows": ("id tutor_id weekday start_time end_time".split(), windows),
        "availability_exceptions": ("id tutor_id starts_at ends_at reason".split(), absences),
        "series": (
            "id topic level description weekdays local_time timezone start_date weeks "
            "duration_minutes capacity created_at".split(),
            series,
        ),
        "lessons": (
            "id series_id topic level description starts_at ends_at capacity tutor_id status "
            "created_at".split(),
            lesson_rows,
        ),
        "bookings": (
            "id lesson_id student_id status created_at status_at".split(),
            builder.bookings(lessons, students),
        ),
    }
    return school


async def load(dsn: str, school: School) -> None:
    """COPY every table in one transaction (constraints and foreign keys checked as usual),
    and move the id sequences past the loaded ids."""
    conn = await asyncpg.connect(dsn)
    try:
        async with conn.transaction():
            for table, (columns, records) in school.tables.items():
                await conn.copy_records_to_table(table, records=records, columns=columns)
                await conn.execute(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                    f"coalesce(max(id), 0) + 1, false) FROM {table}"
                )
            # The seat counters the app keeps on each lesson (migration 0003).
            await conn.execute(
                "UPDATE lessons SET booked = c.booked, waiting = c.waiting FROM ("
                " SELECT lesson_id,"
                " count(*) FILTER (WHERE status = 'confirmed') AS booked,"
                " count(*) FILTER (WHERE status = 'waitlisted') AS waiting"
                " FROM bookings GROUP BY lesson_id) AS c WHERE c.lesson_id = lessons.id"
            )
    finally:
        await conn.close()


async def vacuum_analyze(dsn: str) -> None:
    """Statistics for the planner, and the visibility map set (for index-only scans), as
    autovacuum would have left them on a live database."""
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute("VACUUM ANALYZE")
    finally:
        await conn.close()


async def check(dsn: str) -> tuple[int, int]:
    """Tutors teaching two classes at once, and classes with more seats taken than they
    have: both must be zero after loading."""
    conn = await asyncpg.connect(dsn)
    try:
        clashes = await conn.fetchval(
            """SELECT count(*) FROM (
                 SELECT starts_at, lag(ends_at) OVER (PARTITION BY tutor_id ORDER BY starts_at)
                        AS previous_end
                 FROM lessons WHERE tutor_id IS NOT NULL AND status = 'scheduled') AS taught
               WHERE previous_end > starts_at"""
        )
        return int(clashes), await overbooked(conn)
    finally:
        await conn.close()


async def overbooked(conn: asyncpg.Connection) -> int:
    """Classes whose confirmed bookings exceed their capacity."""
    found = await conn.fetchval(
        """SELECT count(*) FROM (
             SELECT l.id FROM lessons AS l JOIN bookings AS b ON b.lesson_id = l.id
             WHERE b.status = 'confirmed'
             GROUP BY l.id, l.capacity HAVING count(*) > l.capacity) AS over"""
    )
    return int(found)
