"""The practitioner journey in Welsh: the language switch (kept in the session, never in a
web address), every page of the journey with no English of the application's own left
on it, Welsh dates, and the catalogue complete and compiled."""

from __future__ import annotations

import html
import io
import json
import re
from pathlib import Path

import pytest
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po

from formsengine.dates import date_text
from formsengine.store import inspection as look

from .conftest import (
    DEFINITIONS,
    HIGH,
    HIGH2,
    REV,
    TOKEN,
    complete,
    create_case,
    csrf,
    finalise,
    login,
    post,
    save_section,
    start_assessment,
)

CATALOGUES = Path(__file__).resolve().parents[2] / "formsengine/web/translations"
PO = CATALOGUES / "cy/LC_MESSAGES/messages.po"
MO = CATALOGUES / "cy/LC_MESSAGES/messages.mo"


def _catalogue():
    with PO.open("rb") as f:
        return read_po(f)


def test_the_welsh_catalogue_is_complete():
    cat = _catalogue()
    messages = [m for m in cat if m.id]
    assert len(messages) > 300
    empty = [m.id for m in messages
             if not (all(m.string) if isinstance(m.string, tuple) else m.string)]
    fuzzy = [m.id for m in messages if m.fuzzy]
    assert empty == [] and fuzzy == []
    # and it keeps no messages the application no longer has (make translations drops them)
    assert list(cat.obsolete) == []
    # the placeholders a message fills are all in its Welsh
    for m in messages:
        ids = m.id if isinstance(m.id, tuple) else (m.id,)
        strings = m.string if isinstance(m.string, tuple) else (m.string,)
        wanted = set(re.findall(r"%\(\w+\)s", ids[-1]))
        for s in strings:
            assert set(re.findall(r"%\(\w+\)s", s)) == wanted, m.id


def test_the_compiled_catalogue_matches_its_source():
    """The .mo kept in the repository is the .po compiled (make translations)."""
    def messages(catalogue):
        return {_tuple(m.id): _tuple(m.string) for m in catalogue if m.id}

    with MO.open("rb") as f:
        compiled = read_mo(f)
    assert messages(compiled) == messages(_catalogue())
    assert compiled.plural_forms == _catalogue().plural_forms


def _tuple(value):
    return tuple(value) if isinstance(value, (list, tuple)) else value


def test_every_marked_string_is_in_the_catalogue():
    """No text marked for translation in the code or the templates is missing from the
    catalogue (run make translations after adding one)."""
    from babel.messages.extract import extract_from_dir

    root = Path(__file__).resolve().parents[2]
    method_map = [("formsengine/**.py", "python"),
                  ("formsengine/web/templates/**.html", "jinja2"),
                  ("formsengine/reports/templates/**.html", "jinja2")]
    keywords = {"_": None, "gettext": None, "ngettext": (1, 2), "_l": None,
                "lazy_gettext": None}
    found = set()
    for _file, _line, message, _comments, _context in extract_from_dir(
            str(root), method_map, keywords=keywords):
        found.add(message[0] if isinstance(message, tuple) else message)
    known = {m.id[0] if isinstance(m.id, tuple) else m.id for m in _catalogue() if m.id}
    assert found - known == set()


# -- the journey, page by page --------------------------------------------------------

def _words_of(definition) -> list[str]:
    """An instrument's own words (shown as the definition gives them when no Welsh wording
    pack is installed)."""
    out: list[str] = []

    def walk(node):
        if isinstance(node, dict):
            for key, value in node.items():
                if key in ("label", "title", "description", "explanation", "help") and \
                        isinstance(value, str):
                    out.append(value)
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(definition)
    return sorted(set(out), key=len, reverse=True)


INSTRUMENT_WORDS = _words_of(json.loads((DEFINITIONS / "test-risk.json").read_text()))
# not English: the service's name, abbreviations, and the people and teams of the tests
ALLOWED = {"formsengine", "marac", "pdf", "utc", "alice", "team", "test"}


