"""The core tables as release 0.1 built them: its sqlite-utils migration set, m001 to m009.

Kept unchanged as the reference: the core's first Alembic revision
(``formsengine/migrations/versions/core_0001_*``) runs these functions on SQLite, and a
database made by release 0.1 is brought to the end of this set and then stamped at that
revision (``formsengine.migrations``). Schema changes are new Alembic revisions, not new
functions here.

Table and column names here are code constants: no SQL in formsengine takes a name from
input.
"""

from __future__ import annotations

from sqlite_utils import Database
from sqlite_utils.migrations import Migrations

core_migrations = Migrations("formsengine")

AUDIT_TRIGGERS = ("audit_no_update", "audit_no_delete", "audit_insert_in_chain")


def run_script(db: Database, script: str) -> None:
    """Run SQL statements one by one inside the caller's transaction.

    (``executescript`` would commit the migration's transaction first.)
    """
    from sqlite_utils.utils import sqlite3

    pending = ""
    for line in script.splitlines(keepends=True):
        pending += line
        if sqlite3.complete_statement(pending):
            db.execute(pending)
            pending = ""
    if pending.strip():
        raise ValueError("incomplete SQL statement in migration")


@core_migrations()
def m001_core_tables(db: Database) -> None:
    run_script(db,
        """
        CREATE TABLE teams (
            id INTEGER PRIMARY KEY,
            name TEXT NOT NULL UNIQUE,
            created_at TEXT NOT NULL
        );
        CREATE TABLE people (
            id INTEGER PRIMARY KEY,
            ref TEXT NOT NULL UNIQUE,
            role TEXT NOT NULL CHECK (role IN ('victim_survivor', 'service_user')),
            display_name TEXT,
            birth_year INTEGER,
            created_at TEXT NOT NULL
        );
        CREATE TABLE cases (
            id INTEGER PRIMARY KEY,
            uid TEXT NOT NULL UNIQUE,
            ref TEXT NOT NULL UNIQUE,
            team_id INTEGER REFERENCES teams(id),
            schedule TEXT NOT NULL DEFAULT '[]',
            opened_on TEXT,
            status TEXT NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'closed')),
            created_at TEXT NOT NULL
        );
        CREATE TABLE case_people (
            case_id INTEGER NOT NULL REFERENCES cases(id) ON DELETE CASCADE,
            person_id INTEGER NOT NULL REFERENCES people(id) ON DELETE CASCADE,
            role TEXT NOT NULL,
            PRIMARY KEY (case_id, person_id)
        );
        CREATE TABLE assessments (
            id INTEGER PRIMARY KEY,
            uid TEXT NOT NULL UNIQUE,
            person_id INTEGER NOT NULL REFERENCES people(id) ON DELETE CASCADE,
            case_id INTEGER REFERENCES cases(id) ON DELETE CASCADE,
            instrument_id TEXT NOT NULL,
            instrument_version TEXT NOT NULL,
            occasion TEXT NOT NULL,
            assessment_date TEXT,
            assessor TEXT,
            status TEXT NOT NULL CHECK (status IN ('draft', 'final', 'superseded')),
            wording TEXT NOT NULL DEFAULT 'paraphrase',
            fields TEXT NOT NULL DEFAULT '{}',
            judgement TEXT,
            revision INTEGER NOT NULL DEFAULT 1,
            version_no INTEGER NOT NULL DEFAULT 1,
            supersedes_id INTEGER REFERENCES assessments(id),
            amendment_reason TEXT,
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL,
            finalised_at TEXT
        );
        CREATE INDEX assessments_person ON assessments(person_id, instrument_id);
        CREATE INDEX assessments_case ON assessments(case_id);
        CREATE TABLE answers (
            assessment_id INTEGER NOT NULL REFERENCES assessments(id) ON DELETE CASCADE,
            item_id TEXT NOT NULL,
            value TEXT NOT NULL,
            comment TEXT,
            source TEXT,
            PRIMARY KEY (assessment_id, item_id)
        ) WITHOUT ROWID;
        CREATE TABLE scores (
            id INTEGER PRIMARY KEY,
            assessment_id INTEGER NOT NULL REFERENCES assessments(id) ON DELETE CASCADE,
            seq INTEGER NOT NULL,
            instrument_id TEXT NOT NULL,
            instrument_version TEXT NOT NULL,
            scorer_plugin TEXT NOT NULL,
            scorer_version TEXT NOT NULL,
            config_name TEXT NOT NULL,
            config_hash TEXT NOT NULL,
            complete INTEGER NOT NULL,
            level_final TEXT,
            result TEXT NOT NULL,
            created_at TEXT NOT NULL,
            UNIQUE (assessment_id, seq)
        );
        CREATE TABLE score_values (
            score_id INTEGER NOT NULL REFERENCES scores(id) ON DELETE CASCADE,
            kind TEXT NOT NULL CHECK (kind IN ('score', 'band', 'level', 'flag', 'criterion',
                                               'group')),
            name TEXT NOT NULL,
            value_num REAL,
            value_text TEXT,
            PRIMARY KEY (score_id, kind, name)
        ) WITHOUT ROWID;
        CREATE TABLE audit (
            id INTEGER PRIMARY KEY,
            at TEXT NOT NULL,
            actor TEXT NOT NULL,
            action TEXT NOT NULL,
            object_type TEXT,
            object_id TEXT,
            request_id TEXT,
            details TEXT NOT NULL DEFAULT '{}',
            prev_hash TEXT NOT NULL,
            hash TEXT NOT NULL
        );
        CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit
        BEGIN SELECT RAISE(ABORT, 'audit rows are append-only'); END;
        CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit
        BEGIN SELECT RAISE(ABORT, 'audit rows are append-only'); END;
        """
    )


