"""Forms built from definitions; show-when without JavaScript; not-known answers; comments
and sources; wording packs; check answers; judgement; results; cases, schedule and change
over time."""

from __future__ import annotations

import datetime as dt
import re

from formsengine.occasions import declared
from formsengine.store import inspection as look
from formsengine.web import accounts, formbuild

from .conftest import (
    REV,
    complete,
    create_case,
    finalise,
    post,
    save_section,
    start_assessment,
)


def test_form_classes_are_built_from_the_definition(engine):
    inst = engine.instruments.get("test-risk")
    cls = formbuild.section_form(inst, "now", None)
    assert cls.__name__ == "Form_test_risk_1_0_now"
    assert formbuild.section_form(inst, "now", None) is cls  # cached
    names = {name for name in dir(cls) if name.startswith(("q-", "c-", "s-"))}
    assert names == {"q-t-injury", "q-t-injury-detail", "q-t-frightened", "q-t-fears",
                     "c-t-injury", "s-t-injury", "c-t-frightened"}


def test_not_known_answers_are_always_offered(alice):
    case = create_case(alice)
    uid = start_assessment(alice, case)
    page = alice.get(f"/assessments/{uid}/sections/now").get_data(as_text=True)
    for value in ("dont_know", "declined", "not_asked"):
        assert f'name="q-t-injury" type="radio" value="{value}"' in page
    assert 'class="govuk-radios__divider">or<' in page


def test_show_when_works_without_javascript(alice, store):
    case = create_case(alice)
    uid = start_assessment(alice, case)
    page = alice.get(f"/assessments/{uid}/sections/now").get_data(as_text=True)
    detail = page.split('id="question-q-t-injury-detail"')[1].split(">")[0]
    assert "hidden" in detail  # not shown until the injury question says yes
    response = save_section(alice, uid, "now", {"q-t-injury": "yes"})
    assert response.headers["Location"].endswith("/sections/now#main-content")
    page = alice.get(f"/assessments/{uid}/sections/now").get_data(as_text=True)
    assert "More questions are now shown" in page
    detail = page.split('id="question-q-t-injury-detail"')[1].split(">")[0]
    assert "hidden" not in detail
    response = save_section(alice, uid, "now", {"q-t-injury": "yes",
                                                "q-t-injury-detail": "bruising"})
    assert response.headers["Location"].endswith("/sections/history")
    # answering no would hide an answered question: the save asks instead of dropping it
    response = save_section(alice, uid, "now",
                            {"q-t-injury": "no", "q-t-injury-detail": "bruising"}, expect=400)
    page = response.get_data(as_text=True)
    assert 'href="#remove-hidden"' in page and 'name="remove_hidden"' in page
    assert "Answers to questions no longer asked" in page
    assert "bruising" in page  # what was typed is still on the page
    row = store.get_assessment(look.value(store, "assessments", "id"))
    assert row["answers"]["t.injury.detail"] == "bruising"  # nothing saved, nothing lost
    assert row["answers"]["t.injury"] == "yes"
    # choosing to remove it saves the rest and removes it
    save_section(alice, uid, "now", {"q-t-injury": "no", "q-t-injury-detail": "bruising",
                                     "remove_hidden": "yes"})
    row = store.get_assessment(look.value(store, "assessments", "id"))
    assert "t.injury.detail" not in row["answers"] and row["answers"]["t.injury"] == "no"
    # with the question answered back, the answer is kept as usual
    save_section(alice, uid, "now", {"q-t-injury": "yes", "q-t-injury-detail": "cut"},
                 expect=302)


def test_comments_and_sources_are_saved(alice, store):
    case = create_case(alice)
    uid = start_assessment(alice, case)
    save_section(alice, uid, "now", {"q-t-injury": "dont_know", "c-t-injury": "unclear",
                                     "s-t-injury": "police report"})
    row = store.get_assessment(look.value(store, "assessments", "id"))
    assert row["answers"]["t.injury"] == "dont_know"
    assert row["comments"]["t.injury"] == "unclear"
    assert row["sources"]["t.injury"] == "police report"
    check = alice.get(f"/assessments/{uid}/check").get_data(as_text=True)
    assert "Comment: unclear" in check and "Source: police report" in check


def test_task_list_shows_section_status(alice):
    case = create_case(alice)
    uid = start_assessment(alice, case)
    page = alice.get(f"/assessments/{uid}").get_data(as_text=True)
    assert "govuk-task-list" in page and "Not yet started" in page
    save_section(alice, uid, "now", {"q-t-injury": "no"})
    page = alice.get(f"/assessments/{uid}").get_data(as_text=True)
    assert "In progress" in page
    save_section(alice, uid, "now", {"q-t-injury": "no", "q-t-frightened": "no"})
    assert "Completed" in alice.get(f"/assessments/{uid}").get_data(as_text=True)


