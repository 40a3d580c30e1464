"""The setup check: its page (/check), the ICE servers and peer connections it tries, storing
its result, and reading people's readiness (the JSON endpoints are declared in api.py).

Anyone logged in can run it, as often as the per-person rate allows. The network part ends
at this server's own peers (signaling/media/probe.py); whether a path reached them is proven
by the receipts they sign (signaling/readiness.py), not by the browser's word.
"""

from __future__ import annotations

from aiohttp import web

from classroom import readiness, schemas
from classroom.errors import MARKED, N_, InvalidInput, RateLimited
from classroom.models import Role, User
from signaling import readiness as rules
from web import api_models as out
from web import i18n
from web.forms import int_param, json_data
from web.keys import CLOCK, DB, SETTINGS
from web.live import PROBES
from web.middlewares import current_user
from web.pages import csrf_token, render
from web.ratelimit import LIMITS

# What the page says about each part and each outcome (web/static/check/).
STRINGS = {
    "start": N_("Start the check"),
    "again": N_("Check again"),
    "running": N_("Checking…"),
    "waiting": N_("waiting"),
    "status_ok": N_("works"),
    "status_warn": N_("works, but"),
    "status_failed": N_("does not work"),
    "status_none": N_("not used here"),
    "mic_ok": N_("We hear you."),
    "mic_silent": N_("We heard nothing. Is your microphone muted?"),
    "mic_denied": N_("The browser was not allowed to use your microphone."),
    "mic_missing": N_("No microphone was found."),
    "mic_error": N_("The microphone could not be started."),
    "camera_ok": N_("We see you."),
    "camera_denied": N_("The browser was not allowed to use your camera."),
    "camera_missing": N_("No camera was found."),
    "camera_error": N_("The camera could not be started."),
    "udp_ok": N_("Your browser reaches Kelas directly."),
    "udp_failed": N_("Your network blocks direct calls to Kelas."),
    "stun_ok": N_("The address server (STUN) answered."),
    "stun_failed": N_("The address server (STUN) did not answer."),
    "relay_ok": N_("Calls also get through the relay (TURN), for networks that block them."),
    "relay_failed": N_("Calls do not get through the relay (TURN)."),
    "relay_none": N_("This school has no relay (TURN) server."),
    # {rtt}: "45 ms"; {loss}: "0%"; {down} and {up}: "2.4 Mbit/s" (formatted by the browser).
    "measured": N_("Round trip {rtt}, {loss} lost, {down} down, {up} up."),
    "unmeasured": N_("Nothing could be measured."),
    "verdict_ok": N_("Your setup is ready for class."),
    "verdict_warn": N_("Your setup works, but:"),
    "verdict_failed": N_("Your setup is not ready for class:"),
    "reason_mic": N_(
        "Kelas cannot use your microphone. Allow it in the site settings of your browser, "
        "or connect one."
    ),
    "reason_no_path": N_(
        "Your network lets no call through to Kelas. Try another network, such as your "
        "phone's hotspot."
    ),
    "reason_camera": N_("No camera: you can still take part with your voice."),
    "reason_mic_silent": N_("We heard nothing from your microphone. Is it muted?"),
    "reason_udp_blocked": N_(
        "Your network blocks direct calls: the relay works, with a little more delay."
    ),
    "reason_relay_failed": N_("The relay, for networks that block calls, did not answer."),
    "reason_stun_failed": N_(
        "The address server did not answer: calls may not get through some networks."
    ),
    "reason_unstable": N_("Your connection is unstable: long delays or lost packets."),
    "reason_slow": N_("Your connection is slow for video: you may freeze or break up."),
    "saved": N_("Saved. The coordinators see that you checked."),
    "not_saved": N_("The result could not be saved:"),
    "no_answer": N_("The server did not answer. Please try again."),
}


def setup(app: web.Application) -> None:
    app.router.add_get("/check", check_page)


async def check_page(request: web.Request) -> web.StreamResponse:
    """The check, for anyone logged in, with their newest result."""
    user = current_user(request)
    async with request.app[DB].begin() as db:
        last = (await readiness.latest(db, [user.id])).get(user.id)
    strings = {key: i18n.gettext(text) for key, text in STRINGS.items()}
    config = {"language": user.language, "csrf_token": csrf_token(request), "strings": strings}
    reasons = out.CheckOut.of(last).reasons if last is not None else []
    said = [strings["reason_" + reason] for reason in reasons]
    return render("check.html", request, {"check_config": config, "last": last, "reasons": said})


