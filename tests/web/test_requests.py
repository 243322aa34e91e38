"""Requests and output: CSRF, no change by GET, security headers, no inline script,
escaping of hostile text, safe redirects, oversized and malformed input."""

from __future__ import annotations

import hashlib
import re

import pytest

from formsengine.store import inspection as look
from formsengine.store import read_draft_document
from formsengine.web.headers import HEADERS, SecurityHeaders

from .conftest import (
    HIGH,
    HIGH2,
    REV,
    complete,
    create_case,
    csrf,
    login,
    post,
    save_section,
    start_assessment,
)

HOSTILE = '<script>alert("x")</script><img src=x onerror=alert(1)>"\'&{{7*7}}'


def test_csrf_is_required_on_state_changing_forms(alice, store):
    case = create_case(alice)
    uid = start_assessment(alice, case)
    before = look.first(store, "assessments", "revision", uid=uid)
    for path, data in [
        ("/cases/new", {"victim_survivor": "y", "opened_on": "2025-01-01"}),
        (f"/cases/{case}/assessments", {"instrument": "test-risk", "occasion": "intake"}),
        (f"/assessments/{uid}/sections/now", {"q-t-injury": "yes", "revision": "1"}),
        (f"/assessments/{uid}/finalise", {}),
        ("/sign-out", {}),
        ("/account/password", {"current": "x", "new": "y", "confirm": "y"}),
    ]:
        response = alice.post(path, data=data)
        assert response.status_code == 400, path
        assert "Your form could not be sent" in response.get_data(as_text=True)
        bad = alice.post(path, data={**data, "csrf_token": "forged.token"})
        assert bad.status_code == 400, path
    assert look.first(store, "assessments", "revision", uid=uid) == before
    assert look.count(store, "cases") == 1
    assert look.count(store, "assessments") == 1
    assert alice.get("/").status_code == 200  # still signed in: sign-out was refused


def test_sign_in_form_needs_csrf(client, users):
    response = client.post("/sign-in", data={"username": "alice",
                                             "password": "correct horse battery"})
    assert response.status_code == 400


def _content_digest(store):
    digest = hashlib.sha256()
    for table in ("teams", "people", "cases", "case_people", "assessments", "answers",
                  "scores", "score_values", "web_users", "web_memberships", "web_settings",
                  "web_case_assignments"):
        for row in look.rows(store, table):
            digest.update(repr(sorted(row.items())).encode())
    return digest.hexdigest()


def test_no_get_request_changes_data(app, alice, store):
    case = create_case(alice)
    draft = start_assessment(alice, case)
    final = start_assessment(alice, case)
    complete(alice, final)
    before = _content_digest(store)
    urls = ["/", "/due", "/due?scope=team", "/cases/new", f"/cases/{case}",
            f"/assessments/{draft}", f"/assessments/{draft}/sections/details",
            f"/assessments/{draft}/sections/now", f"/assessments/{draft}/check",
            f"/assessments/{final}/result", f"/assessments/{final}/amend",
            "/account/password", "/account/two-factor", "/signed-out", "/health",
            f"/assessments/{draft}/finalise?x=1", "/sign-out", "/session/extend"]
    for url in urls:
        alice.get(url)
    assert _content_digest(store) == before


PAGES = ["/", "/due", "/cases/new", "/account/password"]


def _pages(alice):
    case = create_case(alice)
    uid = start_assessment(alice, case)
    return PAGES + [f"/cases/{case}", f"/assessments/{uid}", f"/assessments/{uid}/check",
                    f"/assessments/{uid}/sections/now", "/no-such-page"]


def test_security_headers_on_every_response(alice, client):
    responses = [alice.get(p) for p in _pages(alice)]
    responses += [client.get("/sign-in"), client.get("/health")]
    with client.get("/static/app.js") as static:
        responses.append(static)
        for r in responses:
            csp = r.headers["Content-Security-Policy"]
            assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp
            assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
            assert r.headers["Strict-Transport-Security"].startswith("max-age=")
            assert r.headers["X-Content-Type-Options"] == "nosniff"
            assert r.headers["Referrer-Policy"] == "same-origin"
            assert r.headers["X-Frame-Options"] == "DENY"
        assert static.headers["Cache-Control"].startswith("public")


