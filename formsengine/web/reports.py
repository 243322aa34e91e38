"""PDF downloads: an assessment report, a MARAC referral summary and a case progress report.

Access is checked as for the pages themselves (another team's ids give 404); each PDF is
audited by the report module; the file name says which kind of report it is and nothing
about the person or case (``marac-summary-<random>.pdf``); the response is not stored.
"""

from __future__ import annotations

from flask import Blueprint, Response, abort, g

from ..reports.names import opaque_filename
from . import access

bp = Blueprint("reports", __name__)


def _pdf_response(pdf: bytes, kind: str) -> Response:
    name = opaque_filename(kind)  # its kind and a random part: nothing about the person
    response = Response(pdf, mimetype="application/pdf")
    response.headers["Content-Disposition"] = f'attachment; filename="{name}"'
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/assessments/<uid>/report.pdf")
def assessment_pdf(uid: str):
    from ..reports import render_assessment_pdf

    row, _case = access.assessment_or_404(uid)
    if row["status"] == "draft":
        abort(404)
    return _pdf_response(render_assessment_pdf(
        access.store(), row["id"], actor=g.user["username"], request_id=g.request_id),
        "assessment")


@bp.get("/assessments/<uid>/marac.pdf")
def marac_pdf(uid: str):
    from ..reports import render_marac_pdf

    row, _case = access.assessment_or_404(uid)
    if row["status"] == "draft" or not (row.get("result") or {}).get("criteria_groups", {}).get(
            "marac"):
        abort(404)
    return _pdf_response(render_marac_pdf(
        access.store(), row["id"], actor=g.user["username"], request_id=g.request_id),
        "marac")


@bp.get("/cases/<uid>/progress.pdf")
def case_pdf(uid: str):
    from ..reports import render_case_pdf
    from . import i18n

    case = access.case_or_404(uid)
    return _pdf_response(render_case_pdf(  # in the language of the person asking for it
        access.store(), case["id"], actor=g.user["username"], request_id=g.request_id,
        language=i18n.chosen()), "case")
