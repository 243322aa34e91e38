"""Bulk import of assessments from a JSON Lines file, all or nothing.

Each line is an answers object (``schemas/answers.schema.json``) with ``person``,
``occasion`` and, for a new person, ``role``; optionally the ``case`` with its ``team`` and
``practitioner``. The file is read, checked, scored and written in chunks of
``CHUNK`` lines inside one ``BEGIN IMMEDIATE`` transaction, so memory stays flat however long
the file is. If any line is bad, every bad line is still reported with its number and the
transaction is rolled back: nothing is written. The import leaves one audit row: how many
assessments, people and cases it created, the range of assessment ids, and the SHA-256 of
the file as read.
"""

from __future__ import annotations

import datetime as dt
import gc
import hashlib
import json
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import audit
from .bounded import DuplicateKey, ReadsLines, TooLarge, bounded_lines, no_duplicate_keys
from .errors import FormsEngineError, SubmissionError
from .store import (
    configuration_text,
    draft_document,
    encode_value,
    new_uids,
    result_text,
    sort_score_values,
)
from .store import importing as db
from .store.snapshots import snapshot_id
from .submission import missing_required_fields

if TYPE_CHECKING:
    from .instruments import Instrument
    from .store import Store
    from .submission import Submission

CHUNK = 1000  # lines checked, scored and written together
# Objects made between two collections of the youngest generation, while an import runs
# (Python's default is 700): every line makes a few hundred (its answers, its result, its
# rows), none of them in reference cycles, and each collection that reaches the older
# generations walks every object still alive. At 700, 10,000 lines spent about a tenth of
# the import's CPU time in collections that found nothing.
IMPORT_GC_THRESHOLD = 100_000
MAX_IMPORT_BYTES = 200_000_000
MAX_LINE_BYTES = 1_000_000
# Short answers (an option's value, the options chosen) kept with their stored text while an
# import runs, so that each is encoded once: at most this many, then the store starts again
ENCODED_KEPT = 10_000
ENCODED_LENGTH = 64
REPEATABLE_OCCASIONS = {"after_incident"}


class ImportRefused(FormsEngineError):
    def __init__(self, problems: list[str], lines: int):
        self.problems = problems
        shown = "\n".join(f"  {p}" for p in problems[:100])
        more = f"\n  ... and {len(problems) - 100} more" if len(problems) > 100 else ""
        super().__init__(
            f"import refused: {len(problems)} problem(s) in {lines} line(s); nothing was "
            f"written\n{shown}{more}")


@dataclass
class Row:
    line: int
    inst: Instrument
    sub: Submission
    person: str
    role: str | None
    occasion: str
    assessor: str | None
    case: str | None
    status: str
    result: dict[str, Any] | None
    team: str | None = None
    practitioner: str | None = None


def read_lines(path: Path, digest: Any = None) -> Iterable[tuple[int, Any, str | None]]:
    """(line number, JSON value, problem) for each non-blank line; ``digest`` (a hashlib
    object) is fed every byte read."""
    try:
        size = path.stat().st_size
    except OSError:
        size = 0
    if size > MAX_IMPORT_BYTES:
        raise ImportRefused([f"file is {size} bytes; the limit is {MAX_IMPORT_BYTES}"], 0)
    with path.open("rb") as fh:
        source: ReadsLines = _Hashed(fh, digest) if digest is not None else fh
        lines = bounded_lines(source, max_line=MAX_LINE_BYTES, max_total=MAX_IMPORT_BYTES)
        while True:
            try:
                number, raw = next(lines)
            except StopIteration:
                return
            except TooLarge:  # a pipe or device: its size was not known before reading
                raise ImportRefused([f"input is larger than the limit of {MAX_IMPORT_BYTES} "
                                     "bytes"], 0) from None
            if raw is None:
                yield number, None, f"line is longer than {MAX_LINE_BYTES} bytes"
                continue
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError:
                yield number, None, "not UTF-8 text"
                continue
            if not text.strip():
                continue
            try:
                yield number, (_decode(text) if not text.startswith("\ufeff") else
                               json.loads(text, object_pairs_hook=no_duplicate_keys)), None
            except json.JSONDecodeError as exc:
                yield number, None, f"not valid JSON: {exc.msg} at column {exc.colno}"
            except DuplicateKey as exc:
                yield number, None, (f"the key {str(exc)[:80]!r} is written twice in one "
                                     "object: only the last would be kept")
            except RecursionError:
                yield number, None, "JSON nested too deeply"


