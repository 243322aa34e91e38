"""The command line's administrative reads and writes (formsengine/store/maintenance.py)."""

from __future__ import annotations

import json
import re

import pytest

from formsengine.cli import copy_audit_key
from formsengine.errors import StorageError
from formsengine.store import Store, maintenance
from formsengine.store.reading import case_summary

from ..conftest import answers


def dated(date, **items):
    data = answers(**items)
    data["fields"]["assessment_date"] = date
    return data


def save(store, data, *, person="P-1", occasion="intake", status="final", case_id=None):
    inst, sub = store.engine.check(data)
    pid = store.ensure_person(person, "victim_survivor")
    return store.create_assessment(inst, sub, person_id=pid, occasion=occasion,
                                   assessor="tester", status=status, case_id=case_id)


def test_database_version(store):
    # SQLite: 3.51.3; PostgreSQL: 16.4
    assert re.fullmatch(r"\d+\.\d+(\.\d+)?", maintenance.database_version(store))


def test_backup_on_postgresql_says_to_use_the_servers_tools(pg_store, tmp_path):
    with pytest.raises(StorageError, match="pg_dump"):
        maintenance.backup_to(pg_store, tmp_path / "copy.db")
    assert not (tmp_path / "copy.db").exists()


@pytest.mark.sqlite_only
def test_backup_copies_and_checks(store, tmp_path, engine):
    save(store, answers(a="yes"))
    target = tmp_path / "copy.db"
    assert maintenance.backup_to(store, target) == "ok"
    assert target.stat().st_mode & 0o077 == 0
    copy_audit_key(store, target)
    with Store.open(target, engine) as copy:
        assert copy.get_person("P-1") is not None
        assert maintenance.audit_key(copy) == maintenance.audit_key(store)
        assert maintenance.verify_audit(copy).ok


def test_audit_check_and_head(store):
    save(store, answers())
    report = maintenance.verify_audit(store)
    head = maintenance.audit_head(store)
    assert report.ok and head is not None and head.rows == report.rows
    assert not maintenance.verify_audit(store, [head.__class__(
        rows=head.rows, last_id=head.last_id, hash="0" * 64, at=head.at)]).ok


def test_final_ids_and_latest_configuration(store):
    first = save(store, answers())
    save(store, answers(), person="P-2", status="draft")
    assert maintenance.final_assessment_ids(store) == [first]
    assert maintenance.final_assessment_ids(store, "toy-checklist") == [first]
    assert maintenance.final_assessment_ids(store, "other") == []
    before = maintenance.latest_config_hash(store, first)
    assert before and maintenance.latest_config_hash(store, first + 99) is None
    result = store.rescore(first, actor="t")
    assert maintenance.latest_config_hash(store, first) == result["configuration"]["hash"]


def test_synthetic_people_and_cases(store):
    assert not maintenance.has_synthetic_people(store)
    store.ensure_person("XVS-1", "victim_survivor")
    assert not maintenance.has_synthetic_people(store)
    store.ensure_person("SU-00001", "service_user")
    assert maintenance.has_synthetic_people(store)
    synthetic = store.create_case("C-00001")
    store.create_case("C-0001")  # four digits: not synthetic
    store.create_case("C-00002x")
    team = store.ensure_team("Elsewhere")
    store.create_case("C-00003", team_id=team)  # already has a team
    assert maintenance.synthetic_cases_without_team(store) == [synthetic]


def test_give_cases_to_team_sets_dates_and_instruments(store):
    case_id = store.create_case("C-00001")
    save(store, dated("2026-03-04"), case_id=case_id, occasion="review")
    save(store, dated("2026-01-02"), case_id=case_id)
    opened = store.create_case("C-00002", opened_on="2025-12-01")
    team = store.ensure_team("Demo")
    with store.write():
        maintenance.give_cases_to_team(store, team, [case_id, opened])
    case = case_summary(store, case_id)
    assert case["opened_on"] == "2026-01-02"
    assert case_summary(store, opened)["opened_on"] == "2025-12-01"
    assert store.find_case("C-00001")["team_id"] == team
    assert json.loads(store.find_case("C-00001")["instruments"]) == ["toy-checklist"]
    assert json.loads(store.find_case("C-00002")["instruments"]) == []
