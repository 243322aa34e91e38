"""An assessment completed with a Welsh wording pack shows the pack's headings, not only its
questions: the instrument's title, section titles, field labels, score and flag names and a
grid's question, on the task list, the section pages, check answers, the result, the PDF
report and the case page (without JavaScript). An English assessment of the same instrument
keeps the definition's words.

The instruments are formsengine-outcomes' ``idva-intake`` (its shipped Welsh pack
``idva-intake-cy``) and the documented grid example with its documented Welsh pack
(docs/examples/definitions)."""

from __future__ import annotations

import html
import io
import re
from pathlib import Path

import pytest

from formsengine.config import Settings
from formsengine.engine import Engine
from formsengine.store import inspection as look

from .conftest import create_case, finalise, login, make_user, save_section, start_assessment
from .test_welsh import to_welsh

EXAMPLES = Path(__file__).resolve().parents[2] / "docs" / "examples" / "definitions"

# the intake record's headings: (the definition's English, the Welsh pack's)
TITLE = ("IDVA outcomes at intake: abuse experienced",
         "Canlyniadau IDVA wrth dderbyn: y cam-drin a brofwyd")
SECTION = ("Abuse experienced", "Y cam-drin a brofwyd")
FIELD = ("Date of this record", "Dyddiad y cofnod hwn")
SCORE = ("Number of types experienced (of those known)",
         "Nifer y mathau a brofwyd (o’r rhai sy’n hysbys)")
HIGHEST = ("Highest severity across the four types", "Y difrifoldeb uchaf ar draws y pedwar math")
FLAG = ("High severity in at least one type", "Difrifoldeb uchel mewn o leiaf un math")


@pytest.fixture(scope="module")
def engine():
    """The documented examples with their Welsh grid pack, and the outcomes plugin."""
    import formsengine_outcomes

    return Engine(Settings(definitions_dir=EXAMPLES), load_entrypoints=False,
                  plugins=[formsengine_outcomes])


def text_of(page: str) -> str:
    """A page's text as read: tags dropped, entities decoded, spaces collapsed."""
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", page)).split())


def pdf_text(data: bytes) -> str:
    from pypdf import PdfReader

    return " ".join(" ".join(p.extract_text() for p in PdfReader(io.BytesIO(data)).pages)
                    .split())


def _start(client, store, language, instrument):
    make_user(store, "alice")
    if language == "cy":
        to_welsh(client)
    assert login(client, "alice").status_code == 302
    case = create_case(client, instruments=[instrument])
    return case, start_assessment(client, case, instrument=instrument)


def _intake(client, store, language):
    case, uid = _start(client, store, language, "idva-intake")
    save_section(client, uid, "details", {"f-assessment_date": "2025-01-06"})
    save_section(client, uid, "abuse", {"q-idva-physical": "high", "q-idva-sexual": "none",
                                        "q-idva-harassment_stalking": "standard",
                                        "q-idva-jealousy_control": "moderate"})
    return case, uid


def _has(text: str, pairs, index: int) -> None:
    """Every pair's word in ``index`` (0: English, 1: Welsh) is in the text, the other
    not."""
    for pair in pairs:
        assert pair[index] in text, pair[index]
        assert pair[1 - index] not in text, pair[1 - index]


def test_a_welsh_assessment_shows_the_packs_headings_everywhere(client, store):
    case, uid = _intake(client, store, "cy")
    assert look.only(store, "assessments", "wording", uid=uid) == {
        "wording": "idva-intake-cy@1.0"}

    tasks = text_of(client.get(f"/assessments/{uid}").get_data(as_text=True))
    _has(tasks, [TITLE, SECTION], 1)

    section = text_of(client.get(f"/assessments/{uid}/sections/abuse").get_data(as_text=True))
    _has(section, [TITLE, SECTION], 1)
    assert "Gradd yr IDVA ar gyfer pob math o gam-drin" in section  # its description
    details = text_of(client.get(f"/assessments/{uid}/sections/details").get_data(
        as_text=True))
    _has(details, [TITLE, FIELD], 1)

    check = text_of(client.get(f"/assessments/{uid}/check").get_data(as_text=True))
    _has(check, [TITLE, SECTION, FIELD, SCORE, HIGHEST, FLAG], 1)

    assert finalise(client, uid).status_code == 302
    result = text_of(client.get(f"/assessments/{uid}/result").get_data(as_text=True))
    _has(result, [TITLE, SECTION, FIELD, SCORE, HIGHEST, FLAG], 1)
    # the highest severity is an option of the items: shown by its label in the pack
    assert f"{HIGHEST[1]} Uchel" in result

    response = client.get(f"/assessments/{uid}/report.pdf")
    assert response.status_code == 200
    text = pdf_text(response.data)
    _has(text, [TITLE, SECTION, FIELD, SCORE, HIGHEST, FLAG], 1)
    assert f"{HIGHEST[1]} Uchel" in text

    # the case page is in its reader's words: the Welsh title for a Welsh reader
    page = text_of(client.get(f"/cases/{case}").get_data(as_text=True))
    _has(page, [TITLE], 1)


def test_an_english_assessment_keeps_the_definitions_headings(client, store):
    case, uid = _intake(client, store, "en")
    assert look.only(store, "assessments", "wording", uid=uid) == {"wording": "paraphrase"}
    _has(text_of(client.get(f"/assessments/{uid}").get_data(as_text=True)), [TITLE, SECTION],
         0)
    _has(text_of(client.get(f"/assessments/{uid}/check").get_data(as_text=True)),
         [TITLE, SECTION, FIELD, SCORE, FLAG], 0)
    assert finalise(client, uid).status_code == 302
    # whoever reads it later: the words it was completed with
    to_welsh(client, "/")
    result = text_of(client.get(f"/assessments/{uid}/result").get_data(as_text=True))
    _has(result, [TITLE, SECTION, FIELD, SCORE, FLAG], 0)
    assert f"{HIGHEST[0]} High" in result
    _has(pdf_text(client.get(f"/assessments/{uid}/report.pdf").data),
         [TITLE, SECTION, FIELD, SCORE, FLAG], 0)


def test_a_welsh_grid_shows_the_packs_grid_question(client, store):
    grid = ("In the last month, how often have you felt like this?",
            "Yn ystod y mis diwethaf, pa mor aml ydych chi wedi teimlo fel hyn?")
    hint = ("Choose one answer on each line.", "Dewiswch un ateb ar bob llinell.")
    title = ("Example: a Likert grid", "Enghraifft: grid Likert")
    section = ("How things have been", "Sut mae pethau wedi bod")
    _case, uid = _start(client, store, "cy", "example-grid")
    page = client.get(f"/assessments/{uid}/sections/feelings").get_data(as_text=True)
    legend = re.search(r'<legend class="govuk-fieldset__legend govuk-fieldset__legend--m">'
                       r'([^<]*)</legend>', page)
    assert legend and html.unescape(legend.group(1)) == grid[1]
    _has(text_of(page), [grid, hint, title, section], 1)
    assert "Cael fy ngwylio neu fy nilyn" in text_of(page)  # a row, as the pack words it
