"""An instrument scored by a plugin's own Python (its definition declares no scores) shows its
score in the case's change-over-time table and in the case report's history, under the
score's name, not "None" and "Not known"."""

from __future__ import annotations

import json

import formsengine
from formsengine.config import Settings
from formsengine.engine import Engine
from formsengine.store import inspection as look
from formsengine.web import create_app

from ..conftest import DefinitionsPlugin
from .conftest import DEFINITIONS, FAST_HASH, create_case, login


class Ranker:
    __name__ = "org-ranker"

    @formsengine.hookimpl
    def score_assessment(self, instrument, submission, parameters):
        if instrument.id != "test-ranked":
            return None
        total = sum(1 for v in submission.answers.values() if v == "yes") * 10
        return {"scores": {"label_text": "ranked", "total": total, "extra": 1},
                "bands": {}, "level": None, "flags": {}, "criteria": {},
                "criteria_groups": {}, "complete": True, "warnings": []}


def _ranked_definition() -> dict:
    data = json.loads((DEFINITIONS / "test-risk.json").read_text())
    data.update(id="test-ranked", title="Ranked by a plugin")
    for key in ("scoring", "parameters", "test_vectors"):
        data.pop(key, None)
    return data


def test_python_scored_instrument_shows_its_score_over_time(tmp_path, monkeypatch):
    engine = Engine(Settings(definitions_dir=DEFINITIONS), load_entrypoints=False,
                    plugins=[DefinitionsPlugin(_ranked_definition(), name="org-defs"),
                             Ranker()])
    app = create_app({"TESTING": True, "DATABASE": str(tmp_path / "web.db"),
                      "SECRET_KEY": "test-secret-key-that-is-long-enough-000",
                      "ENGINE": engine, "PASSWORD_HASH": FAST_HASH})
    from formsengine.store import Store

    from .conftest import make_user

    store = Store.open(app.config["DATABASE"], engine)
    make_user(store, "alice")
    client = app.test_client()
    assert login(client, "alice").status_code == 302
    uid = create_case(client)
    case = store.find_case(uid)
    person_id = look.value(store, "case_people", "person_id", case_id=case["id"])
    inst = engine.instruments.get("test-ranked")
    for occasion, day, yes in (("intake", "2025-01-10", 3), ("review_3m", "2025-04-10", 1)):
        answers = {i: "no" for i in ("t.injury", "t.frightened", "t.strangle",
                                     "t.threat_kill", "t.worse")}
        for item in list(answers)[:yes]:
            answers[item] = "yes"
        _, sub = engine.check({"instrument": "test-ranked", "answers": answers,
                               "fields": {"assessment_date": day}})
        store.create_assessment(inst, sub, person_id=person_id, occasion=occasion,
                                case_id=case["id"])
    store.close()
    page = client.get(f"/cases/{uid}").get_data(as_text=True)
    table = page[page.index("Ranked by a plugin at each occasion"):]
    table = table[:table.index("</table>")]
    assert ">Total<" in table or "Total</th>" in table
    import re

    numbers = re.findall(r'cell--numeric">([^<]*)<', table)
    assert numbers == ["30", "+0", "10", "-20"], table  # score and change from the first
    assert "None" not in table