# One decoder for every line (json.loads with a hook makes a decoder a call); a line that
# begins with a byte order mark goes to json.loads, which names it
_decode = json.JSONDecoder(object_pairs_hook=no_duplicate_keys).decode


class _Hashed:
    """A binary file whose every byte read also goes into a hash."""

    def __init__(self, fh: Any, digest: Any) -> None:
        self.fh, self.digest = fh, digest

    def readline(self, limit: int = -1) -> bytes:
        data = self.fh.readline(limit)
        self.digest.update(data)
        return data


def checked_rows(store: Store, path: Path, problems: list[str], *, digest: Any = None,
                 counter: dict[str, int] | None = None,
                 progress: Callable[[int], None] | None = None) -> Iterator[Row]:
    """Each line that passes every check that needs no database, checked and scored;
    the problems of the others are appended to ``problems``; ``counter["lines"]`` counts
    the lines read."""
    seen: set[tuple[str, str, str]] = set()
    counter = counter if counter is not None else {}
    counter.setdefault("lines", 0)
    for number, data, error in read_lines(path, digest):
        counter["lines"] += 1
        if progress and counter["lines"] % CHUNK == 0:
            progress(counter["lines"])
        if error:
            problems.append(f"line {number}: {error}")
            continue
        if not isinstance(data, dict):
            problems.append(f"line {number}: must be a JSON object")
            continue
        missing = [k for k in ("person", "occasion") if not data.get(k)]
        if missing:
            problems.append(f"line {number}: missing {', '.join(missing)}")
            continue
        try:
            inst, sub = store.engine.check(data, where=f"line {number}")
        except SubmissionError as exc:
            problems.extend(f"line {number}: {p}" for p in exc.problems)
            continue
        if inst.retired:
            problems.append(f"line {number}: instrument {inst.id} v{inst.version} is retired "
                            "(its definition file is gone): import with a registered version")
            continue
        occasion = data["occasion"]
        if occasion not in inst.occasions and occasion not in REPEATABLE_OCCASIONS:
            problems.append(f"line {number}: instrument {inst.id} is not used at occasion "
                            f"{occasion!r} (occasions: {', '.join(inst.occasions)})")
            continue
        status = data.get("status", "final")
        if status == "final" and (data.get("declined") or data.get("declined_fields")):
            problems.append(f"line {number}: declined offers are kept only with a draft (a "
                            "finalised assessment is offered nothing): remove \"declined\" "
                            "(and \"declined_fields\") or import the row as a draft")
            continue
        if status == "final":
            missing = missing_required_fields(inst, sub)
            if missing:
                problems.append(f"line {number}: {', '.join(missing)} required for a final "
                                "assessment")
                continue
        key = (data["person"], inst.id, occasion)
        if status == "final" and occasion not in REPEATABLE_OCCASIONS:
            if key in seen:
                problems.append(f"line {number}: person {data['person']!r} already has a "
                                f"{inst.id} assessment at {occasion} earlier in this file")
                continue
            seen.add(key)
        try:
            result = store.engine.score(inst, sub) if status == "final" else None
        except FormsEngineError as exc:
            problems.append(f"line {number}: {exc}")
            continue
        if (data.get("team") or data.get("practitioner")) and not data.get("case"):
            problems.append(f"line {number}: team and practitioner belong to a case: give "
                            "the case too")
            continue
        yield Row(number, inst, sub, data["person"], data.get("role"), occasion,
                  data.get("assessor"), data.get("case"), status, result,
                  data.get("team"), data.get("practitioner"))


def _chunks(rows: Iterable[Row]) -> Iterator[list[Row]]:
    chunk: list[Row] = []
    for row in rows:
        chunk.append(row)
        if len(chunk) == CHUNK:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


@contextmanager
def _fewer_collections() -> Iterator[None]:
    """The cyclic garbage collector run less often (``IMPORT_GC_THRESHOLD``), then as it
    was. It still runs: memory stays bounded."""
    before = gc.get_threshold()
    gc.set_threshold(max(before[0], IMPORT_GC_THRESHOLD), *before[1:])
    try:
        yield
    finally:
        gc.set_threshold(*before)


