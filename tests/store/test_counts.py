"""The stored counts of the researcher's page (``final_people`` and ``final_counts``, kept by
the database's triggers) against the same counted from ``assessments``, after random runs of
what happens to cases and assessments (the stored schedule's test's operations: assessments
started, finalised, amended, deleted and erased, people erased, cases moved and closed), and
after single statements that change several assessments of one person at once. On SQLite
and on PostgreSQL."""

from __future__ import annotations

import json
import random
import re

import pytest

from formsengine.store import counts, erasing
from formsengine.store import inspection as look
from formsengine.store.caseviews import final_assessment_counts
from tests.conftest import DefinitionsPlugin, answers, make_engine, toy_definition

from .test_schedule import World, weekly_definition


@pytest.fixture
def engine():
    return make_engine(DefinitionsPlugin(toy_definition(), weekly_definition()))


def people_counted(store) -> dict[tuple, int]:
    """Per person, instrument and occasion, their final assessments, counted directly."""
    out: dict[tuple, int] = {}
    for a in look.rows(store, "assessments", "person_id", "instrument_id", "occasion",
                       "status"):
        if a["status"] == "final":
            key = (a["instrument_id"], a["occasion"], a["person_id"])
            out[key] = out.get(key, 0) + 1
    return out


def people_stored(store) -> dict[tuple, int]:
    return {(r["instrument_id"], r["occasion"], r["person_id"]): r["assessments"]
            for r in look.rows(store, "final_people", "instrument_id", "occasion",
                               "person_id", "assessments")}


def assert_kept(store, context=None) -> None:
    assert counts.stored(store) == counts.counted(store), context
    assert people_stored(store) == people_counted(store), context


def final(store, engine, person, occasion, instrument="toy-checklist", case=None) -> int:
    inst, sub = engine.check({**answers(a="yes"), "instrument": instrument})
    return store.create_assessment(inst, sub, person_id=person, occasion=occasion,
                                   case_id=case, status="final")


@pytest.mark.parametrize("seed", [1, 2, 3, 4])
def test_the_stored_counts_are_the_counted_ones_after_random_changes(store, seed):
    rng = random.Random(seed)
    world = World(store, rng)
    done = []
    for step in range(80):
        done.append(world.step())
        if step in (40, 60):  # rarer operations, at least once each
            for name in ("amend", "erase", "erase_assessment"):
                getattr(world, name)()
                done.append(name)
        if rng.random() < 0.15:  # a second final assessment of one person at one occasion
            finals = [a for a in look.rows(store, "assessments", "person_id", "case_id",
                                           "instrument_id", "occasion", "status")
                      if a["status"] == "final"]
            if finals:
                a = rng.choice(finals)
                final(store, store.engine, a["person_id"], a["occasion"],
                      a["instrument_id"], a["case_id"])
                done.append("again")
        if step % 8 == 7:
            assert_kept(store, done)
    assert_kept(store, done)
    shown = counts.stored(store)
    # the run reached what is worth checking: counts above 1, and people counted once
    # however many final assessments they have there
    assert any(r["people"] > 1 for r in shown), shown
    assert any(n > 1 for n in people_stored(store).values()), done
    # counting again from scratch finds nothing to correct
    assert counts.rebuild(store) == {"counts": len(shown), "corrected": 0}
    assert counts.stored(store) == shown


def test_one_statement_changing_several_assessments_counts_each_once(store, engine):
    """On PostgreSQL a statement's row triggers run after all its rows are written: each
    still counts one step, so two final assessments of one person leaving together take
    the person away once."""
    team = store.ensure_team("T")
    ana, bo = (store.ensure_person(ref, "victim_survivor") for ref in ("P-1", "P-2"))
    case = store.create_case("C-1", team_id=team, instruments=["toy-checklist"],
                             opened_on="2025-01-01", people=[(ana, "victim_survivor")])
    for person in (ana, ana):
        final(store, engine, person, "intake", case=case)
    final(store, engine, bo, "intake")
    final(store, engine, ana, "review", case=case)
    assert final_assessment_counts(store) == [
        {"instrument_id": "toy-checklist", "occasion": "intake", "people": 2},
        {"instrument_id": "toy-checklist", "occasion": "review", "people": 1}]
    with store.write():  # both of ana's intakes in one statement
        store.conn.execute("UPDATE assessments SET status = 'superseded'"
                           " WHERE person_id = ? AND occasion = 'intake'", [ana])
    assert_kept(store)
    assert final_assessment_counts(store) == [
        {"instrument_id": "toy-checklist", "occasion": "intake", "people": 1},
        {"instrument_id": "toy-checklist", "occasion": "review", "people": 1}]
    with store.write():  # and back, then to another occasion, in single statements
        store.conn.execute("UPDATE assessments SET status = 'final' WHERE person_id = ?"
                           " AND occasion = 'intake'", [ana])
        store.conn.execute("UPDATE assessments SET occasion = 'exit' WHERE person_id = ?",
                           [ana])
    assert_kept(store)
    assert {(r["occasion"], r["people"]) for r in final_assessment_counts(store)} == {
        ("exit", 1), ("intake", 1)}
    with store.write():  # a person erased: every row of theirs in one statement
        erasing.erase_person_rows(store, ana)
    assert_kept(store)
    assert final_assessment_counts(store) == [
        {"instrument_id": "toy-checklist", "occasion": "intake", "people": 1}]
    with store.write():
        erasing.erase_person_rows(store, bo)
    assert final_assessment_counts(store) == []
    assert people_stored(store) == {}