def _throttle(request: web.Request, user: User) -> None:
    limits = request.app[LIMITS]
    wait = limits.wait_for(limits.check, user.id)
    if wait:
        raise RateLimited(
            N_("Too many checks at once. Please wait {seconds} seconds and try again."),
            retry_after=wait,
            seconds=str(wait),
        )


def _reply(model: out.Out, status: int = 200) -> web.Response:
    return web.Response(
        text=model.model_dump_json(),
        status=status,
        content_type="application/json",
        headers={"Cache-Control": "no-store"},  # credentials and one-off results
    )


async def post_check_ice_servers(request: web.Request) -> web.StreamResponse:
    """The ICE servers a class would give this person now: STUN, and TURN with a credential
    minted for them (never to anyone not logged in)."""
    user = current_user(request)
    _throttle(request, user)
    now = request.app[CLOCK]().timestamp()
    return _reply(out.CheckIce(ice_servers=request.app[SETTINGS].ice.for_user(user.id, now)))


async def post_check_offer(request: web.Request) -> web.StreamResponse:
    """A short-lived peer connection of this server for the check (signaling/media/probe.py)."""
    user = current_user(request)
    _throttle(request, user)
    offer = schemas.parse(schemas.CheckOffer, await json_data(request))
    try:
        sdp, path = await request.app[PROBES].answer(user.id, offer.sdp)
    except InvalidInput as exc:  # the offer's reason, on its field
        raise InvalidInput(MARKED, {"sdp": exc.notice}) from None
    return _reply(out.CheckAnswer(type="answer", sdp=sdp, path=path))


async def post_check(request: web.Request) -> web.StreamResponse:
    """Keep the person's result: their browser's findings, the paths their receipts prove."""
    user = current_user(request)
    _throttle(request, user)
    found = schemas.parse(schemas.CheckReport, await json_data(request))
    report = _report(request, user, found)
    verdict, _ = rules.verdict(report)
    browser = request.headers.get("User-Agent", "")
    async with request.app[DB].begin() as db:
        check = await readiness.record(db, user, report, verdict, request.app[CLOCK](), browser)
    return _reply(out.CheckOut.of(check), 201)


def _report(request: web.Request, user: User, found: schemas.CheckReport) -> readiness.Report:
    """The whole report: the paths are the server's (proven by receipts), and what the
    school does not configure is ``none`` whatever the browser says."""
    settings = request.app[SETTINGS]
    now = request.app[CLOCK]().timestamp()
    proven = {rules.proven(settings.secret_key, token, user.id, now) for token in found.receipts}
    ice = settings.ice
    return readiness.Report(
        mic=found.mic,
        camera=found.camera,
        stun=_configured(found.stun, bool(ice.stun_urls)),
        turn=_configured(found.turn, ice.has_turn),
        udp="ok" if "direct" in proven else "failed",
        relay=("ok" if "relay" in proven else "failed") if ice.has_turn else "none",
        rtt_ms=found.rtt_ms,
        loss=found.loss,
        down_kbps=found.down_kbps,
        up_kbps=found.up_kbps,
    )


def _configured(outcome: str, configured: bool) -> str:
    if not configured:
        return "none"
    return "failed" if outcome == "none" else outcome


async def get_my_check(request: web.Request) -> web.StreamResponse:
    user = current_user(request)
    async with request.app[DB].begin() as db:
        last = (await readiness.latest(db, [user.id])).get(user.id)
    return _reply(out.MyCheck(check=out.CheckOut.of(last) if last else None))


async def get_class_readiness(request: web.Request) -> web.StreamResponse:
    """The tutor and booked students of a class with their standing: coordinators only."""
    user = current_user(request, Role.COORDINATOR)
    lesson_id = int_param(request, "lesson_id")
    settings = request.app[SETTINGS]
    async with request.app[DB].begin() as db:
        found = await readiness.of_class(
            db, user, lesson_id, request.app[CLOCK](), settings.check_max_age
        )
    text = "[" + ",".join(out.PersonReadinessOut.of(p).model_dump_json() for p in found) + "]"
    return web.Response(text=text, content_type="application/json")
