"""Change over time for one person and instrument."""

from __future__ import annotations

from formsengine.compare import history

from .conftest import answers
from .test_store import save


def dated(date, **items):
    data = answers(**items)
    data["fields"]["assessment_date"] = date
    return data


def test_history_change_and_crossings(store):
    save(store, dated("2026-01-05", a="yes"), occasion="intake")
    save(store, dated("2026-04-05", a="yes", b="yes", c="yes"), occasion="review")
    save(store, dated("2026-09-05", a="yes", b="yes"), occasion="exit")
    h = history(store, "P-1", "toy-checklist")
    assert [o["occasion"] for o in h["occasions"]] == ["intake", "review", "exit"]
    assert [o["scores"]["yes_count"] for o in h["occasions"]] == [1, 3, 2]
    assert [o["change_from_first"]["yes_count"] for o in h["occasions"]] == [0, 2, 1]
    assert "risk_band: crossed into high at review (from low at intake)" in h["crossings"]
    assert "level: fell to medium at exit (from high at review)" in h["crossings"]
    assert {"what": "risk_band", "from": "low", "to": "high", "from_occasion": "intake",
            "to_occasion": "review"} in h["transitions"]


def test_history_ignores_drafts_and_superseded(store):
    aid = save(store, dated("2026-01-05", a="yes"), occasion="intake")
    save(store, dated("2026-04-05"), occasion="review", status="draft")
    _, sub = store.engine.check(dated("2026-01-05", a="yes", b="yes"))
    store.amend(aid, sub, reason="correction", actor="u")
    h = history(store, "P-1", "toy-checklist")
    assert len(h["occasions"]) == 1 and h["occasions"][0]["scores"]["yes_count"] == 2


def test_unknown_person(store):
    import pytest

    from formsengine.errors import StorageError

    with pytest.raises(StorageError, match="no person with reference 'nobody'"):
        history(store, "nobody", "toy-checklist")