def test_each_security_header_is_sent_once(alice, client):
    for r in [alice.get(p) for p in _pages(alice)] + [client.get("/sign-in")]:
        names = [name.lower() for name, _ in r.headers]
        for name in HEADERS:
            assert names.count(name.lower()) == 1, (name, r.request.path)


def test_a_response_that_sets_a_security_header_keeps_its_own():
    """The middleware adds what a response leaves out and never overrides or repeats what
    it sets (names compared without regard to case)."""
    def inner(environ, start_response):
        start_response("200 OK", [("Content-Type", "text/plain"),
                                  ("content-security-policy", "default-src 'none'")])
        return [b"ok"]

    sent = {}

    def start_response(status, headers, exc_info=None):
        sent["headers"] = headers

    SecurityHeaders(inner)({}, start_response)
    names = [name.lower() for name, _ in sent["headers"]]
    assert names.count("content-security-policy") == 1
    assert ("content-security-policy", "default-src 'none'") in sent["headers"]
    assert all(names.count(name.lower()) == 1 for name in HEADERS)


def test_no_store_on_authenticated_pages(alice):
    for path in _pages(alice):
        assert alice.get(path).headers["Cache-Control"] == "no-store", path


def test_no_inline_script_or_style(alice, client):
    bodies = [alice.get(p).get_data(as_text=True) for p in _pages(alice)]
    bodies.append(client.get("/sign-in").get_data(as_text=True))
    for body in bodies:
        assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", body)
        assert not re.search(r"\son[a-z]+\s*=", body)
        assert not re.search(r'\sstyle\s*=\s*"', body)
        assert "<style" not in body
        assert "http://" not in body.replace("http://www.w3.org/2000/svg", "")


def test_hostile_free_text_is_escaped(alice, store):
    case = create_case(alice, vs_name="<b>x</b>")
    uid = start_assessment(alice, case)
    save_section(alice, uid, "now", {**HIGH, "c-t-injury": HOSTILE, "s-t-injury": HOSTILE,
                                     "q-t-injury.detail": HOSTILE})
    save_section(alice, uid, "now", {**HIGH, "c-t-injury": HOSTILE, "s-t-injury": HOSTILE,
                                     "q-t-injury-detail": HOSTILE})
    for path in (f"/assessments/{uid}/sections/now", f"/assessments/{uid}/check"):
        body = alice.get(path).get_data(as_text=True)
        assert HOSTILE not in body
        assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in body
        assert "<img src=x" not in body
    body = alice.get(f"/cases/{case}").get_data(as_text=True)
    assert "<b>x</b>" not in body and "&lt;b&gt;x&lt;/b&gt;" in body
    # and it is stored exactly as typed
    row = store.get_assessment(look.value(store, "assessments", "id", uid=uid))
    assert row["comments"]["t.injury"] == HOSTILE.strip()


@pytest.mark.parametrize("target,expected", [
    ("/due", "/due"),
    ("/cases/new?x=1", "/cases/new?x=1"),
    ("https://evil.example/", "/"),
    ("//evil.example/", "/"),
    ("/\\evil.example", "/"),
    ("http:/evil.example", "/"),
    ("javascript:alert(1)", "/"),
    ("evil.example", "/"),
    ("/%0d%0aSet-Cookie:x=1", "/%0d%0aSet-Cookie:x=1"),
])
def test_next_only_relative_paths(client, users, target, expected):
    token = csrf(client)
    response = client.post("/sign-in", query_string={"next": target},
                           data={"username": "alice", "password": "correct horse battery",
                                 "csrf_token": token})
    assert response.status_code == 302
    assert response.headers["Location"] == expected


def test_oversized_request_gets_a_clear_error(alice):
    case = create_case(alice)
    uid = start_assessment(alice, case)
    token = csrf(alice, f"/assessments/{uid}/sections/now")
    response = alice.post(f"/assessments/{uid}/sections/now",
                          data={"csrf_token": token, "c-t-injury": "x" * 2_000_000})
    assert response.status_code == 413
    assert "too large" in response.get_data(as_text=True)


def assert_nothing_saved(store):
    """The draft is as it was created: no answers in its document or as rows, revision 1."""
    row = look.first(store, "assessments", "revision", "draft_answers")
    assert row["revision"] == 1
    assert read_draft_document(row["draft_answers"]) == ({}, {}, {})
    assert look.count(store, "answers") == 0