def test_result_shows_level_criteria_and_flags(alice):
    case = create_case(alice)
    uid = start_assessment(alice, case)
    complete(alice, uid)
    page = alice.get(f"/assessments/{uid}/result").get_data(as_text=True)
    assert "Risk level: High" in page
    assert "Critical risk factors present" in page
    assert "Strangulation or choking" in page and "Serious whatever the total score." in page
    assert "MARAC referral</h2>" in page and "Criteria met: 1 of 3" in page
    assert page.count("app-criterion--met") == 1 and page.count("app-criterion--not-met") == 2
    assert "Exit this page" in page


def test_judgement_raises_only_and_needs_a_reason(alice, store):
    case = create_case(alice)
    uid = start_assessment(alice, case)
    save_section(alice, uid, "details", {"f-assessment_date": "2025-01-06"})
    save_section(alice, uid, "now", {"q-t-injury": "yes", "q-t-frightened": "no"})
    check = alice.get(f"/assessments/{uid}/check").get_data(as_text=True)
    assert '<option value="none"' not in check and '<option value="high"' in check
    # refused on the page itself, with what was typed kept and nothing stored, whichever
    # button was pressed
    for action in ("save", "finalise"):
        for data, message, kept in (
                ({"level": "none", "reason": "kept words"}, "can only raise", "kept words"),
                ({"level": "high", "reason": " "}, "Give the reason for raising the level",
                 '<option value="high" selected>'),
                ({"level": "", "reason": "typed but no level"}, "Choose the level to raise",
                 "typed but no level</textarea>"),
                ({"level": "high", "reason": "x" * 5001},
                 "The reason must be 5000 characters or fewer", "x" * 5001)):
            response = finalise(alice, uid, {**data, "action": action})
            assert response.status_code == 400
            page = response.get_data(as_text=True)
            assert message in page and kept in page and "<title>Error: Check your answers" in page
            assert 'class="govuk-error-summary"' in page
            row = look.first(store, "assessments", "judgement", "status")
            assert row == {"judgement": None, "status": "draft"}
    finalise(alice, uid, {"level": "high", "reason": "Recent escalation reported by police",
                          "action": "save"})
    finalise(alice, uid)  # the saved judgement fills the form: finalised with it
    result = store.get_assessment(look.value(store, "assessments", "id"))["result"]
    assert result["level"]["computed"] == "standard"
    assert result["level"]["judged"] == "high" and result["level"]["final"] == "high"
    assert result["criteria"]["professional_judgement"] is True
    page = alice.get(f"/assessments/{uid}/result").get_data(as_text=True)
    assert "Recent escalation reported by police" in page


def test_a_judgement_typed_and_finalised_is_finalised_with_the_assessment(alice, store):
    case = create_case(alice)
    uid = start_assessment(alice, case)
    save_section(alice, uid, "details", {"f-assessment_date": "2025-01-06",
                                         "f-incidents_12m": "1"})
    save_section(alice, uid, "now", {"q-t-injury": "yes", "q-t-frightened": "no"})
    response = finalise(alice, uid, {"level": "high", "reason": "Disclosed threats today"})
    assert response.status_code == 302 and response.headers["Location"].endswith("/result")
    row = store.get_assessment(look.value(store, "assessments", "id"))
    assert row["status"] == "final"
    assert row["judgement"]["level"] == "high"
    assert row["judgement"]["reason"] == "Disclosed threats today"
    assert row["result"]["level"]["final"] == "high"
    page = alice.get(f"/assessments/{uid}/result").get_data(as_text=True)
    assert "Disclosed threats today" in page and "None recorded" not in page
    lock = look.first(store, "audit", "details", action="lock")
    assert '"to": "high"' in lock["details"] and "Disclosed" not in lock["details"]


def test_a_saved_judgement_can_be_cleared_before_finalising(alice, store):
    case = create_case(alice)
    uid = start_assessment(alice, case)
    save_section(alice, uid, "details", {"f-assessment_date": "2025-01-06",
                                         "f-incidents_12m": "1"})
    save_section(alice, uid, "now", {"q-t-injury": "yes", "q-t-frightened": "no"})
    finalise(alice, uid, {"level": "high", "reason": "At first", "action": "save"})
    response = finalise(alice, uid, {"level": "", "reason": ""})
    assert response.status_code == 302
    row = store.get_assessment(look.value(store, "assessments", "id"))
    assert row["judgement"] is None and row["result"]["level"]["final"] == "standard"


