"""The shipped instrument plugins together, loaded through their entry points as an
organisation's installation would load them."""

from __future__ import annotations

import pytest

from formsengine.compare import history
from formsengine.config import Settings
from formsengine.engine import Engine
from formsengine.store import Store
from formsengine.synthetic import generate
from formsengine.vectors import run_vectors

SHIPPED = {
    "dash-safelives": "dash", "dash-police": "dash", "sdash": "dash",
    "drive-dash": "drive_dash", "drive-behaviours": "drive_dash", "drive-closure": "drive_dash",
    "needs-su": "needs", "needs-vs": "needs",
    "dvip-inventory": "dvip", "dvip-risk-factors": "dvip",
    "idva-intake": "outcomes", "idva-exit": "outcomes",
    "rfg-ranking": "rfg",
}


@pytest.fixture(scope="module")
def installed() -> Engine:
    return Engine(Settings(), load_entrypoints=True)


def test_every_shipped_instrument_comes_from_its_own_plugin(installed):
    found = {i.id: i.plugin for i in installed.instruments}
    for instrument_id, plugin in SHIPPED.items():
        assert found.get(instrument_id) == plugin, instrument_id


def test_every_shipped_vector_passes(installed):
    outcomes = [o for o in run_vectors(installed) if o.instrument in SHIPPED]
    assert {o.instrument for o in outcomes} == set(SHIPPED)
    failed = [(o.instrument, o.name, o.problems) for o in outcomes if not o.passed]
    assert failed == []


def test_every_instrument_is_compared_across_occasions(installed, tmp_path):
    store = Store.open(tmp_path / "all.db", installed, create=True)
    import json

    from formsengine.importer import import_file

    form_instruments = [i for i in SHIPPED if i != "rfg-ranking"]
    path = tmp_path / "synthetic.jsonl"
    with path.open("w") as fh:
        for record in generate(installed, people=3, instruments=form_instruments):
            fh.write(json.dumps(record) + "\n")
    import_file(store, path, actor="test")
    for instrument_id in form_instruments:
        inst = installed.instruments.get(instrument_id)
        prefix = "VS" if inst.subject_role == "victim_survivor" else "SU"
        h = history(store, f"{prefix}-00001", instrument_id)
        occasions = [o for o in inst.occasions if o != "after_incident"]
        assert [o["occasion"] for o in h["occasions"]] == occasions, instrument_id
        numeric = [k for k, v in h["occasions"][0]["scores"].items()
                   if isinstance(v, (int, float)) and not isinstance(v, bool)]
        if numeric and len(occasions) > 1:
            assert set(numeric) <= set(h["occasions"][-1]["change_from_first"]), instrument_id
    store.close()
