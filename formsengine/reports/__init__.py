"""PDF reports: an assessment report, a MARAC referral summary and a case progress report.

Each ``render_*_pdf(store, id)`` returns the PDF bytes and writes one audit row (action
``pdf``). Ids are the database ids; the command line and the web application look them up
from the opaque ``uid`` first. The PDF title is generic and no names are written to the PDF
metadata; file names come from ``opaque_filename``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .names import opaque_filename

if TYPE_CHECKING:
    from ..store import Store

# The package is imported with its command-line plugin (formsengine.reports.plugin) by every
# command; Jinja2, MarkupSafe and the report contexts are loaded only when a report is made.

__all__ = ["render_assessment_pdf", "render_marac_pdf", "render_case_pdf",
           "render_assessment_html", "render_marac_html", "render_case_html",
           "opaque_filename"]

TITLES = {"assessment": "Assessment report", "marac": "MARAC referral summary",
          "case": "Case progress report"}


def plugin_sections(store: Store, kind: str, context: dict[str, Any]) -> list[dict[str, Any]]:
    """Sections from the ``report_sections`` hook. The hook's contract makes each plugin
    responsible for escaping its HTML; titles are escaped here."""
    from markupsafe import Markup

    sections = []
    for found in store.engine.pm.hook.report_sections(kind=kind, context=context):
        for section in found or []:
            sections.append({"title": str(section["title"]),
                             # the hook's contract: the plugin escapes its own HTML
                             "html": Markup(section["html"])})  # nosec B704
    return sections


def _html(store: Store, kind: str, context: dict[str, Any]) -> str:
    import datetime as dt

    from .. import __version__
    from ..dates import time_text
    from ..i18n import gettext
    from .templating import render

    produced = time_text(dt.datetime.now(dt.UTC))
    return render(f"{kind}.html", doc_title=gettext(TITLES[kind]), produced=produced,
                  version=__version__, plugin_sections=plugin_sections(store, kind, context),
                  **context)


def _pdf(store: Store, kind: str, object_type: str, object_id: int, html: str, actor: str,
         request_id: str | None) -> bytes:
    from .pdf import html_to_pdf  # WeasyPrint is loaded only when a PDF is made

    pdf = html_to_pdf(html)
    store.audit("pdf", actor=actor, object_type=object_type, object_id=object_id,
                request_id=request_id, details={"report": kind, "bytes": len(pdf)})
    return pdf


def _in_language_of(store: Store, assessment_id: int):
    """An assessment's reports are written in the language it was completed in."""
    from ..i18n import using

    row = store.get_assessment(assessment_id)
    return using((row or {}).get("language"))


def render_assessment_html(store: Store, assessment_id: int) -> str:
    from .context import assessment_context

    with _in_language_of(store, assessment_id):
        return _html(store, "assessment", assessment_context(store, assessment_id))


def render_marac_html(store: Store, assessment_id: int) -> str:
    from .context import marac_context

    with _in_language_of(store, assessment_id):
        return _html(store, "marac", marac_context(store, assessment_id))


def render_case_html(store: Store, case_id: int, *, language: str | None = None) -> str:
    """A case's progress report in the language of whoever asks for it: ``language``, else
    the language being written (a web page's reader's), with the instruments' headings from
    a wording pack in that language where one is installed."""
    import contextlib

    from ..i18n import using
    from .context import case_context

    with using(language) if language else contextlib.nullcontext():
        return _html(store, "case", case_context(store, case_id))


def render_assessment_pdf(store: Store, assessment_id: int, *, actor: str = "system",
                          request_id: str | None = None) -> bytes:
    return _pdf(store, "assessment", "assessment", assessment_id,
                render_assessment_html(store, assessment_id), actor, request_id)


def render_marac_pdf(store: Store, assessment_id: int, *, actor: str = "system",
                     request_id: str | None = None) -> bytes:
    return _pdf(store, "marac", "assessment", assessment_id,
                render_marac_html(store, assessment_id), actor, request_id)


def render_case_pdf(store: Store, case_id: int, *, actor: str = "system",
                    request_id: str | None = None, language: str | None = None) -> bytes:
    return _pdf(store, "case", "case", case_id,
                render_case_html(store, case_id, language=language), actor, request_id)
