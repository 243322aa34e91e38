"""The stored counts of the researcher's page: ``final_people`` (per person, instrument and
occasion, how many final assessments) and ``final_counts`` (per instrument and occasion, how
many people have one), kept by triggers on both databases (``formsengine.store.counts``,
whose SQL this revision holds as it stood here) and filled here from the assessments
already stored. Until now the page counted every final assessment at each request.

Revision ID: core_0008
Revises: core_0005
Create Date: 2026-12-06
"""

from __future__ import annotations

from alembic import op

revision = "core_0008"
down_revision = "core_0005"
branch_labels = None
depends_on = None

TABLES_SQLITE = [
    ('CREATE TABLE final_people (instrument_id TEXT NOT NULL, occasion TEXT NOT NULL,'
     ' person_id INTEGER NOT NULL, assessments INTEGER NOT NULL, PRIMARY KEY'
     ' (instrument_id, occasion, person_id)) WITHOUT ROWID'),
    ('CREATE TABLE final_counts (instrument_id TEXT NOT NULL, occasion TEXT NOT NULL,'
     ' people INTEGER NOT NULL, PRIMARY KEY (instrument_id, occasion)) WITHOUT ROWID'),
]

TABLES_POSTGRESQL = [
    ('CREATE TABLE final_people (instrument_id TEXT NOT NULL, occasion TEXT NOT NULL,'
     ' person_id INTEGER NOT NULL, assessments INTEGER NOT NULL, PRIMARY KEY'
     ' (instrument_id, occasion, person_id))'),
    ('CREATE TABLE final_counts (instrument_id TEXT NOT NULL, occasion TEXT NOT NULL,'
     ' people INTEGER NOT NULL, PRIMARY KEY (instrument_id, occasion))'),
]

TRIGGERS_SQLITE = [
    ('CREATE TRIGGER final_counts_insert AFTER INSERT ON assessments WHEN NEW.status ='
     " 'final' BEGIN INSERT INTO final_people (instrument_id, occasion, person_id,"
     ' assessments) VALUES (NEW.instrument_id, NEW.occasion, NEW.person_id, 1) ON'
     ' CONFLICT (instrument_id, occasion, person_id) DO UPDATE SET assessments ='
     ' final_people.assessments + 1; INSERT INTO final_counts (instrument_id, occasion,'
     ' people) SELECT NEW.instrument_id, NEW.occasion, 1 WHERE (SELECT assessments FROM'
     ' final_people WHERE final_people.instrument_id = NEW.instrument_id AND'
     ' final_people.occasion = NEW.occasion AND final_people.person_id = NEW.person_id)'
     ' = 1 ON CONFLICT (instrument_id, occasion) DO UPDATE SET people ='
     ' final_counts.people + 1; END'),
    ('CREATE TRIGGER final_counts_update_old AFTER UPDATE OF status, person_id,'
     " instrument_id, occasion ON assessments WHEN OLD.status = 'final' BEGIN UPDATE"
     ' final_people SET assessments = assessments - 1 WHERE final_people.instrument_id ='
     ' OLD.instrument_id AND final_people.occasion = OLD.occasion AND'
     ' final_people.person_id = OLD.person_id; UPDATE final_counts SET people = people -'
     ' 1 WHERE final_counts.instrument_id = OLD.instrument_id AND final_counts.occasion'
     ' = OLD.occasion AND EXISTS (SELECT 1 FROM final_people WHERE'
     ' final_people.instrument_id = OLD.instrument_id AND final_people.occasion ='
     ' OLD.occasion AND final_people.person_id = OLD.person_id AND assessments = 0);'
     ' DELETE FROM final_people WHERE final_people.instrument_id = OLD.instrument_id AND'
     ' final_people.occasion = OLD.occasion AND final_people.person_id = OLD.person_id'
     ' AND assessments = 0; DELETE FROM final_counts WHERE final_counts.instrument_id ='
     ' OLD.instrument_id AND final_counts.occasion = OLD.occasion AND people = 0; END'),
    ('CREATE TRIGGER final_counts_update_new AFTER UPDATE OF status, person_id,'
     " instrument_id, occasion ON assessments WHEN NEW.status = 'final' BEGIN INSERT"
     ' INTO final_people (instrument_id, occasion, person_id, assessments) VALUES'
     ' (NEW.instrument_id, NEW.occasion, NEW.person_id, 1) ON CONFLICT (instrument_id,'
     ' occasion, person_id) DO UPDATE SET assessments = final_people.assessments + 1;'
     ' INSERT INTO final_counts (instrument_id, occasion, people) SELECT'
     ' NEW.instrument_id, NEW.occasion, 1 WHERE (SELECT assessments FROM final_people'
     ' WHERE final_people.instrument_id = NEW.instrument_id AND final_people.occasion ='
     ' NEW.occasion AND final_people.person_id = NEW.person_id) = 1 ON CONFLICT'
     ' (instrument_id, occasion) DO UPDATE SET people = final_counts.people + 1; END'),
    ('CREATE TRIGGER final_counts_delete AFTER DELETE ON assessments WHEN OLD.status ='
     " 'final' BEGIN UPDATE final_people SET assessments = assessments - 1 WHERE"
     ' final_people.instrument_id = OLD.instrument_id AND final_people.occasion ='
     ' OLD.occasion AND final_people.person_id = OLD.person_id; UPDATE final_counts SET'
     ' people = people - 1 WHERE final_counts.instrument_id = OLD.instrument_id AND'
     ' final_counts.occasion = OLD.occasion AND EXISTS (SELECT 1 FROM final_people WHERE'
     ' final_people.instrument_id = OLD.instrument_id AND final_people.occasion ='
     ' OLD.occasion AND final_people.person_id = OLD.person_id AND assessments = 0);'
     ' DELETE FROM final_people WHERE final_people.instrument_id = OLD.instrument_id AND'
     ' final_people.occasion = OLD.occasion AND final_people.person_id = OLD.person_id'
     ' AND assessments = 0; DELETE FROM final_counts WHERE final_counts.instrument_id ='
     ' OLD.instrument_id AND final_counts.occasion = OLD.occasion AND people = 0; END'),
]

