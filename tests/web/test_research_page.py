"""The researcher's page: counts of people with a final assessment per instrument and
occasion, small counts hidden, no totals, nothing identifying, audited; researchers and
administrators only."""

from __future__ import annotations

import pytest

from formsengine.store import inspection as look

from .conftest import complete, create_case, login, start_assessment


def _finals(client, n, occasion="intake"):
    """n people (one case each) with a final test-risk assessment at ``occasion``."""
    cases = []
    for _ in range(n):
        case = create_case(client)
        complete(client, start_assessment(client, case, occasion=occasion))
        cases.append(case)
    return cases


def _page(app, who):
    client = app.test_client()
    assert login(client, who).status_code == 302
    return client, client.get("/research")


def test_researchers_see_counts_and_small_counts_are_hidden(app, alice, store):
    cases = _finals(alice, 5, "intake") + _finals(alice, 2, "review_3m")
    client, response = _page(app, "rita")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    row = page.split("<th scope=\"row\" class=\"govuk-table__header\">", 1)[1].split("</tr>")[0]
    cells = [c.split("</td>")[0] for c in row.split('govuk-table__cell--numeric">')[1:]]
    assert sorted(cells) == ["5", "fewer than 5"]  # intake 5 people; review 2: hidden
    assert ">2<" not in row
    assert "Total" not in page
    refs = [r["ref"] for r in look.rows(store, "cases", "ref")]
    uids = [r["uid"] for r in look.rows(store, "assessments", "uid")]
    for secret in refs + uids + cases:
        assert secret not in page
    assert look.audit_trail_count(store, object_type="research_summary", actor="rita") == 1
    assert client.get("/", follow_redirects=False).headers["Location"].endswith("/research")


def test_a_draft_is_not_counted(app, alice):
    start_assessment(alice, create_case(alice))
    _, response = _page(app, "rita")
    assert "There are no final assessments yet" in response.get_data(as_text=True)


@pytest.mark.parametrize("who, status", [("alice", 403), ("sue", 403), ("admin", 200),
                                         ("rita", 200)])
def test_who_can_see_the_research_page(app, users, who, status):
    _, response = _page(app, who)
    assert response.status_code == status


def test_signed_out_visitors_are_sent_to_sign_in(client, users):
    response = client.get("/research")
    assert response.status_code == 302 and "/sign-in" in response.headers["Location"]