def _english_words() -> set[str]:
    """The words of the application's English text that its Welsh never uses."""
    cat = _catalogue()
    english, welsh = set(), set()
    for m in cat:
        if not m.id:
            continue
        for text in (m.id if isinstance(m.id, tuple) else (m.id,)):
            english |= set(re.findall(r"[a-z]{3,}", re.sub(r"%\(\w+\)s", "", text.lower())))
        for text in (m.string if isinstance(m.string, tuple) else (m.string,)):
            welsh |= set(re.findall(r"[a-z]{3,}", re.sub(r"%\(\w+\)s", "", text.lower())))
    return english - welsh - ALLOWED


ENGLISH = _english_words()


def visible_text(page: str) -> str:
    """What a person sees or hears of a page: its text, its title, and the labels and
    messages kept in attributes for assistive technology and the page's script."""
    page = re.sub(r"(?s)<(script|style)\b.*?</\1>", " ", page)
    attrs = re.findall(r'(?:aria-label|data-partly|data-stale-text|label|alt|title)="([^"]*)"',
                       page)
    text = re.sub(r"<[^>]+>", " ", page)
    return html.unescape(" ".join([text, *attrs]))


def english_left(page: str, *extra: str) -> list[str]:
    text = visible_text(page)
    # (a label may be shown in lower case; the longest first, so that a pack named
    # "test-pack" goes whole before an instrument's "test" could leave "-pack" behind)
    for words in sorted({*INSTRUMENT_WORDS, *extra}, key=len, reverse=True):
        text = re.sub(re.escape(words), " ", text, flags=re.IGNORECASE)
    return sorted({w for w in re.findall(r"[A-Za-z’']+", text)
                   if w.lower() in ENGLISH})


def to_welsh(client, path="/sign-in"):
    page = client.get(path).get_data(as_text=True)
    response = client.post("/language", data={"lang": "cy", "next": path,
                                              "csrf_token": TOKEN.search(page).group(1)})
    assert response.status_code == 303
    assert response.headers["Location"] == path
    return response


@pytest.fixture
def welsh(client, users):
    to_welsh(client)
    assert login(client, "alice").status_code == 302
    return client


def _check(client, path, *extra, status=200):
    response = client.get(path)
    assert response.status_code == status, path
    page = response.get_data(as_text=True)
    assert '<html lang="cy"' in page, path
    assert english_left(page, *extra) == [], (path, english_left(page, *extra))
    return page


def test_the_switch_keeps_the_language_in_the_session_and_returns_to_the_page(client, users):
    page = client.get("/sign-in").get_data(as_text=True)
    assert '<html lang="en-GB"' in page and ">Sign in<" in page
    assert 'value="cy" lang="cy"' in page and ">Cymraeg<" in page
    to_welsh(client)
    page = client.get("/sign-in").get_data(as_text=True)
    assert '<html lang="cy"' in page and ">Mewngofnodi<" in page
    assert ">English<" in page and ">Cymraeg<" not in page
    # signing in and out keeps the choice; a web address never carries it
    assert login(client, "alice").status_code == 302
    page = client.get("/").get_data(as_text=True)
    assert ">Achosion<" in page
    response = post(client, "/sign-out", token_from="/")
    assert "lang" not in response.headers["Location"]
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert ">Rydych wedi allgofnodi<" in page
    # back to English
    response = client.post("/language", data={"lang": "en", "next": "/signed-out",
                                              "csrf_token": csrf(client, "/signed-out")})
    assert response.headers["Location"] == "/signed-out"
    assert ">You have signed out<" in client.get("/signed-out").get_data(as_text=True)


def test_the_switch_refuses_other_addresses_and_languages(client, users):
    token = csrf(client)
    response = client.post("/language", data={"lang": "fr", "next": "https://example.org/",
                                              "csrf_token": token})
    assert response.status_code == 303 and response.headers["Location"] == "/"
    assert '<html lang="en-GB"' in client.get("/sign-in").get_data(as_text=True)
    # and it needs the form's token, as every POST does
    assert client.post("/language", data={"lang": "cy"}).status_code == 400