TRIGGERS_POSTGRESQL = [
    ('CREATE FUNCTION final_counts_assessment() RETURNS trigger LANGUAGE plpgsql AS $$\n '
     "   BEGIN\n      IF TG_OP <> 'INSERT' THEN\n        IF OLD.status = 'final' THEN\n    "
     '      UPDATE final_people SET assessments = assessments - 1 WHERE'
     ' final_people.instrument_id = OLD.instrument_id AND final_people.occasion ='
     ' OLD.occasion AND final_people.person_id = OLD.person_id;\n          UPDATE'
     ' final_counts SET people = people - 1 WHERE final_counts.instrument_id ='
     ' OLD.instrument_id AND final_counts.occasion = OLD.occasion AND EXISTS (SELECT 1'
     ' FROM final_people WHERE final_people.instrument_id = OLD.instrument_id AND'
     ' final_people.occasion = OLD.occasion AND final_people.person_id = OLD.person_id'
     ' AND assessments = 0);\n          DELETE FROM final_people WHERE'
     ' final_people.instrument_id = OLD.instrument_id AND final_people.occasion ='
     ' OLD.occasion AND final_people.person_id = OLD.person_id AND assessments = 0;\n    '
     '      DELETE FROM final_counts WHERE final_counts.instrument_id ='
     ' OLD.instrument_id AND final_counts.occasion = OLD.occasion AND people = 0;\n      '
     "  END IF;\n      END IF;\n      IF TG_OP <> 'DELETE' THEN\n        IF NEW.status ="
     " 'final' THEN\n          INSERT INTO final_people (instrument_id, occasion,"
     ' person_id, assessments) VALUES (NEW.instrument_id, NEW.occasion, NEW.person_id,'
     ' 1) ON CONFLICT (instrument_id, occasion, person_id) DO UPDATE SET assessments ='
     ' final_people.assessments + 1;\n          INSERT INTO final_counts (instrument_id,'
     ' occasion, people) SELECT NEW.instrument_id, NEW.occasion, 1 WHERE (SELECT'
     ' assessments FROM final_people WHERE final_people.instrument_id ='
     ' NEW.instrument_id AND final_people.occasion = NEW.occasion AND'
     ' final_people.person_id = NEW.person_id) = 1 ON CONFLICT (instrument_id, occasion)'
     ' DO UPDATE SET people = final_counts.people + 1;\n        END IF;\n      END IF;\n   '
     '   RETURN NULL;\n    END $$'),
    ('CREATE TRIGGER final_counts_assessment AFTER INSERT OR DELETE\n    OR UPDATE OF'
     ' status, person_id, instrument_id, occasion ON assessments\n    FOR EACH ROW'
     ' EXECUTE FUNCTION final_counts_assessment()'),
]

# every final assessment already stored, counted
FILL = [
    ('DELETE FROM final_people WHERE 1 = 1'),
    ('INSERT INTO final_people (instrument_id, occasion, person_id, assessments) SELECT'
     ' instrument_id, occasion, person_id, COUNT(*) FROM assessments WHERE status ='
     " 'final' AND 1 = 1 GROUP BY instrument_id, occasion, person_id"),
    ('DELETE FROM final_counts WHERE 1 = 1'),
    ('INSERT INTO final_counts (instrument_id, occasion, people) SELECT instrument_id,'
     ' occasion, COUNT(*) FROM final_people WHERE 1 = 1 GROUP BY instrument_id, occasion'),
]


def upgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    for statement in ((TABLES_POSTGRESQL + TRIGGERS_POSTGRESQL) if postgres
                      else (TABLES_SQLITE + TRIGGERS_SQLITE)) + FILL:
        op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS final_counts_assessment ON assessments")
        op.execute("DROP FUNCTION IF EXISTS final_counts_assessment()")
    else:
        for name in ("final_counts_insert", "final_counts_update_old",
                     "final_counts_update_new", "final_counts_delete"):
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
    op.execute("DROP TABLE final_counts")
    op.execute("DROP TABLE final_people")
