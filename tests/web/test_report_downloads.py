"""PDF downloads from the web application: team-checked, audited, opaque file names, not
stored by the browser, and real PDFs."""

from __future__ import annotations

import io
import re

from pypdf import PdfReader

from formsengine.store import inspection as look

from .conftest import complete, create_case, login, start_assessment


def test_assessment_marac_and_case_pdfs(alice, store):
    case = create_case(alice)
    uid = start_assessment(alice, case)
    complete(alice, uid)
    page = alice.get(f"/assessments/{uid}/result").get_data(as_text=True)
    assert f"/assessments/{uid}/report.pdf" in page and f"/assessments/{uid}/marac.pdf" in page
    names = set()
    for path, kind in ((f"/assessments/{uid}/report.pdf", "assessment-report"),
                       (f"/assessments/{uid}/marac.pdf", "marac-summary"),
                       (f"/cases/{case}/progress.pdf", "case-report")):
        response = alice.get(path)
        assert response.status_code == 200, path
        assert response.mimetype == "application/pdf"
        assert "no-store" in response.headers["Cache-Control"]
        disposition = response.headers["Content-Disposition"]
        # the kind of report and a random part: nothing about the person or case
        assert re.fullmatch(rf'attachment; filename="{kind}-[0-9a-f]{{16}}\.pdf"', disposition)
        names.add(disposition)
        reader = PdfReader(io.BytesIO(response.data))
        assert len(reader.pages) >= 1
        meta = reader.metadata or {}
        assert "alice" not in str(meta).lower()
    assert len(names) == 3
    audited = look.rows(store, "audit", "actor", "details", action="pdf")
    assert len(audited) == 3 and {a["actor"] for a in audited} == {"alice"}


def test_other_team_gets_404_for_pdfs(app, alice, store):
    case = create_case(alice)
    uid = start_assessment(alice, case)
    complete(alice, uid)
    client = app.test_client()
    assert login(client, "bob").status_code == 302
    for path in (f"/assessments/{uid}/report.pdf", f"/assessments/{uid}/marac.pdf",
                 f"/cases/{case}/progress.pdf", "/assessments/unknown-id/report.pdf"):
        assert client.get(path).status_code == 404, path
    assert look.rows(store, "audit", "id", action="pdf") == []


def test_draft_has_no_pdf(alice):
    case = create_case(alice)
    uid = start_assessment(alice, case)
    assert alice.get(f"/assessments/{uid}/report.pdf").status_code == 404
