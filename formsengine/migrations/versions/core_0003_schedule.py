"""The stored schedule: ``schedule_entries`` (one row for each scheduled occasion of each
instrument an open case follows: its team, due date and whether it is done, indexed for the
due pages) and ``schedule_offsets`` (the occasion offsets the entries were written with),
kept by triggers on both databases (``formsengine.store.schedule``, whose SQL this revision
holds as it stood here). The entries are written when the store is next opened: the
offsets come from the organisation's configuration.

Revision ID: core_0003
Revises: core_0002
Create Date: 2026-12-06
"""

from __future__ import annotations

from alembic import op

revision = "core_0003"
down_revision = "core_0002"
branch_labels = None
depends_on = None

TABLES_SQLITE = [
    ('CREATE TABLE schedule_entries (case_id INTEGER NOT NULL, instrument_id TEXT NOT NULL, '
     'occasion TEXT NOT NULL, team_id INTEGER, due TEXT NOT NULL, done INTEGER DEFAULT 0 NOT '
     'NULL, PRIMARY KEY (case_id, instrument_id, occasion)) WITHOUT ROWID'),
    ('CREATE INDEX schedule_due ON schedule_entries (team_id, done, due, case_id, '
     'instrument_id, occasion)'),
    ('CREATE TABLE schedule_offsets (instrument_id TEXT NOT NULL, occasion TEXT NOT NULL, '
     'unit TEXT NOT NULL, n INTEGER NOT NULL, PRIMARY KEY (instrument_id, occasion), '
     "CONSTRAINT schedule_offsets_unit CHECK (unit IN ('months', 'weeks')))"),
]

TABLES_POSTGRESQL = [
    ('CREATE TABLE schedule_entries (case_id INTEGER NOT NULL, instrument_id TEXT NOT NULL, '
     'occasion TEXT NOT NULL, team_id INTEGER, due TEXT NOT NULL, done INTEGER DEFAULT 0 NOT '
     'NULL, PRIMARY KEY (case_id, instrument_id, occasion))'),
    ('CREATE INDEX schedule_due ON schedule_entries (team_id, done, due, case_id, '
     'instrument_id, occasion)'),
    ('CREATE TABLE schedule_offsets (instrument_id TEXT NOT NULL, occasion TEXT NOT NULL, '
     'unit TEXT NOT NULL, n INTEGER NOT NULL, PRIMARY KEY (instrument_id, occasion), '
     "CONSTRAINT schedule_offsets_unit CHECK (unit IN ('months', 'weeks')))"),
]

