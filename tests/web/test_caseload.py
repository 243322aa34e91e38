"""The caseload: a team's open cases with their latest risk, filtered, sorted and keyset
paged by the store."""

from __future__ import annotations

import re

from formsengine.store import inspection as look

from .conftest import complete, create_case, login, post, start_assessment

CARD = re.compile(r'<h3 class="govuk-summary-card__title"><a [^>]*>(C-[A-Z0-9-]+)</a>')


def _refs(page: str) -> list[str]:
    return CARD.findall(page)


def _bulk(store, team: str, n: int, prefix: str = "C-B") -> list[str]:
    team_id = store.ensure_team(team)
    refs = [f"{prefix}{i:05d}" for i in range(n)]
    with store.write():
        for ref in refs:
            store.create_case(ref, team_id=team_id, instruments=["test-risk"],
                              opened_on="2025-01-06", people=[])
    return refs


def test_caseload_shows_latest_level_criteria_flags_and_practitioner(app, users, alice):
    uid = create_case(alice)
    complete(alice, start_assessment(alice, uid))
    sue = app.test_client()
    login(sue, "sue")
    page = sue.get("/caseload").get_data(as_text=True)
    assert "<strong>High</strong>" in page
    assert "Visible high risk: 4 or more yes answers" in page
    assert "Strangulation or choking" in page and "Fears being killed" in page
    assert "6 January 2025" in page
    assert "alice" in page.lower()
    assert "visible_high_risk" not in page and "strangulation<" not in page


def test_caseload_filters_mine_high_and_marac(app, store, users, alice):
    high = create_case(alice)
    complete(alice, start_assessment(alice, high))
    _bulk(store, "Team A", 3)
    sue = app.test_client()
    login(sue, "sue")
    everyone = _refs(sue.get("/caseload").get_data(as_text=True))
    assert len(everyone) == 4
    for show in ("high", "marac"):
        shown = _refs(sue.get(f"/caseload?show={show}").get_data(as_text=True))
        # (compared with the case itself: its random reference may start with C-B too)
        assert shown == [look.value(store, "cases", "ref", uid=high)]
    assert _refs(sue.get("/caseload?show=mine").get_data(as_text=True)) == []
    assert len(_refs(alice.get("/caseload?show=mine").get_data(as_text=True))) == 1
    assert sue.get("/caseload?show=everything").status_code == 400
    assert sue.get("/caseload?sort=name").status_code == 400


def test_caseload_sorts_highest_level_first(app, store, users, alice):
    _bulk(store, "Team A", 3, prefix="C-A")
    high = create_case(alice)
    complete(alice, start_assessment(alice, high))
    sue = app.test_client()
    login(sue, "sue")
    by_ref = _refs(sue.get("/caseload").get_data(as_text=True))
    assert by_ref == sorted(by_ref) and len(by_ref) == 4
    assessed = next(r for r in by_ref if not r.startswith("C-A0"))
    for sort in ("level", "last"):
        shown = _refs(sue.get(f"/caseload?sort={sort}").get_data(as_text=True))
        assert shown == [assessed, "C-A00000", "C-A00001", "C-A00002"], sort


def test_caseload_pages_forward_and_back_without_offsets(app, store, users):
    refs = _bulk(store, "Team A", 120)
    _bulk(store, "Team B", 5, prefix="C-X")
    sue = app.test_client()
    login(sue, "sue")
    seen, pages, url = [], [], "/caseload"
    while url:
        page = sue.get(url).get_data(as_text=True)
        pages.append(page)
        seen += _refs(page)
        nxt = re.search(r'href="([^"]+)" rel="next"', page)
        url = nxt.group(1).replace("&amp;", "&") if nxt else None
    assert seen == refs  # every case once, in order, none of another team
    assert len(pages) == 3 and [len(_refs(p)) for p in pages] == [50, 50, 20]
    assert "offset" not in "".join(pages).lower()
    assert 'rel="prev"' not in pages[0]
    back = re.search(r'href="([^"]+)" rel="prev"', pages[2]).group(1).replace("&amp;", "&")
    assert _refs(sue.get(back).get_data(as_text=True)) == refs[50:100]
    assert "C-B" not in back  # the cursor is the case's uid, never its reference


def _ref_of(client, uid):
    return re.search(r"(C-[A-Z0-9]{6})", client.get(f"/cases/{uid}").get_data(as_text=True)
                     ).group(1)


def test_search_finds_a_reference_with_or_without_prefix_in_any_case(users, alice):
    uid = create_case(alice)
    ref = _ref_of(alice, uid)
    for typed in (ref, ref.lower(), ref[2:], ref[2:].lower(), f"  c-{ref[2:].lower()} "):
        response = post(alice, "/cases/search", {"reference": typed}, token_from="/")
        assert response.status_code == 302, typed
        assert response.headers["Location"].endswith(f"/cases/{uid}"), typed
        assert ref not in response.headers["Location"]


