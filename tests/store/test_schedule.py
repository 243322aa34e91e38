"""The stored schedule (``schedule_entries``, kept by the database's triggers) against the
schedule the application works out in Python (``web.schedule.case_schedule``), after random
runs of what happens to cases and assessments: cases created (opened on month ends, or with
no opening date), given other instruments, moved, closed and reopened; assessments started,
finalised, amended and deleted; people erased. On SQLite and on PostgreSQL."""

from __future__ import annotations

import copy
import datetime as dt
import json
import random
import re

import pytest

from formsengine.config import Settings
from formsengine.engine import Engine
from formsengine.store import erasing
from formsengine.store import inspection as look
from formsengine.store.lists import due_entries
from formsengine.store.schedule import (
    configured_offsets,
    entries_of,
    rebuild,
    stale_instruments,
    stored_offsets,
)
from formsengine.web.schedule import case_schedule
from tests.conftest import DefinitionsPlugin, answers, make_engine, toy_definition

TODAY = dt.date(2026, 3, 1)


def weekly_definition() -> dict:
    """The toy instrument again under another id, scheduled in weeks and months."""
    d = copy.deepcopy(toy_definition())
    d["id"] = "toy-weekly"
    d["title"] = "Toy weekly"
    d["occasions"] = [{"id": "w0", "label": "Start", "due": {"weeks": 0}},
                      {"id": "w5", "label": "Week 5", "due": {"weeks": 5}},
                      {"id": "m1", "label": "Month 1", "due": {"months": 1}},
                      {"id": "m13", "label": "Month 13", "due": {"months": 13}},
                      {"id": "later", "label": "When needed"}, "after_incident"]
    d.pop("test_vectors", None)
    return d


@pytest.fixture
def engine():
    return make_engine(DefinitionsPlugin(toy_definition(), weekly_definition()))


def expected(store) -> dict[tuple, tuple]:
    """Every entry of every open case as the Python schedule has it."""
    cases = look.rows(store, "cases", "id", "team_id", "status", "opened_on", "instruments")
    done = store.schedule_done([c["id"] for c in cases])
    out = {}
    for c in cases:
        if c["status"] != "open":
            continue
        case = {"instruments": json.loads(c["instruments"]), "opened_on": c["opened_on"]}
        for e in case_schedule(store.engine, case, done[c["id"]], TODAY):
            if e["due"] is not None:
                out[(c["id"], e["instrument"], e["occasion"])] = (
                    c["team_id"], e["due"].isoformat(), e["status"] == "done")
    return out


def stored(store) -> dict[tuple, tuple]:
    return {(r["case_id"], r["instrument_id"], r["occasion"]): (
        r["team_id"], r["due"], bool(r["done"])) for r in entries_of(store)}


def walk(store, team_ids, until, limit, user_id=None) -> list[tuple]:
    """Every row of the due list, a page at a time, following the next markers."""
    rows, after = [], None
    while True:
        page = due_entries(store, team_ids, until=until, user_id=user_id, after=after,
                           limit=limit)
        rows += [(r["case_id"], r["instrument_id"], r["occasion"], r["due"])
                 for r in page["rows"]]
        if page["next"] is None:
            return rows
        after = page["next"]


def due_expected(entries: dict, team_ids, until) -> list[tuple]:
    return sorted(((k[0], k[1], k[2], v[1]) for k, v in entries.items()
                   if v[0] in team_ids and not v[2] and v[1] <= until.isoformat()),
                  key=lambda r: (r[3], r[0], r[1], r[2]))


OPENED = ["2024-01-31", "2024-01-29", "2024-02-29", "2025-03-31", "2025-08-31",
          "2025-10-31", "2025-12-31", "2026-01-30", "2024-05-15", "2025-11-01", None]


