"""Concurrent writers on one database, on SQLite and on PostgreSQL: threads with a store
each (as a server's request threads) and separate processes (as several servers, or an
import beside them). Each test looks for what check-then-insert code lets through when two
writers pass the check at once: a duplicate, a lost write, or a database error (an
integrity error) instead of a plain answer."""

from __future__ import annotations

import json
import multiprocessing
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from formsengine.errors import StorageError
from formsengine.importer import ImportRefused, import_file
from formsengine.store import Store
from formsengine.store import inspection as look
from formsengine.store.reading import case_people

from ..conftest import DefinitionsPlugin, answers, make_engine, toy_definition

WRITERS = 6


def location(store: Store) -> str:
    """Where another store (or process) opens the same database."""
    assert store.location is not None
    return store.location


def run_at_once(store: Store, n: int, work: Callable[[Store, int], Any]) -> list[Any]:
    """``work(store, i)`` in ``n`` threads, each with a store of its own, started together;
    each thread's return value or the exception it raised."""
    results: list[Any] = [None] * n
    start = threading.Barrier(n)
    where = location(store)

    def run(i: int) -> None:
        own = Store.open(where, store.engine)
        try:
            start.wait()
            results[i] = work(own, i)
        except Exception as exc:
            results[i] = exc
        finally:
            own.close()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    return results


def only_plain_refusals(results: list[Any], kind: type[Exception] = StorageError) -> list[Any]:
    """The exceptions among ``results``, checked to be the plain kind a user may be shown
    (not a database's integrity error)."""
    errors = [r for r in results if isinstance(r, BaseException)]
    assert all(type(e) is kind for e in errors), [repr(e) for e in errors]
    return errors


def final_assessment(store: Store, ref: str = "P-1", case_id: int | None = None) -> int:
    pid = store.ensure_person(ref, "victim_survivor")
    inst, sub = store.engine.check(answers(a="yes"))
    return store.create_assessment(inst, sub, person_id=pid, occasion="intake",
                                   case_id=case_id)


def import_lines(path: Path, people: list[str], case: str | None = None) -> Path:
    lines = []
    for ref in people:
        record = answers(a="yes")
        record.update(person=ref, role="victim_survivor", occasion="intake")
        if case:
            record["case"] = case
        lines.append(json.dumps(record))
    path.write_text("\n".join(lines) + "\n")
    return path


# -- threads -----------------------------------------------------------------------------------
def test_two_requests_adding_a_victim_survivor_to_one_case_give_it_one(store):
    """As the web form does: a new person and the link, in one write. One wins; every
    other request is told plainly that the case has one, and its new person is rolled
    back with it."""
    case_id = store.create_case("C-1")
    people_before = len(look.rows(store, "people", "id"))

    def add(own: Store, i: int) -> int:
        with own.write():
            person = own.ensure_person(f"P-new-{i}", "victim_survivor")
            own.add_case_person(case_id, person, "victim_survivor")
        return person

    results = run_at_once(store, WRITERS, add)
    errors = only_plain_refusals(results)
    assert len(errors) == WRITERS - 1
    assert all("already has a victim_survivor" in str(e) for e in errors)
    winner = next(r for r in results if isinstance(r, int))
    assert [p["id"] for p in case_people(store, case_id)] == [winner]
    assert len(look.rows(store, "people", "id")) == people_before + 1


def test_concurrent_score_saves_are_all_kept_and_numbered_once(store):
    aid = final_assessment(store)
    result = store.get_assessment(aid)["result"]
    per_writer = 4

    def rescore(own: Store, _i: int) -> list[int]:
        return [own.add_score(aid, result) for _ in range(per_writer)]

    results = run_at_once(store, WRITERS, rescore)
    only_plain_refusals(results)
    ids = [i for r in results for i in r]
    rows = look.rows(store, "scores", "id", "seq", assessment_id=aid)
    assert len(set(ids)) == len(ids) == WRITERS * per_writer
    # every save is there, each with a number of its own: 1 (the first scoring) and on
    assert sorted(r["seq"] for r in rows) == list(range(1, WRITERS * per_writer + 2))
    assert {r["id"] for r in rows} >= set(ids)


def test_the_same_new_person_at_once_is_stored_once(store):
    results = run_at_once(store, WRITERS,
                          lambda own, _i: own.ensure_person("P-same", "victim_survivor"))
    only_plain_refusals(results)
    assert len(set(results)) == 1
    assert len(look.rows(store, "people", "id", ref="P-same")) == 1
    # a role that does not match is refused, even when the person was made meanwhile
    results = run_at_once(store, 2, lambda own, i: own.ensure_person(
        f"P-{i % 1}", "victim_survivor" if i else "service_user"))
    assert len(only_plain_refusals(results)) == 1


def test_the_same_case_reference_at_once_is_one_case(store):
    results = run_at_once(store, WRITERS, lambda own, _i: own.create_case("C-same"))
    errors = only_plain_refusals(results)
    assert len(errors) == WRITERS - 1 and all("already in use" in str(e) for e in errors)
    assert len(look.rows(store, "cases", "id", ref="C-same")) == 1