def test_a_saved_judgement_is_shown_when_the_check_page_is_opened_again(alice, store):
    case = create_case(alice)
    uid = start_assessment(alice, case)
    save_section(alice, uid, "now", {"q-t-injury": "yes", "q-t-frightened": "no"})
    response = finalise(alice, uid, {"level": "high", "action": "save",
                                     "reason": "Police report <b>escalation</b>"})
    assert response.status_code == 302 and response.headers["Location"].endswith("/check")
    page = alice.get(f"/assessments/{uid}/check").get_data(as_text=True)
    assert "Professional judgement saved. The assessment is not finalised yet." in page
    assert '<option value="high" selected>' in page
    assert "Police report &lt;b&gt;escalation&lt;/b&gt;</textarea>" in page
    assert look.value(store, "assessments", "status") == "draft"
    update = look.rows(store, "audit", "details", action="update")[-1]
    assert '"to": "high"' in update["details"]


def test_wording_pack_is_shown_and_recorded(tmp_path, store, alice, app):
    pack = {"id": "test-pack", "version": "1.0", "instrument": "test-risk", "language": "en-GB",
            "licence": "test", "holder": "test",
            "items": {"t.injury": {"label": "Licensed wording for the injury question",
                                   "options": {"yes": "Yes, injured"}}}}
    engine = app.extensions["formsengine_engine"]
    if engine.wording.get("test-pack@1.0") is None:
        engine.wording.add(pack, plugin="tests", instruments=engine.instruments)
    accounts.set_setting(store, "wording", {"test-risk": "test-pack@1.0"}, actor="test")
    case = create_case(alice)
    uid = start_assessment(alice, case)
    page = alice.get(f"/assessments/{uid}/sections/now").get_data(as_text=True)
    assert "Licensed wording for the injury question" in page and "Yes, injured" in page
    complete(alice, uid)
    row = look.first(store, "assessments", "wording", uid=uid)
    assert row["wording"] == "test-pack@1.0"
    assert "test-pack@1.0" in alice.get(f"/assessments/{uid}/result").get_data(as_text=True)
    accounts.set_setting(store, "wording", {}, actor="test")


def test_due_dates_from_open_date_and_occasion():
    review, intake, week, incident = declared(
        {"occasions": ["review_3m", "intake", "week_12", "after_incident"]})
    assert review.due_date("2025-01-31") == dt.date(2025, 4, 30)
    assert intake.due_date("2025-01-06") == dt.date(2025, 1, 6)
    assert week.due_date("2025-01-06") == dt.date(2025, 3, 31)
    assert incident.due_date("2025-01-06") is None


def test_due_and_overdue_views(app, alice, store):
    old = create_case(alice, opened_on="2024-01-01")
    soon = (dt.date.today() - dt.timedelta(days=85)).isoformat()
    create_case(alice, opened_on=soon)
    page = alice.get("/due").get_data(as_text=True)
    assert page.count("Overdue") >= 3 and "Due soon" in page
    # completing the intake takes it off the list
    uid = start_assessment(alice, old)
    complete(alice, uid)
    ref = look.value(store, "cases", "ref", uid=old)
    page = alice.get("/due").get_data(as_text=True)
    assert page.count(ref) == 2  # the 3-month review and the closure remain
    from .conftest import login

    sue = app.test_client()
    login(sue, "sue")
    assert "Nothing is due" in sue.get("/due").get_data(as_text=True)  # none assigned to sue
    assert ref in sue.get("/due?scope=team").get_data(as_text=True)


def test_case_list_shows_references_never_names(alice, store):
    case = create_case(alice, vs_name="Qz-Plantedlist")  # (two letters could turn up by
    ref = look.value(store, "cases", "ref", uid=case)   # chance in a random token)
    page = alice.get("/").get_data(as_text=True)
    assert ref in page and "Qz-Plantedlist" not in page
    assert "Qz-Plantedlist" in alice.get(f"/cases/{case}").get_data(as_text=True)


