"""Access control: sign-in required everywhere but sign-in, static and health; records
reached only through the user's teams (404 otherwise, audited); roles; extra posted fields
ignored; finalised assessments locked; stale edits refused without losing anything."""

from __future__ import annotations

import secrets

import pytest

from formsengine.store import inspection as look
from formsengine.store import new_uid

from .conftest import (
    HIGH,
    HIGH2,
    complete,
    create_case,
    finalise,
    login,
    post,
    save_section,
    start_assessment,
)

PUBLIC = {"static", "auth.login", "auth.totp", "auth.health", "auth.signed_out",
          "auth.quick_exit"}  # leaving works whether or not signed in


def _routes(app):
    for rule in app.url_map.iter_rules():
        args = {a: new_uid() for a in rule.arguments}
        if "filename" in args:
            args["filename"] = "app.css"
        yield rule, _build(app, rule, args)


def _build(app, rule, args):
    with app.test_request_context():
        from flask import url_for

        return url_for(rule.endpoint, **args)


def test_every_route_but_public_ones_requires_sign_in(app, client):
    checked = 0
    for rule, url in _routes(app):
        if rule.endpoint in PUBLIC:
            continue
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            response = client.open(url, method=method)
            # GET: sent to sign in. POST without a session: refused by CSRF or sent away.
            assert response.status_code in (302, 400), (rule, method, response.status_code)
            if response.status_code == 302:
                assert "/sign-in" in response.headers["Location"]
            checked += 1
    assert checked > 15


def test_public_routes(client):
    assert client.get("/health").get_json() == {"status": "ok", "database": "ok"}
    assert client.get("/sign-in").status_code == 200
    with client.get("/static/app.css") as response:
        assert response.status_code == 200


@pytest.fixture
def team_a_records(app, users):
    client = app.test_client()
    login(client, "alice")
    case = create_case(client)
    draft = start_assessment(client, case)
    final = start_assessment(client, case)
    complete(client, final)
    return {"case": case, "draft": draft, "final": final}


CASE_PATHS = ["/cases/{case}"]
ASSESSMENT_PATHS = ["/assessments/{a}", "/assessments/{a}/sections/details",
                    "/assessments/{a}/sections/now", "/assessments/{a}/check",
                    "/assessments/{a}/result", "/assessments/{a}/amend"]


def test_other_team_gets_404_for_every_record_url(app, store, team_a_records):
    bob = app.test_client()
    login(bob, "bob")
    urls = [p.format(case=team_a_records["case"]) for p in CASE_PATHS]
    for key in ("draft", "final"):
        urls += [p.format(a=team_a_records[key]) for p in ASSESSMENT_PATHS]
    for url in urls:
        assert bob.get(url).status_code == 404, url
    posts = [f"/cases/{team_a_records['case']}/assessments",
             f"/assessments/{team_a_records['draft']}/sections/now",
             f"/assessments/{team_a_records['draft']}/finalise",
             f"/assessments/{team_a_records['final']}/amend"]
    for url in posts:
        response = post(bob, url, {"instrument": "test-risk", "occasion": "intake",
                                   "q-t-injury": "no", "reason": "x", "revision": "1"},
                        token_from="/due")
        assert response.status_code == 404, url
    denials = look.rows(store, "audit", "actor", "object_type", "object_id", action="deny")
    assert len(denials) >= len(urls) + len(posts)
    assert {d["actor"] for d in denials} == {"bob"}
    assert look.count(store, "assessments") == 2


@pytest.mark.parametrize("seed", range(5))
def test_generated_ids_get_404(alice, seed):
    fake = secrets.token_urlsafe(12 + seed)
    assert alice.get(f"/cases/{fake}").status_code == 404
    assert alice.get(f"/assessments/{fake}").status_code == 404
    assert alice.get(f"/assessments/{fake}/result").status_code == 404


def test_overlong_and_odd_ids_get_404(alice, store):
    for fake in ["x" * 5000, "1", "%00", "..%2f..%2fetc", "' OR 1=1 --"]:
        assert alice.get(f"/cases/{fake}").status_code == 404
    # the denial is audited with the control character shown as U+FFFD
    assert look.rows(store, "audit", "id", action="deny", object_id="\ufffd")


def test_other_team_cases_not_listed_or_found(app, team_a_records):
    bob = app.test_client()
    login(bob, "bob")
    page = bob.get("/").get_data(as_text=True)
    assert team_a_records["case"] not in page
    assert team_a_records["case"] not in bob.get("/due?scope=team").get_data(as_text=True)


@pytest.mark.parametrize("who", ["admin", "rita"])
def test_administrators_and_researchers_see_no_case_content(app, team_a_records, who):
    client = app.test_client()
    login(client, who)
    assert client.get(f"/cases/{team_a_records['case']}").status_code == 404
    assert client.get(f"/assessments/{team_a_records['final']}/result").status_code == 404
    assert team_a_records["case"] not in client.get("/", follow_redirects=True).get_data(
        as_text=True)


@pytest.mark.parametrize("who", ["alice", "sue", "rita"])
def test_only_administrators_reach_administration(app, users, who):
    client = app.test_client()
    login(client, who)
    assert client.get("/admin/").status_code == 403
    response = post(client, "/admin/teams", {"name": "Sneaky"}, token_from="/account/password")
    assert response.status_code == 403


