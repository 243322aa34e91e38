"""Bulk import: all or nothing; every bad line reported with its number."""

from __future__ import annotations

import hashlib
import json

import pytest

from formsengine.importer import ImportRefused, import_file
from formsengine.store import inspection as look
from formsengine.store.maintenance import verify_audit
from formsengine.store.reading import case_people

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
    return look.count(store, table)


def test_import_writes_everything(store, tmp_path):
    f = write(tmp_path / "in.jsonl", [record("P-1"), record("P-1", "review", a="yes"),
                                      record("P-2", case="C-1")])
    summary = import_file(store, f, actor="tester")
    assert summary["imported"] == 3 and summary["people"] == 2
    assert count(store, "assessments") == 3 and count(store, "scores") == 3
    assert count(store, "answers") == 12
    assert verify_audit(store).ok


def test_an_import_keeps_each_configuration_record_once_and_reads_give_it_back(
        store, engine, tmp_path):
    from formsengine.store.reading import final_history

    f = write(tmp_path / "in.jsonl", [record("P-1"), record("P-1", "review", a="yes"),
                                      record("P-2", case="C-1")])
    import_file(store, f, actor="tester")
    kept = look.rows(store, "score_configurations")
    stored = look.rows(store, "scores", order_by="id")
    assert len(kept) == 1 and {s["config_hash"] for s in stored} == {kept[0]["hash"]}
    assert not any("configuration" in json.loads(s["result"]) for s in stored)
    inst, sub = engine.check(record("P-1", "review", a="yes"))
    scored = engine.score(inst, sub)
    read = store.get_assessment(stored[1]["assessment_id"])["result"]
    assert read == scored and list(read) == list(scored)  # the same keys in the same order
    person = store.get_person("P-1")
    history = final_history(store, person["id"], "toy-checklist")
    assert [json.loads(r["result"])["configuration"] for r in history] == [
        scored["configuration"]] * 2
    # a later save of the same configuration adds no record
    store.create_assessment(inst, sub, person_id=person["id"], occasion="after_incident",
                            assessor="t", status="final")
    assert count(store, "score_configurations") == 1 and count(store, "scores") == 4


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
        json.dumps(record("P-6")).replace('"answers": {', '"answers": {"toy.a": "no", ', 1),
    ])
    with pytest.raises(ImportRefused) as exc:
        import_file(store, f, actor="tester")
    message = str(exc.value)
    for expected in ["line 2: not valid JSON",
                     "line 3: instrument toy-checklist v1.0: item toy.a: answer 'maybe'",
                     "line 4: missing person",
                     "line 5: instrument toy-checklist is not used at occasion 'week_32'",
                     "line 6: person 'P-1' already has a toy-checklist assessment at intake",
                     "line 7: instrument toy-checklist is about a victim_survivor",
                     "line 8: the key 'toy.a' is written twice in one object"]:
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
    row = look.first(store, "answers", "value", item_id="toy.note")
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