def import_file(store: Store, path: Path, *, actor: str,
                progress: Callable[[str], None] | None = None) -> dict[str, Any]:
    with _fewer_collections():
        return _import_file(store, path, actor=actor, progress=progress)


def _import_file(store: Store, path: Path, *, actor: str,
                 progress: Callable[[str], None] | None) -> dict[str, Any]:
    problems: list[str] = []
    digest = hashlib.sha256()
    wanted: dict[str, tuple[str | None, str | None, int]] = {}
    made = {"people": 0, "cases": 0, "lines": 0}
    written: list[int] = []  # first and last assessment id
    count = 0
    people_seen: set[str] = set()
    encoded: dict[Any, str] = {}  # short answers -> their stored text, made once
    with store.write():
        rows = checked_rows(store, path, problems, digest=digest, counter=made,
                            progress=(lambda n: progress(f"checked {n} lines"))
                            if progress else None)
        for chunk in _chunks(rows):
            known = db.known_people(store, list(dict.fromkeys(r.person for r in chunk)))
            refused = _check_against_database(store, chunk, wanted, known)
            if refused:  # reported; the rest is still written, then all is rolled back
                problems += refused
                bad = {_line_of(p) for p in refused}
                chunk = [r for r in chunk if r.line not in bad]
            if not chunk:
                continue
            people = _people(store, chunk, made, known, problems)
            cases = _cases(store, chunk, people, made, actor, problems)
            if len(encoded) > ENCODED_KEPT:
                encoded.clear()
            ids = _bulk_insert(store, chunk, people, cases, encoded)
            written = [written[0] if written else ids[0], ids[-1]]
            count += len(ids)
            people_seen.update(people)
        if not made["lines"]:
            raise ImportRefused(["the file holds no assessments"], 0)
        if problems:
            raise ImportRefused(sorted(problems, key=_line_of), made["lines"])
        store.audit("import", actor=actor, object_type="assessments",
                    details={"rows": count, "first_id": written[0], "last_id": written[-1],
                             "people_created": made["people"], "cases_created": made["cases"],
                             "file_sha256": digest.hexdigest()})
    store.notify_saved(written[0], written[-1])  # after the commit, as a save from the web
    if progress:
        progress(f"imported {count} assessments")
    return {"imported": count, "people": len(people_seen), "first_id": written[0],
            "last_id": written[-1]}


def _line_of(problem: str) -> int:
    head = problem.split(":", 1)[0]
    return int(head.removeprefix("line ")) if head.startswith("line ") else 0


def _check_cases(store: Store, rows: list[Row],
                 wanted: dict[str, tuple[str | None, str | None, int]]) -> list[str]:
    """Teams and practitioners named for cases: known, consistent within the file (``wanted``
    holds what earlier lines named), and the same as an existing case's (moving a case is
    ``formsengine cases assign``)."""
    problems: list[str] = []
    named = set()
    for r in rows:
        if not r.case:
            continue
        if r.team or r.practitioner:
            named.add(r.case)
        first = wanted.setdefault(r.case, (r.team, r.practitioner, r.line))
        if (r.team, r.practitioner) != first[:2] and (r.team or r.practitioner):
            if first[0] is None and first[1] is None:
                wanted[r.case] = (r.team, r.practitioner, r.line)
            else:
                problems.append(f"line {r.line}: case {r.case!r} is given another team or "
                                f"practitioner than on line {first[2]}")
    lines = {r.line for r in rows}
    for ref in named:
        team, practitioner, line = wanted[ref]
        if line not in lines:  # checked with the chunk that first named it
            continue
        known = store.find_case_team(ref)
        team_id = store.team_id(team) if team else None
        if team and team_id is None:
            problems.append(f"line {line}: no team {team[:80]!r} (create it first: "
                            "formsengine teams create NAME)")
            continue
        if known is not None and team and known["team"] not in (None, team):
            problems.append(f"line {line}: case {ref!r} is in team {known['team']!r}; move it "
                            "with: formsengine cases assign")
            continue
        if practitioner:
            target = team_id if team else (known or {}).get("team_id")
            problem = store.practitioner_problem(practitioner, target)
            if problem:
                problems.append(f"line {line}: {problem}")
    return problems


