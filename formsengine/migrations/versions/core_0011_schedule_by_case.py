"""The schedule's triggers and the risk order find a case's final assessments through the
case index; deleting an assessment finds its amendments through an index.

Whether a schedule entry is done is a lookup of a final assessment of the case, instrument
and occasion. Neither database is given statistics, and by the number of equalities alone
both planners chose ``assessments_counts`` (status, instrument, occasion) over the case
index: each case given an opening date, moved, closed or reopened, and each assessment
finalised, superseded or deleted, read every final assessment of that occasion in the
database (setting the opening date of each case of 100,000 assessments did not finish in
25 minutes). PostgreSQL, expecting many rows from a case's list of instruments, also read
every final assessment into a hash instead of looking up the case's own. The lookup now
names the case index on SQLite (``INDEXED BY``), writes the status so that no index on it is
chosen, and on PostgreSQL keeps the lookup for each row (``OFFSET 0``):
``formsengine.store.schedule.final_exists``. The triggers are otherwise core_0003's; the
entries already stored stay as they are.

On PostgreSQL a case's risk order (``case_risk_order``, run when an assessment is scored,
finalised, superseded or deleted) read the status index beside the case index, and so every
final assessment; its status is written the same way (``formsengine.store.triggers``).
SQLite's risk triggers already read the case index alone.

Deleting an assessment (a draft discarded, an assessment erased) checked that no assessment
supersedes it by reading every assessment: ``supersedes_id`` had no index. It has one now,
of the rows that supersede another only (``assessments_supersedes``).

Revision ID: core_0011
Revises: core_0010
Create Date: 2026-12-07
"""

from __future__ import annotations

import importlib

from alembic import op

revision = "core_0011"
down_revision = "core_0010"
branch_labels = None
depends_on = None