def test_search_by_practitioner_lists_their_cases_and_never_another_teams(app, users, alice):
    mine = {_ref_of(alice, create_case(alice)) for _ in range(2)}
    bob = app.test_client()
    login(bob, "bob")
    theirs = _ref_of(bob, create_case(bob))
    sue = app.test_client()
    login(sue, "sue")
    page = post(sue, "/cases/search", {"reference": "ALI"}, token_from="/")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert "Cases found" in text and all(r in text for r in mine) and theirs not in text
    # another team's reference or practitioner finds nothing
    for typed in (theirs, "bob", "%", "_"):
        response = post(sue, "/cases/search", {"reference": typed}, token_from="/")
        assert response.status_code == 302 and response.headers["Location"] == "/", typed
    assert "No case of your teams" in sue.get("/").get_data(as_text=True)


def test_my_cases_filter_on_the_case_list(app, store, users, alice):
    ref = _ref_of(alice, create_case(alice))
    _bulk(store, "Team A", 2)
    sue = app.test_client()
    login(sue, "sue")
    everyone = sue.get("/").get_data(as_text=True)
    assert ref in everyone and "C-B00000" in everyone
    assert ref not in sue.get("/?show=mine").get_data(as_text=True)
    assert "You have no open cases" in sue.get("/?show=mine").get_data(as_text=True)
    own = alice.get("/?show=mine").get_data(as_text=True)
    assert ref in own and "C-B00000" not in own


def test_case_list_pages_newest_first_forward_and_back(app, store, users):
    team_id = store.ensure_team("Team A")
    refs = [f"C-P{i:05d}" for i in range(110)]
    with store.write():
        for i, ref in enumerate(refs):  # opened on distinct days, some on the same day
            store.create_case(ref, team_id=team_id, instruments=["test-risk"],
                              opened_on=f"2024-{1 + i // 28:02d}-{1 + i % 28:02d}", people=[])
    store.create_case("C-SAMEDY", team_id=team_id, instruments=[], opened_on="2024-01-01",
                      people=[])
    sue = app.test_client()
    login(sue, "sue")
    seen, url, pages = [], "/", []
    while url:
        page = sue.get(url).get_data(as_text=True)
        pages.append(page)
        seen += re.findall(r">(C-[A-Z0-9]{6})</a></th>", page)
        nxt = re.search(r'href="([^"]+)" rel="next"', page)
        url = nxt.group(1).replace("&amp;", "&") if nxt else None
    newest_first = [*reversed(refs[1:]), "C-SAMEDY", refs[0]]
    assert seen == newest_first
    assert [len(re.findall(r"rel=\"(?:next|prev)\"", p)) for p in pages] == [1, 2, 1]
    back = re.search(r'href="([^"]+)" rel="prev"', pages[2]).group(1).replace("&amp;", "&")
    assert re.findall(r">(C-[A-Z0-9]{6})</a></th>", sue.get(back).get_data(as_text=True)) \
        == newest_first[50:100]


def test_a_cases_risk_order_follows_its_latest_final_assessment(store, users, alice):
    """Kept by the database whichever code writes: finalising, superseding, deleting."""
    uid = create_case(alice)
    order = lambda: look.value(store, "cases", "risk_order", uid=uid)  # noqa: E731
    assert order() == 3  # never assessed
    draft = start_assessment(alice, uid)
    assert order() == 3  # a draft does not count
    complete(alice, draft)
    assert order() == 0  # high
    row = look.first(store, "assessments", "id", uid=draft)
    look.change_rows(store, "assessments", {"status": "superseded"}, id=row["id"])
    assert order() == 3
    look.change_rows(store, "assessments", {"status": "final"}, id=row["id"])
    assert order() == 0
    look.delete_rows(store, "assessments", id=row["id"])
    assert order() == 3


def test_search_finds_a_reference_whose_own_characters_begin_with_c(store, users, alice):
    """A reference's six characters may begin with C (C-CP7RYU): typed without its prefix
    (CP7RYU), in any letter case, it is still found, from the search box too."""
    team_id = store.ensure_team("Team A")
    with store.write():
        for ref in ("C-CP7RYU", "C-ABCDEF"):
            store.create_case(ref, team_id=team_id, instruments=["test-risk"],
                              opened_on="2025-01-06", people=[])
    for typed, ref in (("CP7RYU", "C-CP7RYU"), ("cp7ryu", "C-CP7RYU"),
                       ("C-CP7RYU", "C-CP7RYU"), (" c-cp7ryu ", "C-CP7RYU"),
                       ("CABCDEF", "C-ABCDEF"), ("ABCDEF", "C-ABCDEF"), ("c-abcdef", "C-ABCDEF")):
        found, how = store.search_cases([team_id], typed)
        assert how == "reference" and [r["ref"] for r in found] == [ref], typed
    assert store.search_cases([team_id], "P7RYU") == ([], "")
    # the audit page's record filter reads a typed reference the same way
    for typed in ("CP7RYU", " cp7 ryu ", "c-cp7ryu", "CABCDEF", "abcdef"):
        assert store.audit_entries(case_ref=typed) is not None, typed
    assert store.audit_entries(case_ref="P7RYU") is None
    uid = look.value(store, "cases", "uid", ref="C-CP7RYU")
    response = post(alice, "/cases/search", {"reference": "cp7ryu"}, token_from="/")
    assert response.status_code == 302 and response.headers["Location"].endswith(
        f"/cases/{uid}")
