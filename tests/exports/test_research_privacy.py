"""Disclosure control of research exports: planted names and free text never leave the
database, pseudonyms are keyed HMACs, the k-anonymity gate refuses rare combinations, small
counts are suppressed, spreadsheet formulas are neutralised, and every export is audited."""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import stat

import pandas as pd
import pyarrow.parquet as pq
import pytest
from pypdf import PdfReader

from formsengine.errors import FormsEngineError
from formsengine.exports.keys import KeyFileError, create_key_file, load_key_file
from formsengine.exports.privacy import (
    ExportRefused,
    age_band,
    neutralise_cell,
    neutralise_frame,
    suppress_counts,
)
from formsengine.exports.research import ResearchOptions, export_research
from formsengine.store import inspection as look
from tests.research_data import (
    PLANTED,
    REF_PREFIX,
    add_assessment,
    add_person,
    dash_data,
    day,
    populate_cohort,
    research_engine,
)


def decoded_texts(path):
    """Text a reader would see in a file whose bytes are compressed."""
    if path.suffix == ".parquet":
        frame = pq.read_table(path).to_pandas()
        meta = pq.read_schema(path).metadata or {}
        yield " ".join(str(v) for col in frame.columns for v in frame[col].tolist())
        yield " ".join(v.decode(errors="replace") for v in meta.values())
    elif path.suffix == ".pdf":
        reader = PdfReader(path)
        yield "".join(page.extract_text() for page in reader.pages)
        yield json.dumps({k: str(v) for k, v in (reader.metadata or {}).items()})


def test_planted_names_and_free_text_appear_in_no_output_byte(exported):
    files = sorted(exported["out"].iterdir())
    assert len(files) > 20
    for path in files:
        raw = path.read_bytes()
        texts = [raw.decode("latin-1"), raw.decode("utf-16-le", errors="ignore"),
                 *decoded_texts(path)]
        for planted in PLANTED:
            for text in texts:
                assert planted not in text, (path.name, planted)
                assert planted.lower() not in text.lower(), (path.name, planted)


def test_pseudonyms_are_hmacs_under_the_project_key(exported):
    key = bytes.fromhex(json.loads(exported["key"].read_text())["key"])
    expected = {hmac.new(key, ref.encode(), hashlib.sha256).hexdigest()[:32]
                for ref in exported["vs"] + exported["su"]}
    wide = pd.read_csv(exported["out"] / "scores_wide.csv", dtype={"pid": str})
    assert set(wide["pid"]) == expected
    plain = {hashlib.sha256(ref.encode()).hexdigest()[:32] for ref in exported["vs"]}
    assert not plain & set(wide["pid"])  # not a bare hash a guesser could recompute


def test_another_project_key_gives_unrelated_pseudonyms(cohort, tmp_path):
    create_key_file(tmp_path / "other.key", "other-project")
    manifest = export_research(cohort["store"], ResearchOptions(
        project="other-project", out=tmp_path / "other", key_file=tmp_path / "other.key",
        purpose="second project for comparison", formats=["csv"], codebook_pdf=False))
    other = set(pd.read_csv(tmp_path / "other" / "scores_wide.csv", dtype=str)["pid"])
    assert len(other) == 24
    first = tmp_path / "again"
    export_research(cohort["store"], ResearchOptions(
        project="evaluation-1", out=first, key_file=cohort["key"],
        purpose="a repeat export of the project", formats=["csv"], codebook_pdf=False))
    again = set(pd.read_csv(first / "scores_wide.csv", dtype=str)["pid"])
    assert not other & again
    assert manifest["pseudonymisation"]["key_id"] != load_key_file(
        cohort["key"], "evaluation-1").key_id


def test_export_is_audited_with_its_purpose(exported):
    rows = look.rows(exported["store"], "audit", action="research_export")
    details = [json.loads(r["details"]) for r in rows]
    mine = [d for d in details if d["purpose"] == "evaluation of intake against review"]
    assert mine and mine[0]["people"] == 24 and mine[0]["key_id"].startswith("hmac-sha256:")


