"""The administrator's view of the audit trail: newest first, records by id only, filters
by POST, paging, its own views audited, administrators only."""

from __future__ import annotations

import datetime as dt
import html
import re

import pytest

from formsengine.store import inspection as look
from formsengine.web.admin import AUDIT_PAGE

from .conftest import create_case, login, post, start_assessment
from .test_requests import HOSTILE

# initials no page of the trail may show (long enough never to turn up by chance in a
# random reference or form token, as two letters once did)
PLANTED = "Zq-Plantedinit"


def _rows(page):
    body = page.split("<tbody", 1)[1].split("</tbody>", 1)[0] if "<tbody" in page else ""
    return re.findall(r"<tr class=\"govuk-table__row\">(.*?)</tr>", body, re.S)


def test_the_trail_shows_who_did_what_newest_first(admin, alice, store):
    case = create_case(alice, vs_name=PLANTED)
    start_assessment(alice, case)
    before = look.audit_trail_count(store)  # the chained rows and the views
    page = admin.get("/admin/audit").get_data(as_text=True)
    rows = _rows(page)
    assert rows and "alice" in page and "login" in page
    assert len(rows) == min(before, AUDIT_PAGE)  # every entry written before the page
    entries = look.audit_trail(store, "action", "object_type")
    newest = [r for r in entries if r["object_type"] != "audit"][-1]
    oldest = entries[0]
    first = re.findall(r"<td[^>]*>(.*?)</td>", rows[0], re.S)[2]
    last = re.findall(r"<td[^>]*>(.*?)</td>", rows[-1], re.S)[2]
    assert (first, last) == (newest["action"].replace("_", " "),
                             oldest["action"].replace("_", " "))
    assert PLANTED not in page  # the case's initials are never shown here
    assert case not in page  # nor its address (records appear by internal id)
    assert look.audit_trail_count(store, actor="admin", object_type="audit") == 1


def test_filtering_by_user_and_action(admin, alice):
    create_case(alice)
    response = post(admin, "/admin/audit", {"actor": "alice", "action": "create"},
                    token_from="/admin/audit")
    page = response.get_data(as_text=True)
    rows = _rows(page)
    assert response.status_code == 200 and rows and "matching entries" in page
    for r in rows:
        cells = re.findall(r"<td[^>]*>(.*?)</td>", r, re.S)
        assert cells[1] == "alice" and cells[2] == "create"
    page = post(admin, "/admin/audit", {"actor": "nobody"},
                token_from="/admin/audit").get_data(as_text=True)
    assert "No entries match" in page


@pytest.mark.parametrize("data, status, message", [
    ({"actor": HOSTILE}, 200, "No entries match"),
    ({"actor": "x" * 101}, 400, "A username is 100 characters or fewer"),
    ({"action": "y" * 51}, 400, "An action is 50 characters or fewer"),
])
def test_bad_filters_get_a_clear_answer(admin, data, status, message):
    response = post(admin, "/admin/audit", data, token_from="/admin/audit")
    page = response.get_data(as_text=True)
    assert response.status_code == status and message in page
    assert "<script>alert" not in page


def test_older_entries_are_paged(admin, store):
    for i in range(AUDIT_PAGE + 5):
        store.audit("view", actor="filler", object_type="case", object_id=i)
    page = admin.get("/admin/audit").get_data(as_text=True)
    assert len(_rows(page)) == AUDIT_PAGE
    older = re.search(r'href="(/admin/audit\?before=\d+)"', page).group(1)
    page = admin.get(older).get_data(as_text=True)
    newest_first = [r["id"] for r in look.rows(store, "audit", "id", descending=True)]
    assert 0 < len(_rows(page)) <= len(newest_first) - AUDIT_PAGE + 1
    assert admin.get("/admin/audit?before=nonsense").status_code == 400  # not a number


@pytest.mark.parametrize("who", ["alice", "sue", "rita"])
def test_only_administrators_see_the_trail(app, users, who):
    client = app.test_client()
    login(client, who)
    assert client.get("/admin/audit").status_code == 403