@core_migrations()
def m002_draft_result(db: Database) -> None:
    """The provisional result of a draft, scored on the server at each save and shown while
    the assessment is completed. Cleared when the draft is finalised (the score rows then
    hold the result)."""
    run_script(db, "ALTER TABLE assessments ADD COLUMN draft_result TEXT;")


@core_migrations()
def m003_draft_answers(db: Database) -> None:
    """A draft's answers, comments and sources as one JSON document on its assessment row,
    rewritten at each save; the answers table holds the answers of final (and superseded)
    assessments, written once when the draft is finalised. A save then changes one row
    instead of deleting and inserting a row per answer. Existing drafts move over."""
    run_script(db, """
        ALTER TABLE assessments ADD COLUMN draft_answers TEXT;
        UPDATE assessments SET draft_answers = json_object(
            'answers', (SELECT json_group_object(item_id, json(value)) FROM answers
                        WHERE assessment_id = assessments.id),
            'comments', (SELECT json_group_object(item_id, comment) FROM answers
                         WHERE assessment_id = assessments.id AND comment IS NOT NULL),
            'sources', (SELECT json_group_object(item_id, source) FROM answers
                        WHERE assessment_id = assessments.id AND source IS NOT NULL))
        WHERE status = 'draft';
        DELETE FROM answers WHERE assessment_id IN
            (SELECT id FROM assessments WHERE status = 'draft');
    """)


@core_migrations()
def m004_case_closure(db: Database) -> None:
    """When a case was closed and why (one of a fixed list of reasons, never free text, so
    that nothing identifying is kept with it). Reopening clears both."""
    run_script(db, """
        ALTER TABLE cases ADD COLUMN closed_on TEXT;
        ALTER TABLE cases ADD COLUMN closed_reason TEXT;
    """)


@core_migrations()
def m005_keyed_audit(db: Database) -> None:
    """The audit chain becomes keyed (see ``formsengine.audit``): a trigger refuses a row
    that does not continue the chain (the next id, the last row's hash before it), and a
    marked row starts the keyed chain; the rows before it keep their plain hash chain."""
    from .audit import start_keyed_chain

    # (the first row follows audit.GENESIS, 64 zeros)
    run_script(db, """
        CREATE TRIGGER audit_insert_in_chain BEFORE INSERT ON audit
        WHEN NEW.id IS NOT (SELECT COALESCE(MAX(id), 0) + 1 FROM audit)
          OR NEW.prev_hash IS NOT COALESCE(
              (SELECT hash FROM audit ORDER BY id DESC LIMIT 1), printf('%064d', 0))
        BEGIN SELECT RAISE(ABORT, 'audit rows are only appended to the chain'); END;
    """)
    start_keyed_chain(db.conn)