def test_change_over_time_table_and_chart(alice, store):
    case = create_case(alice)
    intake = start_assessment(alice, case, "intake")
    complete(alice, intake)
    review = start_assessment(alice, case, "review_3m")
    complete(alice, review, now={"q-t-injury": "no", "q-t-frightened": "yes"},
             history={"q-t-strangle": "no", "q-t-threat_kill": "no", "q-t-worse": "no"})
    page = alice.get(f"/cases/{case}").get_data(as_text=True)
    assert "Change over time: Test risk checklist" in page
    svg = page.split("<svg")[1].split("</svg>")[0]
    assert 'role="img"' in svg and "<title" in svg and "<desc" in svg
    assert svg.count('stroke-dasharray="6 4"') == 3  # cut-offs at 1, 3 and 4
    assert "High from 4" in svg and "Medium from 3" in svg
    assert "Intake: 5; Review at 3 months: 1" in svg
    table = page.split("Test risk checklist at each occasion")[1].split("</table>")[0]
    assert ">5<" in table and ">1<" in table and "-4" in table
    assert "Risk level: fell to Standard at Review at 3 months (from High at Intake)" in page


def test_a_schedule_is_listed_in_the_order_it_falls_due(engine):
    from formsengine.web.schedule import case_schedule

    case = {"opened_on": "2025-01-06", "instruments": ["test-risk", "not-installed"]}
    rows = case_schedule(engine, case, {("test-risk", "intake")}, dt.date(2025, 3, 25))
    assert [r["occasion"] for r in rows] == ["intake", "review_3m", "closure"]
    assert [r["status"] for r in rows] == ["done", "due", "upcoming"]
    assert [r["due"] for r in rows] == [dt.date(2025, 1, 6), dt.date(2025, 4, 6),
                                        dt.date(2025, 11, 6)]
    # an intake of another instrument, or after a new incident, is not this entry
    rows = case_schedule(engine, case, {("other", "intake"), ("test-risk", "after_incident")},
                         dt.date(2025, 3, 25))
    assert rows[0]["status"] == "overdue"


def test_a_section_page_is_titled_with_its_section_and_place(alice):
    case = create_case(alice)
    uid = start_assessment(alice, case)
    for section, title, number in (("details", "Assessment details", 1),
                                   ("now", "The current situation", 2),
                                   ("history", "History of abuse", 3)):
        page = alice.get(f"/assessments/{uid}/sections/{section}").get_data(as_text=True)
        assert f"<title>{title} (Section {number} of 3) – formsengine</title>" in page
        assert f'<h1 class="govuk-heading-l">{title}</h1>' in page
        assert f"Section {number} of 3, Test risk checklist" in page
    assert "Assessment section" not in page


def test_change_on_check_answers_returns_there_after_saving(alice, store):
    case = create_case(alice)
    uid = start_assessment(alice, case)
    save_section(alice, uid, "now", {"q-t-injury": "no", "q-t-frightened": "no"})
    check = alice.get(f"/assessments/{uid}/check").get_data(as_text=True)
    hidden = re.findall(r'>Change<span class="govuk-visually-hidden"> ([^<]+)</span>', check)
    assert len(hidden) == len(set(hidden)) >= 8  # one per row, each naming its question
    assert "The latest incident caused an injury" in hidden
    link = re.search(r'href="([^"]+)">Change<span class="govuk-visually-hidden"> The latest '
                     r'incident caused an injury<', check).group(1).replace("&amp;", "&")
    assert link.endswith("/sections/now?back=check#question-q-t-injury")
    page = alice.get(link.split("#")[0]).get_data(as_text=True)
    assert "Back to check your answers" in page
    assert "Save and return to check your answers" in page
    revision = REV.search(page).group(1)
    # a newly shown question keeps the way back; then saving returns to check answers
    response = post(alice, link.split("#")[0], {"revision": revision, "back": "check",
                                                "q-t-injury": "yes", "q-t-frightened": "no"},
                    token_from=f"/assessments/{uid}/check")
    assert response.headers["Location"].endswith("/sections/now?back=check#main-content")
    page = alice.get(response.headers["Location"]).get_data(as_text=True)
    response = post(alice, f"/assessments/{uid}/sections/now",
                    {"revision": REV.search(page).group(1), "back": "check",
                     "q-t-injury": "yes", "q-t-frightened": "no"},
                    token_from=f"/assessments/{uid}/check")
    assert response.status_code == 302 and response.headers["Location"].endswith("/check")
    # only the check page is a way back: anything else goes on to the next section
    page = alice.get(f"/assessments/{uid}/sections/now").get_data(as_text=True)
    response = post(alice, f"/assessments/{uid}/sections/now",
                    {"revision": REV.search(page).group(1), "back": "https://example.org",
                     "q-t-injury": "yes", "q-t-frightened": "no"},
                    token_from=f"/assessments/{uid}/check")
    assert response.headers["Location"].endswith("/sections/history")