def test_rare_combination_of_quasi_identifiers_stops_the_export(tmp_path, open_new_store):
    store = open_new_store(research_engine(), "rare.db")
    populate_cohort(store, people=10)
    person = add_person(store, f"{REF_PREFIX}VS-old", "victim_survivor", birth_year=1950)
    add_assessment(store, person, dash_data(3, date=day(5)), "intake")
    create_key_file(tmp_path / "k.key", "rare")
    out = tmp_path / "export"
    with pytest.raises(ExportRefused) as refused:
        export_research(store, ResearchOptions(project="rare", out=out,
                                               key_file=tmp_path / "k.key",
                                               purpose="should be refused by the gate"))
    message = str(refused.value)
    assert "role=victim_survivor, age_band=65_plus covers 1" in message
    assert "k=5" in message and "Nothing was written" in message
    assert not out.exists()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".export")] == []
    audit = look.first(store, "audit", "details", action="research_export_refused")
    assert json.loads(audit["details"])["k_achieved"] == 1
    # the gate can be satisfied by dropping the quasi-identifier that singles them out
    manifest = export_research(store, ResearchOptions(
        project="rare", out=out, key_file=tmp_path / "k.key", quasi_identifiers=["role"],
        purpose="export with role as the only quasi-identifier", formats=["csv"],
        codebook_pdf=False))
    assert manifest["k_anonymity"]["k_achieved"] == 10
    store.close()


def test_unknown_quasi_identifier_is_a_clear_error(cohort, tmp_path):
    with pytest.raises(FormsEngineError, match="unknown quasi-identifier.*postcode"):
        export_research(cohort["store"], ResearchOptions(
            project="evaluation-1", out=tmp_path / "x", key_file=cohort["key"],
            purpose="testing a bad quasi-identifier", quasi_identifiers=["postcode"]))


def test_small_counts_are_suppressed_in_the_aggregate_table(exported):
    agg = pd.read_csv(exported["out"] / "aggregates.csv")
    shown = agg["people"].dropna()
    assert (shown >= 5).all()
    suppressed = agg[agg["suppressed"] == 1]
    assert len(suppressed) > 0 and suppressed["people"].isna().all()
    assert exported["manifest"]["suppression"]["suppressed_cells"] == len(suppressed)
    # no suppressed count can be worked out from its result's other counts and their total
    for _, group in agg.groupby(["instrument", "occasion", "kind", "name"]):
        hidden = group[group["suppressed"] == 1]
        nonzero = group[(group["people"] != 0)]
        assert len(hidden) != 1 or len(nonzero) == 1, group


def _suppress(counts, groups, threshold=5):
    shown, primary, secondary = suppress_counts(pd.Series(counts), threshold,
                                                pd.Series(groups))
    return ([None if pd.isna(v) else int(v) for v in shown], primary.tolist(),
            secondary.tolist())


@pytest.mark.parametrize("counts, expected", [
    ([1, 10, 20], [None, None, 20]),      # one small cell: the next smallest goes too
    ([1, 1, 30], [None, None, None]),     # two small cells holding fewer than 5: the rest too
    ([0, 3, 8, 9], [0, None, None, 9]),   # zeros are shown and never counted as hidden
    ([2, 3, 40], [None, None, 40]),       # two small cells holding 5: enough
    ([5, 6, 7], [5, 6, 7]),               # nothing small: nothing hidden
    ([4], [None]),                        # the only cell
])
def test_secondary_suppression_within_a_group(counts, expected):
    shown, primary, secondary = _suppress(counts, ["g"] * len(counts))
    assert shown == expected
    assert all(p != s or not p for p, s in zip(primary, secondary))  # never both
    assert [v is None for v in shown] == [p or s for p, s in zip(primary, secondary)]