def test_huge_field_gets_a_clear_error_and_changes_nothing(alice, store):
    case = create_case(alice)
    uid = start_assessment(alice, case)
    response = save_section(alice, uid, "now", {"q-t-injury": "yes",
                                                "c-t-injury": "y" * 6000}, expect=400)
    text = response.get_data(as_text=True)
    assert "A comment must be 5000 characters or fewer" in text
    assert_nothing_saved(store)


@pytest.mark.parametrize("broken", [
    "c-t-injury=%C3%28%FF%FE",           # in a value
    "c-t-inj%FFury=text",                # in a name
    "c-t-injury=%C3&s-t-injury=%A9",     # one character's bytes split over two fields
    "c-t-injury=caf\xe9",                # a raw byte, not percent-encoded
])
def test_broken_utf8_gets_a_clear_error(alice, store, broken):
    case = create_case(alice)
    uid = start_assessment(alice, case)
    token = csrf(alice, f"/assessments/{uid}/sections/now")
    body = (f"csrf_token={token}&revision=1&q-t-injury=yes&").encode() + broken.encode(
        "latin-1")
    response = alice.post(f"/assessments/{uid}/sections/now", data=body,
                          content_type="application/x-www-form-urlencoded")
    assert response.status_code == 400
    assert "not valid UTF-8" in response.get_data(as_text=True)
    assert_nothing_saved(store)


def test_answers_must_be_allowed_values(alice, store):
    case = create_case(alice)
    uid = start_assessment(alice, case)
    response = save_section(alice, uid, "now", {"q-t-injury": "maybe",
                                                "q-t-fears": ["killed", "aliens"]}, expect=400)
    text = response.get_data(as_text=True)
    assert "Choose one of the answers shown" in text
    assert "aliens" in text and "is not one of" in text
    response = save_section(alice, uid, "details", {"f-incidents_12m": "lots",
                                                    "f-assessment_date": "2025-02-30"},
                            expect=400)
    text = response.get_data(as_text=True)
    assert "Must be a whole number" in text and "real date" in text
    assert_nothing_saved(store)


def test_client_sent_scores_are_ignored(alice, store):
    case = create_case(alice)
    uid = start_assessment(alice, case)
    save_section(alice, uid, "now", {"q-t-injury": "no", "yes_count": "24",
                                     "scores": "{\"yes_count\": 24}", "level": "high"})
    complete(alice, uid, now={"q-t-injury": "no", "q-t-frightened": "no",
                              "yes_count": "24"},
             history={"q-t-strangle": "no", "q-t-threat_kill": "no", "q-t-worse": "no"})
    row = store.get_assessment(look.value(store, "assessments", "id", uid=uid))
    assert row["result"]["scores"]["yes_count"] == 0
    assert row["result"]["level"]["final"] == "none"


def test_unknown_section_and_instrument_get_clear_answers(alice, store):
    case = create_case(alice)
    uid = start_assessment(alice, case)
    assert alice.get(f"/assessments/{uid}/sections/nope").status_code == 404
    response = post(alice, f"/cases/{case}/assessments",
                    {"instrument": "no-such-thing", "occasion": "intake"},
                    token_from=f"/cases/{case}")
    assert response.status_code == 400  # the case page, the problem at the field
    assert "Choose an assessment from the list" in response.get_data(as_text=True)
    assert look.count(store, "assessments") == 1


def test_search_is_by_post_and_finds_only_own_team(app, alice, store):
    case = create_case(alice)
    ref = look.value(store, "cases", "ref", uid=case)
    assert alice.get("/cases/search").status_code in (404, 405)  # never a GET search
    response = post(alice, "/cases/search", {"reference": ref.lower()})
    assert response.headers["Location"] == f"/cases/{case}"
    bob = app.test_client()
    login(bob, "bob")
    response = post(bob, "/cases/search", {"reference": ref})
    assert response.headers["Location"] == "/"
    assert "No case of your teams" in bob.get("/").get_data(as_text=True)


def test_page_titles_and_urls_carry_no_names(alice, store):
    # initials long enough never to turn up by chance in a random id ("JQ" did once, in a
    # case's link)
    initials = "Jq-Plantedinitials"
    case = create_case(alice, vs_name=initials)
    uid = start_assessment(alice, case)
    save_section(alice, uid, "now", {**HIGH, "c-t-injury": "Jane Quinn said"})
    save_section(alice, uid, "history", HIGH2)
    ref = look.value(store, "cases", "ref", uid=case)
    for path in _pages(alice) + [f"/cases/{case}", f"/assessments/{uid}/check"]:
        body = alice.get(path).get_data(as_text=True)
        title = re.search(r"<title>(.*?)</title>", body, re.DOTALL).group(1)
        assert initials not in title and "Jane" not in title and ref not in title
        for href in re.findall(r'href="([^"]+)"', body):
            assert initials not in href and "Jane" not in href and ref not in href