class World:
    """The random operations, through the store's own functions."""

    def __init__(self, store, rng: random.Random) -> None:
        self.store, self.rng = store, rng
        self.teams = [store.ensure_team(f"Team {n}") for n in range(3)]
        self.n = 0

    def instruments(self) -> list[str]:
        return self.rng.choice([["toy-checklist"], ["toy-weekly"],
                                ["toy-checklist", "toy-weekly"], []])

    def open_cases(self) -> list[dict]:
        return [c for c in look.rows(self.store, "cases", "id", "status", "instruments")
                if c["status"] == "open"]

    def create(self) -> None:
        self.n += 1
        person = self.store.ensure_person(f"P-{self.n}", "victim_survivor")
        self.store.create_case(f"C-{self.n}", team_id=self.rng.choice(self.teams),
                               instruments=self.instruments(),
                               opened_on=self.rng.choice(OPENED),
                               people=[(person, "victim_survivor")])

    def assess(self) -> None:
        cases = [c for c in self.open_cases() if json.loads(c["instruments"])]
        if not cases:
            return
        case = self.rng.choice(cases)
        inst_id = self.rng.choice(json.loads(case["instruments"]))
        inst = self.store.engine.instruments.get(inst_id)
        occasion = self.rng.choice([*inst.occasions, "after_incident"])
        person = look.value(self.store, "case_people", "person_id", case_id=case["id"])
        data = {**answers(a=self.rng.choice(["yes", "no"])), "instrument": inst_id}
        inst, sub = self.store.engine.check(data)
        final = self.rng.random() < 0.6
        aid = self.store.create_assessment(inst, sub, person_id=person, occasion=occasion,
                                           case_id=case["id"],
                                           status="final" if final else "draft")
        if not final and self.rng.random() < 0.5:
            self.store.finalise(aid, expected_revision=1, actor="t")

    def amend(self) -> None:
        finals = [a for a in look.rows(self.store, "assessments", "id", "status",
                                       "instrument_id", "case_id") if a["status"] == "final"]
        if finals:
            a = self.rng.choice(finals)
            inst, sub = self.store.engine.check(
                {**answers(b="yes"), "instrument": a["instrument_id"]})
            self.store.amend(a["id"], sub, reason="corrected", actor="t")

    def delete(self) -> None:
        drafts = [a["id"] for a in look.rows(self.store, "assessments", "id", "status")
                  if a["status"] == "draft"]
        if drafts:
            with self.store.write():
                erasing.delete_draft(self.store, self.rng.choice(drafts))

    def erase(self) -> None:
        people = look.values(self.store, "people", "id")
        if people:
            with self.store.write():
                erasing.erase_person_rows(self.store, self.rng.choice(people))

    def erase_assessment(self) -> None:
        finals = [a["id"] for a in look.rows(self.store, "assessments", "id", "status")
                  if a["status"] == "final"]
        if finals:
            aid = self.rng.choice(finals)
            with self.store.write():
                erasing.delete_assessments(self.store,
                                           erasing.assessment_versions(self.store, aid))

    def move(self) -> None:
        cases = self.open_cases()
        if cases:
            case = self.rng.choice(cases)
            team = look.value(self.store, "cases", "team_id", id=case["id"])
            self.store.move_case(case["id"], self.rng.choice(
                [t for t in self.teams if t != team]))

    def close(self) -> None:
        cases = self.open_cases()
        if cases:
            self.store.close_case(self.rng.choice(cases)["id"], closed_on="2026-02-01",
                                  reason=self.rng.choice(["support_completed", "moved"]))

    def reopen(self) -> None:
        closed = [c["id"] for c in look.rows(self.store, "cases", "id", "status")
                  if c["status"] == "closed"]
        if closed:
            self.store.reopen_case(self.rng.choice(closed))

    def follow(self) -> None:
        cases = self.open_cases()
        if cases:
            self.store.set_case_instruments(self.rng.choice(cases)["id"], self.instruments())

    def step(self) -> str:
        name = self.rng.choices(
            ["create", "assess", "amend", "delete", "erase", "erase_assessment", "move",
             "close", "reopen", "follow"],
            weights=[6, 8, 3, 2, 1, 1, 2, 2, 2, 2])[0]
        getattr(self, name)()
        return name


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_the_stored_schedule_is_the_python_schedule_after_random_changes(store, seed):
    rng = random.Random(seed)
    world = World(store, rng)
    done = []
    for step in range(70):
        done.append(world.step())
        if step % 10 == 9:
            assert stored(store) == expected(store), done
    entries = expected(store)
    assert stored(store) == entries
    assert any(v[2] for v in entries.values()) and any(not v[2] for v in entries.values())
    # the due list pages through the same entries: one team, and a supervisor of two
    until = dt.date(2026, 6, 30)
    for teams in ([world.teams[0]], world.teams[:2], world.teams):
        assert walk(store, teams, until, 7) == due_expected(entries, teams, until)
    # a rebuild from scratch writes the same rows the triggers kept
    rebuild(store)
    assert stored(store) == entries