TRIGGERS_SQLITE = [
    ('CREATE TRIGGER schedule_case_insert AFTER INSERT ON cases BEGIN INSERT INTO '
     'schedule_entries (case_id, instrument_id, occasion, team_id, due, done) SELECT '
     'case_id, instrument_id, occasion, team_id, due, done FROM (SELECT DISTINCT c.id AS '
     "case_id, o.instrument_id, o.occasion, c.team_id, CASE o.unit WHEN 'weeks' THEN "
     "date(c.opened_on, '+' || (7 * o.n) || ' days') ELSE min(date(c.opened_on, 'start of "
     "month', '+' || (o.n + 1) || ' months', '-1 day'), date(c.opened_on, 'start of "
     "month', '+' || o.n || ' months', '+' || (CAST(strftime('%d', c.opened_on) AS "
     "INTEGER) - 1) || ' days')) END AS due, CASE WHEN EXISTS (SELECT 1 FROM assessments "
     'a INDEXED BY assessments_case WHERE a.case_id = c.id AND a.instrument_id = '
     "o.instrument_id AND a.occasion = o.occasion AND +a.status = 'final') THEN 1 ELSE 0 "
     'END AS done FROM cases c JOIN json_each(c.instruments) AS ji ON 1 = 1 JOIN '
     "schedule_offsets o ON o.instrument_id = ji.value WHERE c.status = 'open' AND "
     'c.opened_on IS NOT NULL AND c.id = NEW.id) e WHERE due IS NOT NULL; END'),
    ('CREATE TRIGGER schedule_case_update AFTER UPDATE OF instruments, opened_on, status, '
     'team_id ON cases BEGIN DELETE FROM schedule_entries WHERE case_id = OLD.id; INSERT '
     'INTO schedule_entries (case_id, instrument_id, occasion, team_id, due, done) SELECT '
     'case_id, instrument_id, occasion, team_id, due, done FROM (SELECT DISTINCT c.id AS '
     "case_id, o.instrument_id, o.occasion, c.team_id, CASE o.unit WHEN 'weeks' THEN "
     "date(c.opened_on, '+' || (7 * o.n) || ' days') ELSE min(date(c.opened_on, 'start of "
     "month', '+' || (o.n + 1) || ' months', '-1 day'), date(c.opened_on, 'start of "
     "month', '+' || o.n || ' months', '+' || (CAST(strftime('%d', c.opened_on) AS "
     "INTEGER) - 1) || ' days')) END AS due, CASE WHEN EXISTS (SELECT 1 FROM assessments "
     'a INDEXED BY assessments_case WHERE a.case_id = c.id AND a.instrument_id = '
     "o.instrument_id AND a.occasion = o.occasion AND +a.status = 'final') THEN 1 ELSE 0 "
     'END AS done FROM cases c JOIN json_each(c.instruments) AS ji ON 1 = 1 JOIN '
     "schedule_offsets o ON o.instrument_id = ji.value WHERE c.status = 'open' AND "
     'c.opened_on IS NOT NULL AND c.id = NEW.id) e WHERE due IS NOT NULL; END'),
    ('CREATE TRIGGER schedule_case_delete AFTER DELETE ON cases BEGIN DELETE FROM '
     'schedule_entries WHERE case_id = OLD.id; END'),
    ('CREATE TRIGGER schedule_assessment_insert AFTER INSERT ON assessments WHEN '
     "NEW.case_id IS NOT NULL AND NEW.status = 'final' BEGIN UPDATE schedule_entries SET "
     'done = CASE WHEN EXISTS (SELECT 1 FROM assessments a INDEXED BY assessments_case '
     'WHERE a.case_id = schedule_entries.case_id AND a.instrument_id = '
     'schedule_entries.instrument_id AND a.occasion = schedule_entries.occasion AND '
     "+a.status = 'final') THEN 1 ELSE 0 END WHERE case_id = NEW.case_id AND "
     'instrument_id = NEW.instrument_id AND occasion = NEW.occasion; END'),
    ('CREATE TRIGGER schedule_assessment_update AFTER UPDATE OF status, case_id, '
     'instrument_id, occasion ON assessments BEGIN UPDATE schedule_entries SET done = '
     'CASE WHEN EXISTS (SELECT 1 FROM assessments a INDEXED BY assessments_case WHERE '
     'a.case_id = schedule_entries.case_id AND a.instrument_id = '
     'schedule_entries.instrument_id AND a.occasion = schedule_entries.occasion AND '
     "+a.status = 'final') THEN 1 ELSE 0 END WHERE case_id = OLD.case_id AND "
     'instrument_id = OLD.instrument_id AND occasion = OLD.occasion; UPDATE '
     'schedule_entries SET done = CASE WHEN EXISTS (SELECT 1 FROM assessments a INDEXED '
     'BY assessments_case WHERE a.case_id = schedule_entries.case_id AND a.instrument_id '
     '= schedule_entries.instrument_id AND a.occasion = schedule_entries.occasion AND '
     "+a.status = 'final') THEN 1 ELSE 0 END WHERE case_id = NEW.case_id AND "
     'instrument_id = NEW.instrument_id AND occasion = NEW.occasion; END'),
    ('CREATE TRIGGER schedule_assessment_delete AFTER DELETE ON assessments BEGIN UPDATE '
     'schedule_entries SET done = CASE WHEN EXISTS (SELECT 1 FROM assessments a INDEXED '
     'BY assessments_case WHERE a.case_id = schedule_entries.case_id AND a.instrument_id '
     '= schedule_entries.instrument_id AND a.occasion = schedule_entries.occasion AND '
     "+a.status = 'final') THEN 1 ELSE 0 END WHERE case_id = OLD.case_id AND "
     'instrument_id = OLD.instrument_id AND occasion = OLD.occasion; END'),
]

