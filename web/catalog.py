"""Extracting translatable text and updating the shipped catalogues (a developer command:
``python -m web translations``)."""

from __future__ import annotations

from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.pofile import read_po, write_po

from web.i18n import LANGUAGES, LOCALE_DIR

ROOT = Path(__file__).parent.parent
ERROR_CLASSES = (
    "KelasError", "InvalidInput", "NotAuthenticated", "LoginThrottled", "PermissionDenied",
    "NotFound", "Conflict", "ClassFull", "DoubleBooked", "TooLate", "Unavailable", "RateLimited",
    "Undeliverable", "Notice", "BookingPaused",
)  # fmt: skip
KEYWORDS = {
    **DEFAULT_KEYWORDS,
    "N_": None,
    "Nn_": (1, 2),  # a singular and plural pair, translated where it is used
    **{name: (1,) for name in ERROR_CLASSES},
}
METHODS = [
    ("classroom/**.py", "python"),
    ("signaling/**.py", "python"),
    ("web/**.py", "python"),
    ("web/templates/**.html", "jinja2"),
]
OPTIONS = {"web/templates/**.html": {"extensions": "jinja2.ext.i18n"}}


def extract() -> Catalog:
    """Every translatable string in the code and templates."""
    catalog = Catalog(project="Kelas", charset="utf-8")
    for sub in ("classroom", "signaling", "web"):
        methods = [
            (pattern.removeprefix(f"{sub}/"), m)
            for pattern, m in METHODS
            if pattern.startswith(sub)
        ]
        options = {k.removeprefix(f"{sub}/"): v for k, v in OPTIONS.items()}
        found = extract_from_dir(
            ROOT / sub, methods, options_map=options, keywords=KEYWORDS, strip_comment_tags=True
        )
        for filename, lineno, message, comments, context in found:
            catalog.add(
                message,
                None,
                [(f"{sub}/{filename}", lineno)],
                auto_comments=comments,
                context=context,
            )
    return catalog


def po_path(language: str) -> Path:
    return LOCALE_DIR / language / "LC_MESSAGES" / "messages.po"


def update() -> dict[str, int]:
    """Write messages.pot and merge it into each language's messages.po; returns, per
    language, how many messages still lack a translation."""
    template = extract()
    LOCALE_DIR.mkdir(parents=True, exist_ok=True)
    with (LOCALE_DIR / "messages.pot").open("wb") as handle:
        write_po(handle, template, omit_header=False, sort_output=True)
    missing = {}
    for language in LANGUAGES:
        if language == "en":
            continue
        path = po_path(language)
        if path.exists():
            with path.open("rb") as handle:
                catalog = read_po(handle, locale=language)
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            catalog = Catalog(locale=language, project="Kelas", charset="utf-8")
        catalog.update(template, no_fuzzy_matching=True)
        with path.open("wb") as handle:
            write_po(handle, catalog, sort_output=True, ignore_obsolete=True)
        missing[language] = sum(1 for m in catalog if m.id and not m.string)
    return missing