def test_groups_are_suppressed_independently():
    shown, _, secondary = _suppress([1, 10, 20, 10, 20], ["a", "a", "a", "b", "b"])
    assert shown == [None, None, 20, 10, 20]
    assert secondary == [False, True, False, False, False]
    shown, _, _ = _suppress([1, 10, 20], ["a", "a", "a"], threshold=2)  # lower threshold
    assert shown == [None, None, 20]


def test_without_groups_only_small_counts_are_hidden():
    shown, primary, secondary = suppress_counts(pd.Series([1, 10, 20]), 5)
    assert shown.isna().tolist() == [True, False, False] and not secondary.any()


@pytest.mark.parametrize("text", ["=cmd|' /C calc'!A0", "+1+1", "-2+3", "@SUM(A1)",
                                  "\tx", "\rx"])
def test_formula_cells_are_neutralised(text):
    assert neutralise_cell(text) == "'" + text
    frame = neutralise_frame(pd.DataFrame({"t": [text, "plain"], "n": [-1, 2]}), ["t"])
    assert frame["t"].tolist() == ["'" + text, "plain"]
    assert frame["n"].tolist() == [-1, 2]  # numbers are not formulas


def test_formula_in_a_result_name_is_neutralised_in_csv(tmp_path, open_new_store):
    from tests.conftest import DefinitionsPlugin, make_engine

    definition = {
        "id": "formula-test", "version": "1.0", "title": "Formula test",
        "provenance": "test", "licence": "test", "subject_role": "service_user",
        "occasions": ["intake"],
        "sections": [{"id": "s", "title": "S", "items": [
            {"id": "f.a", "type": "choice", "label": "A",
             "options": [{"value": "yes", "label": "Yes"}, {"value": "no", "label": "No"}]}]}],
        "scoring": {"scores": [{"id": "combo", "type": "combination", "items": ["f.a"],
                                "values": ["yes"], "names": {"f.a": "=HYPERLINK(1)"}}]},
    }
    store = open_new_store(make_engine(DefinitionsPlugin(definition)), "f.db")
    for n in range(6):
        person = add_person(store, f"P{n}", "service_user")
        add_assessment(store, person, {"instrument": "formula-test",
                                       "answers": {"f.a": "yes"}}, "intake")
    create_key_file(tmp_path / "k.key", "f")
    export_research(store, ResearchOptions(project="f", out=tmp_path / "out",
                                           key_file=tmp_path / "k.key", formats=["csv"],
                                           purpose="formula neutralisation", codebook_pdf=False))
    text = (tmp_path / "out" / "scores_long.csv").read_text()
    assert "'=HYPERLINK(1)" in text and ',"=HYPERLINK' not in text and ",=HYPERLINK" not in text
    store.close()


def test_age_bands():
    assert [age_band(a) for a in (None, 16, 18, 24, 25, 64, 65, 90)] == [
        None, "under_18", "18_24", "18_24", "25_34", "55_64", "65_plus", "65_plus"]


def test_key_file_is_private_and_never_overwritten(tmp_path):
    path = tmp_path / "p.key"
    key = create_key_file(path, "proj")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    with pytest.raises(KeyFileError, match="already exists"):
        create_key_file(path, "proj")
    assert load_key_file(path, "proj").key == key.key
    with pytest.raises(KeyFileError, match="belongs to project 'proj'"):
        load_key_file(path, "another")
    os.chmod(path, 0o644)
    with pytest.raises(KeyFileError, match="chmod 600"):
        load_key_file(path, "proj")


