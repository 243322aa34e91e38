"""A supplement whose offered_when holds is suggested on the result page."""

from __future__ import annotations

import json
import shutil

from formsengine.config import Settings
from formsengine.engine import Engine
from formsengine.store import Store
from formsengine.web import create_app

from .conftest import (
    DEFINITIONS,
    FAST_HASH,
    complete,
    create_case,
    login,
    make_user,
    start_assessment,
)


def test_result_suggests_offered_supplement(tmp_path):
    folder = tmp_path / "defs"
    folder.mkdir()
    shutil.copy(DEFINITIONS / "test-risk.json", folder / "test-risk.json")
    supplement = json.loads((DEFINITIONS / "test-risk.json").read_text())
    supplement.update(id="test-supplement", title="Strangulation follow-up",
                      offered_when=[{"instrument": "test-risk",
                                     "when": {"item": "t.strangle", "equals": "yes"}}])
    supplement.pop("test_vectors", None)
    (folder / "test-supplement.json").write_text(json.dumps(supplement))
    engine = Engine(Settings(definitions_dir=folder), load_entrypoints=False)
    app = create_app({"TESTING": True, "DATABASE": str(tmp_path / "w.db"),
                      "SECRET_KEY": "test-secret-key-that-is-long-enough-000",
                      "ENGINE": engine, "PASSWORD_HASH": FAST_HASH})
    store = Store.open(app.config["DATABASE"], engine)
    make_user(store, "alice")
    store.close()
    client = app.test_client()
    assert login(client, "alice").status_code == 302
    case = create_case(client)
    strangled = start_assessment(client, case)
    complete(client, strangled)  # the default answers include strangulation: yes
    page = client.get(f"/assessments/{strangled}/result").get_data(as_text=True)
    assert "Suggested next: Strangulation follow-up" in page
    other = start_assessment(client, case, occasion="review_3m")
    complete(client, other, history={"q-t-strangle": "no", "q-t-threat_kill": "yes",
                                     "q-t-worse": "yes"})
    page = client.get(f"/assessments/{other}/result").get_data(as_text=True)
    assert "Suggested next" not in page