def test_drafts_are_not_counted_until_final(store, engine):
    person = store.ensure_person("P-1", "victim_survivor")
    inst, sub = engine.check({**answers(a="no"), "instrument": "toy-checklist"})
    draft = store.create_assessment(inst, sub, person_id=person, occasion="intake",
                                    status="draft")
    assert final_assessment_counts(store) == []
    store.finalise(draft, expected_revision=1, actor="t")
    assert final_assessment_counts(store) == [
        {"instrument_id": "toy-checklist", "occasion": "intake", "people": 1}]
    store.amend(draft, sub, reason="corrected", actor="t")  # superseded by a new final
    assert final_assessment_counts(store) == [
        {"instrument_id": "toy-checklist", "occasion": "intake", "people": 1}]
    assert_kept(store)


def test_refresh_counts_for_recounts_only_the_instruments_named(store, engine):
    """The set-wise recount a bulk path calls after writing rows without the triggers."""
    people = [store.ensure_person(f"P-{n}", "victim_survivor") for n in range(3)]
    for n, person in enumerate(people):
        final(store, engine, person, "intake")
        if n:
            final(store, engine, person, "review")
    shown = counts.stored(store)
    with store.write():  # as a bulk path that went around the triggers would leave them
        store.conn.execute("DELETE FROM final_people")
        store.conn.execute("UPDATE final_counts SET people = 99")
        store.conn.execute("INSERT INTO final_counts (instrument_id, occasion, people)"
                           " VALUES ('other', 'intake', 5)")
    with store.write():
        counts.refresh_counts_for(store, ["toy-checklist"])
    assert counts.stored(store) == [{"instrument_id": "other", "occasion": "intake",
                                     "people": 5}, *shown]  # (not named: left as it was)
    assert people_stored(store) == people_counted(store)
    with store.write():
        counts.refresh_counts_for(store, None)
    assert counts.stored(store) == shown


def test_the_revision_holds_the_sql_the_store_describes():
    """core_0008 keeps its SQL as it stood; while it is the newest revision to touch the
    counts, that is the SQL ``store.counts`` describes."""
    import importlib

    revision = importlib.import_module(
        "formsengine.migrations.versions.core_0008_final_counts")
    assert revision.TRIGGERS_SQLITE == counts.sqlite_triggers()
    assert revision.TRIGGERS_POSTGRESQL == counts.postgres_triggers()
    assert revision.FILL == counts.refresh_statements("1 = 1")
    assert revision.down_revision == "core_0005"


def test_the_revision_counts_the_assessments_already_stored(store, engine):
    people = [store.ensure_person(f"P-{n}", "victim_survivor") for n in range(4)]
    for n, person in enumerate(people):
        final(store, engine, person, "intake")
        if n % 2:
            final(store, engine, person, "intake")
            final(store, engine, person, "exit")
    shown = counts.stored(store)
    with store.write():  # the database as core_0005 left it
        if store.postgres:
            store.conn.execute("DROP TRIGGER final_counts_assessment ON assessments")
            store.conn.execute("DROP FUNCTION final_counts_assessment()")
        else:
            for name in ("insert", "update_old", "update_new", "delete"):
                store.conn.execute(f"DROP TRIGGER final_counts_{name}")
        store.conn.execute("DROP TABLE final_counts")
        store.conn.execute("DROP TABLE final_people")
        store.conn.execute("DROP INDEX assessments_supersedes")  # core_0011's
        store.conn.execute("ALTER TABLE assessments DROP COLUMN language")  # core_0010's
        store.conn.execute("DROP TABLE score_configurations")  # core_0012's
        store.conn.execute("UPDATE alembic_version SET version_num = 'core_0005'"
                           " WHERE version_num = 'core_0012'")
    assert store.migrate() == ["core:core_0008", "core:core_0010", "core:core_0011",
                               "core:core_0012"]
    assert shown == counts.stored(store) == [
        {"instrument_id": "toy-checklist", "occasion": "exit", "people": 2},
        {"instrument_id": "toy-checklist", "occasion": "intake", "people": 4}]
    assert people_stored(store) == people_counted(store)
    final(store, engine, people[0], "exit")  # and the triggers keep them from there
    assert counts.stored(store)[0]["people"] == 3


def test_the_rebuild_command_counts_again_and_is_audited(tmp_path):
    import os
    import subprocess  # nosec B404
    import sys

    from formsengine.config import Settings
    from formsengine.engine import Engine
    from formsengine.store import Store
    from tests.conftest import DATA

    path = tmp_path / "cli.db"
    engine = Engine(Settings(definitions_dir=DATA), load_entrypoints=False)
    with Store.open(path, engine, create=True) as store:
        for n in range(3):
            final(store, engine, store.ensure_person(f"P-{n}", "victim_survivor"), "intake")
        with store.write():  # a count gone wrong
            store.conn.execute("UPDATE final_counts SET people = 7")
    env = {**os.environ, "FORMSENGINE_DEFINITIONS": str(DATA), "FORMSENGINE_DB": str(path)}
    env.pop("FORMSENGINE_CONFIG", None)
    out = subprocess.run([sys.executable, "-m", "formsengine.cli", "counts", "rebuild",
                          "--actor", "ops"], capture_output=True, text=True, env=env,
                         timeout=120)
    assert out.returncode == 0, out.stderr
    assert re.fullmatch(r"1 counts written \(1 corrected\)\n", out.stdout)
    with Store.open(path, engine) as store:
        assert final_assessment_counts(store) == [
            {"instrument_id": "toy-checklist", "occasion": "intake", "people": 3}]
        row = look.only(store, "audit", "action", "details", actor="ops")
        assert row["action"] == "counts_rebuild"
        details = json.loads(row["details"])
        assert (details["counts"], details["corrected"]) == (1, 1)