def test_key_file_inside_the_export_folder_is_refused(cohort, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    inside = out / "k.key"
    create_key_file(inside, "evaluation-1")
    with pytest.raises(FormsEngineError, match="not be inside the export folder"):
        export_research(cohort["store"], ResearchOptions(
            project="evaluation-1", out=out, key_file=inside, purpose="key inside the folder"))


def test_purpose_is_required(cohort, tmp_path):
    with pytest.raises(FormsEngineError, match="purpose"):
        export_research(cohort["store"], ResearchOptions(
            project="evaluation-1", out=tmp_path / "o", key_file=cohort["key"], purpose=" "))


def test_drafts_and_superseded_versions_are_not_exported(tmp_path, open_new_store):
    store = open_new_store(research_engine(), "v.db")
    populate_cohort(store, people=10)
    first = look.first(store, "assessments", "id", instrument_id="dash-safelives")["id"]
    inst, sub = store.engine.check(dash_data(20, date=day(0)))
    store.amend(first, sub, reason="corrected answers", actor="test")
    person = add_person(store, f"{REF_PREFIX}VS-draft", "victim_survivor", birth_year=1995)
    add_assessment(store, person, dash_data(1, date=day(1)), "intake", status="draft")
    create_key_file(tmp_path / "k.key", "v")
    manifest = export_research(store, ResearchOptions(
        project="v", out=tmp_path / "out", key_file=tmp_path / "k.key", formats=["csv"],
        instruments=["dash-safelives"], purpose="versions and drafts", codebook_pdf=False))
    assert manifest["counts"]["assessments"] == 20
    wide = pd.read_csv(tmp_path / "out" / "scores_wide.csv")
    assert 20 in set(wide["dash_safelives__yes_count__intake"])
    store.close()


def test_the_manifest_counts_secondary_suppression(exported):
    agg = pd.read_csv(exported["out"] / "aggregates.csv")
    small = agg[agg["suppressed"] == 1]
    suppression = exported["manifest"]["suppression"]
    assert suppression["secondary_cells"] <= suppression["suppressed_cells"] == len(small)
    # the test cohort has results where one small count would otherwise stand alone
    assert suppression["secondary_cells"] > 0


def test_export_files_are_private_whatever_the_umask(cohort, tmp_path):
    """The folder is 0700 and every file in it 0600, though the process's umask is the usual
    loose one (the SPSS/Stata writers and pyarrow create files with it)."""
    out = tmp_path / "private"
    old = os.umask(0o022)
    try:
        export_research(cohort["store"], ResearchOptions(
            project="evaluation-1", out=out, key_file=cohort["key"],
            purpose="checking the permissions of the files", formats=["csv", "sav"],
            codebook_pdf=True))
    finally:
        os.umask(old)
    assert stat.S_IMODE(out.stat().st_mode) == 0o700
    modes = {p.name: stat.S_IMODE(p.stat().st_mode) for p in out.iterdir()}
    assert {"scores_long.sav", "codebook.pdf", "manifest.json"} <= set(modes)
    assert set(modes.values()) == {0o600}, modes


def test_k_below_5_needs_allow_small_k_and_is_recorded(cohort, tmp_path):
    store = cohort["store"]
    options = dict(project="evaluation-1", key_file=cohort["key"], k=3, formats=["csv"],
                   codebook_pdf=False, purpose="a small pilot with a k of three")
    with pytest.raises(FormsEngineError, match="k=3 is below 5.*--allow-small-k"):
        export_research(store, ResearchOptions(out=tmp_path / "refused", **options))
    assert not (tmp_path / "refused").exists()
    manifest = export_research(store, ResearchOptions(out=tmp_path / "small",
                                                      allow_small_k=True, **options))
    assert manifest["k_anonymity"]["k_required"] == 3
    assert manifest["k_anonymity"]["small_k_allowed"] is True
    on_disk = json.loads((tmp_path / "small" / "manifest.json").read_text())
    assert on_disk["k_anonymity"]["small_k_allowed"] is True
    row = look.first(store, "audit", "details", action="research_export",
                     object_id=manifest["export_id"])
    details = json.loads(row["details"])
    assert details["k_required"] == 3 and details["small_k_allowed"] is True


def test_default_k_is_not_marked_small(exported):
    assert exported["manifest"]["k_anonymity"]["small_k_allowed"] is False