def test_other_offsets_rebuild_the_entries_when_the_store_is_opened(tmp_path):
    from formsengine.store import Store

    path = tmp_path / "s.db"
    first = Engine(Settings(), load_entrypoints=False,
                   plugins=[DefinitionsPlugin(toy_definition(), weekly_definition())])
    with Store.open(path, first, create=True) as store:
        team = store.ensure_team("T")
        case = store.create_case("C-1", team_id=team, instruments=["toy-weekly"],
                                 opened_on="2025-01-31")
        before = {k[2]: v[1] for k, v in stored(store).items()}
        assert before == {"w0": "2025-01-31", "w5": "2025-03-07", "m1": "2025-02-28",
                          "m13": "2026-02-28"}
        audited = look.count(store, "audit", action="schedule_rebuild")
    config = tmp_path / "org.toml"
    config.write_text('[instruments.toy-weekly.occasions]\nm1 = {months = 2}\n'
                      'later = {weeks = 1}\n', encoding="utf-8")
    second = Engine(Settings(config_file=config), load_entrypoints=False,
                    plugins=[DefinitionsPlugin(toy_definition(), weekly_definition())])
    with Store.open(path, second) as store:
        assert stored_offsets(store) == configured_offsets(second)
        after = {k[2]: v[1] for k, v in stored(store).items() if k[0] == case}
        assert after == {**before, "m1": "2025-03-31", "later": "2025-02-07"}
        assert stored(store) == expected(store)
        # a change of offsets is audited (the first fill of a new database is not)
        assert look.count(store, "audit", action="schedule_rebuild") == audited + 1
    with Store.open(path, second) as store:  # the same offsets: nothing rebuilt
        assert look.count(store, "audit", action="schedule_rebuild") == audited + 1


def test_a_case_without_an_opening_date_or_instruments_has_no_entries(store):
    team = store.ensure_team("T")
    bare = store.create_case("C-1", team_id=team, instruments=["toy-checklist"])
    none = store.create_case("C-2", team_id=team, opened_on="2025-01-01")
    assert entries_of(store, [bare, none]) == []
    store.set_case_instruments(none, ["toy-checklist"])
    assert [(r["occasion"], r["due"]) for r in entries_of(store, [none])] == [
        ("exit", "2025-07-01"), ("intake", "2025-01-01"), ("review", "2025-04-01")]
    store.close_case(none, closed_on="2025-02-01", reason="support_completed")
    assert entries_of(store, [none]) == []
    store.reopen_case(none)
    assert len(entries_of(store, [none])) == 3


def test_the_revision_holds_the_triggers_the_store_describes():
    """core_0011 keeps its SQL as it stood; while it is the newest revision to touch the
    schedule's triggers, that is the SQL ``store.schedule`` describes. (core_0003 keeps the
    triggers it wrote, which core_0011's downgrade puts back.)"""
    import importlib

    from formsengine.store.schedule import postgres_triggers, sqlite_triggers

    revision = importlib.import_module(
        "formsengine.migrations.versions.core_0011_schedule_by_case")
    assert revision.TRIGGERS_SQLITE == sqlite_triggers()
    assert revision.TRIGGERS_POSTGRESQL == postgres_triggers()
    first = importlib.import_module("formsengine.migrations.versions.core_0003_schedule")
    assert [s.split(" BEGIN")[0] for s in first.TRIGGERS_SQLITE] == [
        s.split(" BEGIN")[0] for s in sqlite_triggers()]
    assert "INDEXED BY" not in " ".join(first.TRIGGERS_SQLITE)