def test_the_practitioner_journey_has_no_english_left_in_welsh(welsh, store):
    client = welsh
    for path in ("/", "/?show=mine", "/?show=all", "/caseload",
                 "/caseload?show=mine&sort=level", "/due", "/due?scope=team", "/cases/new"):
        _check(client, path)
    # a refused new case: the messages of its fields
    response = post(client, "/cases/new", {"opened_on-day": "31", "opened_on-month": "2",
                                           "opened_on-year": "2025"}, token_from="/cases/new")
    page = response.get_data(as_text=True)
    assert response.status_code == 400 and english_left(page) == []
    assert "Dewiswch am bwy mae’r achos" in page
    case = create_case(client)
    page = _check(client, f"/cases/{case}")
    assert "6 Ionawr 2025" in page  # the date the case was opened
    # search by practitioner: the page of cases found
    response = post(client, "/cases/search", {"reference": "alice"}, token_from="/")
    assert english_left(response.get_data(as_text=True)) == []
    uid = start_assessment(client, case)
    _check(client, f"/assessments/{uid}")
    for section in ("details", "now", "history"):
        _check(client, f"/assessments/{uid}/sections/{section}")
    # a refused answer on a section page
    page = client.get(f"/assessments/{uid}/sections/details").get_data(as_text=True)
    response = post(client, f"/assessments/{uid}/sections/details",
                    {"revision": REV.search(page).group(1), "f-assessment_date-day": "40",
                     "f-assessment_date-month": "1", "f-assessment_date-year": "2025"},
                    token_from=f"/assessments/{uid}/sections/details")
    page = response.get_data(as_text=True)
    assert response.status_code == 400 and english_left(page) == [], english_left(page)
    save_section(client, uid, "details", {"f-assessment_date": "2025-01-06",
                                          "f-incidents_12m": "1"})
    save_section(client, uid, "now", HIGH)
    _check(client, f"/assessments/{uid}")
    save_section(client, uid, "history", HIGH2)
    page = _check(client, f"/assessments/{uid}/check")
    assert "Gwirio eich atebion" in page
    assert finalise(client, uid).status_code == 302
    page = _check(client, f"/assessments/{uid}/result")
    assert "Lefel risg: Uchel" in page
    _check(client, f"/assessments/{uid}/amend")
    _check(client, f"/cases/{case}")
    _check(client, "/due")
    _check(client, "/caseload")
    _check(client, "/cases/no-such-case", status=404)
    # the account's pages: changing the password (refused, then done) and two-factor sign-in
    _check(client, "/account/password")
    response = post(client, "/account/password",
                    {"current": "wrong", "new": "aaaaaaaaaaaaaaaa", "confirm": "other"},
                    token_from="/account/password")
    page = response.get_data(as_text=True)
    assert response.status_code == 400 and english_left(page) == [], english_left(page)
    assert "Nid yw eich cyfrinair presennol yn gywir" in page
    page = _check(client, "/account/two-factor")
    assert "Gosod mewngofnodi dau gam" in page
    # signing out
    response = post(client, "/sign-out", token_from="/")
    _check(client, response.headers["Location"])
    _check(client, "/sign-in")


def test_the_change_over_time_is_told_in_welsh(welsh, store):
    """The sentences of the change over time on the case page, and in its PDF report, are in
    the page's language with the level and occasion names in Welsh."""
    from pypdf import PdfReader

    client = welsh
    case = create_case(client)
    complete(client, start_assessment(client, case, "intake"))
    review = start_assessment(client, case, "review_3m")
    complete(client, review, now={"q-t-injury": "no", "q-t-frightened": "yes"},
             history={"q-t-strangle": "no", "q-t-threat_kill": "no", "q-t-worse": "no"})
    page = _check(client, f"/cases/{case}")
    fell = "Lefel risg: wedi gostwng i “Safonol” adeg Adolygiad ar ôl 3 mis (o “Uchel” adeg Derbyn)"
    assert fell in html.unescape(page)
    assert "fell to" not in page and "review 3m" not in page
    response = client.get(f"/cases/{case}/progress.pdf")
    assert response.status_code == 200
    text = " ".join(" ".join(p.extract_text() for p in PdfReader(
        io.BytesIO(response.data)).pages).split())
    assert "Lefel risg: wedi gostwng i “Safonol”" in text and "fell to" not in text