TRIGGERS_SQLITE = [
    ('CREATE TRIGGER schedule_case_insert AFTER INSERT ON cases BEGIN INSERT INTO '
     'schedule_entries (case_id, instrument_id, occasion, team_id, due, done) SELECT '
     'case_id, instrument_id, occasion, team_id, due, done FROM (SELECT DISTINCT c.id AS '
     "case_id, o.instrument_id, o.occasion, c.team_id, CASE o.unit WHEN 'weeks' THEN "
     "date(c.opened_on, '+' || (7 * o.n) || ' days') ELSE min(date(c.opened_on, 'start of "
     "month', '+' || (o.n + 1) || ' months', '-1 day'), date(c.opened_on, 'start of month', "
     "'+' || o.n || ' months', '+' || (CAST(strftime('%d', c.opened_on) AS INTEGER) - 1) || "
     "' days')) END AS due, CASE WHEN EXISTS (SELECT 1 FROM assessments a WHERE a.case_id = "
     'c.id AND a.instrument_id = o.instrument_id AND a.occasion = o.occasion AND a.status = '
     "'final') THEN 1 ELSE 0 END AS done FROM cases c JOIN json_each(c.instruments) AS ji ON "
     "1 = 1 JOIN schedule_offsets o ON o.instrument_id = ji.value WHERE c.status = 'open' "
     'AND c.opened_on IS NOT NULL AND c.id = NEW.id) e WHERE due IS NOT NULL; END'),
    ('CREATE TRIGGER schedule_case_update AFTER UPDATE OF instruments, opened_on, status, '
     'team_id ON cases BEGIN DELETE FROM schedule_entries WHERE case_id = OLD.id; INSERT '
     'INTO schedule_entries (case_id, instrument_id, occasion, team_id, due, done) SELECT '
     'case_id, instrument_id, occasion, team_id, due, done FROM (SELECT DISTINCT c.id AS '
     "case_id, o.instrument_id, o.occasion, c.team_id, CASE o.unit WHEN 'weeks' THEN "
     "date(c.opened_on, '+' || (7 * o.n) || ' days') ELSE min(date(c.opened_on, 'start of "
     "month', '+' || (o.n + 1) || ' months', '-1 day'), date(c.opened_on, 'start of month', "
     "'+' || o.n || ' months', '+' || (CAST(strftime('%d', c.opened_on) AS INTEGER) - 1) || "
     "' days')) END AS due, CASE WHEN EXISTS (SELECT 1 FROM assessments a WHERE a.case_id = "
     'c.id AND a.instrument_id = o.instrument_id AND a.occasion = o.occasion AND a.status = '
     "'final') THEN 1 ELSE 0 END AS done FROM cases c JOIN json_each(c.instruments) AS ji ON "
     "1 = 1 JOIN schedule_offsets o ON o.instrument_id = ji.value WHERE c.status = 'open' "
     'AND c.opened_on IS NOT NULL AND c.id = NEW.id) e WHERE due IS NOT NULL; END'),
    ('CREATE TRIGGER schedule_case_delete AFTER DELETE ON cases BEGIN DELETE FROM '
     'schedule_entries WHERE case_id = OLD.id; END'),
    ('CREATE TRIGGER schedule_assessment_insert AFTER INSERT ON assessments WHEN NEW.case_id '
     "IS NOT NULL AND NEW.status = 'final' BEGIN UPDATE schedule_entries SET done = CASE "
     'WHEN EXISTS (SELECT 1 FROM assessments a WHERE a.case_id = schedule_entries.case_id '
     'AND a.instrument_id = schedule_entries.instrument_id AND a.occasion = '
     "schedule_entries.occasion AND a.status = 'final') THEN 1 ELSE 0 END WHERE case_id = "
     'NEW.case_id AND instrument_id = NEW.instrument_id AND occasion = NEW.occasion; END'),
    ('CREATE TRIGGER schedule_assessment_update AFTER UPDATE OF status, case_id, '
     'instrument_id, occasion ON assessments BEGIN UPDATE schedule_entries SET done = CASE '
     'WHEN EXISTS (SELECT 1 FROM assessments a WHERE a.case_id = schedule_entries.case_id '
     'AND a.instrument_id = schedule_entries.instrument_id AND a.occasion = '
     "schedule_entries.occasion AND a.status = 'final') THEN 1 ELSE 0 END WHERE case_id = "
     'OLD.case_id AND instrument_id = OLD.instrument_id AND occasion = OLD.occasion; UPDATE '
     'schedule_entries SET done = CASE WHEN EXISTS (SELECT 1 FROM assessments a WHERE '
     'a.case_id = schedule_entries.case_id AND a.instrument_id = '
     'schedule_entries.instrument_id AND a.occasion = schedule_entries.occasion AND a.status '
     "= 'final') THEN 1 ELSE 0 END WHERE case_id = NEW.case_id AND instrument_id = "
     'NEW.instrument_id AND occasion = NEW.occasion; END'),
    ('CREATE TRIGGER schedule_assessment_delete AFTER DELETE ON assessments BEGIN UPDATE '
     'schedule_entries SET done = CASE WHEN EXISTS (SELECT 1 FROM assessments a WHERE '
     'a.case_id = schedule_entries.case_id AND a.instrument_id = '
     'schedule_entries.instrument_id AND a.occasion = schedule_entries.occasion AND a.status '
     "= 'final') THEN 1 ELSE 0 END WHERE case_id = OLD.case_id AND instrument_id = "
     'OLD.instrument_id AND occasion = OLD.occasion; END'),
]