def test_the_rebuild_command_writes_the_entries_and_is_audited(tmp_path):
    import os
    import subprocess  # nosec B404
    import sys

    from formsengine.store import Store
    from tests.conftest import DATA

    path = tmp_path / "cli.db"
    engine = Engine(Settings(definitions_dir=DATA), load_entrypoints=False)
    with Store.open(path, engine, create=True) as store:
        team = store.ensure_team("T")
        store.create_case("C-1", team_id=team, instruments=["toy-checklist"],
                          opened_on="2025-01-31")
        # the offset of an instrument another installation has
        rebuild(store, [*configured_offsets(engine), ("elsewhere", "intake", "months", 0)])
    env = {**os.environ, "FORMSENGINE_DEFINITIONS": str(DATA), "FORMSENGINE_DB": str(path)}
    env.pop("FORMSENGINE_CONFIG", None)
    out = subprocess.run([sys.executable, "-m", "formsengine.cli", "schedule", "rebuild",
                          "--actor", "ops"], capture_output=True, text=True, env=env,
                         timeout=120)
    assert out.returncode == 0, out.stderr
    # (the command's engine has the installed plugins' instruments too)
    assert re.fullmatch(r"3 schedule entries written \(\d+ occasion offsets, [0-9a-f]{16}\)\n",
                        out.stdout)
    with Store.open(path, engine) as store:
        row = look.only(store, "audit", "action", "details", actor="ops")
        assert row["action"] == "schedule_rebuild"
        assert json.loads(row["details"])["entries"] == 3
        assert [(r["occasion"], r["due"]) for r in entries_of(store)] == [
            ("exit", "2025-07-31"), ("intake", "2025-01-31"), ("review", "2025-04-30")]
        assert ("elsewhere", "intake", "months", 0) in stored_offsets(store)
    assert out.stderr.endswith("kept: the offsets of instrument(s) not installed here: "
                               "elsewhere\n")
    out = subprocess.run([sys.executable, "-m", "formsengine.cli", "schedule", "rebuild",
                          "--drop-not-installed"], capture_output=True, text=True, env=env,
                         timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stderr.endswith("removed: the offsets of instrument(s) not installed here: "
                               "elsewhere\n")
    with Store.open(path, engine) as store:
        assert "elsewhere" not in {o[0] for o in stored_offsets(store)}
        assert len(entries_of(store)) == 3


@pytest.fixture
def location(backend, request, tmp_path) -> str:
    """A database to open more than once: a SQLite file, or a fresh PostgreSQL schema."""
    if backend == "postgresql":
        return request.getfixturevalue("pg_database")
    return str(tmp_path / "s.db")


def _rebuilds(store) -> list[dict]:
    return [json.loads(r["details"]) for r in look.rows(store, "audit", "details",
                                                        action="schedule_rebuild")]


def test_processes_with_other_plugins_do_not_rebuild_each_others_schedule(location):
    """Two processes sharing a database, one without the toy-weekly plugin: opening the
    store in either keeps the other's instruments' offsets and entries, and rebuilds
    nothing (each used to rebuild every entry, taking away the other's instruments)."""
    from formsengine.store import Store

    path = location
    both = Engine(Settings(), load_entrypoints=False,
                  plugins=[DefinitionsPlugin(toy_definition(), weekly_definition())])
    fewer = Engine(Settings(), load_entrypoints=False,
                   plugins=[DefinitionsPlugin(toy_definition())])
    with Store.open(path, both, create=True) as store:
        team = store.ensure_team("T")
        store.create_case("C-1", team_id=team, instruments=["toy-checklist", "toy-weekly"],
                          opened_on="2025-01-31")
        entries, offsets = stored(store), stored_offsets(store)
    assert {k[1] for k in entries} == {"toy-checklist", "toy-weekly"}
    for engine in (fewer, both, fewer):
        with Store.open(path, engine) as store:
            assert stored(store) == entries and stored_offsets(store) == offsets
            assert _rebuilds(store) == []
            # (what the warning at start names: logged once per process)
            assert stale_instruments(store) == (
                set(), set() if engine is both else {"toy-weekly"})
    # the rebuild command in the process without the plugin keeps them too, unless told
    # to drop them
    with Store.open(path, fewer) as store:
        assert rebuild(store, actor="ops") == len(entries)
        assert stored(store) == entries and stored_offsets(store) == offsets
        rebuild(store, actor="ops", keep_not_installed=False)
        assert {r["instrument_id"] for r in entries_of(store)} == {"toy-checklist"}
        assert stored_offsets(store) == configured_offsets(fewer)
    # the process with the plugin puts back its entries (only toy-weekly's), audited
    with Store.open(path, both) as store:
        assert stored(store) == expected(store)
        assert {r["instrument_id"] for r in entries_of(store)} == {"toy-checklist",
                                                                    "toy-weekly"}
        assert _rebuilds(store)[-1]["instruments"] == ["toy-weekly"]


def test_other_offsets_of_one_instrument_rewrite_only_its_entries(location, tmp_path):
    from formsengine.store import Store

    path = location
    plugins = [DefinitionsPlugin(toy_definition(), weekly_definition())]
    first = Engine(Settings(), load_entrypoints=False, plugins=plugins)
    with Store.open(path, first, create=True) as store:
        team = store.ensure_team("T")
        store.create_case("C-1", team_id=team, instruments=["toy-checklist", "toy-weekly"],
                          opened_on="2025-01-31")
        before = stored(store)
    config = tmp_path / "org.toml"
    config.write_text('[instruments.toy-weekly.occasions]\nm1 = {months = 2}\n',
                      encoding="utf-8")
    second = Engine(Settings(config_file=config), load_entrypoints=False,
                    plugins=[DefinitionsPlugin(toy_definition(), weekly_definition())])
    with Store.open(path, second) as store:
        after = stored(store)
        assert after == expected(store)
        assert {k: v for k, v in after.items() if k[1] == "toy-checklist"} == {
            k: v for k, v in before.items() if k[1] == "toy-checklist"}
        assert after != before
        details = _rebuilds(store)
        assert [(d["instruments"], d["entries"]) for d in details] == [(["toy-weekly"], 4)]



def test_a_schedule_filled_by_another_process_meanwhile_is_not_rebuilt_again(location,
                                                                               monkeypatch):
    """Two processes opening a new database at once: when the other one fills the schedule
    between this one's first look and its write, this one finds nothing left to do (before,
    it took the other's first fill for a change of offsets and rebuilt it, audited)."""
    from formsengine.store import Store
    from formsengine.store import schedule as schedule_mod

    engine = Engine(Settings(), load_entrypoints=False,
                    plugins=[DefinitionsPlugin(toy_definition(), weekly_definition())])
    with Store.open(location, engine, create=True) as store:
        offsets = stored_offsets(store)
        rebuild(store, offsets=[], keep_not_installed=False)  # as a database not filled yet
        assert stored_offsets(store) == []
        audited = look.count(store, "audit", action="schedule_rebuild")
        real = schedule_mod.stale_instruments
        looks: list[tuple[set[str], set[str]]] = []
        other: list[bool] = []

        def first_look_then_the_other_process(s):
            if s is not store:  # the other process's own look
                return real(s)
            found = real(s)
            if not other:  # the other process opens the database and fills the schedule
                other.append(True)
                with Store.open(location, engine):
                    pass
            looks.append(found)
            return found

        monkeypatch.setattr(schedule_mod, "stale_instruments",
                            first_look_then_the_other_process)
        assert schedule_mod.sync(store) is False
        assert looks[0][0] == {"toy-checklist", "toy-weekly"} and looks[1] == (set(), set())
        assert stored_offsets(store) == offsets
        assert look.count(store, "audit", action="schedule_rebuild") == audited
