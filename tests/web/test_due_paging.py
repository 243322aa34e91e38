"""The due page read from the stored schedule and paged in the database (``store.lists``):
its due dates are the ones ``Occasion.due_date`` gives (month ends included), its pages have
no gaps or repeats even where many entries share a due date, and a marker that is not ours
gives the first page, not an error."""

from __future__ import annotations

import datetime as dt
import re

from formsengine.occasions import Occasion
from formsengine.store.lists import decode_cursor, due_entries, encode_cursor
from formsengine.store.schedule import rebuild

ROW = re.compile(r'<th scope="row" class="govuk-table__header"><a class="govuk-link" '
                 r'href="/cases/[^"]+">([^<]+)</a></th>\s*<td class="govuk-table__cell">'
                 r'([^<]+)</td>')
NEXT = re.compile(r'href="(/due\?[^"]*after=[^"]+)" rel="next"')
PREV = re.compile(r'href="(/due\?[^"]*before=[^"]+)" rel="prev"')


def test_due_dates_in_the_database_are_those_of_the_schedule(store, users):
    team = store.ensure_team("Team A")
    first = dt.date(2023, 12, 1)
    days = [first + dt.timedelta(days=i) for i in range(0, 490)]  # a leap February too
    cases = {store.create_case(f"C-{i:05d}", team_id=team, instruments=["test-risk"],
                               opened_on=d.isoformat()): d for i, d in enumerate(days)}
    offsets = [("test-risk", "m0", "months", 0), ("test-risk", "m1", "months", 1),
               ("test-risk", "m13", "months", 13), ("test-risk", "m3", "months", 3),
               ("test-risk", "w5", "weeks", 5), ("test-risk", "w0", "weeks", 0)]
    rebuild(store, offsets)  # the stored schedule, with these offsets
    page = due_entries(store, [team], until=dt.date(2030, 1, 1), limit=10_000)
    got = {(r["case_id"], r["occasion"]): r["due"] for r in page["rows"]}
    assert len(got) == len(cases) * len(offsets) and page["next"] is None
    for case_id, opened in cases.items():
        for _, occasion, unit, n in offsets:
            expected = Occasion(occasion, occasion, (unit, n)).due_date(opened)
            assert got[(case_id, occasion)] == expected.isoformat(), (opened, occasion)
    dates = [r["due"] for r in page["rows"]]
    assert dates == sorted(dates)
    # the filter: nothing after `until`
    until = dt.date(2024, 3, 1)
    early = due_entries(store, [team], until=until, limit=10_000)["rows"]
    assert early and all(r["due"] <= until.isoformat() for r in early)
    assert len(early) == sum(1 for d in got.values() if d <= until.isoformat())


def _walk(client, path):
    """Every row of every page from ``path`` on, following Next; and the pages' paths."""
    rows, paths = [], []
    while path:
        page = client.get(path)
        assert page.status_code == 200
        html = page.get_data(as_text=True)
        rows += ROW.findall(html)
        paths.append(path)
        found = NEXT.search(html)
        path = found.group(1).replace("&amp;", "&") if found else None
    return rows, paths


def test_the_team_due_list_pages_without_gaps_or_repeats(app, alice, store, users):
    team = store.ensure_team("Team A")
    opened = (dt.date.today() - dt.timedelta(days=100)).isoformat()  # all on one day
    refs = []
    for i in range(60):
        ref = f"C-{i + 1:05d}"
        case = store.create_case(ref, team_id=team, instruments=["test-risk"],
                                 opened_on=opened)
        if i % 2 == 0:
            store.assign_case_practitioner(case, "alice")
        refs.append(ref)
    rows, paths = _walk(alice, "/due?scope=team")
    assert len(paths) == 3  # 120 entries (intake and 3-month review overdue): 50, 50, 20
    assert len(rows) == 120 and len(set(rows)) == 120
    assert {ref for ref, _ in rows} == set(refs)
    # Previous from the last page gives the second page again
    last = alice.get(paths[-1]).get_data(as_text=True)
    back = PREV.search(last).group(1).replace("&amp;", "&")
    assert ROW.findall(alice.get(back).get_data(as_text=True)) == rows[50:100]
    # my cases: only those assigned to alice, paged the same way
    mine, _ = _walk(alice, "/due")
    assert len(mine) == 60 and {ref for ref, _ in mine} == set(refs[::2])
    # a team member who is not the practitioner sees them under their team only
    sue = app.test_client()
    from .conftest import login

    login(sue, "sue")
    assert not ROW.findall(sue.get("/due").get_data(as_text=True))
    assert len(_walk(sue, "/due?scope=team")[0]) == 120


def test_a_page_marker_that_is_not_ours_gives_the_first_page(alice, store, users):
    team = store.ensure_team("Team A")
    opened = (dt.date.today() - dt.timedelta(days=100)).isoformat()
    for i in range(3):
        store.create_case(f"C-{i + 1:05d}", team_id=team, instruments=["test-risk"],
                          opened_on=opened)
    first = ROW.findall(alice.get("/due?scope=team").get_data(as_text=True))
    assert len(first) == 6
    for bad in ["x", "%00", "A" * 5000, encode_cursor(["2024-01-01", "1", "a", "b"]),
                encode_cursor([True, 1, "a", "b"]), "eyJ9"]:
        response = alice.get(f"/due?scope=team&after={bad}")
        assert response.status_code == 200
        assert ROW.findall(response.get_data(as_text=True)) == first


def test_cursor_round_trip():
    key = ["2025-02-28", 17, "dash-safelives", "review_3m"]
    text = encode_cursor(key)
    assert re.fullmatch(r"[A-Za-z0-9_-]+", text)
    assert decode_cursor(text, (str, int, str, str)) == key
    assert decode_cursor(text, (str, str, str, str)) is None
    assert decode_cursor(None, (str,)) is None


def test_an_entry_of_an_instrument_this_server_lacks_is_shown_by_its_id(alice, store, users):
    """Entries written with another installation's instruments (rebuilt when a store was
    opened with them) still list, by the instrument's id, rather than failing the page."""
    from formsengine.store import inspection as look
    from formsengine.store.schedule import configured_offsets

    team = store.ensure_team("Team A")
    opened = (dt.date.today() - dt.timedelta(days=100)).isoformat()
    case = store.create_case("C-00001", team_id=team, instruments=["test-risk"],
                             opened_on=opened)
    look.change_rows(store, "cases", {"instruments": '["test-risk", "gone-check"]'}, id=case)
    rebuild(store, [*configured_offsets(store.engine), ("gone-check", "intake", "months", 0)])
    response = alice.get("/due?scope=team")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "gone-check: Intake" in html
    assert len(ROW.findall(html)) == 3
