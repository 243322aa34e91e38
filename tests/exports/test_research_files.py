"""Every research file read back with an independent reader: pandas and pyarrow for CSV and
Parquet, pyreadstat and pandas for SPSS and Stata, frictionless for the data package, pypdf
for the codebook."""

from __future__ import annotations

import hashlib
import json

import pandas as pd
import pyarrow.parquet as pq
import pyreadstat
import pytest
from pypdf import PdfReader

from formsengine.exports.codebook import validate_datapackage
from formsengine.exports.coding import MISSING_CODES
from formsengine.exports.formats import spss_names, stata_names

TABLES = ["scores_long", "scores_wide", "items_dash_safelives", "items_drive_behaviours",
          "items_drive_closure"]


def csv(exported, table):
    """A CSV file read with pandas, text columns typed as the data package says."""
    package = json.loads((exported["out"] / "datapackage.json").read_text())
    resource = next(r for r in package["resources"] if r["path"] == f"{table}.csv")
    text = {f["name"]: "string" for f in resource["schema"]["fields"] if f["type"] == "string"}
    return pd.read_csv(exported["out"] / f"{table}.csv", keep_default_na=False,
                       na_values=[""], dtype=text, dtype_backend="numpy_nullable")


def intake_row(exported, table, person):
    """The row of the person's intake assessment (first person in pid order)."""
    frame = csv(exported, table)
    return frame[frame["occasion"] == "intake"].iloc[person]


def test_every_file_in_the_manifest_matches_its_checksum(exported):
    out, manifest = exported["out"], exported["manifest"]
    listed = {f["path"] for f in manifest["files"]}
    on_disk = {p.name for p in out.iterdir()} - {"manifest.json"}
    assert listed == on_disk
    for f in manifest["files"]:
        data = (out / f["path"]).read_bytes()
        assert hashlib.sha256(data).hexdigest() == f["sha256"]
        assert len(data) == f["bytes"]
    assert json.loads((out / "manifest.json").read_text()) == manifest
    for table in TABLES:
        assert f"{table}.sav" in listed and f"{table}.dta" in listed


def test_row_counts_in_the_manifest_match_the_files(exported):
    manifest = exported["manifest"]
    counts = manifest["counts"]
    assert counts["people"] == 24 and counts["assessments"] == 24 * 2 + 12
    for f in manifest["files"]:
        if f["format"] == "csv":
            assert len(csv(exported, f["table"])) == f["rows"]
        if f["format"] == "parquet":
            assert pq.read_metadata(exported["out"] / f["path"]).num_rows == f["rows"]
    wide = csv(exported, "scores_wide")
    assert len(wide) == 24 and wide["pid"].is_unique


def test_manifest_names_key_and_k_achieved(exported):
    from formsengine.instruments import schema_problems

    manifest = exported["manifest"]
    assert schema_problems("export-manifest", manifest) == []
    assert manifest["pseudonymisation"]["key_id"].startswith("hmac-sha256:")
    assert manifest["k_anonymity"]["quasi_identifiers"] == ["role", "age_band"]
    assert manifest["k_anonymity"]["k_achieved"] == 6
    assert manifest["purpose"] == "evaluation of intake against review"


@pytest.mark.parametrize("table", TABLES)
def test_parquet_holds_the_same_values_and_the_labels(exported, table):
    from_csv = csv(exported, table)
    parquet = pq.read_table(exported["out"] / f"{table}.parquet")
    from_parquet = parquet.to_pandas()
    assert list(from_parquet.columns) == list(from_csv.columns)
    for col in from_csv.columns:
        left = from_csv[col].astype("object").where(from_csv[col].notna(), None).tolist()
        right = from_parquet[col].astype("object").where(from_parquet[col].notna(), None)
        assert left == right.tolist(), col
    label = parquet.schema.field("pid").metadata[b"label"].decode()
    assert "Pseudonymous" in label


def test_wide_file_column_names_and_values(exported):
    wide = csv(exported, "scores_wide")
    assert "dash_safelives__yes_count__intake" in wide.columns
    assert "dash_safelives__level_final__review" in wide.columns
    assert "drive_behaviours__using_physical__closure" in wide.columns
    assert "drive_closure__risk_reduced__closure" in wide.columns
    intake = wide["dash_safelives__yes_count__intake"].dropna()
    # 4 + n yes answers for person n, except that person 0 declined one of them and person 1
    # did not know one and was not asked another: those are not counted as yes (nor as no)
    assert sorted(intake.astype(int).tolist()) == [3, 4, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15]