def test_the_scorers_note_on_a_judgement_is_written_in_the_language_of_the_page(app):
    """The note a result shows when a stored judgement is not above the score's level: in
    Welsh on a Welsh page (or report), in English otherwise; a plugin's own note as it is."""
    from formsengine import plainwords
    from formsengine.i18n import using

    result = {"level": {"computed": "high", "judged": "medium", "final": "high"},
              "warnings": ["professional judgement 'medium' is below the score-based level "
                           "'high': judgement may raise the level but never lower it",
                           "assessment is incomplete: 1 item(s) unanswered",
                           "a note of a plugin's own"]}
    labels = {"high": "High", "medium": "Medium"}

    def label(value):
        from formsengine.i18n import gettext
        return gettext(labels[value])

    english = plainwords.warnings(result, label)
    assert english == [
        "The professional judgement (Medium) is not above the level from the score (High), so "
        "it does not change the level: judgement can raise the level, never lower it.",
        "A note of a plugin's own"]
    with using("cy"):
        welsh = plainwords.warnings(result, label)
    assert welsh[0] == ("Nid yw’r farn broffesiynol (Canolig) yn uwch na’r lefel o’r sgôr "
                        "(Uchel), felly nid yw’n newid y lefel: gall barn godi’r lefel, ond "
                        "byth ei gostwng.")
    assert welsh[1] == "A note of a plugin's own"
    # on a page: the person's chosen language
    with app.test_request_context("/"):
        from flask import session

        from formsengine.web.sessions import LANGUAGE_KEY

        session[LANGUAGE_KEY] = "cy"
        assert plainwords.warnings(result, label)[0] == welsh[0]


def _without_trail_data(page: str) -> str:
    """The audit page without what the trail recorded as it was recorded: each entry's
    action and its details' names and values (identifiers such as login_failed or
    instrument, and the values of the change)."""
    page = re.sub(r'(?s)<dl class="app-audit-details">.*?</dl>', " ", page)
    rows = re.findall(r'(?s)<tr class="govuk-table__row">\s*<td.*?</tr>', page)
    for row in rows:
        cells = re.findall(r"(?s)<td[^>]*>.*?</td>", row)
        page = page.replace(row, row.replace(cells[2], " "))
    return page


