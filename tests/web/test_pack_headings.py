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


def to_language(client, lang: str, path: str = "/") -> None:
    from .test_welsh import TOKEN

    page = client.get(path).get_data(as_text=True)
    assert client.post("/language", data={"lang": lang, "next": path, "csrf_token":
                                          TOKEN.search(page).group(1)}).status_code == 303


# the case progress report's own words: (English, Welsh)
CASE_WORDS = [("Case progress report", "Adroddiad cynnydd achos"), ("People", "Pobl"),
              ("Occasion", "Achlysur"), ("Criteria met", "Meini prawf wedi’u bodloni"),
              ("Shaded bands show where each band starts",
               "Mae’r bandiau lliw yn dangos lle mae pob band yn dechrau")]


def test_the_case_progress_pdf_is_in_the_language_of_the_person_asking(client, store):
    """The case report follows its reader (a case holds assessments completed in either
    language): its own words from the catalogue, the instrument's headings and occasions
    from the wording pack in the reader's language, its flags by the pack's names."""
    case, uid = _intake(client, store, "cy")
    assert finalise(client, uid).status_code == 302
    welsh = pdf_text(client.get(f"/cases/{case}/progress.pdf").data)
    _has(welsh, [TITLE, FLAG, *CASE_WORDS], 1)
    assert "Derbyn" in welsh and "intake" not in welsh
    assert "(ar agor, agorwyd " in welsh and "opened" not in welsh
    assert "Flags" not in welsh and "not known" not in welsh

    to_language(client, "en", f"/cases/{case}")
    english = pdf_text(client.get(f"/cases/{case}/progress.pdf").data)
    _has(english, [TITLE, FLAG, *CASE_WORDS], 0)
    assert "(open, opened " in english and "Flags" in english


@pytest.mark.parametrize("language,physical,sexual,yes,no", [
    ("cy", "Wedi profi cam-drin corfforol (mae’r camdriniwr yn ei ddefnyddio)",
     "Wedi profi cam-drin rhywiol (mae’r camdriniwr yn ei ddefnyddio)", "Ydy", "Nac ydy"),
    ("en", "Physical abuse experienced (the abuser is using it)",
     "Sexual abuse experienced (the abuser is using it)", "Yes", "No")])
def test_indicator_scores_are_yes_or_no_in_the_pdf_as_on_the_result(
        client, store, language, physical, sexual, yes, no):
    """A score that is true or false (an indicator) reads in the PDF as the result page
    shows it: yes or no in the report's language, never True or False."""
    _case, uid = _intake(client, store, language)
    assert finalise(client, uid).status_code == 302
    result = text_of(client.get(f"/assessments/{uid}/result").get_data(as_text=True))
    assert f"{physical} {yes}" in result and f"{sexual} {no}" in result
    text = pdf_text(client.get(f"/assessments/{uid}/report.pdf").data)
    assert f"{physical} {yes}" in text and f"{sexual} {no}" in text
    assert "True" not in text and "False" not in text


@pytest.mark.parametrize("language,name", [("cy", "Galwad ddilynol"),
                                           ("en", "Follow-up call")])
def test_an_occasion_the_definition_declares_is_named_by_the_pack(client, store, language,
                                                                    name):
    """An occasion with the definition's own label (no catalogue message names it) reads in
    the wording pack's words: on the start form, the task list, the result, the case page,
    the assessment report and the case report; in English, by the definition's label."""
    other = "Follow-up call" if language == "cy" else "Galwad ddilynol"
    make_user(store, "alice")
    if language == "cy":
        to_welsh(client)
    assert login(client, "alice").status_code == 302
    case = create_case(client, instruments=["example-grid"])
    page = text_of(client.get(f"/cases/{case}").get_data(as_text=True))
    assert name in page and other not in page  # the start form's choice of occasion
    uid = start_assessment(client, case, occasion="follow_up", instrument="example-grid")
    tasks = text_of(client.get(f"/assessments/{uid}").get_data(as_text=True))
    assert name in tasks and other not in tasks
    save_section(client, uid, "details", {"f-assessment_date": "2025-01-06"})
    save_section(client, uid, "feelings", {"q-ex-contact": "no", "q-ex-on_edge": "never",
                                           "q-ex-sleep": "never", "q-ex-watched": "never",
                                           "q-ex-afraid": "never"})
    assert finalise(client, uid).status_code == 302
    for path in (f"/assessments/{uid}/result", f"/cases/{case}"):
        text = text_of(client.get(path).get_data(as_text=True))
        assert name in text and other not in text, path
    for path in (f"/assessments/{uid}/report.pdf", f"/cases/{case}/progress.pdf"):
        text = pdf_text(client.get(path).data)
        assert name in text and other not in text, path


def test_a_sections_calculated_values_are_named_by_the_packs_score_labels(app):
    """The values a section shows while it is completed are named by the pack's ``scores``
    label for their score; where the pack names none, by the entry's own label."""
    from formsengine.web import results
    from formsengine.wording import WordingRegistry

    engine = app.extensions["formsengine_engine"]
    inst = engine.instruments.get("example-calculated")
    pack = WordingRegistry().add(
        {"id": "calculated-cy", "version": "1.0", "instrument": "example-calculated",
         "language": "cy", "licence": "test", "holder": "test",
         "items": {"ex.worry_home": {"label": "Pa mor aml ydych chi’n poeni am fod gartref?"}},
         "scores": {"worry_total": {"label": "Cyfanswm y pryderon"},
                    "child_age": {"label": "Oed y plentyn ieuengaf"}}},
        plugin="test", instruments=engine.instruments)
    with app.test_request_context():
        shown = results.calculated(inst, {"scores": {"worry_total": 3}}, pack)
        plain = results.calculated(inst, {"scores": {"worry_total": 3}}, None)
    assert [e["label"] for e in shown["child"]] == ["Oed y plentyn ieuengaf"]
    assert [e["label"] for e in shown["worries"]] == ["Cyfanswm y pryderon",
                                                      "Age of the person assessed"]
    assert [e["label"] for e in plain["child"]] == ["Age of the youngest child, in whole years"]