def _check_against_database(store: Store, rows: list[Row],
                            wanted: dict[str, tuple[str | None, str | None, int]],
                            known: dict[str, dict[str, Any]]) -> list[str]:
    """What only the database can refuse in a chunk: people's roles, final assessments
    already stored, cases' teams and practitioners. ``known``: the chunk's people already
    stored. One read for the chunk's final assessments, none per line."""
    problems = _check_cases(store, rows, wanted)
    finals = db.final_occasions(store, (p["id"] for p in known.values()))
    for r in rows:
        person = known.get(r.person)
        if person is None:
            if r.role not in ("victim_survivor", "service_user"):
                problems.append(f"line {r.line}: person {r.person!r} is new: give their role")
            elif r.role != r.inst.subject_role:
                problems.append(f"line {r.line}: instrument {r.inst.id} is about a "
                                f"{r.inst.subject_role}, not a {r.role}")
            continue
        if r.role and person["role"] != r.role:
            problems.append(f"line {r.line}: person {r.person!r} is recorded as "
                            f"{person['role']}, not {r.role}")
        if (r.status == "final" and r.occasion not in REPEATABLE_OCCASIONS
                and (person["id"], r.inst.id, r.occasion) in finals):
            problems.append(f"line {r.line}: person {r.person!r} already has a final "
                            f"{r.inst.id} assessment at {r.occasion}; amend it instead")
    return problems


def _people(store: Store, rows: list[Row], made: dict[str, int],
            known: dict[str, dict[str, Any]], problems: list[str]) -> dict[str, int]:
    """Every person named in the rows: ``known`` ones (read for the chunk), new ones added
    in one go."""
    roles: dict[str, str | None] = {}
    for r in rows:
        roles.setdefault(r.person, r.role)
    people = {ref: p["id"] for ref, p in known.items()}
    new = [ref for ref in roles if ref not in people]
    if new:
        now = audit.utcnow()
        people.update(zip(new, db.new_ids(store, "people", len(new))))
        meanwhile = db.add_people(store, [(people[ref], ref, roles[ref], now) for ref in new])
        for ref, stored in meanwhile.items():  # stored by a concurrent import
            people[ref] = stored["id"]
            if roles[ref] and stored["role"] != roles[ref]:
                line = next(r.line for r in rows if r.person == ref)
                problems.append(f"line {line}: person {ref!r} is recorded as "
                                f"{stored['role']}, not {roles[ref]}")
        made["people"] += len(new) - len(meanwhile)
    return people


def _cases(store: Store, rows: list[Row], people: dict[str, int], made: dict[str, int],
           actor: str, problems: list[str]) -> dict[str, int]:
    """Every case named in the rows, and a link from it to each of its people; a line
    whose person would be a second one in their role on the case is a problem."""
    refs = list(dict.fromkeys(r.case for r in rows if r.case))
    cases = db.case_ids(store, refs)
    new = [ref for ref in refs if ref not in cases]
    team_ids = {name: store.team_id(name) for name in {r.team for r in rows if r.team}}
    teams = {r.case: team_id for r in rows
             if r.case and r.team and (team_id := team_ids[r.team]) is not None}
    if new:
        now = audit.utcnow()
        cases.update(zip(new, db.new_ids(store, "cases", len(new))))
        meanwhile = db.add_cases(store, [(cases[ref], uid, ref, teams.get(ref), "[]", now)
                                         for ref, uid in zip(new, new_uids(len(new)))])
        cases.update(meanwhile)  # stored by a concurrent import
        new = [ref for ref in new if ref not in meanwhile]
        made["cases"] += len(new)
    for ref, team_id in teams.items():  # an existing case with no team takes the one named
        if ref not in new:
            store.assign_case_team(cases[ref], team_id, actor=actor, only_if_none=True)
    practitioners = {cases[r.case]: r.practitioner for r in rows if r.case and r.practitioner}
    for case_id, username in practitioners.items():
        store.assign_case_practitioner(case_id, username, actor=actor)
    links: dict[tuple[int, int], tuple[str, Row]] = {}
    for r in rows:
        if r.case:
            links.setdefault((cases[r.case], people[r.person]), (r.inst.subject_role, r))
    refused = db.link_case_people(store, [(case_id, person_id, role) for (case_id, person_id),
                                          (role, _) in links.items()])
    for case_id, person_id, role in refused:
        r = links[(case_id, person_id)][1]
        problems.append(f"line {r.line}: case {r.case!r} already has a {role} other than "
                        f"{r.person!r}")
    return cases


