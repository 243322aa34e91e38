"""A research export reads the same on PostgreSQL as on SQLite: the same synthetic data in
both databases, exported with the same key in every registered format, gives the same files.
Files are compared byte for byte, apart from the export's creation time (in the manifest,
the data package and the codebook) and SPSS and Stata files, whose headers hold the time
they were written: those are read back in full and compared value by value, label by label.
(The PDF codebook, rendered from the HTML one, is left out: rendering it is slow.)
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pandas as pd
import pyreadstat

from formsengine.exports.formats import format_registry
from formsengine.exports.keys import create_key_file
from formsengine.exports.research import ResearchOptions, export_research
from formsengine.importer import import_file
from formsengine.plugins import make_plugin_manager
from formsengine.store import Store
from formsengine.synthetic import generate
from tests.research_data import research_engine

# the creation time in the data package and the codebook; the files that hold it
TIMED = (".sav", ".dta", "datapackage.json", "codebook.html")
CREATED = re.compile(rb"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\+00:00|Z)?")


def _engine():
    import formsengine_dvip
    import formsengine_outcomes

    return research_engine(formsengine_dvip, formsengine_outcomes)


def _export(location: str, rows: Path, key: Path, out: Path) -> dict:
    engine = _engine()
    with Store.open(location, engine, create=True) as store:
        import_file(store, rows, actor="test")
        return export_research(store, ResearchOptions(
            project="same", out=out, key_file=key, purpose="the same export on each database",
            formats=list(format_registry(make_plugin_manager(load_entrypoints=False))),
            workers=0, codebook_pdf=False))


def _same_statistical_file(a: Path, b: Path) -> None:
    reader = pyreadstat.read_sav if a.suffix == ".sav" else pyreadstat.read_dta
    data_a, meta_a = reader(str(a), user_missing=True)
    data_b, meta_b = reader(str(b), user_missing=True)
    pd.testing.assert_frame_equal(data_a, data_b, check_exact=True)
    for attribute in ("column_names", "column_labels", "variable_value_labels",
                      "variable_measure", "readstat_variable_types", "original_variable_types",
                      "missing_ranges", "file_label", "number_rows"):
        assert getattr(meta_a, attribute, None) == getattr(meta_b, attribute, None), \
            f"{a.name}: {attribute} differs"


def test_postgresql_export_is_the_same_as_sqlite(pg_database, tmp_path):
    rows = tmp_path / "rows.jsonl"
    rows.write_text("".join(json.dumps(r) + "\n" for r in generate(_engine(), people=8)))
    key = tmp_path / "same.key"
    create_key_file(key, "same")
    lite = _export(str(tmp_path / "lite.db"), rows, key, tmp_path / "sqlite" / "export")
    pg = _export(pg_database, rows, key, tmp_path / "postgresql" / "export")
    assert lite["counts"] == pg["counts"] and lite["counts"]["people"] > 0
    one, other = tmp_path / "sqlite" / "export", tmp_path / "postgresql" / "export"
    names = sorted(p.name for p in one.iterdir())
    assert names == sorted(p.name for p in other.iterdir())
    suffixes = {Path(n).suffix for n in names}
    assert {".csv", ".parquet", ".sav", ".dta", ".json", ".html"} <= suffixes
    compared = 0
    for name in names:
        a, b = one / name, other / name
        if a.suffix in (".sav", ".dta"):
            _same_statistical_file(a, b)
        elif name in ("manifest.json", "datapackage.json", "codebook.html"):
            # the same apart from the time each export was made (and, in the manifest, its
            # random id and the hashes of the files that hold a time)
            assert _without_times(a, name) == _without_times(b, name), name
        else:
            assert a.read_bytes() == b.read_bytes(), f"{name} differs"
        compared += 1
    assert compared == len(names) >= 10


def _without_times(path: Path, name: str) -> bytes:
    data = path.read_bytes()
    if name == "manifest.json":
        manifest = json.loads(data)
        del manifest["created"], manifest["export_id"]  # a time, a random id
        for f in manifest["files"]:
            if f["path"].endswith(TIMED):
                f.pop("sha256", None)
                f.pop("bytes", None)
        return json.dumps(manifest, sort_keys=True).encode()
    return CREATED.sub(b"", data)