def test_error_pages_say_what_happened(app, client, users):
    from .conftest import login

    assert login(client, "rita").status_code == 302  # a researcher
    for path, method, status, title in [
            ("/no-such-page", "get", 404, "Page not found"),
            ("/sign-out", "get", 405, "This page cannot be used that way"),
            ("/admin/", "get", 403, "You cannot do this")]:
        response = getattr(client, method)(path)
        assert response.status_code == status, path
        page = response.get_data(as_text=True)
        assert title in page and "no-store" in response.headers["Cache-Control"]


def test_tables_scroll_inside_a_labelled_region_on_narrow_screens(alice):
    """Wide tables scroll in their own region rather than widening the page on a phone;
    the region can be reached with the keyboard and is named by the table's caption."""
    case = create_case(alice)
    start_assessment(alice, case)
    for path in ("/", "/due", f"/cases/{case}"):
        page = alice.get(path).get_data(as_text=True)
        tables = page.count('<table class="govuk-table">')
        regions = re.findall(r'<div class="app-table-scroll" role="region" '
                             r'aria-labelledby="([^"]+)" tabindex="0">\s*<table', page)
        assert tables and len(regions) == tables, path
        for name in regions:
            assert page.count(f'id="{name}"') == 1 and '<caption' in page, (path, name)


def test_a_save_while_the_database_stays_busy_gets_503_and_writes_nothing(
        app, alice, store, monkeypatch):
    """Another writer of this process holds the database longer than a request may wait:
    the page says nothing was saved; the same form sent again afterwards is saved."""
    import threading

    if store.postgres:
        pytest.skip("PostgreSQL runs writers side by side: no write holds the whole database")

    from formsengine import store as store_mod

    case = create_case(alice)
    uid = start_assessment(alice, case)
    path = f"/assessments/{uid}/sections/now"
    page = alice.get(path).get_data(as_text=True)
    data = {"revision": REV.search(page).group(1), **HIGH}
    monkeypatch.setattr(store_mod, "WRITE_WAIT", 0.2)
    holding, release = threading.Event(), threading.Event()

    def hold():
        other = store_mod.Store.open(app.config["DATABASE"], store.engine)
        with other.write():
            holding.set()
            release.wait(10)
        other.close()

    holder = threading.Thread(target=hold)
    holder.start()
    try:
        assert holding.wait(10)
        response = post(alice, path, data, token_from=path)
    finally:
        release.set()
        holder.join()
    assert response.status_code == 503 and response.headers["Retry-After"] == "5"
    text = response.get_data(as_text=True)
    assert "The service is busy" in text and "Nothing was saved from this page" in text
    row = look.first(store, "assessments", "revision", "draft_answers", uid=uid)
    assert read_draft_document(row["draft_answers"])[0] == {}
    assert post(alice, path, data, token_from=path).status_code == 302  # sent again
    saved = look.first(store, "assessments", "revision", "draft_answers", uid=uid)
    assert saved["revision"] == row["revision"] + 1
    assert read_draft_document(saved["draft_answers"])[0]["t.injury"] == "yes"


@pytest.mark.parametrize("message, status", [("database is locked", 503),
                                             ("disk I/O error", 500)])
def test_database_errors_from_elsewhere_get_a_plain_page(app, alice, store, monkeypatch,
                                                         message, status):
    """SQLite's own "locked" (another process held it past the busy timeout) is the busy
    page; any other database error is the 500 page."""
    from sqlite_utils.utils import sqlite3

    from formsengine.store import Store

    case = create_case(alice)
    uid = start_assessment(alice, case)

    def fail(*args, **kwargs):
        raise sqlite3.OperationalError(message)

    monkeypatch.setattr(Store, "update_draft", fail)
    app.config["PROPAGATE_EXCEPTIONS"] = False  # as served: the error page, not a traceback
    response = save_section(alice, uid, "now", HIGH, expect=status)
    text = response.get_data(as_text=True)
    assert ("The service is busy" in text) == (status == 503)
    assert ("Sorry, there is a problem with the service" in text) == (status == 500)