@core_migrations()
def m006_case_instruments(db: Database) -> None:
    """The instruments a case follows: its schedule is built from their occasions (with the
    organisation's due offsets) instead of a list of occasion ids shared by every
    instrument. An existing case follows the instruments it has assessments of; its old
    list of occasions stays in ``schedule``, no longer read."""
    run_script(db, """
        ALTER TABLE cases ADD COLUMN instruments TEXT NOT NULL DEFAULT '[]';
        UPDATE cases SET instruments = (SELECT json_group_array(instrument_id) FROM
            (SELECT DISTINCT instrument_id FROM assessments WHERE case_id = cases.id
             ORDER BY instrument_id))
        WHERE EXISTS (SELECT 1 FROM assessments WHERE case_id = cases.id);
    """)


@core_migrations()
def m007_list_indexes(db: Database) -> None:
    """Indexes for the list pages, so that their cost follows the rows shown, not all rows
    stored: a team's cases (by team, then status), the audit page filtered by who or by what
    (each newest first through the row id the index carries), and the researcher's counts
    of people per instrument and occasion (read from the index alone, without the
    assessment rows)."""
    run_script(db, """
        CREATE INDEX cases_team ON cases(team_id, status);
        CREATE INDEX audit_actor ON audit(actor);
        CREATE INDEX audit_action ON audit(action);
        CREATE INDEX assessments_counts
            ON assessments(status, instrument_id, occasion, person_id);
    """)


# A case's risk order for the caseload: 0 when its latest final assessment's level is
# high, 1 medium, 2 standard, 3 otherwise or never assessed.
_RISK_ORDER = """COALESCE((SELECT CASE s.level_final WHEN 'high' THEN 0 WHEN 'medium' THEN 1
    WHEN 'standard' THEN 2 ELSE 3 END FROM scores s WHERE s.id = (
      SELECT s2.id FROM scores s2 WHERE s2.assessment_id = (
        SELECT a.id FROM assessments a WHERE a.case_id = {case} AND a.status = 'final'
        ORDER BY a.assessment_date DESC, a.id DESC LIMIT 1)
      ORDER BY s2.seq DESC LIMIT 1)), 3)"""

_M008_SCRIPT = """
        CREATE INDEX audit_object ON audit(object_type, object_id);
        ALTER TABLE cases ADD COLUMN risk_order INTEGER NOT NULL DEFAULT 3;
        UPDATE cases SET risk_order = {risk};
        CREATE INDEX cases_risk ON cases(team_id, status, risk_order, ref);
        CREATE TRIGGER case_risk_score AFTER INSERT ON scores BEGIN
          UPDATE cases SET risk_order = {risk}
          WHERE id = (SELECT case_id FROM assessments WHERE id = NEW.assessment_id);
        END;
        CREATE TRIGGER case_risk_status AFTER UPDATE OF status, case_id, assessment_date
          ON assessments WHEN NEW.status != 'draft' OR OLD.status != 'draft' BEGIN
          UPDATE cases SET risk_order = {risk}
          WHERE id IN (NEW.case_id, OLD.case_id);
        END;
        CREATE TRIGGER case_risk_delete AFTER DELETE ON assessments BEGIN
          UPDATE cases SET risk_order = {risk}
          WHERE id = OLD.case_id;
        END;
"""


@core_migrations()
def m008_audit_by_record_and_case_risk(db: Database) -> None:
    """An index for the audit page's filter by record (a case and its assessments), so
    that a filtered page reads the matching rows, not the whole trail. (The filter by date
    needs none: rows are appended in time order, so a date is found as a row id.)

    Each case keeps its risk order (``risk_order``: the level of its latest final
    assessment), kept by triggers whenever a score is added or an assessment is finalised,
    superseded, moved or deleted, whichever code writes it; indexed with the team and the
    reference, so that a caseload page sorted or filtered by risk reads only its own rows."""
    # (the risk order expression is a code constant, put in by text replacement)
    run_script(db, _M008_SCRIPT.replace("{risk}", _RISK_ORDER.replace("{case}", "cases.id")))


@core_migrations()
def m009_definition_snapshots(db: Database) -> None:
    """A copy of each definition version as first used (canonical JSON and its SHA-256),
    referenced by every assessment made with it (``assessments.snapshot_id``), so that a
    definition changed under the same version is noticed and an old version's assessments
    still work when its file is gone. Existing assessments get theirs when the database is
    next opened with the engine (``store.snapshots.check_definitions``)."""
    from .store.snapshots import SNAPSHOT_DDL

    for statement in SNAPSHOT_DDL:
        db.execute(statement)