def test_the_administration_and_research_pages_have_no_english_left_in_welsh(app, users,
                                                                                store):
    """An administrator's and a researcher's pages in Welsh (JavaScript off: the pages as
    the server sends them), with refusals, confirmations and messages."""
    alice = app.test_client()
    login(alice, "alice")
    case = create_case(alice)
    complete(alice, start_assessment(alice, case))
    assert finalise(alice, start_assessment(alice, create_case(alice))).status_code in (
        302, 400)
    engine = app.extensions["formsengine_engine"]
    # the instruments' titles and any wording pack installed are the plugins' own words
    titles = [i.title for i in engine.instruments]
    titles += [str(getattr(p, k)) for p in engine.wording for k in ("holder", "licence", "id")]

    admin = app.test_client()
    to_welsh(admin)
    assert login(admin, "admin").status_code == 302
    page = _check(admin, "/admin/", *titles)
    assert "Gweinyddu" in page and "Trywydd archwilio" not in page  # (a link to it)
    assert "Gweld y trywydd archwilio" in page and "Ymarferydd" in page
    # a refused new account, then one added: its one-time password page
    response = post(admin, "/admin/users", {"username": "two words", "role": "owner"},
                    token_from="/admin/")
    page = response.get_data(as_text=True)
    assert response.status_code == 400 and english_left(page, *titles) == []
    assert "Dewiswch rôl o’r rhestr" in page
    response = post(admin, "/admin/users", {"username": "alice", "role": "practitioner"},
                    token_from="/admin/")
    assert "Mae’r enw defnyddiwr alice eisoes yn cael ei ddefnyddio" in response.get_data(
        as_text=True)
    response = post(admin, "/admin/users", {"username": "dora", "role": "practitioner"},
                    token_from="/admin/")
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and english_left(page) == [], english_left(page)
    assert "Cyfrinair untro" in page
    # the confirmations, the teams page and the messages after a change
    uid = look.value(store, "web_users", "uid", username="bob")
    page = _check(admin, f"/admin/users/{uid}/disable")
    assert "Analluogi cyfrif bob?" in html.unescape(page)
    _check(admin, f"/admin/users/{uid}/reset-password")
    _check(admin, f"/admin/users/{uid}/teams")
    response = post(admin, f"/admin/users/{uid}/disable", {"confirmed": "yes"},
                    token_from=f"/admin/users/{uid}/disable")
    page = _check(admin, response.headers["Location"], *titles)
    assert "Mae cyfrif bob wedi’i analluogi" in page
    response = post(admin, "/admin/settings", {"exit_url": "http://example.org"},
                    token_from="/admin/")
    page = response.get_data(as_text=True)
    assert response.status_code == 400 and english_left(page, *titles) == []
    assert "Rhaid i’r cyfeiriad gadael ddechrau gyda https://" in page
    # the audit trail: its entries, a filter and a refused one
    page = admin.get("/admin/audit").get_data(as_text=True)
    assert '<html lang="cy"' in page and "Asesiad o achos C-" in page
    assert english_left(_without_trail_data(page), *titles) == []
    response = post(admin, "/admin/audit", {"record": "C-NOSUCH"}, token_from="/admin/audit")
    page = response.get_data(as_text=True)
    assert response.status_code == 400 and english_left(page) == []
    assert "Nid oes achos gyda’r cyfeirnod hwnnw" in page
    ref = look.value(store, "cases", "ref", uid=case)
    response = post(admin, "/admin/audit", {"record": ref}, token_from="/admin/audit")
    assert english_left(_without_trail_data(response.get_data(as_text=True)), *titles) == []
    _check(admin, "/research", *titles)

    rita = app.test_client()
    to_welsh(rita)
    assert login(rita, "rita").status_code == 302
    page = _check(rita, "/research", *titles)
    assert "Pobl ag asesiad terfynol" in page and "llai na 5" in page and "Derbyn" in page


def test_an_english_word_of_the_application_left_on_a_page_is_found():
    """The check itself: a page with one untranslated string fails it."""
    assert english_left("<p>Mae’r achos hwn ar gau.</p>") == []
    assert english_left("<p>Mae’r achos hwn ar gau. Save and continue</p>") == [
        "Save", "and", "continue"]
    assert english_left('<button aria-label="Back to the case">x</button>') != []


def test_dates_are_written_in_welsh():
    assert date_text("2025-03-27", "cy") == "27 Mawrth 2025"
    assert date_text("2025-01-06", "en") == "6 January 2025"


# -- an assessment completed in Welsh ---------------------------------------------------

@pytest.fixture
def outcomes_app(tmp_path, request):
    """The application with the IDVA outcomes plugin, whose intake record has a Welsh
    wording pack."""
    import formsengine_outcomes

    from formsengine.config import Settings
    from formsengine.engine import Engine
    from formsengine.web import create_app

    from .conftest import FAST_HASH, web_test_database

    engine = Engine(Settings(definitions_dir=DEFINITIONS), load_entrypoints=False,
                    plugins=[formsengine_outcomes])
    app = create_app({"TESTING": True, "DATABASE": web_test_database(request, tmp_path),
                      "SECRET_KEY": "test-secret-key-that-is-long-enough-000",
                      "ENGINE": engine, "PASSWORD_HASH": FAST_HASH})
    yield app
    kept = getattr(app.extensions["formsengine_connections"], "store", None)
    if kept is not None:
        kept.close()


def _intake(client, store, language):
    from .conftest import make_user

    make_user(store, "alice")
    if language == "cy":
        to_welsh(client)
    assert login(client, "alice").status_code == 302
    case = create_case(client, instruments=["idva-intake"])
    uid = start_assessment(client, case, instrument="idva-intake")
    save_section(client, uid, "details", {"f-assessment_date": "2025-01-06"})
    save_section(client, uid, "abuse", {"q-idva-physical": "high", "q-idva-sexual": "none",
                                        "q-idva-harassment_stalking": "not_known",
                                        "q-idva-jealousy_control": "moderate"})
    return uid


