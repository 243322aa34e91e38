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


def test_charted_score_and_cutoffs_follow_the_configuration(toy):
    from formsengine.compare import band_cutoffs, charted_score, score_maximum
    from formsengine.config import OrgConfig

    from .conftest import DefinitionsPlugin, make_engine

    cutoffs = [{"min": 0, "band": "low"}, {"min": 3, "band": "medium"},
               {"min": 4, "band": "high"}]
    org = OrgConfig.from_dict({"instruments": {"toy-checklist": {
        "parameters": {"risk_cutoffs": cutoffs}}}})
    engine = make_engine(DefinitionsPlugin(toy), org_config=org)
    inst = engine.instruments.get("toy-checklist")
    score_id, band = charted_score(inst)
    assert score_id == "yes_count" and band["id"] == "risk_band"
    assert band_cutoffs(engine, inst, band) == cutoffs
    assert score_maximum(inst, "yes_count") == 4
    assert score_maximum(inst, "answered") is None
    del toy["scoring"]["bands"], toy["scoring"]["level"]
    toy["scoring"]["criteria"] = [c for c in toy["scoring"]["criteria"]
                                  if c["id"] != "judged_high"]
    plain = make_engine(DefinitionsPlugin(toy)).instruments.get("toy-checklist")
    assert charted_score(plain) == ("yes_count", None)
