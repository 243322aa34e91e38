"""The caseload: a team's open cases with their latest risk, filtered, sorted and keyset
paged by the store."""

from __future__ import annotations

import re

from .conftest import complete, create_case, login, start_assessment

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
        assert len(shown) == 1 and not shown[0].startswith("C-B")
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
    assert by_ref[:3] == ["C-A00000", "C-A00001", "C-A00002"]
    for sort in ("level", "last"):
        shown = _refs(sue.get(f"/caseload?sort={sort}").get_data(as_text=True))
        assert not shown[0].startswith("C-A") and shown[1:] == by_ref[:3]


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