def test_sav_keeps_labels_and_user_missing_codes(exported):
    path = exported["out"] / "items_dash_safelives.sav"
    raw, meta = pyreadstat.read_sav(str(path), user_missing=True)
    assert meta.column_names_to_labels["dash_isolated"].startswith("The victim is cut off")
    labels = meta.variable_value_labels["dash_isolated"]
    assert labels[1] == "yes: Yes" and labels[0] == "no: No"
    assert labels[-1].startswith("dont_know") and labels[-2].startswith("declined")
    assert labels[-3].startswith("not_asked")
    assert meta.missing_ranges["dash_isolated"] == [{"lo": -4.0, "hi": -1.0}]
    codes = set(raw["dash_isolated"].dropna())
    assert {-1.0, -2.0} <= codes  # dont_know and declined kept apart
    assert -3.0 in set(raw["dash_financial"].dropna())  # not_asked
    plain, _ = pyreadstat.read_sav(str(path))
    declined = raw["dash_isolated"] == -2
    assert plain.loc[declined, "dash_isolated"].isna().all()  # missing, never "no"


def test_dta_keeps_labels_and_extended_missing_values(exported):
    path = exported["out"] / "items_dash_safelives.dta"
    data = pd.read_stata(path, convert_missing=True, convert_categoricals=False)
    kinds = {str(v) for v in data["dash_isolated"] if not isinstance(v, (int, float))}
    assert {".a", ".b"} <= kinds
    assert ".c" in {str(v) for v in data["dash_financial"] if not isinstance(v, (int, float))}
    with pd.io.stata.StataReader(path) as reader:
        value_labels = reader.value_labels()
        variable_labels = reader.variable_labels()
    assert variable_labels["dash_isolated"].startswith("The victim is cut off")
    isolated = next(v for v in value_labels.values()
                    if "declined: asked, not answered" in v.values() and "yes: Yes" in v.values())
    assert {"dont_know: asked, not known", "not_asked: not asked"} <= set(isolated.values())
    _, meta = pyreadstat.read_dta(str(path), user_missing=True)
    assert {"a", "b"} <= set(meta.missing_user_values["dash_isolated"])


def test_stata_and_spss_names_are_listed_in_the_codebook(exported):
    html = (exported["out"] / "codebook.html").read_text()
    for table in TABLES:
        _, meta = pyreadstat.read_dta(str(exported["out"] / f"{table}.dta"), metadataonly=True)
        for name in meta.column_names:
            assert len(name) <= 32
            assert name in html
    wide = csv(exported, "scores_wide")
    from formsengine.exports.coding import Variable

    variables = [Variable(c, c, "number", "score") for c in wide.columns]
    assert len(set(stata_names(variables).values())) == len(variables)
    assert len(set(spss_names(variables).values())) == len(variables)


def test_long_file_codes(exported):
    long = csv(exported, "scores_long")
    dash = long[(long["instrument"] == "dash-safelives") & (long["occasion"] == "intake")]
    band = dash[dash["name"] == "risk_band"]
    assert set(band["value_text"]) <= {"none", "standard", "medium", "high"}
    order = {"none": 0, "standard": 1, "medium": 2, "high": 3}
    assert all(order[t] == v for t, v in zip(band["value_text"], band["value"]))
    judged = dash[(dash["kind"] == "level") & (dash["name"] == "judged")]
    assert judged["value"].isna().all()  # no judgement made: nothing recorded
    flags = dash[dash["kind"] == "flag"]["value"]
    assert set(flags.dropna()) <= {0, 1}
    behaviours = long[(long["instrument"] == "drive-behaviours") & (long["occasion"] == "closure")]
    unknown = behaviours[(behaviours["name"] == "using_physical")
                         & (behaviours["value"] == MISSING_CODES["not_known"])]
    assert len(unknown) == 1  # the not-known severity is not turned into "not using"


def test_multiple_choice_items_become_one_column_per_option(exported):
    items = csv(exported, "items_dash_safelives")
    assert {"dash_afraid_of_what__being_killed", "dash_afraid_of_whom__children"} <= set(
        items.columns)
    assert "dash_injury_detail" not in items.columns  # free text
    assert "victim_view" not in items.columns and "other_information" not in items.columns


def test_days_replace_dates(exported):
    items = csv(exported, "items_dash_safelives")
    by_person = items.groupby("pid")["day"].apply(sorted)
    assert all(days == [0, 91] for days in by_person)
    for path in exported["out"].iterdir():
        if path.suffix in (".csv", ".sav", ".dta"):
            assert b"2025-0" not in path.read_bytes()


def test_datapackage_validates_with_every_row(exported):
    assert validate_datapackage(exported["out"] / "datapackage.json") == []
    package = json.loads((exported["out"] / "datapackage.json").read_text())
    by_name = {r["path"]: r for r in package["resources"]}
    for table in TABLES + ["aggregates"]:
        resource = by_name[f"{table}.csv"]
        header = list(csv(exported, table).columns)
        assert [f["name"] for f in resource["schema"]["fields"]] == header
    fields = {f["name"]: f for f in by_name["items_dash_safelives.csv"]["schema"]["fields"]}
    isolated = fields["dash_isolated"]
    assert {"value": "-2", "label": "declined"} in isolated["missingValues"]
    assert {"value": 1, "label": "yes: Yes"} in isolated["categories"]