TRIGGERS_POSTGRESQL = [
    ('CREATE FUNCTION schedule_case() RETURNS trigger LANGUAGE plpgsql AS $$\n'
     '    BEGIN\n'
     "      IF TG_OP <> 'INSERT' THEN\n"
     '        DELETE FROM schedule_entries WHERE case_id = OLD.id;\n'
     '      END IF;\n'
     "      IF TG_OP <> 'DELETE' THEN\n"
     '        INSERT INTO schedule_entries (case_id, instrument_id, occasion, team_id, '
     'due, done) SELECT case_id, instrument_id, occasion, team_id, due, done FROM (SELECT '
     'DISTINCT c.id AS case_id, o.instrument_id, o.occasion, c.team_id, CASE o.unit WHEN '
     "'weeks' THEN to_char((c.opened_on)::date + 7 * (o.n)::integer, 'YYYY-MM-DD') ELSE "
     'to_char((c.opened_on)::date + make_interval(months => (o.n)::integer), '
     "'YYYY-MM-DD') END AS due, CASE WHEN EXISTS (SELECT 1 FROM assessments a WHERE "
     'a.case_id = c.id AND a.instrument_id = o.instrument_id AND a.occasion = o.occasion '
     "AND (a.status || '') = 'final' OFFSET 0) THEN 1 ELSE 0 END AS done FROM cases c "
     'JOIN json_array_elements_text((c.instruments)::json) AS ji(value) ON 1 = 1 JOIN '
     "schedule_offsets o ON o.instrument_id = ji.value WHERE c.status = 'open' AND "
     'c.opened_on IS NOT NULL AND c.id = NEW.id) e WHERE due IS NOT NULL;\n'
     '      END IF;\n'
     '      RETURN NULL;\n'
     '    END $$'),
    ('CREATE TRIGGER schedule_case AFTER INSERT OR DELETE\n'
     '    OR UPDATE OF instruments, opened_on, status, team_id ON cases\n'
     '    FOR EACH ROW EXECUTE FUNCTION schedule_case()'),
    ('CREATE FUNCTION schedule_assessment() RETURNS trigger LANGUAGE plpgsql AS $$\n'
     '    BEGIN\n'
     "      IF TG_OP <> 'INSERT' THEN\n"
     '        UPDATE schedule_entries SET done = CASE WHEN EXISTS (SELECT 1 FROM '
     'assessments a WHERE a.case_id = schedule_entries.case_id AND a.instrument_id = '
     'schedule_entries.instrument_id AND a.occasion = schedule_entries.occasion AND '
     "(a.status || '') = 'final' OFFSET 0) THEN 1 ELSE 0 END WHERE case_id = OLD.case_id "
     'AND instrument_id = OLD.instrument_id AND occasion = OLD.occasion;\n'
     '      END IF;\n'
     "      IF TG_OP <> 'DELETE' THEN\n"
     '        UPDATE schedule_entries SET done = CASE WHEN EXISTS (SELECT 1 FROM '
     'assessments a WHERE a.case_id = schedule_entries.case_id AND a.instrument_id = '
     'schedule_entries.instrument_id AND a.occasion = schedule_entries.occasion AND '
     "(a.status || '') = 'final' OFFSET 0) THEN 1 ELSE 0 END WHERE case_id = NEW.case_id "
     'AND instrument_id = NEW.instrument_id AND occasion = NEW.occasion;\n'
     '      END IF;\n'
     '      RETURN NULL;\n'
     '    END $$'),
    ('CREATE TRIGGER schedule_assessment AFTER INSERT OR DELETE\n'
     '    OR UPDATE OF status, case_id, instrument_id, occasion ON assessments\n'
     '    FOR EACH ROW EXECUTE FUNCTION schedule_assessment()'),
]

# a case's risk order (PostgreSQL's function; SQLite's triggers already take the case index)
RISK_ORDER_POSTGRESQL = (
    'CREATE OR REPLACE FUNCTION case_risk_order(case_id integer) RETURNS integer LANGUAGE '
    "sql STABLE AS $$ SELECT COALESCE((SELECT CASE s.level_final WHEN 'high' THEN 0 WHEN "
    "'medium' THEN 1\n"
    "    WHEN 'standard' THEN 2 ELSE 3 END FROM scores s WHERE s.id = (\n"
    '      SELECT s2.id FROM scores s2 WHERE s2.assessment_id = (\n'
    '        SELECT a.id FROM assessments a WHERE a.case_id = case_risk_order.case_id AND '
    "(a.status || '') = 'final'\n"
    '        ORDER BY a.assessment_date DESC, a.id DESC LIMIT 1)\n'
    '      ORDER BY s2.seq DESC LIMIT 1)), 3) $$')

SUPERSEDES_INDEX = ("CREATE INDEX assessments_supersedes ON assessments (supersedes_id)"
                    " WHERE supersedes_id IS NOT NULL")

SQLITE_NAMES = ("schedule_case_insert", "schedule_case_update", "schedule_case_delete",
                "schedule_assessment_insert", "schedule_assessment_update",
                "schedule_assessment_delete")

POSTGRESQL_DROP = [
    "DROP TRIGGER IF EXISTS schedule_case ON cases",
    "DROP TRIGGER IF EXISTS schedule_assessment ON assessments",
    "DROP FUNCTION IF EXISTS schedule_case()",
    "DROP FUNCTION IF EXISTS schedule_assessment()",
]


def _replace(sqlite: list[str], postgresql: list[str], risk_order: str) -> None:
    if op.get_bind().dialect.name == "postgresql":
        statements = [*POSTGRESQL_DROP, *postgresql, risk_order]
    else:
        statements = [f"DROP TRIGGER IF EXISTS {name}" for name in SQLITE_NAMES] + sqlite
    for statement in statements:
        op.execute(statement)


def upgrade() -> None:
    _replace(TRIGGERS_SQLITE, TRIGGERS_POSTGRESQL, RISK_ORDER_POSTGRESQL)
    op.execute(SUPERSEDES_INDEX)


def downgrade() -> None:
    op.execute("DROP INDEX assessments_supersedes")
    before = importlib.import_module("formsengine.migrations.versions.core_0003_schedule")
    _replace(before.TRIGGERS_SQLITE, before.TRIGGERS_POSTGRESQL,
             RISK_ORDER_POSTGRESQL.replace("(a.status || '') = 'final'", "a.status = 'final'"))
