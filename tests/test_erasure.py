"""Erasure leaves no copy of the person on disk (database file or write-ahead log) and an
audit tombstone; retention purges what is past its period."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys

import pytest

from formsengine.erasure import erase_assessment, erase_person, plan_purge, purge
from formsengine.errors import ConfigError, StorageError
from formsengine.store import inspection as look
from formsengine.store.erasing import empty_write_ahead_log
from formsengine.store.maintenance import verify_audit

from .conftest import DATA, answers

MARKER = "QUOKKA-7731-UNIQUE-COMMENT"


def save(store, ref, comment=None, status="final", occasion="intake"):
    data = answers(a="yes")
    if comment:
        data["comments"] = {"toy.a": comment}
    inst, sub = store.engine.check(data)
    pid = store.ensure_person(ref, "victim_survivor")
    case_id = store.create_case(f"case-{ref}-{occasion}", people=[(pid, "victim_survivor")])
    return store.create_assessment(inst, sub, person_id=pid, occasion=occasion,
                                   status=status, case_id=case_id)


def disk_bytes(path) -> bytes:
    out = b""
    for suffix in ("", "-wal"):
        if os.path.exists(f"{path}{suffix}"):
            with open(f"{path}{suffix}", "rb") as fh:
                out += fh.read()
    return out


def test_erased_person_leaves_no_trace_on_disk(store, tmp_path):
    keep = save(store, "KEEP-1", comment="an ordinary note")
    save(store, "GONE-1", comment=MARKER)
    assert empty_write_ahead_log(store)
    path = tmp_path / "test.db"
    assert MARKER.encode() in disk_bytes(path)
    counts = erase_person(store, "GONE-1", actor="dpo", reason="subject_request",
                          reference="DSAR-2026-0042")
    assert counts == {"assessments": 1, "cases_removed": 1}
    assert MARKER.encode() not in disk_bytes(path)
    assert b"GONE-1" not in disk_bytes(path)
    assert store.get_person("GONE-1") is None
    assert store.get_assessment(keep)["answers"]["toy.a"] == "yes"
    tomb = look.first(store, "audit", "actor", "object_type", "details", action="erase")
    assert tomb["actor"] == "dpo" and tomb["object_type"] == "person"
    details = json.loads(tomb["details"])
    assert (details["reason"], details["reference"]) == ("subject_request", "DSAR-2026-0042")
    assert verify_audit(store).ok
    for table in ("answers", "scores", "score_values", "case_people"):
        assert look.count(store, table) > 0  # the other person's


def test_views_of_an_erased_person_stay_in_the_view_log_as_the_audit_rows_do(store):
    """The view log is part of the audit trail: its rows name records by internal number
    only, like the chain's, and are kept as the chain's are; the trail still verifies."""
    assessment = save(store, "GONE-2")
    person = look.value(store, "people", "id", ref="GONE-2")
    store.log_view("view", actor="alice", object_type="assessment", object_id=assessment)
    store.log_view("view", actor="alice", object_type="person_history", object_id=person)
    store.seal_views()
    store.log_view("view", actor="alice", object_type="assessment", object_id=assessment)
    erase_person(store, "GONE-2", actor="dpo", reason="subject_request", reference="4471")
    assert look.count(store, "view_log") == 3
    assert look.audit_trail_count(store, action="view", object_type="assessment",
                                  object_id=str(assessment)) == 2
    assert look.audit_trail_count(store, object_type="person_history",
                                  object_id=str(person)) == 1
    report = verify_audit(store)
    assert report.ok and report.views_sealed == 3, report.message()


@pytest.mark.parametrize("reason, reference, message", [
    ("erasure request from Jane Smith", "DSAR-1", "unknown reason"),  # free text: refused
    (" ", "DSAR-1", "unknown reason"),
    ("subject_request", "", "needs the reference number"),
    ("subject_request", "Jane Smith 12", "needs the reference number"),
    ("subject_request", "JANESMITH-1", "needs the reference number"),  # prefix over 6
    ("subject_request", "dsar-1", "needs the reference number"),
    ("subject_request", "DSAR-1\n", "needs the reference number"),
    ("subject_request", "1" * 11, "needs the reference number"),
    ("subject_request", "VS-00001", "the erased record's own reference"),
])
def test_erasure_needs_a_reason_code_and_a_reference_number(store, reason, reference,
                                                             message):
    """The tombstone is kept for ever and cannot be edited: no free text goes into it."""
    save(store, "VS-00001")
    with pytest.raises(StorageError, match=message):
        erase_person(store, "VS-00001", actor="x", reason=reason, reference=reference)
    assert store.get_person("VS-00001") is not None
    assert not look.rows(store, "audit", "id", action="erase")


def test_erasure_needs_a_known_person(store):
    with pytest.raises(StorageError, match="no person"):
        erase_person(store, "nobody", actor="x", reason="subject_request", reference="4471")


def test_erase_one_assessment_with_its_versions(store):
    first = save(store, "P-1", comment=MARKER)
    _, sub = store.engine.check(answers(a="yes", b="yes"))
    second = store.amend(first, sub, reason="more disclosed", actor="u")
    other = save(store, "P-1", occasion="review")
    with pytest.raises(StorageError, match="unknown reason"):
        erase_assessment(store, second, actor="dpo", reason="recorded against the wrong person",
                         reference="4471")
    assert store.get_assessment(second) is not None
    erase_assessment(store, second, actor="dpo", reason="recorded_in_error", reference="4471")
    assert store.get_assessment(first) is None and store.get_assessment(second) is None
    assert store.get_assessment(other) is not None
    assert store.get_person("P-1") is not None


def test_retention_plan_and_purge(store):
    old_draft = save(store, "P-OLD", status="draft")
    fresh_draft = save(store, "P-NEW", status="draft")
    look.change_rows(store, "assessments", {"updated_at": "2020-01-01T00:00:00Z"}, id=old_draft)
    plan = plan_purge(store, {"draft_days": 90}, dt.date.today())
    assert plan.drafts == [old_draft] and plan.people == []
    purge(store, plan, actor="retention")
    assert store.get_assessment(old_draft) is None
    assert store.get_assessment(fresh_draft) is not None
    later = dt.date.today() + dt.timedelta(days=4000)
    plan = plan_purge(store, {"inactive_person_days": 2555}, later)
    assert sorted(plan.people) == ["P-NEW", "P-OLD"]


@pytest.mark.parametrize("section, message", [
    ({"retention": {"draft_days": 0}}, "at least 1"),
    ({"retention": {"forever": 3}}, "unknown key"),
    ({"retention": {"draft_days": "90"}}, "whole number"),
])
def test_bad_retention_settings(section, message):
    from formsengine.erasure import retention_settings

    with pytest.raises(ConfigError, match=message):
        retention_settings(section)


def test_cli_erase_and_purge(tmp_path):
    env = {**os.environ, "FORMSENGINE_DEFINITIONS": str(DATA),
           "FORMSENGINE_DB": str(tmp_path / "e.db")}

    def run(*args):
        return subprocess.run([sys.executable, "-m", "formsengine.cli", *args], env=env,
                              capture_output=True, text=True, timeout=120)

    assert run("db", "init").returncode == 0
    r = answers()
    r.update(person="VS-9", role="victim_survivor", occasion="intake")
    (tmp_path / "in.jsonl").write_text(json.dumps(r) + "\n")
    assert run("assessments", "import", str(tmp_path / "in.jsonl")).returncode == 0
    out = run("erase", "person", "VS-9", "--yes")
    assert out.returncode == 2 and "--reason" in out.stderr
    out = run("erase", "person", "VS-9", "--reason", "request 7", "--reference", "7", "--yes")
    assert out.returncode == 2 and "'request 7' is not one of 'subject_request'" in out.stderr
    out = run("erase", "person", "VS-9", "--reason", "subject_request", "--reference",
              "asked by her sister", "--yes")
    assert out.returncode == 2 and "needs the reference number" in out.stderr
    out = run("erase", "person", "VS-9", "--reason", "subject_request", "--reference",
              "DSAR-2026-7", "--yes")
    assert out.returncode == 0, out.stderr
    assert "erased person VS-9: 1 assessment(s)" in out.stdout
    assert run("audit", "verify").returncode == 0
    cfg = tmp_path / "org.toml"
    cfg.write_text("[retention]\ndraft_days = 30\n")
    out = run("--config", str(cfg), "retention", "purge", "--dry-run")
    assert out.returncode == 0 and "0 draft(s) and 0 person(s)" in out.stdout


def test_erasure_says_what_remains_where(store):
    """After an erasure: on SQLite, that the rows were overwritten (secure_delete) and the
    write-ahead log emptied, or that it was not and how to empty it; backups keep copies."""
    save(store, "GONE-1", comment=MARKER)
    save(store, "GONE-2")
    counts = erase_person(store, "GONE-1", actor="dpo", reason="subject_request",
                          reference="4471")
    assert counts == {"assessments": 1, "cases_removed": 1}
    assert "secure_delete" in counts.remains and "write-ahead log was emptied" in counts.remains
    assert "backups made before the erasure" in counts.remains
    later = erase_person(store, "GONE-2", actor="dpo", reason="subject_request",
                         reference="4472", do_checkpoint=False)
    assert "'formsengine erase checkpoint'" in later.remains
    aid = save(store, "P-3")
    assert "secure_delete" in erase_assessment(store, aid, actor="dpo",
                                               reason="recorded_in_error", reference="4473")
    draft = save(store, "P-4", status="draft")
    look.change_rows(store, "assessments", {"updated_at": "2020-01-01T00:00:00Z"}, id=draft)
    remains = purge(store, plan_purge(store, {"draft_days": 90}, dt.date.today()),
                    actor="retention")
    assert "write-ahead log was emptied" in remains and store.get_assessment(draft) is None


def test_erase_assessment_refuses_an_unknown_one_and_keeps_the_audit_clean(store):
    with pytest.raises(StorageError, match="no assessment 999"):
        erase_assessment(store, 999, actor="dpo", reason="recorded_in_error",
                         reference="4471")
    assert not look.rows(store, "audit", "id", action="erase")


def test_cli_erase_assessment_says_what_remains(tmp_path):
    from .test_cli import run

    assert run(tmp_path, "db", "init").returncode == 0
    r = answers()
    r.update(person="VS-9", role="victim_survivor", occasion="intake")
    (tmp_path / "in.jsonl").write_text(json.dumps(r) + "\n")
    assert run(tmp_path, "assessments", "import", str(tmp_path / "in.jsonl")).returncode == 0
    listed = run(tmp_path, "assessments", "list", "--json")
    uid = json.loads(listed.stdout)[0]["uid"]
    out = run(tmp_path, "erase", "assessment", uid, "--reason", "recorded_in_error",
              "--reference", "4471", "--yes")
    assert out.returncode == 0, out.stderr
    assert f"erased assessment {uid}; the audit keeps a tombstone" in out.stdout
    assert "On SQLite the erased rows were overwritten" in out.stdout
    out = run(tmp_path, "erase", "assessment", uid, "--reason", "recorded_in_error",
              "--reference", "4471", "--yes")
    assert out.returncode == 2 and "no assessment" in out.stderr
    assert run(tmp_path, "audit", "verify").returncode == 0
