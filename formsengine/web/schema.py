"""The web application's tables as release 0.1 built them: the sqlite-utils migration set
``formsengine_web``, kept unchanged as the reference of the branch ``web``'s first Alembic
revision (``formsengine/web/migrations/web_0001_*``). Schema changes are new revisions there.

Users, team memberships, server-side sessions, sign-in attempts, organisation settings and
which practitioner a case is assigned to. Table and column names are code constants.
"""

from __future__ import annotations

from sqlite_utils import Database
from sqlite_utils.migrations import Migrations

from ..store_schema import run_script

web_migrations = Migrations("formsengine_web")

ROLES = ("practitioner", "supervisor", "administrator", "researcher")


@web_migrations()
def m001_accounts_and_sessions(db: Database) -> None:
    run_script(db, """
        CREATE TABLE web_users (
            id INTEGER PRIMARY KEY,
            uid TEXT NOT NULL UNIQUE,
            username TEXT NOT NULL UNIQUE COLLATE NOCASE,
            display_name TEXT NOT NULL,
            role TEXT NOT NULL CHECK (role IN
                ('practitioner', 'supervisor', 'administrator', 'researcher')),
            password_hash TEXT NOT NULL,
            must_change_password INTEGER NOT NULL DEFAULT 1,
            disabled INTEGER NOT NULL DEFAULT 0,
            totp_secret TEXT,
            totp_last_step INTEGER,
            created_at TEXT NOT NULL,
            password_changed_at TEXT
        );
        CREATE TABLE web_memberships (
            user_id INTEGER NOT NULL REFERENCES web_users(id) ON DELETE CASCADE,
            team_id INTEGER NOT NULL REFERENCES teams(id) ON DELETE CASCADE,
            PRIMARY KEY (user_id, team_id)
        );
        CREATE TABLE web_sessions (
            id INTEGER PRIMARY KEY,
            token_hash TEXT NOT NULL UNIQUE,
            user_id INTEGER NOT NULL REFERENCES web_users(id) ON DELETE CASCADE,
            created_at REAL NOT NULL,
            last_seen REAL NOT NULL
        );
        CREATE INDEX web_sessions_user ON web_sessions(user_id);
        CREATE TABLE web_login_attempts (
            id INTEGER PRIMARY KEY,
            username_hash TEXT NOT NULL,
            at REAL NOT NULL,
            ok INTEGER NOT NULL
        );
        CREATE INDEX web_login_attempts_user ON web_login_attempts(username_hash, at);
        CREATE TABLE web_settings (
            key TEXT PRIMARY KEY,
            value TEXT NOT NULL
        );
        CREATE TABLE web_case_assignments (
            case_id INTEGER PRIMARY KEY REFERENCES cases(id) ON DELETE CASCADE,
            user_id INTEGER NOT NULL REFERENCES web_users(id)
        );
        CREATE INDEX web_case_assignments_user ON web_case_assignments(user_id);
    """)


@web_migrations()
def m002_sign_in_limits_and_pending_secrets(db: Database) -> None:
    """Sign-in attempts keyed by an HMAC under the server key (the unsalted SHA-256 of
    whatever was typed is deleted), with the browser's device pool; browsers an account has
    signed in from; the two-factor key being set up, kept with the session; tokens that
    make a create form's double submit create one record."""
    run_script(db, """
        DELETE FROM web_login_attempts;
        ALTER TABLE web_login_attempts ADD COLUMN device TEXT;
        CREATE TABLE web_known_devices (
            account_key TEXT NOT NULL,
            device_hash TEXT NOT NULL,
            last_used REAL NOT NULL,
            PRIMARY KEY (account_key, device_hash)
        );
        ALTER TABLE web_sessions ADD COLUMN totp_pending TEXT;
        CREATE TABLE web_idempotency (
            token_hash TEXT PRIMARY KEY,
            user_id INTEGER NOT NULL REFERENCES web_users(id) ON DELETE CASCADE,
            created_at REAL NOT NULL,
            location TEXT
        );
    """)
