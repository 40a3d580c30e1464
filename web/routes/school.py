"""The school right now: the coordinators' live view, and tutors offering to substitute.

The live view itself updates over the /school Socket.IO namespace (signaling/school.py); this
page gives it its frame and its strings.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from aiohttp import web

from classroom.errors import MARKED, N_, InvalidInput
from classroom.models import Role
from web import i18n
from web.forms import form_data
from web.keys import CLOCK
from web.live import SCHOOL
from web.middlewares import current_user
from web.pages import render

STRINGS = {
    "online": N_("online"),
    "offline": N_("offline"),
    # {time}: when they last had Kelas open, today's clock time.
    "last_seen": N_("last seen {time}"),
    "tutor_here": N_("tutor is here"),
    "tutor_missing": N_("tutor not here"),
    "no_tutor": N_("no tutor assigned"),
    # {n}: whole minutes since the class started.
    "elapsed": N_("{n} min in"),
    "starts_in": N_("starts in {n} min"),
    "participants": N_("In the room: {n}"),
    # {n}: "2/3", students online out of those booked.
    "students_online": N_("Students online: {n}"),
    "observe": N_("Observe"),
    # {topic}: the class whose room the tutor is in.
    "in_class": N_("in “{topic}”"),
    "substitute_until": N_("can substitute until {time}"),
    "none_live": N_("No class is in progress."),
    "none_soon": N_("No class starts in the next hour."),
    "none_tutors": N_("No tutor is online."),
    "reconnecting": N_("Connection lost. Reconnecting…"),
    # {tutor}: the missing tutor; {topic}: the class; {time}: its start.
    "alert_late": N_("{tutor} is not in “{topic}”, which started at {time}."),
    "alert_late_nobody": N_("Nobody is teaching “{topic}”, which started at {time}."),
    "alert_dropped": N_("{tutor} dropped out of “{topic}” and has not come back."),
    "raised_at": N_("since {time}"),
    "give_to": N_("Give the class to {name}"),
    "dismiss": N_("The tutor is on the way: dismiss"),
    "no_substitute": N_("No tutor is free to take this class."),
    "substitute_online": N_("online"),
    "taught_level": N_("has taught this level"),
    "within_availability": N_("available then"),
    # {n}: classes that tutor teaches in the week around this one.
    "load": N_("classes this week: {n}"),
    "tutor_nudged": N_("reminded"),
    "role_tutor": N_("Tutor"),
    "role_student": N_("Student"),
    "role_observer": N_("Observer"),
    # A person's connection as the server measures it. {grade}: one of the three words below;
    # {numbers}: the round trip and the loss, as in quality_numbers or quality_loss.
    "quality": N_("Connection {grade}: {numbers}"),
    "quality_good": N_("good"),
    "quality_fair": N_("fair"),
    "quality_poor": N_("poor"),
    # {rtt}: "45 ms"; {loss}: "0.5%" (both formatted by the browser).
    "quality_numbers": N_("{rtt} round trip, {loss} lost"),
    # Before a round trip is measured. {loss}: "0.5%".
    "quality_loss": N_("{loss} lost"),
    "quality_unknown": N_("connection not measured yet"),
    # Before a class: the people whose setup check (/check) failed, is old or never ran.
    "unready": N_("Setup check needed:"),
    # {name}: a tutor or student of the class.
    "unready_failed": N_("{name}: failed"),
    # {n}: days since their last check.
    "unready_stale": N_("{name}: {n} days ago"),
    "unready_never": N_("{name}: not checked"),
}
# How long a tutor may say they are available to substitute; "day": until local midnight.
SUBSTITUTE_FOR = {"30": 30, "60": 60, "120": 120, "day": None}


def setup(app: web.Application) -> None:
    app.router.add_get("/live", live_view)
    app.router.add_post("/substitute", offer_substitute)


async def live_view(request: web.Request) -> web.StreamResponse:
    """Classes in progress and starting soon, tutors online: coordinators only."""
    user = current_user(request, Role.COORDINATOR)
    config = {
        "language": user.language,
        "timezone": user.timezone,
        "strings": {key: i18n.gettext(text) for key, text in STRINGS.items()},
    }
    return render("school_live.html", request, {"board_config": config})


async def offer_substitute(request: web.Request) -> web.StreamResponse:
    """A tutor is available to substitute now, for a while they choose (0: no longer)."""
    tutor = current_user(request, Role.TUTOR)
    choice = (await form_data(request)).get("until", "")
    now = request.app[CLOCK]()
    if choice == "no":
        until = now
    elif choice in SUBSTITUTE_FOR:
        until = _until(now, SUBSTITUTE_FOR[choice], tutor.timezone)
    else:
        raise InvalidInput(MARKED, {"until": N_("Choose how long you are available.")})
    await request.app[SCHOOL].deps.presence.offer_substitute(tutor.id, until.timestamp())
    raise web.HTTPSeeOther("/teaching")


def _until(now: datetime, minutes: int | None, zone: str) -> datetime:
    if minutes is not None:
        return now + timedelta(minutes=minutes)
    local = now.astimezone(ZoneInfo(zone))
    midnight = datetime.combine(local.date() + timedelta(days=1), datetime.min.time())
    return midnight.replace(tzinfo=ZoneInfo(zone))
