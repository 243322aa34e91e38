"""MARAC criteria that cannot be decided are 'Not known', never 'Not met'; the details
section is not complete before it is opened; every page and PDF of a journey reads in plain
words (no identifiers, no raw timestamps)."""

from __future__ import annotations

import io
import re
from html.parser import HTMLParser

from pypdf import PdfReader

from formsengine.store import inspection as look

from .conftest import complete, create_case, finalise, save_section, start_assessment

# snake_case identifiers (yes_count, repeat_marac, dash_safelives) and raw ISO dates or times
SNAKE = re.compile(r"\b[a-z][a-z0-9]*(?:_[a-z0-9]+)+\b")
RAW_TIME = re.compile(r"\d{4}-\d{2}-\d{2}|\d{2}:\d{2}:\d{2}|T\d{2}:\d{2}")
# identifiers written out with spaces, and notes written for configurers
WORDS = re.compile(r"\b(?:yes|unanswered|not known) count\b|\((?:parameter|instrument) ")
# what is shown on purpose: a configuration's fingerprint (sha256:...) in the report's footer
ALLOWED = re.compile(r"sha256:[0-9a-f]+")


class _Text(HTMLParser):
    """The text a person sees or hears: no script, style or attribute values."""

    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag, attrs):
        if tag in ("script", "style", "template"):
            self._skip += 1

    def handle_endtag(self, tag):
        if tag in ("script", "style", "template") and self._skip:
            self._skip -= 1

    def handle_data(self, data):
        if not self._skip:
            self.parts.append(data)


def visible_text(page: str) -> str:
    parser = _Text()
    parser.feed(page)
    return " ".join(" ".join(parser.parts).split())


def pdf_text(data: bytes) -> str:
    return " ".join(" ".join(p.extract_text() or "" for p in PdfReader(io.BytesIO(data)).pages)
                    .split())


def problems(text: str) -> list[str]:
    text = ALLOWED.sub("", text)
    return SNAKE.findall(text) + RAW_TIME.findall(text) + WORDS.findall(text)


def _criterion(page: str, label_start: str) -> str:
    """The tag shown before the criterion whose label starts with ``label_start``."""
    found = re.search(r'<strong class="govuk-tag[^"]*">([^<]+)</strong> ' + re.escape(label_start),
                      page)
    assert found, label_start
    return found.group(1)


def test_details_are_not_complete_until_saved_and_offer_today(alice):
    uid = start_assessment(alice, create_case(alice))
    tasks = alice.get(f"/assessments/{uid}").get_data(as_text=True)
    details_status = re.search(r'id="task-1-status">(.*?)</div>', tasks, re.S).group(1)
    assert "Completed" not in details_status and "Not yet started" in details_status
    page = alice.get(f"/assessments/{uid}/sections/details").get_data(as_text=True)
    assert re.search(r'name="f-assessment_date-year"[^>]*value="20\d\d"', page)  # today
    save_section(alice, uid, "details", {"f-assessment_date": "2025-01-06"})
    tasks = alice.get(f"/assessments/{uid}").get_data(as_text=True)
    assert re.search(r'id="task-1-status">Completed</div>', tasks)


def test_a_criterion_without_its_information_is_not_known_not_met(alice, store):
    uid = start_assessment(alice, create_case(alice))
    # the number of incidents is left empty: potential escalation cannot be decided
    save_section(alice, uid, "details", {"f-assessment_date": "2025-01-06"})
    save_section(alice, uid, "now", {"q-t-injury": "no", "q-t-frightened": "no"})
    check = alice.get(f"/assessments/{uid}/check").get_data(as_text=True)
    assert _criterion(check, "Potential escalation") == "Not known"
    assert _criterion(check, "Visible high risk") == "Not met"
    # none met: the heading is not the instruction to refer
    assert '<h2 class="govuk-heading-m">MARAC referral criteria</h2>' in check
    assert '<h2 class="govuk-heading-m">MARAC referral</h2>' not in check
    assert "none met, 1 not known" in check
    finalise(alice, uid)
    row = look.first(store, "assessments", "id", uid=uid)
    result = store.get_assessment(row["id"])["result"]
    assert result["criteria_not_known"] == ["potential_escalation"]
    assert result["criteria"]["potential_escalation"] is False


def test_a_met_criterion_heads_the_result_with_the_referral(alice):
    uid = start_assessment(alice, create_case(alice))
    complete(alice, uid, details={"f-assessment_date": "2025-01-06", "f-incidents_12m": "3"})
    page = alice.get(f"/assessments/{uid}/result").get_data(as_text=True)
    assert _criterion(page, "Potential escalation") == "Met"
    assert '<h2 class="govuk-heading-m">MARAC referral</h2>' in page
    # the level and the decision come before any list of answers or criteria
    assert page.index("Risk level: High") < page.index("MARAC referral</strong>: ") < page.index(
        "app-criteria")


def test_every_page_and_pdf_of_a_journey_reads_in_plain_words(alice):
    case = create_case(alice)
    uid = start_assessment(alice, case)
    paths = ["/cases", f"/cases/{case}", f"/assessments/{uid}",
             f"/assessments/{uid}/sections/details"]
    save_section(alice, uid, "details", {"f-assessment_date": "2025-01-06",
                                         "f-incidents_12m": "1"})
    save_section(alice, uid, "now", {"q-t-injury": "yes", "q-t-injury-detail": "cut",
                                     "q-t-frightened": "yes", "q-t-fears": ["killed"]})
    paths += [f"/assessments/{uid}", f"/assessments/{uid}/sections/now",
              f"/assessments/{uid}/sections/history", f"/assessments/{uid}/check"]
    seen = {p: alice.get(p).get_data(as_text=True) for p in paths}
    finalise(alice, uid, {"level": "high", "reason": "Escalating since the separation"})
    for p in (f"/assessments/{uid}/result", f"/cases/{case}", f"/assessments/{uid}/amend"):
        seen[p + " (final)"] = alice.get(p).get_data(as_text=True)
    found = {p: problems(visible_text(page)) for p, page in seen.items()}
    for pdf in (f"/assessments/{uid}/report.pdf", f"/assessments/{uid}/marac.pdf",
                f"/cases/{case}/progress.pdf"):
        response = alice.get(pdf)
        assert response.status_code == 200, pdf
        found[pdf] = problems(pdf_text(response.data))
    assert {p: f for p, f in found.items() if f} == {}
    # and the checks would find them
    assert problems("yes_count 3, finalised 2025-01-06T10:00:00.123456") == [
        "yes_count", "2025-01-06", "T10:00"]
    assert problems("So far: yes count 3 (instrument sdash)") == ["yes count", "(instrument "]
