"""What each kind of e-mail says, as English templates translated when a mail is written.

Each kind has a subject and an opening line for an e-mail about one class (with its
``{topic}`` and ``{when}``) and for one about the many classes one action changed (a series
given to a tutor; ``{num}`` of them). They are separate messages, not the singular and plural
of one: Indonesian has a single plural form, which could not say both.
"""

from __future__ import annotations

from classroom.errors import N_


def Nn_(singular: str, plural: str) -> tuple[str, str]:  # noqa: N802 (a gettext marker)
    """Mark a singular and plural pair for translation (an extraction keyword)."""
    return singular, plural


# The subject of an e-mail about one class, and of one about {num} classes.
SUBJECTS: dict[str, tuple[str, tuple[str, str]]] = {
    "booking_confirmed": (N_("Booked: “{topic}”, {when}"),
                          Nn_("Booked: {num} class", "Booked: {num} classes")),
    "waitlist_promoted": (N_("A seat is yours: “{topic}”, {when}"),
                          Nn_("A seat is yours in {num} class",
                              "Seats are yours in {num} classes")),
    "lesson_reminder": (N_("Starting soon: “{topic}”, {when}"),
                        Nn_("Starting soon: {num} class", "Starting soon: {num} classes")),
    "lesson_assigned": (N_("You will teach “{topic}”, {when}"),
                        Nn_("You will teach {num} class", "You will teach {num} classes")),
    "substitution_assigned": (N_("You are substituting: “{topic}”, {when}"),
                              Nn_("You are substituting in {num} class",
                                  "You are substituting in {num} classes")),
    "substitution_removed": (N_("Another tutor will teach “{topic}”, {when}"),
                             Nn_("Another tutor will teach {num} of your classes",
                                 "Another tutor will teach {num} of your classes")),
    "tutor_nudge": (N_("Your students are waiting: “{topic}”, {when}"),
                    Nn_("Your students are waiting: {num} class",
                        "Your students are waiting: {num} classes")),
    "lesson_cancelled": (N_("Cancelled: “{topic}”, {when}"),
                         Nn_("Cancelled: {num} class", "Cancelled: {num} classes")),
    "lesson_moved": (N_("Moved: “{topic}” now starts {when}"),
                     Nn_("Moved: {num} class", "Moved: {num} classes")),
    "lesson_recap": (N_("Your recap: “{topic}”, {when}"),
                     Nn_("Your recap of {num} class", "Your recaps of {num} classes")),
}  # fmt: skip

# The opening line of an e-mail about one class, and of one about several.
OPENINGS: dict[str, tuple[str, str]] = {
    "booking_confirmed": (N_("You are booked for this class:"),
                          N_("You are booked for these classes:")),
    "waitlist_promoted": (N_("A seat became free and it is yours: you are now booked for "
                             "this class."),
                          N_("Seats became free and they are yours: you are now booked for "
                             "these classes.")),
    "lesson_reminder": (N_("Your class starts soon:"), N_("Your classes start soon:")),
    "lesson_assigned": (N_("You will teach this class:"), N_("You will teach these classes:")),
    "substitution_assigned": (N_("You will teach this class in place of another tutor:"),
                              N_("You will teach these classes in place of another tutor:")),
    "substitution_removed": (N_("Another tutor will teach this class in your place:"),
                             N_("Another tutor will teach these classes in your place:")),
    "tutor_nudge": (N_("Your class starts in a few minutes and your students will be waiting. "
                       "Please join now:"),
                    N_("Your classes start in a few minutes and your students will be "
                       "waiting. Please join now:")),
    "lesson_cancelled": (N_("This class was cancelled:"), N_("These classes were cancelled:")),
    "lesson_moved": (N_("This class has moved. It now starts at the time below:"),
                     N_("These classes have moved. They now start at the times below:")),
    "lesson_recap": (N_("Your tutor has written your recap of this class:"),
                     N_("Your tutor has written your recaps of these classes:")),
}  # fmt: skip

GREETING = N_("Hello {name},")
JOIN = N_("Join the class:")
CALENDAR = N_("The attached calendar file puts the class in your calendar.")
FOOTER = N_(
    "You get this e-mail because you have an account at Kelas. To choose which messages "
    "come by e-mail and which only in the app, open your account: {url}"
)
RESET_SUBJECT = N_("Set a new password for Kelas")
RESET_BODY = N_(
    "Someone, we hope you, asked to set a new password for your Kelas account. Open this "
    "link within {minutes} minutes to choose one:"
)
RESET_IGNORE = N_("If it was not you, you can ignore this e-mail: your password stays as it is.")
RECAP_FEEDBACK = N_("Your tutor's feedback:")
RECAP_LEVEL = N_("Level estimate (CEFR): {level}")
RECAP_SUMMARY = N_("About the class:")
RECAP_MINE = N_("Your notes:")
RECAP_SHARED = N_("Notes for the whole class:")
RECAP_LINK = N_("Read your recap and rate the class:")