def test_the_same_team_at_once_is_one_team(store):
    results = run_at_once(store, WRITERS, lambda own, _i: own.ensure_team("North"))
    only_plain_refusals(results)
    assert len(set(results)) == 1


def test_concurrent_imports_keep_every_row_and_their_own_ids(store, tmp_path):
    """Imports beside each other (and beside ordinary saves): no id given twice, every
    line stored, and the definition's first snapshot stored once."""
    files = [import_lines(tmp_path / f"in{i}.jsonl", [f"P-{i}-{n}" for n in range(30)],
                          case=None) for i in range(3)]

    def work(own: Store, i: int) -> Any:
        if i < len(files):
            return import_file(own, files[i], actor="t")["imported"]
        return final_assessment(own, f"P-web-{i}")

    results = run_at_once(store, len(files) + 2, work)
    only_plain_refusals(results)
    assert results[:3] == [30, 30, 30]
    assessments = look.rows(store, "assessments", "id", "person_id")
    assert len(assessments) == 92 == len({a["id"] for a in assessments})
    assert len(look.rows(store, "people", "id")) == 92
    assert len(look.rows(store, "definition_snapshots", "id")) == 1
    # the sequences are ahead of what the imports stored: an ordinary insert still works
    assert final_assessment(store, "P-after") not in {a["id"] for a in assessments}


def test_concurrent_imports_naming_one_new_case_give_it_one_victim_survivor(store, tmp_path):
    files = [import_lines(tmp_path / f"c{i}.jsonl", [f"P-{i}"], case="C-shared")
             for i in range(3)]
    results = run_at_once(store, 3, lambda own, i: import_file(own, files[i], actor="t"))
    errors = only_plain_refusals(results, ImportRefused)
    assert len(errors) == 2
    assert all("already has a victim_survivor" in "\n".join(e.problems) for e in errors)
    case = store.find_case("C-shared")
    assert len(case_people(store, case["id"])) == 1
    assert len(look.rows(store, "cases", "id", ref="C-shared")) == 1


# -- processes ---------------------------------------------------------------------------------
def _in_process(where: str, task: str, arg: Any, start: Any, out: Any) -> None:
    """A process's work: the store opened there, with an engine of its own."""
    engine = make_engine(DefinitionsPlugin(toy_definition()))
    try:
        with Store.open(where, engine) as store:
            start.wait()
            if task == "score":
                aid, per = arg
                result = store.get_assessment(aid)["result"]
                out.put(("ok", [store.add_score(aid, result) for _ in range(per)]))
            elif task == "add_person":
                case_id, i = arg
                with store.write():
                    person = store.ensure_person(f"P-proc-{i}", "victim_survivor")
                    store.add_case_person(case_id, person, "victim_survivor")
                out.put(("ok", person))
            elif task == "import":
                out.put(("ok", import_file(store, Path(arg), actor="t")["imported"]))
    except (StorageError, ImportRefused) as exc:
        out.put(("refused", f"{type(exc).__name__}: {exc}"))
    except Exception as exc:  # reported to the test, which fails on it
        out.put(("error", f"{type(exc).__name__}: {exc}"))


def run_processes(store: Store, tasks: list[tuple[str, Any]]) -> list[tuple[str, Any]]:
    ctx = multiprocessing.get_context("spawn")
    start, out = ctx.Barrier(len(tasks)), ctx.Queue()
    procs = [ctx.Process(target=_in_process, args=(location(store), task, arg, start, out))
             for task, arg in tasks]
    for p in procs:
        p.start()
    results = [out.get(timeout=180) for _ in procs]
    for p in procs:
        p.join(60)
    assert [r for r in results if r[0] == "error"] == []
    return results


def test_processes_saving_scores_and_adding_a_person_at_once(store):
    aid = final_assessment(store)
    case_id = store.create_case("C-proc")
    per = 5
    results = run_processes(store, [("score", (aid, per))] * 2
                            + [("add_person", (case_id, i)) for i in range(2)])
    scores = [r[1] for r in results if r[0] == "ok" and isinstance(r[1], list)]
    assert len(scores) == 2
    rows = look.rows(store, "scores", "seq", assessment_id=aid)
    assert sorted(r["seq"] for r in rows) == list(range(1, 2 * per + 2))
    refused = [r for r in results if r[0] == "refused"]
    assert len(refused) == 1 and "already has a victim_survivor" in refused[0][1]
    assert len(case_people(store, case_id)) == 1


def test_processes_importing_at_once(store, tmp_path):
    files = [import_lines(tmp_path / f"p{i}.jsonl", [f"P-{i}-{n}" for n in range(20)])
             for i in range(2)]
    results = run_processes(store, [("import", str(f)) for f in files])
    assert sorted(results) == [("ok", 20), ("ok", 20)]
    ids = [a["id"] for a in look.rows(store, "assessments", "id")]
    assert len(ids) == 40 == len(set(ids))
    assert final_assessment(store, "P-after") not in ids
