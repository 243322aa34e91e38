"""The application's own text in the language being written: a page's (the person's
choice, through Flask-Babel) or a report's (the language its assessment was completed in).

The message catalogues are in ``formsengine/web/translations`` (``make translations``).
Outside a web request (a report made from the command line) the language is the one
``using`` set, else English.
"""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Iterator
from functools import cache
from pathlib import Path

from babel.support import NullTranslations, Translations

LANGUAGES = ("en", "cy")
DEFAULT = "en"
TRANSLATIONS = Path(__file__).parent / "web" / "translations"

_using: contextvars.ContextVar[str | None] = contextvars.ContextVar("language", default=None)


def language() -> str:
    """The language text is being written in now."""
    chosen = _using.get()
    if chosen:
        return chosen
    try:
        from flask_babel import get_locale

        locale = get_locale()
    except (ImportError, RuntimeError):  # pragma: no cover - outside any application
        locale = None
    return str(locale.language) if locale is not None else DEFAULT


@cache
def translations(lang: str) -> NullTranslations:
    if lang == DEFAULT or lang not in LANGUAGES:
        return NullTranslations()
    return Translations.load(str(TRANSLATIONS), [lang], domain="messages")


def gettext(message: str, **values) -> str:
    text = translations(language()).gettext(message)
    return text % values if values else text


def ngettext(singular: str, plural: str, num: int, **values) -> str:
    text = translations(language()).ngettext(singular, plural, num)
    return text % {"num": num, **values}


@contextlib.contextmanager
def using(lang: str | None) -> Iterator[None]:
    """Write in ``lang`` (an assessment's language) inside the block: this module's text
    and, in a web request, Flask-Babel's."""
    lang = lang if lang in LANGUAGES else DEFAULT
    token = _using.set(lang)
    try:
        try:
            from flask import has_request_context
            from flask_babel import force_locale
        except ImportError:  # pragma: no cover
            has_request_context = None  # type: ignore[assignment]
        if has_request_context is not None and has_request_context():
            with force_locale(lang):
                yield
        else:
            yield
    finally:
        _using.reset(token)
