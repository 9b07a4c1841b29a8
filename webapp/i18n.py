"""Languages (issue 10.4): Chinese is the source language and English a catalogue.

Every user-facing text is written in Chinese in the code and wrapped in a gettext call (`_()` in templates and
JavaScript, `gettext`/`lazy_gettext` in Python); the Chinese text is the message id, so a Chinese page needs no
catalogue at all and an English one looks each text up in `webapp/translations/en/LC_MESSAGES/messages.po`.
The `.mo` file Flask-Babel reads is compiled from that `.po` when the app starts (it is not kept in git), and
the phone's scripts get their part of the catalogue from `/i18n/<language>.js` (see `script_messages`).

The language: the user's own setting (我的 → 语言), else the browser's (Accept-Language), else Chinese.
Data keeps the language it was entered in: well codes, names, check items an admin wrote, comments.
"""
import logging
import os
import tempfile
from functools import lru_cache
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from flask import has_request_context, request
from flask_babel import Babel, get_locale
from flask_login import current_user

log = logging.getLogger(__name__)

DEFAULT = "zh_CN"
# The languages a user can choose, by their own names (a language menu is never translated).
LANGUAGES = {"zh_CN": "中文", "en": "English"}
TRANSLATIONS = Path(__file__).resolve().parent / "translations"
DOMAIN = "messages"

babel = Babel()


def catalogue_path(language: str) -> Path:
    return TRANSLATIONS / language / "LC_MESSAGES" / f"{DOMAIN}.po"


def select_language() -> str:
    """The user's setting, then the browser's preference, then Chinese."""
    if not has_request_context():
        return DEFAULT
    chosen = getattr(current_user, "language", "") if current_user and current_user.is_authenticated else ""
    if chosen in LANGUAGES:
        return chosen
    # "zh-CN", "zh-TW", "zh" all read Chinese; werkzeug matches a region-less tag against "zh_CN" only exactly.
    best = request.accept_languages.best_match(["zh_CN", "zh", "en"])
    if best is None:
        return DEFAULT
    return "en" if best == "en" else DEFAULT


def current_language() -> str:
    """The language of this request as one of LANGUAGES' keys (for `<html lang>` and the script catalogue)."""
    locale = get_locale()
    if locale is None:
        return DEFAULT
    return "en" if locale.language == "en" else DEFAULT


def html_lang() -> str:
    return "en" if current_language() == "en" else "zh-CN"


def compile_catalogues() -> None:
    """Compile each `.po` to the `.mo` Flask-Babel reads, when missing or older than its `.po`.

    Written to a temporary file and renamed, so two processes starting together never read half a file. Where the
    package directory is read-only (an installed wheel) the `.mo` must be built before: start the app once where it
    is writable, or compile it with Babel (`pybabel compile -d webapp/translations`).
    """
    for po in TRANSLATIONS.glob(f"*/LC_MESSAGES/{DOMAIN}.po"):
        mo = po.with_suffix(".mo")
        if mo.exists() and mo.stat().st_mtime >= po.stat().st_mtime:
            continue
        with po.open("rb") as source:
            catalogue = read_po(source)
        try:
            handle, temporary = tempfile.mkstemp(dir=po.parent, suffix=".mo.tmp")
            with os.fdopen(handle, "wb") as target:
                write_mo(target, catalogue, use_fuzzy=False)
            os.replace(temporary, mo)
        except OSError as error:
            log.error("cannot compile %s (%s): the English pages will show Chinese", po, error)


@lru_cache(maxsize=None)
def script_messages(language: str) -> dict[str, str]:
    """The translations of the texts the phone's scripts show (`_()` in webapp/static/js), for /i18n/<lang>.js."""
    po = catalogue_path(language)
    if language == DEFAULT or not po.exists():
        return {}
    with po.open("rb") as source:
        catalogue = read_po(source)
    messages = {}
    for message in catalogue:
        if not message.id or not message.string or message.fuzzy:
            continue
        if any(path.endswith(".js") for path, _line in message.locations):
            messages[message.id] = message.string
    return messages


def init_app(app) -> None:
    compile_catalogues()
    babel.init_app(
        app,
        default_locale=DEFAULT,
        default_translation_directories=str(TRANSLATIONS),
        locale_selector=select_language,
    )
    app.jinja_env.globals.update(html_lang=html_lang, current_language=current_language, LANGUAGES=LANGUAGES)