def test_supervisor_sees_team_cases(app, team_a_records):
    sue = app.test_client()
    login(sue, "sue")
    assert sue.get(f"/cases/{team_a_records['case']}").status_code == 200


def test_extra_posted_fields_change_nothing(app, alice, store, users):
    case = create_case(alice, owner="999", team_id="999", ref="MINE-1", status="closed")
    row = look.first(store, "cases", "team_id", uid=case)
    team_a = look.value(store, "teams", "id", name="Team A")
    assert row["team_id"] == team_a
    uid = start_assessment(alice, case)
    save_section(alice, uid, "now", {**HIGH, "score": "0", "yes_count": "0", "locked": "1",
                                     "status": "final", "team": "999", "owner": "bob",
                                     "level": "none"})
    row = look.first(store, "assessments", "status", "case_id", uid=uid)
    assert row["status"] == "draft"
    save_section(alice, uid, "history", HIGH2)
    save_section(alice, uid, "details", {"f-assessment_date": "2025-01-06"})
    finalise(alice, uid, {"score": "0", "level_final": "none"})
    result = store.get_assessment(look.value(store, "assessments", "id", uid=uid))["result"]
    assert result["scores"]["yes_count"] == 5 and result["level"]["final"] == "high"


def test_posting_a_case_into_another_team_is_refused(app, alice, store, users):
    team_b = look.value(store, "teams", "id", name="Team B")
    page = alice.get("/cases/new").get_data(as_text=True)
    assert "Team B" not in page
    response = post(alice, "/cases/new", {"team": str(team_b), "victim_survivor": "y",
                                          "opened_on": "2025-01-01",
                                          "practitioner": str(users["alice"])},
                    token_from="/cases/new")
    assert response.status_code == 400
    assert look.count(store, "cases") == 0


def test_finalised_assessment_is_locked(alice, store):
    case = create_case(alice)
    uid = start_assessment(alice, case)
    complete(alice, uid)
    before = look.first(store, "assessments", "revision", "status", uid=uid)
    response = post(alice, f"/assessments/{uid}/sections/now",
                    {"q-t-injury": "no", "revision": str(before["revision"])},
                    token_from="/due")
    assert response.status_code == 302 and response.headers["Location"].endswith("/result")
    after = look.first(store, "assessments", "revision", "status", uid=uid)
    assert after == before


def test_amendment_needs_a_reason_and_keeps_the_old_version(alice, store):
    case = create_case(alice)
    uid = start_assessment(alice, case)
    complete(alice, uid)
    form = {"f-assessment_date": "2025-01-06", "q-t-injury": "no", "q-t-frightened": "no",
            "q-t-strangle": "no", "q-t-threat_kill": "no", "q-t-worse": "no"}
    response = post(alice, f"/assessments/{uid}/amend", {**form, "reason": "  "},
                    token_from=f"/assessments/{uid}/amend")
    assert response.status_code == 400
    assert "Give the reason for the amendment" in response.get_data(as_text=True)
    response = post(alice, f"/assessments/{uid}/amend",
                    {**form, "reason": "Answers were entered against the wrong case"},
                    token_from=f"/assessments/{uid}/amend")
    assert response.status_code == 302
    rows = look.rows(store, "assessments", "uid", "status", "version_no", "amendment_reason")
    assert [(r["status"], r["version_no"]) for r in rows] == [("superseded", 1), ("final", 2)]
    assert rows[0]["uid"] == uid
    assert look.first(store, "audit", "action", action="amend")
    # the old version still shows, marked as replaced
    assert "replaced by an amendment" in alice.get(f"/assessments/{uid}/result").get_data(
        as_text=True)


def test_stale_edit_fails_cleanly_and_loses_nothing(app, alice, store, users):
    case = create_case(alice)
    uid = start_assessment(alice, case)
    page = alice.get(f"/assessments/{uid}/sections/now").get_data(as_text=True)
    revision = page.split('name="revision" value="')[1].split('"')[0]
    sue = app.test_client()
    login(sue, "sue")
    first = post(sue, f"/assessments/{uid}/sections/now",
                 {"revision": revision, "q-t-injury": "yes", "c-t-injury": "first edit"},
                 token_from="/due")
    assert first.status_code == 302
    second = post(alice, f"/assessments/{uid}/sections/now",
                  {"revision": revision, "q-t-injury": "no", "c-t-injury": "second edit"},
                  token_from="/due")
    assert second.status_code == 409
    text = second.get_data(as_text=True)
    assert "changed this assessment since you opened it" in text
    assert "second edit" in text  # what Alice typed is still on her screen
    row = store.get_assessment(look.value(store, "assessments", "id", uid=uid))
    assert row["answers"]["t.injury"] == "yes" and row["comments"]["t.injury"] == "first edit"
    # saving again on purpose (with the new revision) now works
    new_revision = text.split('name="revision" value="')[1].split('"')[0]
    third = post(alice, f"/assessments/{uid}/sections/now",
                 {"revision": new_revision, "q-t-injury": "no", "c-t-injury": "second edit"},
                 token_from="/due")
    assert third.status_code == 302
