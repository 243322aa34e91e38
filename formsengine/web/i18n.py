"""The application's own text in English and Welsh.

Each person chooses the language of the pages (the switch in the header); the choice is
kept in their session, survives signing out and in again on the same browser, and is never
put in a web address. The text comes from the message catalogues in ``translations/``
(``make translations`` extracts, updates and compiles them; the compiled ``.mo`` files are
kept in the repository and a test checks they match their ``.po``). An instrument's own
words follow the language its assessment was started in (``assessments.language``): a
wording pack in that language when one is installed, else the definition's words.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Flask, g, redirect, request, session, url_for
from flask_babel import Babel, force_locale, get_locale, get_translations
from flask_babel import lazy_gettext as _l

from .sessions import LANGUAGE_KEY, clear_session, safe_next

LANGUAGES = {"en": "English", "cy": "Cymraeg"}
DEFAULT = "en"
# the value of <html lang> for each language
HTML_LANG = {"en": "en-GB", "cy": "cy"}

bp = Blueprint("language", __name__)

# Words the application shows that come from its own tables rather than its pages (reasons
# for closing a case, the standard occasions, the usual risk levels): listed here so that
# the catalogue has them; ``tr`` looks any of them up when it is shown.
KNOWN_WORDS = (
    _l("Support completed"), _l("The person declined or ended support"),
    _l("Moved out of the area"), _l("Referred to another service"),
    _l("No contact could be made"), _l("Another reason"),
    _l("Intake"), _l("Assessment"), _l("Review at 3 months"), _l("Review at 6 months"),
    _l("Review at 9 months"), _l("Closure"), _l("Review"), _l("Exit"), _l("Week 12"),
    _l("Week 32"), _l("After a new incident"),
    _l("Met"), _l("Not met"),
    _l("Assessment report"), _l("MARAC referral summary"), _l("Case progress report"),
    _l("yes"), _l("no"),
    _l("Standard"), _l("Medium"), _l("High"), _l("Not known"), _l("Low"), _l("Very high"),
)


def translations() -> Any:
    """This request's catalogue, looked up once for each locale it is written in (a page of
    50 cases asks for some 1,300 messages; Flask-Babel finds the catalogue again at each,
    through about ten context look-ups, a fifth of the page's time). A forced locale
    (``force_locale``: a report in an assessment's language) is a locale of its own."""
    try:
        ns = g._flask_babel
        cached = ns.__dict__.get("fe_translations")
        if cached is not None and cached[0] is getattr(ns, "babel_locale", None):
            return cached[1]
    except (AttributeError, RuntimeError):  # before the first look-up; outside a request
        pass
    found = get_translations()
    try:
        ns = g._flask_babel
        ns.fe_translations = (getattr(ns, "babel_locale", None), found)
    except (AttributeError, RuntimeError):
        pass
    return found


def tr(text) -> str:
    """``text`` in the page's language when the catalogue has it, else unchanged (an
    instrument's or an organisation's own words)."""
    if text is None or text == "":
        return ""
    return translations().ugettext(str(text))


def level_text(value) -> str:
    """A stored risk level ("high", "not_known") as a word in the page's language."""
    if not value:
        return ""
    return tr(str(value).replace("_", " ").capitalize())


def chosen() -> str:
    """The language of this request's pages: the session's choice, else English."""
    lang = session.get(LANGUAGE_KEY) if _has_request() else None
    return lang if lang in LANGUAGES else DEFAULT


def _has_request() -> bool:
    from flask import has_request_context

    return has_request_context()


def current() -> str:
    """The language the text is being written in now (a forced locale included)."""
    locale = get_locale()
    return str(locale.language) if locale is not None else DEFAULT


@bp.post("/language")
def switch():
    """Keep the chosen language in the session and go back to the page it was chosen on."""
    lang = request.form.get("lang", "")
    if lang in LANGUAGES:
        session[LANGUAGE_KEY] = lang
    return redirect(safe_next(request.form.get("next"), url_for("cases.index")), code=303)


def init_app(app: Flask) -> None:
    Babel(app, locale_selector=chosen, default_translation_directories="translations")
    app.register_blueprint(bp)
    # the templates' _() and ngettext() through the catalogue found once per locale
    app.jinja_env.install_gettext_callables(  # type: ignore[attr-defined]
        gettext=lambda s: translations().ugettext(s),
        ngettext=lambda s, p, n: translations().ungettext(s, p, n),
        pgettext=lambda c, s: translations().upgettext(c, s),
        npgettext=lambda c, s, p, n: translations().unpgettext(c, s, p, n),
        newstyle=True)
    app.jinja_env.filters["tr"] = tr
    app.jinja_env.filters["level_text"] = level_text

    @app.context_processor
    def language_context():
        lang = current()
        return {"page_lang": lang, "html_lang": HTML_LANG.get(lang, lang),
                "languages": LANGUAGES}


__all__ = ["LANGUAGES", "chosen", "clear_session", "current", "force_locale", "init_app"]
