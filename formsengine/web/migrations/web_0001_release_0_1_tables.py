"""The web application's tables of release 0.1 (the sqlite-utils migration set
``formsengine_web``, m001 and m002), as the first revision of the branch ``web``.

On SQLite the release's own migration functions run (``formsengine.web.schema``, kept
unchanged); on PostgreSQL the statements below (frozen at this revision).

Revision ID: web_0001
Revises:
Create Date: 2026-12-06
"""

from __future__ import annotations

from alembic import op

revision = "web_0001"
down_revision = None
branch_labels = ("web",)
depends_on = "core_0001"  # memberships and assignments refer to teams and cases

legacy_set = "formsengine_web"

POSTGRESQL_DDL = [
    ('CREATE TABLE web_users (id SERIAL NOT NULL, uid TEXT NOT NULL, username TEXT NOT '
     'NULL, display_name TEXT NOT NULL, role TEXT NOT NULL, password_hash TEXT NOT NULL, '
     'must_change_password INTEGER DEFAULT 1 NOT NULL, disabled INTEGER DEFAULT 0 NOT '
     'NULL, totp_secret TEXT, totp_last_step INTEGER, created_at TEXT NOT NULL, '
     'password_changed_at TEXT, PRIMARY KEY (id), CONSTRAINT web_users_role CHECK (role IN'
     " ('practitioner', 'supervisor', 'administrator', 'researcher')), UNIQUE (uid), "
     'UNIQUE (username))'),
    'CREATE UNIQUE INDEX web_users_username_lower ON web_users (lower(username))',
    ('CREATE TABLE web_memberships (user_id INTEGER NOT NULL, team_id INTEGER NOT NULL, '
     'PRIMARY KEY (user_id, team_id), FOREIGN KEY(user_id) REFERENCES web_users (id) ON '
     'DELETE CASCADE, FOREIGN KEY(team_id) REFERENCES teams (id) ON DELETE CASCADE)'),
    ('CREATE TABLE web_sessions (id SERIAL NOT NULL, token_hash TEXT NOT NULL, user_id '
     'INTEGER NOT NULL, created_at DOUBLE PRECISION NOT NULL, last_seen DOUBLE PRECISION '
     'NOT NULL, totp_pending TEXT, PRIMARY KEY (id), UNIQUE (token_hash), FOREIGN '
     'KEY(user_id) REFERENCES web_users (id) ON DELETE CASCADE)'),
    'CREATE INDEX web_sessions_user ON web_sessions (user_id)',
    ('CREATE TABLE web_login_attempts (id SERIAL NOT NULL, username_hash TEXT NOT NULL, at'
     ' DOUBLE PRECISION NOT NULL, ok INTEGER NOT NULL, device TEXT, PRIMARY KEY (id))'),
    'CREATE INDEX web_login_attempts_user ON web_login_attempts (username_hash, at)',
    ('CREATE TABLE web_settings (key TEXT NOT NULL, value TEXT NOT NULL, PRIMARY KEY '
     '(key))'),
    ('CREATE TABLE web_case_assignments (case_id INTEGER NOT NULL, user_id INTEGER NOT '
     'NULL, PRIMARY KEY (case_id), FOREIGN KEY(case_id) REFERENCES cases (id) ON DELETE '
     'CASCADE, FOREIGN KEY(user_id) REFERENCES web_users (id))'),
    'CREATE INDEX web_case_assignments_user ON web_case_assignments (user_id)',
    ('CREATE TABLE web_known_devices (account_key TEXT NOT NULL, device_hash TEXT NOT '
     'NULL, last_used DOUBLE PRECISION NOT NULL, PRIMARY KEY (account_key, device_hash))'),
    ('CREATE TABLE web_idempotency (token_hash TEXT NOT NULL, user_id INTEGER NOT NULL, '
     'created_at DOUBLE PRECISION NOT NULL, location TEXT, PRIMARY KEY (token_hash), FOREIGN '
     'KEY(user_id) REFERENCES web_users (id) ON DELETE CASCADE)'),
]

def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        from sqlite_utils import Database

        from formsengine.web.schema import web_migrations

        db = Database(bind.connection.driver_connection)
        for migration in web_migrations._migrations:
            migration.fn(db)
        return
    for statement in POSTGRESQL_DDL:
        op.execute(statement)


def downgrade() -> None:
    raise NotImplementedError("the first revision is not undone: restore a backup instead")