TRIGGERS_POSTGRESQL = [
    ('CREATE FUNCTION schedule_case() RETURNS trigger LANGUAGE plpgsql AS $$\n'
     '    BEGIN\n'
     "      IF TG_OP <> 'INSERT' THEN\n"
     '        DELETE FROM schedule_entries WHERE case_id = OLD.id;\n'
     '      END IF;\n'
     "      IF TG_OP <> 'DELETE' THEN\n"
     '        INSERT INTO schedule_entries (case_id, instrument_id, occasion, team_id, due, '
     'done) SELECT case_id, instrument_id, occasion, team_id, due, done FROM (SELECT '
     'DISTINCT c.id AS case_id, o.instrument_id, o.occasion, c.team_id, CASE o.unit WHEN '
     "'weeks' THEN to_char((c.opened_on)::date + 7 * (o.n)::integer, 'YYYY-MM-DD') ELSE "
     "to_char((c.opened_on)::date + make_interval(months => (o.n)::integer), 'YYYY-MM-DD') "
     'END AS due, CASE WHEN EXISTS (SELECT 1 FROM assessments a WHERE a.case_id = c.id AND '
     "a.instrument_id = o.instrument_id AND a.occasion = o.occasion AND a.status = 'final') "
     'THEN 1 ELSE 0 END AS done FROM cases c JOIN '
     'json_array_elements_text((c.instruments)::json) AS ji(value) ON 1 = 1 JOIN '
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
     '        UPDATE schedule_entries SET done = CASE WHEN EXISTS (SELECT 1 FROM assessments '
     'a WHERE a.case_id = schedule_entries.case_id AND a.instrument_id = '
     'schedule_entries.instrument_id AND a.occasion = schedule_entries.occasion AND a.status '
     "= 'final') THEN 1 ELSE 0 END WHERE case_id = OLD.case_id AND instrument_id = "
     'OLD.instrument_id AND occasion = OLD.occasion;\n'
     '      END IF;\n'
     "      IF TG_OP <> 'DELETE' THEN\n"
     '        UPDATE schedule_entries SET done = CASE WHEN EXISTS (SELECT 1 FROM assessments '
     'a WHERE a.case_id = schedule_entries.case_id AND a.instrument_id = '
     'schedule_entries.instrument_id AND a.occasion = schedule_entries.occasion AND a.status '
     "= 'final') THEN 1 ELSE 0 END WHERE case_id = NEW.case_id AND instrument_id = "
     'NEW.instrument_id AND occasion = NEW.occasion;\n'
     '      END IF;\n'
     '      RETURN NULL;\n'
     '    END $$'),
    ('CREATE TRIGGER schedule_assessment AFTER INSERT OR DELETE\n'
     '    OR UPDATE OF status, case_id, instrument_id, occasion ON assessments\n'
     '    FOR EACH ROW EXECUTE FUNCTION schedule_assessment()'),
]


def upgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    for statement in (TABLES_POSTGRESQL + TRIGGERS_POSTGRESQL if postgres
                      else TABLES_SQLITE + TRIGGERS_SQLITE):
        op.execute(statement)


def downgrade() -> None:
    for name in ("schedule_case_insert", "schedule_case_update", "schedule_case_delete",
                 "schedule_assessment_insert", "schedule_assessment_update",
                 "schedule_assessment_delete"):
        op.execute(f"DROP TRIGGER IF EXISTS {name}")
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS schedule_case ON cases")
        op.execute("DROP TRIGGER IF EXISTS schedule_assessment ON assessments")
        op.execute("DROP FUNCTION IF EXISTS schedule_case()")
        op.execute("DROP FUNCTION IF EXISTS schedule_assessment()")
    op.execute("DROP TABLE schedule_entries")
    op.execute("DROP TABLE schedule_offsets")
