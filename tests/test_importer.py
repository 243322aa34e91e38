"""Bulk import: all or nothing; every bad line reported with its number."""

from __future__ import annotations

import json

import pytest

from formsengine.audit import verify
from formsengine.importer import ImportRefused, import_file

from .conftest import answers


def record(person="P-1", occasion="intake", case=None, **items):
    r = answers(**items)
    r.update(person=person, role="victim_survivor", occasion=occasion)
    if case:
        r["case"] = case
    return r


def write(path, lines):
    path.write_text("\n".join(x if isinstance(x, str) else json.dumps(x) for x in lines) + "\n")
    return path


def count(store, table):
    return store.one(f"SELECT COUNT(*) AS n FROM {table}")["n"]


def test_import_writes_everything(store, tmp_path):
    f = write(tmp_path / "in.jsonl", [record("P-1"), record("P-1", "review", a="yes"),
                                      record("P-2", case="C-1")])
    summary = import_file(store, f, actor="tester")
    assert summary["imported"] == 3 and summary["people"] == 2
    assert count(store, "assessments") == 3 and count(store, "scores") == 3
    assert count(store, "answers") == 12
    assert verify(store.conn).ok


def test_bad_lines_are_all_reported_and_nothing_written(store, tmp_path):
    bad_value = record("P-3", a="maybe")
    no_person = record()
    del no_person["person"]
    f = write(tmp_path / "in.jsonl", [
        record("P-1"),
        "{broken json",
        bad_value,
        no_person,
        record("P-4", occasion="week_32"),
        record("P-1"),  # second intake for the same person in one file
        json.dumps(record("P-5")).replace('"victim_survivor"', '"service_user"'),
    ])
    with pytest.raises(ImportRefused) as exc:
        import_file(store, f, actor="tester")
    message = str(exc.value)
    for expected in ["line 2: not valid JSON",
                     "line 3: instrument toy-checklist v1.0: item toy.a: answer 'maybe'",
                     "line 4: missing person",
                     "line 5: instrument toy-checklist is not used at occasion 'week_32'",
                     "line 6: person 'P-1' already has a toy-checklist assessment at intake",
                     "line 7: instrument toy-checklist is about a victim_survivor"]:
        assert expected in message
    assert "nothing was written" in message
    assert count(store, "assessments") == 0 and count(store, "people") == 0
    assert count(store, "audit") == 1  # only the row that starts the keyed chain


def test_existing_final_assessment_blocks_reimport(store, tmp_path):
    f = write(tmp_path / "in.jsonl", [record("P-1")])
    import_file(store, f, actor="tester")
    with pytest.raises(ImportRefused, match="already has a final toy-checklist assessment"):
        import_file(store, f, actor="tester")
    assert count(store, "assessments") == 1


def test_after_incident_may_repeat(store, tmp_path):
    f = write(tmp_path / "in.jsonl", [record("P-1", "after_incident"),
                                      record("P-1", "after_incident", a="yes")])
    assert import_file(store, f, actor="t")["imported"] == 2


@pytest.mark.parametrize("content, expected", [
    (b"\xff\xfe\n", "line 1: not UTF-8"),
    (b"[1,2]\n", "line 1: must be a JSON object"),
    (b"\n\n", "holds no assessments"),
    (b"[" * 100000 + b"\n", "line 1: "),
])
def test_malformed_files(store, tmp_path, content, expected):
    f = tmp_path / "in.jsonl"
    f.write_bytes(content)
    with pytest.raises(ImportRefused) as exc:
        import_file(store, f, actor="t")
    assert expected in str(exc.value)


def test_oversized_line(store, tmp_path):
    r = record()
    r["answers"]["toy.note"] = "x" * 1_100_000
    f = write(tmp_path / "in.jsonl", [r])
    with pytest.raises(ImportRefused, match="line 1: line is longer than"):
        import_file(store, f, actor="t")


def test_hostile_text_is_stored_verbatim_not_executed(store, tmp_path):
    r = record()
    r["answers"]["toy.note"] = "'); DROP TABLE assessments; -- <script>alert(1)</script>"
    import_file(store, write(tmp_path / "in.jsonl", [r]), actor="t")
    row = store.one("SELECT value FROM answers WHERE item_id = 'toy.note'")
    assert json.loads(row["value"]).startswith("'); DROP TABLE")
    assert count(store, "assessments") == 1


def test_final_needs_required_fields(store, tmp_path):
    r = record()
    del r["fields"]["assessment_date"]
    draft = record("P-2")
    del draft["fields"]["assessment_date"]
    draft["status"] = "draft"
    with pytest.raises(ImportRefused, match="line 1: assessment_date required for a final"):
        import_file(store, write(tmp_path / "in.jsonl", [r, draft]), actor="t")
    assert import_file(store, write(tmp_path / "d.jsonl", [draft]), actor="t")["imported"] == 1


def test_one_case_links_every_person_in_it(store, tmp_path):
    vs = record("VS-1", case="C-9")
    su = record("SU-1", case="C-9")
    su["role"] = "victim_survivor"
    import_file(store, write(tmp_path / "in.jsonl", [vs, su]), actor="t")
    links = store.all("SELECT p.ref FROM case_people cp JOIN people p ON p.id = cp.person_id"
                      " JOIN cases c ON c.id = cp.case_id WHERE c.ref = 'C-9' ORDER BY p.ref")
    assert [r["ref"] for r in links] == ["SU-1", "VS-1"]
    audit_kinds = {r["object_type"] for r in store.all("SELECT object_type FROM audit")}
    assert {"person", "case", "assessment", "assessments"} <= audit_kinds


def test_imported_draft_keeps_its_answers_in_its_document_until_final(store, tmp_path):
    draft = record("P-2", a="yes", b="dont_know")
    draft["status"] = "draft"
    draft["comments"] = {"toy.a": "from the referral"}
    import_file(store, write(tmp_path / "d.jsonl", [draft, record("P-3", c="yes")]), actor="t")
    row = store.one("SELECT id FROM assessments WHERE status = 'draft'")
    stored = store.get_assessment(row["id"])
    assert stored["answers"] == draft["answers"]  # "dont_know" kept, not turned into "no"
    assert stored["comments"] == {"toy.a": "from the referral"}
    assert store.one("SELECT COUNT(*) AS n FROM answers WHERE assessment_id = ?",
                     [row["id"]])["n"] == 0
    assert count(store, "answers") == 4  # the final record's answers, as rows
    store.finalise(row["id"], expected_revision=stored["revision"], actor="t")
    assert count(store, "answers") == 8
    assert store.get_assessment(row["id"])["answers"] == draft["answers"]