def _case_ref(client, uid):
    return re.search(r"(C-[A-Z0-9]{6})", client.get(f"/cases/{uid}").get_data(as_text=True)
                     ).group(1)


def test_records_are_named_by_references_and_details_are_key_value_rows(admin, alice, store):
    case = create_case(alice, vs_name=PLANTED)
    ref = _case_ref(alice, case)
    start_assessment(alice, case)
    page = admin.get("/admin/audit").get_data(as_text=True)
    assert f"Case {ref}" in page
    assert f"Assessment of case {ref}: Test risk" in page
    case_id = look.value(store, "cases", "id", uid=case)
    cells = [re.findall(r"<td[^>]*>(.*?)</td>", r, re.S) for r in _rows(page)]
    assert not any(c[3] in (f"case {case_id}", f"Case {case_id}") for c in cells)
    details = [c[4] for c in cells]
    assert not any("{" in d or "&#34;" in d or "&quot;" in d for d in details)
    assert any("<dt class=\"govuk-!-font-weight-bold\">Instrument</dt>" in d for d in details)
    assert PLANTED not in page


def test_filtering_by_case_reference_and_dates(admin, alice, store):
    case = create_case(alice)
    ref = _case_ref(alice, case)
    start_assessment(alice, case)
    other = _case_ref(alice, create_case(alice))
    for typed in (ref, ref.lower(), ref[2:]):
        response = post(admin, "/admin/audit", {"record": typed}, token_from="/admin/audit")
        page = response.get_data(as_text=True)
        records = [re.findall(r"<td[^>]*>(.*?)</td>", r, re.S)[3] for r in _rows(page)]
        assert response.status_code == 200 and records, typed
        assert all(ref in r for r in records) and other not in page, typed
        assert any(r.startswith("Assessment of case") for r in records)
    missing = post(admin, "/admin/audit", {"record": "C-NOSUCH"}, token_from="/admin/audit")
    assert missing.status_code == 400
    assert "No case has that reference" in missing.get_data(as_text=True)
    today = dt.datetime.now(dt.UTC).date().isoformat()
    y, m, d = today.split("-")
    day = {"since-day": d, "since-month": m, "since-year": y,
           "until-day": d, "until-month": m, "until-year": y}
    assert _rows(post(admin, "/admin/audit", day, token_from="/admin/audit")
                 .get_data(as_text=True))
    earlier = {**day, "since-year": "2001", "until-year": "2001"}
    page = post(admin, "/admin/audit", earlier, token_from="/admin/audit").get_data(
        as_text=True)
    assert "No entries match" in page
    wrong = {**day, "since-year": str(int(y) + 1)}
    response = post(admin, "/admin/audit", wrong, token_from="/admin/audit")
    assert response.status_code == 400
    assert "The date to must be the same as or after the date from" in response.get_data(
        as_text=True)


def _older_form(page):
    """The hidden fields of a filtered page's "Older matching entries" form, or None."""
    found = re.search(r'<form method="post"[^>]*>((?:(?!</form>).)*Older matching entries'
                      r'.*?)</form>', page, re.S)
    if found is None:
        return None
    return dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">',
                           found.group(1)))


def test_older_filtered_entries_keep_the_filters_and_stay_out_of_the_address(admin, store):
    for i in range(AUDIT_PAGE + 5):  # more than a page by one user, between others' rows
        store.audit("view", actor="filler", object_type="case", object_id=i)
        store.audit("view", actor="other", object_type="case", object_id=i)
    page = post(admin, "/admin/audit", {"actor": "filler", "action": "view"},
                token_from="/admin/audit").get_data(as_text=True)
    first = _rows(page)
    assert len(first) == AUDIT_PAGE
    assert "/admin/audit?" not in page  # no address carries the filters or a marker
    fields = _older_form(page)
    assert fields is not None and fields["actor"] == "filler" and fields["action"] == "view"
    oldest_shown = look.rows(store, "audit", "id", descending=True, limit=AUDIT_PAGE,
                             actor="filler")[-1]["id"]
    assert fields["before"] == str(oldest_shown)
    response = admin.post("/admin/audit", data=fields)
    older = response.get_data(as_text=True)
    rows = _rows(older)
    assert response.status_code == 200 and len(rows) == 5  # the rest, and only them
    for r in rows:
        assert re.findall(r"<td[^>]*>(.*?)</td>", r, re.S)[1] == "filler"
    assert _older_form(older) is None  # the last page has no further link


