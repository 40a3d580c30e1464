"""The live classroom page (the room itself runs over Socket.IO, see signaling/)."""

from __future__ import annotations

from aiohttp import web

from classroom import live
from classroom.errors import N_
from web import i18n
from web.forms import int_param
from web.keys import CLOCK, DB, SETTINGS
from web.live import join_window
from web.middlewares import current_user
from web.pages import render
from web.routes.lessons import LESSON

STRINGS = {
    "device_denied": N_(
        "The browser was not allowed to use your camera and microphone. Allow them in the "
        "address bar's site settings and reload, or join without them."
    ),
    "device_camera_denied": N_(
        "The browser was not allowed to use your camera. You can join with audio only, "
        "or allow the camera in the site settings and reload."
    ),
    "device_no_camera": N_("No camera was found. You can join with audio only."),
    "device_no_devices": N_(
        "No microphone or camera was found. You can still join, watch and chat."
    ),
    "reconnecting": N_("Connection lost. Reconnecting…"),
    "disconnected": N_("You were disconnected (perhaps you joined from another window)."),
    "ended": N_("The tutor has ended the class. Thank you!"),
    "removed": N_("The tutor removed you from this class."),
    "no_answer": N_("The server did not answer. Please try again."),
    # A media connection failed (web/static/live/ice.js): the page tries again, the second
    # time through the TURN relay only when the school has one.
    "media_failed_other_way": N_("Your network blocks calls: trying another way…"),
    "media_failed_retry": N_("Your network blocks the call's connection. Trying again…"),
    "media_failed_again": N_(
        "The call still cannot get through your network. Trying again… If this goes on, "
        "try another network, such as your phone's hotspot."
    ),
    "media_failed_secure": N_("The call's secure connection failed. Trying again…"),
    # The tutor is not in the room (web/static/live/tutor.js); {name}: the class's tutor.
    "tutor_awaited": N_("Your tutor, {name}, is on the way."),
    "tutor_on_the_way": N_("Your tutor is on the way."),
    "tutor_reconnecting": N_(
        "Your tutor is reconnecting. Please stay: the class goes on when they are back."
    ),
    "tutor_today": N_("Your tutor today is {name}."),
    "sending": N_("sending…"),
    "you_muted": N_("The tutor muted you. Raise your hand to ask to speak."),
    "you_may_unmute": N_("The tutor allows you to unmute."),
    "unmute_request": N_("The tutor asks you to unmute. Turn your microphone on?"),
    "you_camera_off": N_("The tutor turned your camera off."),
    "you_may_use_camera": N_("The tutor allows you to turn your camera on again."),
    "mute_me": N_("Mute"),
    "unmute_me": N_("Unmute"),
    "camera_off_me": N_("Stop camera"),
    "camera_on_me": N_("Start camera"),
    "share_screen": N_("Share screen"),
    "stop_sharing": N_("Stop sharing"),
    "mute_all": N_("Mute all"),
    "lock": N_("Lock room"),
    "unlock": N_("Unlock room"),
    "end": N_("End class"),
    "end_confirm": N_("End the class for everyone?"),
    "raise_hand": N_("Raise hand"),
    "raise_hand_to_ask": N_("Raise hand to ask"),
    "muted_by_tutor": N_("Muted by the tutor"),
    "camera_off_by_tutor": N_("Camera off by the tutor"),
    # {place} is an ordinal below: "Hand raised · 2nd".
    "hand_raised": N_("Hand raised · {place}"),
    # Ordinals by the language's plural category (Intl.PluralRules, type "ordinal"): a
    # language without ordinal suffixes gives every category the same text.
    "ordinal_one": N_("{n}st"),
    "ordinal_two": N_("{n}nd"),
    "ordinal_few": N_("{n}rd"),
    "ordinal_other": N_("{n}th"),
    "lower_hand": N_("Lower hand"),
    "leave": N_("Leave class"),
    "mute": N_("Mute"),
    "allow_unmute": N_("Allow to unmute"),
    "ask_unmute": N_("Ask to unmute"),
    "camera_off": N_("Camera off"),
    "allow_camera": N_("Allow camera"),
    "spotlight": N_("Spotlight"),
    "unspotlight": N_("End spotlight"),
    "remove": N_("Remove"),
    "remove_confirm": N_("Remove this student from the class? They cannot come back."),
    "role_tutor": N_("Tutor"),
    "role_student": N_("Student"),
    "role_observer": N_("Observer"),
    "mic_on": N_("mic on"),
    "mic_off": N_("mic off"),
    "cam_on": N_("camera on"),
    "cam_off": N_("camera off"),
    "you": N_("You"),
    "default_device": N_("{name} (default)"),
    "microphone_n": N_("Microphone {n}"),
    "camera_n": N_("Camera {n}"),
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
    # A short notice when the person's own connection is poor, or fair for a while.
    "unstable_mine": N_("Your connection is unstable."),
    # To the tutor, when a student's connection turns poor. {name}: the student.
    "unstable_theirs": N_("{name}'s connection is unstable."),
    # Receiving no video (docs/protocol.md, "Downlink budget"): the button, and back.
    "audio_only": N_("Audio only"),
    "show_video": N_("Show video"),
    "offer_audio_only": N_(
        "Your connection is poor. Switch to audio only so that you keep hearing the class?"
    ),
    "keep_video": N_("Keep video"),
    # Over a person's tile, when the server does not send their video to you now: your
    # connection cannot carry it, or you chose audio only.
    "video_paused": N_("Video paused"),
    "screen_paused": N_("Shared screen paused"),
    # The tutor's notes (web/static/live/notes.js): the button that opens the note box (also
    # the N key), the kinds, and whom a note is for.
    "note": N_("Note"),
    "note_correction": N_("Correction"),
    "note_word": N_("Word or phrase"),
    "note_pronunciation": N_("Pronunciation"),
    "note_everyone": N_("Everyone"),
    "note_delete": N_("Delete"),
    "note_text_correction": N_("What was said"),
    "note_text_word": N_("Word or phrase"),
    "note_text_pronunciation": N_("Pronunciation point"),
    "note_incomplete": N_("Please write the note (and, for a correction, the better way)."),
    # The speaking view (web/static/live/speaking.js): a button, a small panel, short prompts.
    "speaking": N_("Speaking"),
    "speaking_title": N_("Who speaks"),
    "speaking_close": N_("Close"),
    # {tutor} and {students}: shares of all speaking time, as "62%" (formatted by the browser).
    "speaking_balance": N_("Tutor {tutor} · students {students}"),
    # The tutor's share of the last minutes. {share}: "62%"; {duration}: "10 min".
    "speaking_window": N_("Tutor, last {duration}: {share}"),
    "speaking_nobody": N_("Nobody has spoken yet."),
    # A row of the table: {share} of the students' time against {fair}, a fair share.
    "speaking_share": N_("{share} (fair {fair})"),
    "speaking_turns": N_("Turns"),
    "speaking_time": N_("Time"),
    "speaking_share_head": N_("Share"),
    "speaking_silence": N_("Longest silence"),
    "speaking_mine": N_("You have spoken {duration}, {share} of the students' time."),
    # Prompts to the tutor. {name}: a student; {duration}: "6 min" or "45 s".
    "speaking_silent": N_("{name} has not spoken for {duration}."),
    "speaking_tutor_share": N_("You have spoken {share} of the last {duration}."),
    "minutes_short": N_("{n} min"),
    "seconds_short": N_("{n} s"),
}


def setup(app: web.Application) -> None:
    app.router.add_get(LESSON + "/live", live_page)


async def live_page(request: web.Request) -> web.StreamResponse:
    """The same admission rules as the socket: a refusal is a page with the reason."""
    user = current_user(request)
    lesson_id = int_param(request, "lesson_id")
    async with request.app[DB].begin() as db:
        admission = await live.admit(
            db, user, lesson_id, request.app[CLOCK](), join_window(request.app)
        )
    config = {
        "lesson_id": lesson_id,
        "user_id": user.id,
        "role": admission.role.value,
        "timezone": user.timezone,
        "language": user.language,
        # The speaking view: the tutor and observers; a student only if the school shows
        # students their own share.
        "speaking": admission.role.value != "student" or request.app[SETTINGS].show_student_share,
        "strings": {key: i18n.gettext(text) for key, text in STRINGS.items()},
    }
    context = {
        "topic": admission.topic,
        "starts_at": admission.starts_at,
        "ends_at": admission.ends_at,
        "role": admission.role.value,
        "live_config": config,
    }
    return render("live.html", request, context)