def _stored(value: Any, encoded: dict[Any, str]) -> str:
    """An answer's stored text (``encode_value``), kept in ``encoded`` for the next line
    when it is a short text (an option's value, the same in most lines; the key: the text)
    or a list of short texts (the options chosen for a multiple-choice item; the key: the
    tuple of them)."""
    cls = value.__class__
    if cls is str:
        key: Any = value if len(value) <= ENCODED_LENGTH else None
    elif cls is list and len(value) <= ENCODED_LENGTH and all(
            v.__class__ is str and len(v) <= ENCODED_LENGTH for v in value):
        key = tuple(value)
    else:
        return encode_value(value)
    text = encoded.get(key) if key is not None else None
    if text is None:
        text = encode_value(value)
        if key is not None:
            encoded[key] = text
    return text


def _fields_text(fields: dict[str, Any]) -> str:
    """A submission's fields as the assessment row stores them (dates as ISO text)."""
    return json.dumps({k: (v.isoformat() if isinstance(v, dt.date) else v)
                       for k, v in fields.items()})


def _bulk_insert(store: Store, rows: list[Row], people: dict[str, int],
                 cases: dict[str, int], encoded: dict[Any, str]) -> list[int]:
    """Write a chunk's assessments, answers, scores and score values, each table with as
    few statements as the columns its rows fill allow. ``encoded``: short answers and their
    stored text (``_stored``), kept by the caller from chunk to chunk."""
    assessment_ids = iter(db.new_ids(store, "assessments", len(rows)))
    uids = iter(new_uids(len(rows)))
    score_ids = iter(db.new_ids(store, "scores", sum(r.result is not None for r in rows)))
    now = audit.utcnow()
    assessments: list[tuple] = []
    plain: list[tuple[int, str, str]] = []  # answers with no comment or source
    annotated: list[tuple] = []
    scores: list[tuple] = []
    numbers: list[tuple] = []  # score values by the column they fill (sort_score_values)
    texts: list[tuple] = []
    empty: list[tuple] = []
    configurations: dict[str, str] = {}  # each configuration record once (core_0012)
    ids = []
    snapshot_ids = {key: snapshot_id(store, inst)
                    for key, inst in {r.inst.key: r.inst for r in rows}.items()}
    for r in rows:
        aid = next(assessment_ids)
        ids.append(aid)
        sub = r.sub
        date = sub.fields.get(r.inst.assessment_date_field)
        final = r.status == "final"
        assessments.append((
            aid, next(uids), people[r.person], cases.get(r.case) if r.case else None, r.inst.id,
            r.inst.version, snapshot_ids[r.inst.key], r.occasion,
            date.isoformat() if date else None, r.assessor,
            r.status, sub.wording, _fields_text(sub.fields) if sub.fields else "{}",
            json.dumps(sub.judgement) if sub.judgement else None, now, now,
            now if final else None,
            draft_document(sub) if r.status == "draft" else None))
        if r.status == "draft":  # a draft's answers are in its draft_answers document
            pass
        elif sub.comments or sub.sources or sub.carried:
            annotated.extend((aid, item, encode_value(v), sub.comments.get(item),
                              sub.sources.get(item), sub.carried.get(item))
                             for item, v in sub.answers.items())
        else:
            try:  # every answer a short text seen before: no call per answer
                plain.extend([(aid, item, encoded[v]) for item, v in sub.answers.items()])
            except (KeyError, TypeError):  # one not seen yet, a list, a number, a date
                plain.extend([(aid, item, encoded[v] if v.__class__ is str and v in encoded
                               else _stored(v, encoded)) for item, v in sub.answers.items()])
        result = r.result
        if result is not None:
            sid = next(score_ids)
            level = result.get("level") or {}
            configuration = result["configuration"]
            if configuration["hash"] not in configurations:
                configurations[configuration["hash"]] = configuration_text(configuration)
            scorer = result["scorer"]
            scores.append((
                sid, aid, 1, r.inst.id, r.inst.version, scorer["plugin"], scorer["version"],
                configuration["name"], configuration["hash"], int(bool(result.get("complete"))),
                level.get("final"), result_text(result), now))
            sort_score_values(sid, result, numbers, texts, empty)
    db.add_assessments(store, assessments)
    db.add_answers(store, plain, annotated)
    db.add_configurations(store, configurations)
    db.add_scores(store, scores)
    db.add_score_values(store, numbers, texts, empty)
    return ids
