"""The schema of release 0.1 (the sqlite-utils migrations m001 to m009), as the core's first
revision.

On SQLite the release's own migration functions run (``formsengine.store_schema``, kept
unchanged), so that a new database is built exactly as one made by that release; a database
made by it is stamped here instead (``legacy_set``). On PostgreSQL the same tables are
created from the statements below (``formsengine.store.tables`` as it stood at this
revision, frozen: later revisions change the schema, not this list) with the triggers of
``formsengine.store.triggers`` and the marked row that starts the keyed audit chain.

Revision ID: core_0001
Revises:
Create Date: 2026-12-06
"""

from __future__ import annotations

from alembic import op

revision = "core_0001"
down_revision = None
branch_labels = ("core",)
depends_on = None

# a database made by release 0.1 whose sqlite-utils set "formsengine" is applied is at this
# revision (formsengine.migrations stamps it after applying what is left of the set)
legacy_set = "formsengine"

POSTGRESQL_DDL = [
    ('CREATE TABLE teams (id SERIAL NOT NULL, name TEXT NOT NULL, created_at TEXT NOT '
     'NULL, PRIMARY KEY (id), UNIQUE (name))'),
    ('CREATE TABLE people (id SERIAL NOT NULL, ref TEXT NOT NULL, role TEXT NOT NULL, '
     'display_name TEXT, birth_year INTEGER, created_at TEXT NOT NULL, PRIMARY KEY (id), '
     "CONSTRAINT people_role CHECK (role IN ('victim_survivor', 'service_user')), UNIQUE "
     '(ref))'),
    ('CREATE TABLE cases (id SERIAL NOT NULL, uid TEXT NOT NULL, ref TEXT NOT NULL, '
     "team_id INTEGER, schedule TEXT DEFAULT '[]' NOT NULL, opened_on TEXT, status TEXT "
     "DEFAULT 'open' NOT NULL, created_at TEXT NOT NULL, closed_on TEXT, closed_reason "
     "TEXT, instruments TEXT DEFAULT '[]' NOT NULL, risk_order INTEGER DEFAULT 3 NOT NULL,"
     " PRIMARY KEY (id), CONSTRAINT cases_status CHECK (status IN ('open', 'closed')), "
     'UNIQUE (uid), UNIQUE (ref), FOREIGN KEY(team_id) REFERENCES teams (id))'),
    'CREATE INDEX cases_risk ON cases (team_id, status, risk_order, ref)',
    'CREATE INDEX cases_team ON cases (team_id, status)',
    ('CREATE TABLE case_people (case_id INTEGER NOT NULL, person_id INTEGER NOT NULL, role'
     ' TEXT NOT NULL, PRIMARY KEY (case_id, person_id), FOREIGN KEY(case_id) REFERENCES '
     'cases (id) ON DELETE CASCADE, FOREIGN KEY(person_id) REFERENCES people (id) ON '
     'DELETE CASCADE)'),
    ('CREATE TABLE definition_snapshots (id SERIAL NOT NULL, instrument_id TEXT NOT NULL, '
     'instrument_version TEXT NOT NULL, content_hash TEXT NOT NULL, definition TEXT NOT '
     'NULL, plugin TEXT NOT NULL, plugin_version TEXT NOT NULL, first_seen TEXT NOT NULL, '
     'PRIMARY KEY (id), UNIQUE (instrument_id, instrument_version))'),
    ('CREATE TABLE assessments (id SERIAL NOT NULL, uid TEXT NOT NULL, person_id INTEGER '
     'NOT NULL, case_id INTEGER, instrument_id TEXT NOT NULL, instrument_version TEXT NOT '
     'NULL, occasion TEXT NOT NULL, assessment_date TEXT, assessor TEXT, status TEXT NOT '
     "NULL, wording TEXT DEFAULT 'paraphrase' NOT NULL, fields TEXT DEFAULT '{}' NOT NULL,"
     ' judgement TEXT, revision INTEGER DEFAULT 1 NOT NULL, version_no INTEGER DEFAULT 1 '
     'NOT NULL, supersedes_id INTEGER, amendment_reason TEXT, created_at TEXT NOT NULL, '
     'updated_at TEXT NOT NULL, finalised_at TEXT, draft_result TEXT, draft_answers TEXT, '
     'snapshot_id INTEGER, PRIMARY KEY (id), CONSTRAINT assessments_status CHECK (status '
     "IN ('draft', 'final', 'superseded')), UNIQUE (uid), FOREIGN KEY(person_id) "
     'REFERENCES people (id) ON DELETE CASCADE, FOREIGN KEY(case_id) REFERENCES cases (id)'
     ' ON DELETE CASCADE, FOREIGN KEY(supersedes_id) REFERENCES assessments (id), FOREIGN '
     'KEY(snapshot_id) REFERENCES definition_snapshots (id))'),
    'CREATE INDEX assessments_case ON assessments (case_id)',
    ('CREATE INDEX assessments_counts ON assessments (status, instrument_id, occasion, '
     'person_id)'),
    'CREATE INDEX assessments_person ON assessments (person_id, instrument_id)',
    'CREATE INDEX assessments_snapshot ON assessments (snapshot_id)',
    ('CREATE TABLE answers (assessment_id INTEGER NOT NULL, item_id TEXT NOT NULL, value '
     'TEXT NOT NULL, comment TEXT, source TEXT, PRIMARY KEY (assessment_id, item_id), '
     'FOREIGN KEY(assessment_id) REFERENCES assessments (id) ON DELETE CASCADE)'),
    ('CREATE TABLE scores (id SERIAL NOT NULL, assessment_id INTEGER NOT NULL, seq INTEGER'
     ' NOT NULL, instrument_id TEXT NOT NULL, instrument_version TEXT NOT NULL, '
     'scorer_plugin TEXT NOT NULL, scorer_version TEXT NOT NULL, config_name TEXT NOT '
     'NULL, config_hash TEXT NOT NULL, complete INTEGER NOT NULL, level_final TEXT, result'
     ' TEXT NOT NULL, created_at TEXT NOT NULL, PRIMARY KEY (id), UNIQUE (assessment_id, '
     'seq), FOREIGN KEY(assessment_id) REFERENCES assessments (id) ON DELETE CASCADE)'),
    ('CREATE TABLE score_values (score_id INTEGER NOT NULL, kind TEXT NOT NULL, name TEXT '
     'NOT NULL, value_num DOUBLE PRECISION, value_text TEXT, PRIMARY KEY (score_id, kind, name), '
     "CONSTRAINT score_values_kind CHECK (kind IN ('score', 'band', 'level', 'flag', "
     "'criterion', 'group')), FOREIGN KEY(score_id) REFERENCES scores (id) ON DELETE "
     'CASCADE)'),
    ('CREATE TABLE audit (id SERIAL NOT NULL, at TEXT NOT NULL, actor TEXT NOT NULL, '
     'action TEXT NOT NULL, object_type TEXT, object_id TEXT, request_id TEXT, details '
     "TEXT DEFAULT '{}' NOT NULL, prev_hash TEXT NOT NULL, hash TEXT NOT NULL, PRIMARY KEY"
     ' (id))'),
    'CREATE INDEX audit_action ON audit (action)',
    'CREATE INDEX audit_actor ON audit (actor)',
    'CREATE INDEX audit_object ON audit (object_type, object_id)',
]

def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        from sqlite_utils import Database

        from formsengine.store_schema import core_migrations

        db = Database(bind.connection.driver_connection)
        for migration in core_migrations._migrations:
            migration.fn(db)
        return
    from formsengine.audit import start_keyed_chain
    from formsengine.store.postgres import PgConnection
    from formsengine.store.triggers import create_postgres_triggers

    for statement in POSTGRESQL_DDL:
        op.execute(statement)
    create_postgres_triggers(bind)
    # the marked row that starts the keyed audit chain, as release 0.1's m005 wrote it
    start_keyed_chain(PgConnection.borrowing(bind.connection.driver_connection))


def downgrade() -> None:
    raise NotImplementedError("the first revision is not undone: restore a backup instead")