def test_frictionless_reads_missing_codes_as_missing(exported):
    from formsengine.exports.codebook import csv_limit_kept

    with csv_limit_kept():
        from frictionless import Package

        package = Package(str(exported["out"] / "datapackage.json"))
        rows = package.get_resource("items-dash-safelives").read_rows()
    assert {r["dash_isolated"] for r in rows} <= {0, 1, None}


def test_codebook_names_every_column_of_every_file(exported):
    html = (exported["out"] / "codebook.html").read_text()
    for table in TABLES + ["aggregates"]:
        for col in csv(exported, table).columns:
            assert f">{col}<" in html, (table, col)
    assert "dash_safelives__yes_count__intake" in html
    assert "paraphrased labels of dash-safelives" in html  # the item wording source
    reader = PdfReader(exported["out"] / "codebook.pdf")
    text = "".join("".join(page.extract_text() for page in reader.pages).split())
    assert "Codebook" in text and "dash_safelives__yes_count__intake" in text  # wrapped
    assert set(reader.metadata) <= {"/Title", "/Producer", "/Creator"}
    assert reader.metadata["/Title"] == "Research export codebook"


def test_worker_process_writes_the_same_spss_and_stata_files(cohort, exported, tmp_path):
    from formsengine.exports.research import ResearchOptions, export_research

    out = tmp_path / "parallel"
    export_research(cohort["store"], ResearchOptions(
        project="evaluation-1", out=out, key_file=cohort["key"], workers=1,
        purpose="the same export written by a worker process", codebook_pdf=False))
    for table in ("scores_long", "items_dash_safelives"):
        for reader, suffix in ((pyreadstat.read_sav, ".sav"), (pyreadstat.read_dta, ".dta")):
            here, meta_here = reader(str(exported["out"] / f"{table}{suffix}"))
            there, meta_there = reader(str(out / f"{table}{suffix}"))
            pd.testing.assert_frame_equal(here, there)
            assert meta_here.variable_value_labels == meta_there.variable_value_labels


def test_pid_has_the_same_code_in_every_spss_and_stata_file(exported):
    codes = {}
    for table in ("scores_long", "scores_wide", "items_dash_safelives"):
        for reader, suffix in ((pyreadstat.read_sav, ".sav"), (pyreadstat.read_dta, ".dta")):
            data, meta = reader(str(exported["out"] / f"{table}{suffix}"))
            labels = meta.variable_value_labels["pid"]
            for code, pid in zip(data["pid"], data["pid"].map(labels)):
                assert codes.setdefault(pid, code) == code
    wide = csv(exported, "scores_wide")
    assert set(codes) == set(wide["pid"])


def test_every_shipped_instrument_exports_and_reads_back(tmp_path, open_new_store):
    """Synthetic records of every shipped instrument (the dvip inventory has a band named
    like its score: both get a column) through the importer, then every file read back."""
    import formsengine_dvip
    import formsengine_outcomes

    from formsengine.exports.keys import create_key_file
    from formsengine.exports.research import ResearchOptions, export_research
    from formsengine.importer import import_file
    from formsengine.synthetic import generate
    from tests.research_data import research_engine

    store = open_new_store(research_engine(formsengine_dvip, formsengine_outcomes), "all.db")
    rows = tmp_path / "rows.jsonl"
    rows.write_text("".join(json.dumps(r) + "\n" for r in generate(store.engine, people=6)))
    import_file(store, rows, actor="test")
    create_key_file(tmp_path / "k.key", "all")
    manifest = export_research(store, ResearchOptions(
        project="all", out=tmp_path / "out", key_file=tmp_path / "k.key",
        purpose="every shipped instrument", codebook_pdf=False))
    exported = {i["id"] for i in manifest["instruments"]}
    assert {"dash-safelives", "dvip-inventory", "idva-exit", "needs-vs"} <= exported
    wide = pd.read_csv(tmp_path / "out" / "scores_wide.csv")
    assert {"dvip_inventory__disclosed_incidents__assessment",
            "dvip_inventory__band_disclosed_incidents__assessment"} <= set(wide.columns)
    for f in manifest["files"]:
        path = tmp_path / "out" / f["path"]
        if f["format"] == "sav":
            assert len(pyreadstat.read_sav(str(path))[0]) == f["rows"]
        elif f["format"] == "dta":
            assert len(pd.read_stata(path, convert_categoricals=False)) == f["rows"]
        elif f["format"] == "parquet":
            assert pq.read_table(path).num_rows == f["rows"]
    assert validate_datapackage(tmp_path / "out" / "datapackage.json") == []
    store.close()