def test_a_filtered_page_of_exactly_one_page_ends_there(admin, store):
    for i in range(AUDIT_PAGE):
        store.audit("lock", actor="exact", object_type="case", object_id=i)
    page = post(admin, "/admin/audit", {"actor": "exact"},
                token_from="/admin/audit").get_data(as_text=True)
    assert len(_rows(page)) == AUDIT_PAGE and _older_form(page) is None  # no empty page
    store.audit("lock", actor="exact", object_type="case", object_id=-1)
    page = post(admin, "/admin/audit", {"actor": "exact"},
                token_from="/admin/audit").get_data(as_text=True)
    fields = _older_form(page)
    assert len(_rows(page)) == AUDIT_PAGE and fields is not None
    older = admin.post("/admin/audit", data=fields).get_data(as_text=True)
    assert len(_rows(older)) == 1 and _older_form(older) is None


def test_a_bad_older_marker_is_refused(admin, store):
    page = admin.get("/admin/audit")  # a token for the form
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.get_data(as_text=True))
    response = admin.post("/admin/audit", data={"csrf_token": token.group(1),
                                                "actor": "x", "before": "1 OR 1=1"})
    assert response.status_code == 400


def _cells(row):
    return re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)


def test_views_and_chained_rows_are_paged_together_newest_first_each_once(admin, store):
    """Views (the view log) and other rows (the chain) interleaved over several pages:
    following "Older entries" shows every row once, in the order written, although the
    pages' own views are logged meanwhile."""
    for i in range(AUDIT_PAGE + 8):
        store.audit("update", actor=f"mixed{i}", object_type="case", object_id=i)
        store.log_view("view", actor=f"mixed{i}", object_type="case", object_id=i)
        if i % 3 == 0:
            store.log_view("list", actor=f"mixed{i}", object_type="case_list")
    expected = [(r["actor"], r["action"]) for r in reversed(look.audit_trail(
        store, "actor", "action")) if r["actor"].startswith("mixed")]
    seen, url, pages = [], "/admin/audit", 0
    while url:
        page = admin.get(url).get_data(as_text=True)
        pages += 1
        seen += [(c[1], c[2]) for c in map(_cells, _rows(page)) if c[1].startswith("mixed")]
        link = re.search(r'href="(/admin/audit\?[^"]+)"', page)
        url = html.unescape(link.group(1)) if link else None
    assert pages >= 3 and seen == expected


def test_older_filtered_views_keep_the_filters(admin, store):
    for i in range(AUDIT_PAGE + 3):
        store.log_view("view", actor="looker", object_type="case", object_id=i)
        store.audit("update", actor="looker", object_type="case", object_id=i)
    page = post(admin, "/admin/audit", {"actor": "looker", "action": "view"},
                token_from="/admin/audit").get_data(as_text=True)
    assert len(_rows(page)) == AUDIT_PAGE
    fields = _older_form(page)
    assert fields is not None and "before" not in fields  # no chained row shown yet
    oldest_shown = look.rows(store, "view_log", "id", descending=True, limit=AUDIT_PAGE,
                             actor="looker")[-1]["id"]
    assert fields["views_before"] == str(oldest_shown)
    older = admin.post("/admin/audit", data=fields).get_data(as_text=True)
    rows = _rows(older)
    assert len(rows) == 3 and all(_cells(r)[2] == "view" for r in rows)
    assert _older_form(older) is None
    assert admin.get("/admin/audit?views_before=nonsense").status_code == 400