def test_an_assessment_started_in_welsh_is_completed_and_reported_in_welsh(outcomes_app):
    from pypdf import PdfReader

    from formsengine.store import Store

    client = outcomes_app.test_client()
    store = Store.open(outcomes_app.config["DATABASE"], outcomes_app.extensions[
        "formsengine_engine"])
    try:
        uid = _intake(client, store, "cy")
        row = look.only(store, "assessments", "language", "wording", uid=uid)
        assert row == {"language": "cy", "wording": "idva-intake-cy@1.0"}
    finally:
        store.close()
    # the instrument's words from the Welsh pack, the application's in Welsh
    page = client.get(f"/assessments/{uid}/sections/abuse").get_data(as_text=True)
    assert "Cam-drin corfforol" in page and "Ddim yn gwybod" in page
    assert "Physical abuse" not in page
    page = client.get(f"/assessments/{uid}/check").get_data(as_text=True)
    assert "Cam-drin corfforol" in page and "Cymedrol" in page and "Gwirio eich atebion" in page
    assert finalise(client, uid).status_code == 302
    page = client.get(f"/assessments/{uid}/result").get_data(as_text=True)
    assert "Cam-drin corfforol" in page and "Uchel" in page
    # the PDF follows the assessment's language
    response = client.get(f"/assessments/{uid}/report.pdf")
    assert response.status_code == 200
    text = "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(response.data)).pages)
    text = " ".join(text.split())
    for welsh in ("Adroddiad asesiad", "Cam-drin corfforol", "Cwestiwn", "Ateb", "Aseswr",
                  "6 Ionawr 2025", "SWYDDOGOL-SENSITIF"):
        assert welsh in text, welsh
    for english in ("Assessment report", "Question", "Answer", "Assessor", "Page 1"):
        assert english not in text, english
    assert re.search(r"Tudalen 1 o \d", text)
    # and it does so whatever language the person reading it has chosen now
    client.post("/language", data={"lang": "en", "next": "/",
                                   "csrf_token": csrf(client, "/")})
    text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(
        client.get(f"/assessments/{uid}/report.pdf").data)).pages)
    assert "Adroddiad asesiad" in text and "Assessment report" not in text


def test_an_assessment_started_in_english_keeps_the_english_words(outcomes_app):
    from pypdf import PdfReader

    from formsengine.store import Store

    client = outcomes_app.test_client()
    store = Store.open(outcomes_app.config["DATABASE"], outcomes_app.extensions[
        "formsengine_engine"])
    try:
        uid = _intake(client, store, "en")
        row = look.only(store, "assessments", "language", "wording", uid=uid)
        assert row == {"language": "en", "wording": "paraphrase"}
    finally:
        store.close()
    assert finalise(client, uid).status_code == 302
    # a Welsh reader sees the page's own text in Welsh, the English record's words as given
    to_welsh(client, "/")
    page = client.get(f"/assessments/{uid}/result").get_data(as_text=True)
    assert "Physical abuse" in page and "Yn ôl i’r achos" in page
    text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(
        client.get(f"/assessments/{uid}/report.pdf").data)).pages)
    assert "Assessment report" in text and "Physical abuse" in text


def test_the_catalogue_found_once_a_request_follows_a_forced_locale(app):
    """The pages look the catalogue up once per locale of a request; a report written in an
    assessment's language (a forced locale) inside a Welsh request is in that language, and
    the page is Welsh again after it."""
    from flask import render_template_string, session

    from formsengine.web.i18n import force_locale, tr
    from formsengine.web.sessions import LANGUAGE_KEY

    page = ("{{ _('Intake') }} {{ 'Intake'|tr }} "
            "{{ ngettext('%(num)s minute', '%(num)s minutes', 2) }}")
    with app.test_request_context("/"):
        session[LANGUAGE_KEY] = "cy"
        welsh = render_template_string(page)
        assert welsh.startswith("Derbyn Derbyn") and "minute" not in welsh
        with force_locale("en"):
            assert render_template_string(page) == "Intake Intake 2 minutes"
            assert tr("Intake") == "Intake"
        assert render_template_string(page) == welsh and tr("Intake") == "Derbyn"