def test_an_import_links_its_people_to_their_cases_and_audits_once(store, tmp_path):
    path = write(tmp_path / "in.jsonl", [record("VS-1", case="C-9"),
                                         record("VS-1", "review", case="C-9")])
    import_file(store, path, actor="t")
    links = case_people(store, store.find_case("C-9")["id"])
    assert [r["ref"] for r in links] == ["VS-1"]
    # one audit row for the whole import: what it created and which file it was
    rows = look.rows(store, "audit", "action", "actor", "object_type", "details", actor="t")
    assert [(r["action"], r["object_type"]) for r in rows] == [("import", "assessments")]
    details = json.loads(rows[0]["details"])
    ids = [r["id"] for r in look.rows(store, "assessments", "id")]
    assert details["rows"] == 2 and (details["first_id"], details["last_id"]) == (ids[0], ids[-1])
    assert details["people_created"] == 1 and details["cases_created"] == 1
    assert details["file_sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()


def test_a_second_person_in_one_role_on_a_case_is_refused(store, tmp_path):
    """A case has one person in each role (``UNIQUE (case_id, role)``): a file naming two
    victim-survivors for one case is refused, line by line, and nothing is written."""
    other = record("VS-2", case="C-9")
    path = write(tmp_path / "in.jsonl", [record("VS-1", case="C-9"), other])
    with pytest.raises(ImportRefused, match="line 2: case 'C-9' already has a "
                       "victim_survivor other than 'VS-2'"):
        import_file(store, path, actor="t")
    assert store.find_case("C-9") is None and store.get_person("VS-2") is None
    # nor may a later file add one to a case that has its victim-survivor
    import_file(store, write(tmp_path / "one.jsonl", [record("VS-1", case="C-9")]), actor="t")
    with pytest.raises(ImportRefused, match="line 1: case 'C-9' already has"):
        import_file(store, write(tmp_path / "two.jsonl", [other]), actor="t")
    assert [r["ref"] for r in case_people(store, store.find_case("C-9")["id"])] == ["VS-1"]


def test_imported_draft_keeps_its_answers_in_its_document_until_final(store, tmp_path):
    draft = record("P-2", a="yes", b="dont_know")
    draft["status"] = "draft"
    draft["comments"] = {"toy.a": "from the referral"}
    import_file(store, write(tmp_path / "d.jsonl", [draft, record("P-3", c="yes")]), actor="t")
    row = look.first(store, "assessments", "id", status="draft")
    stored = store.get_assessment(row["id"])
    assert stored["answers"] == draft["answers"]  # "dont_know" kept, not turned into "no"
    assert stored["comments"] == {"toy.a": "from the referral"}
    assert look.count(store, "answers", assessment_id=row["id"]) == 0
    assert count(store, "answers") == 4  # the final record's answers, as rows
    store.finalise(row["id"], expected_revision=stored["revision"], actor="t")
    assert count(store, "answers") == 8
    assert store.get_assessment(row["id"])["answers"] == draft["answers"]


def test_a_long_file_is_written_in_chunks_and_still_all_or_nothing(store, tmp_path,
                                                                   monkeypatch):
    """Read, checked and written a few lines at a time inside one transaction: a bad line
    in a late chunk still rolls back every chunk written before it, and bad lines in
    several chunks (and one only the database can refuse) are all reported."""
    from formsengine import importer

    monkeypatch.setattr(importer, "CHUNK", 3)
    good = [record(f"P-{n}", a="yes") for n in range(1, 12)]
    import_file(store, write(tmp_path / "first.jsonl", [record("P-0")]), actor="t")
    bad = [*good[:2], "not json", *good[2:7], record("P-0"), *good[7:], "{}"]
    with pytest.raises(ImportRefused) as refused:
        import_file(store, write(tmp_path / "in.jsonl", bad), actor="t")
    assert [p.split(":")[0] for p in refused.value.problems] == ["line 3", "line 9",
                                                                 "line 14"]
    assert "already has a final" in refused.value.problems[1]
    assert count(store, "assessments") == 1 and count(store, "people") == 1
    assert look.count(store, "audit", action="import") == 1

    summary = import_file(store, write(tmp_path / "ok.jsonl", good), actor="t")
    assert summary["imported"] == 11 and summary["people"] == 11
    assert count(store, "assessments") == 12 and count(store, "scores") == 12
    assert summary["last_id"] - summary["first_id"] == 10


@pytest.mark.sqlite_only  # counts statements (SQLite's trace callback)
def test_the_database_is_read_once_a_chunk_not_once_a_line(store, tmp_path):
    """People, their final assessments and cases are looked up for a chunk of lines at a
    time: the statements an import runs do not grow with its lines (up to a chunk)."""
    first = [record(f"P-{n}", case=f"C-{n}") for n in range(40)]
    import_file(store, write(tmp_path / "first.jsonl", first), actor="t")
    again = [record(f"P-{n}", "review", case=f"C-{n}") for n in range(40)]
    with look.statements_sent(store) as statements:
        assert import_file(store, write(tmp_path / "again.jsonl", again),
                           actor="t")["imported"] == 40
    reads = [s for s in statements if s.lstrip().upper().startswith("SELECT")]
    assert sum("FROM people" in s for s in reads) == 1
    assert sum("FROM assessments" in s and "status = 'final'" in s for s in reads) == 1
    assert len(reads) < 20, reads


def test_an_import_runs_the_garbage_collector_less_often_and_puts_it_back(store, tmp_path):
    import gc

    from formsengine.importer import IMPORT_GC_THRESHOLD

    before = gc.get_threshold()
    seen = []
    f = write(tmp_path / "in.jsonl", [record("P-1"), record("P-2")])
    import_file(store, f, actor="tester", progress=lambda _: seen.append(gc.get_threshold()))
    assert seen and all(t == (IMPORT_GC_THRESHOLD, *before[1:]) for t in seen)
    assert gc.get_threshold() == before and gc.isenabled()
    with pytest.raises(ImportRefused):  # and after a refused import
        import_file(store, write(tmp_path / "bad.jsonl", ["{broken"]), actor="tester")
    assert gc.get_threshold() == before


def test_a_byte_order_mark_and_repeated_keys_are_named(store, tmp_path):
    """Each line is read by one decoder kept for the file; a line that begins with a byte
    order mark is still named as such, and of several keys written twice in one object the
    first is named."""
    twice = json.dumps(record("P-2")).replace(
        '"answers": {', '"answers": {"toy.b": "no", "toy.a": "no", ', 1)
    f = write(tmp_path / "in.jsonl", ["\ufeff" + json.dumps(record("P-1")), twice])
    with pytest.raises(ImportRefused) as exc:
        import_file(store, f, actor="tester")
    message = str(exc.value)
    assert "line 1: not valid JSON: Unexpected UTF-8 BOM" in message
    # toy.b, toy.a, then the record's own toy.a, toy.b, ...: toy.a is the first seen again
    assert "line 2: the key 'toy.a' is written twice in one object" in message
    assert "'toy.b' is written twice" not in message
    assert count(store, "assessments") == 0


def test_imported_rows_are_those_of_a_save(tmp_path):
    """What the import writes row by row (answer texts kept from line to line, score values
    sorted by the column they fill) is what saving each assessment writes: the same
    answers, score values and results, multiple-choice answers and numbers included."""
    import formsengine_dash

    from formsengine.store import Store
    from formsengine.synthetic import generate

    from .conftest import make_engine

    engine = make_engine(formsengine_dash)
    records = [r for r in generate(engine, people=12, instruments=["dash-safelives"], seed=5)
               if r["occasion"] != "after_incident"]
    assert any(isinstance(v, list) for r in records for v in r["answers"].values())
    imported = Store.open(tmp_path / "imported.db", engine, create=True)
    import_file(imported, write(tmp_path / "in.jsonl", records), actor="tester")
    saved = Store.open(tmp_path / "saved.db", engine, create=True)
    for r in records:
        inst, sub = engine.check(r)
        person = saved.ensure_person(r["person"], r["role"], actor="t")
        saved.create_assessment(inst, sub, person_id=person, occasion=r["occasion"])

    def rows(store, sql):
        return [tuple(r.values()) for r in store.all(sql)]

    for sql in ("SELECT p.ref, a.occasion, w.item_id, w.value, w.comment, w.source"
                " FROM answers w JOIN assessments a ON a.id = w.assessment_id"
                " JOIN people p ON p.id = a.person_id ORDER BY 1, 2, 3",
                "SELECT p.ref, a.occasion, v.kind, v.name, v.value_num, v.value_text"
                " FROM score_values v JOIN scores s ON s.id = v.score_id"
                " JOIN assessments a ON a.id = s.assessment_id"
                " JOIN people p ON p.id = a.person_id ORDER BY 1, 2, 3, 4",
                "SELECT p.ref, a.occasion, a.fields, a.assessment_date, s.level_final,"
                " s.complete, s.config_hash FROM assessments a JOIN scores s"
                " ON s.assessment_id = a.id JOIN people p ON p.id = a.person_id ORDER BY 1, 2"):
        assert rows(imported, sql) == rows(saved, sql) != []
    ids = {tuple(r.values()) for r in imported.all(
        "SELECT a.id, p.ref, a.occasion FROM assessments a JOIN people p ON p.id = a.person_id")}
    saved_ids = {(p, o): i for i, p, o in (tuple(r.values()) for r in saved.all(
        "SELECT a.id, p.ref, a.occasion FROM assessments a JOIN people p ON p.id = a.person_id"))}
    for aid, ref, occasion in ids:
        mine = imported.get_assessment(aid)["result"]
        theirs = saved.get_assessment(saved_ids[(ref, occasion)])["result"]
        assert mine == theirs and mine["scores"]
    imported.close()
    saved.close()
