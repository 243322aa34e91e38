"""The whole schema (core tables and the web plugin's tables) described with SQLAlchemy Core
2 ``Table`` objects, for tools that need it as data: creating the schema on another database
(PostgreSQL), comparing a database with what the code expects, and generating migrations.

The Alembic revisions (``formsengine.migrations``) build and upgrade the database; their
first revisions are release 0.1's sqlite-utils migration sets (``formsengine.store_schema``
and ``formsengine.web.schema``), and ``tests/test_store_tables.py`` checks that these
descriptions create, on SQLite, exactly the tables, columns, defaults, keys and indexes those
build. Columns are listed in the order the migrations leave them (a column added by
``ALTER TABLE`` comes last). Triggers (the audit trail's append-only and chain checks, the
cases' risk order) are SQL, kept with the migrations.

When a revision changes the schema, change the matching table here in the same commit.
"""

from __future__ import annotations

from sqlalchemy import (
    REAL,
    CheckConstraint,
    Column,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    Table,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import DOUBLE_PRECISION
from sqlalchemy.types import TypeEngine

metadata = MetaData()

# SQLite's REAL is an 8-byte float; PostgreSQL's REAL is a 4-byte one (too coarse for a time
# in seconds since 1970, which it would round to about two minutes): DOUBLE PRECISION there.
FLOAT8: TypeEngine[float] = REAL().with_variant(DOUBLE_PRECISION(), "postgresql")


def _id() -> Column[int]:
    # an INTEGER PRIMARY KEY: the row id on SQLite
    return Column("id", Integer, primary_key=True, autoincrement=True)


# -- core ------------------------------------------------------------------------------------
teams = Table(
    "teams", metadata,
    _id(),
    Column("name", Text, nullable=False, unique=True),
    Column("created_at", Text, nullable=False),
)

people = Table(
    "people", metadata,
    _id(),
    Column("ref", Text, nullable=False, unique=True),
    Column("role", Text, nullable=False),
    Column("display_name", Text),
    Column("birth_year", Integer),
    Column("created_at", Text, nullable=False),
    CheckConstraint("role IN ('victim_survivor', 'service_user')", name="people_role"),
)

cases = Table(
    "cases", metadata,
    _id(),
    Column("uid", Text, nullable=False, unique=True),
    Column("ref", Text, nullable=False, unique=True),
    Column("team_id", Integer, ForeignKey("teams.id")),
    Column("schedule", Text, nullable=False, server_default=text("'[]'")),
    Column("opened_on", Text),
    Column("status", Text, nullable=False, server_default=text("'open'")),
    Column("created_at", Text, nullable=False),
    # m004
    Column("closed_on", Text),
    Column("closed_reason", Text),
    # m006
    Column("instruments", Text, nullable=False, server_default=text("'[]'")),
    # m008 (kept by triggers)
    Column("risk_order", Integer, nullable=False, server_default=text("3")),
    CheckConstraint("status IN ('open', 'closed')", name="cases_status"),
    Index("cases_team", "team_id", "status"),
    Index("cases_risk", "team_id", "status", "risk_order", "ref"),
    # the team lists' orders (core_0004)
    Index("cases_list_open", "team_id", "status", text("(COALESCE(opened_on, ''))"), "id"),
    Index("cases_list_all", "team_id", text("(COALESCE(opened_on, ''))"), "id"),
    Index("cases_by_ref", "team_id", "status", "ref"),
)

case_people = Table(
    "case_people", metadata,
    Column("case_id", Integer, ForeignKey("cases.id", ondelete="CASCADE"), nullable=False),
    Column("person_id", Integer, ForeignKey("people.id", ondelete="CASCADE"),
           nullable=False),
    Column("role", Text, nullable=False),
    PrimaryKeyConstraint("case_id", "person_id"),
    Index("case_people_role", "case_id", "role", unique=True),  # core_0002
)

# core_0002: people found in a role their case already had someone in (before the unique
# index), moved here rather than deleted
case_people_set_aside = Table(
    "case_people_set_aside", metadata,
    Column("case_id", Integer, ForeignKey("cases.id", ondelete="CASCADE"), nullable=False),
    Column("person_id", Integer, ForeignKey("people.id", ondelete="CASCADE"),
           nullable=False),
    Column("role", Text, nullable=False),
    Column("set_aside_at", Text, nullable=False),
    PrimaryKeyConstraint("case_id", "person_id"),
)

definition_snapshots = Table(
    "definition_snapshots", metadata,
    _id(),
    Column("instrument_id", Text, nullable=False),
    Column("instrument_version", Text, nullable=False),
    Column("content_hash", Text, nullable=False),
    Column("definition", Text, nullable=False),
    Column("plugin", Text, nullable=False),
    Column("plugin_version", Text, nullable=False),
    Column("first_seen", Text, nullable=False),
    UniqueConstraint("instrument_id", "instrument_version"),
)

assessments = Table(
    "assessments", metadata,
    _id(),
    Column("uid", Text, nullable=False, unique=True),
    Column("person_id", Integer, ForeignKey("people.id", ondelete="CASCADE"),
           nullable=False),
    Column("case_id", Integer, ForeignKey("cases.id", ondelete="CASCADE")),
    Column("instrument_id", Text, nullable=False),
    Column("instrument_version", Text, nullable=False),
    Column("occasion", Text, nullable=False),
    Column("assessment_date", Text),
    Column("assessor", Text),
    Column("status", Text, nullable=False),
    Column("wording", Text, nullable=False, server_default=text("'paraphrase'")),
    Column("fields", Text, nullable=False, server_default=text("'{}'")),
    Column("judgement", Text),
    Column("revision", Integer, nullable=False, server_default=text("1")),
    Column("version_no", Integer, nullable=False, server_default=text("1")),
    Column("supersedes_id", Integer, ForeignKey("assessments.id")),
    Column("amendment_reason", Text),
    Column("created_at", Text, nullable=False),
    Column("updated_at", Text, nullable=False),
    Column("finalised_at", Text),
    # m002, m003
    Column("draft_result", Text),
    Column("draft_answers", Text),
    # m009
    Column("snapshot_id", Integer, ForeignKey("definition_snapshots.id")),
    # core_0010: the language the assessment was completed in (en, cy)
    Column("language", Text, nullable=False, server_default=text("'en'")),
    CheckConstraint("status IN ('draft', 'final', 'superseded')", name="assessments_status"),
    Index("assessments_person", "person_id", "instrument_id"),
    Index("assessments_case", "case_id"),
    Index("assessments_counts", "status", "instrument_id", "occasion", "person_id"),
    Index("assessments_snapshot", "snapshot_id"),
    # core_0011: the amendments of an assessment (the check of the foreign key when one is
    # deleted), only rows that supersede another
    Index("assessments_supersedes", "supersedes_id",
          sqlite_where=text("supersedes_id IS NOT NULL"),
          postgresql_where=text("supersedes_id IS NOT NULL")),
)

answers = Table(
    "answers", metadata,
    Column("assessment_id", Integer, ForeignKey("assessments.id", ondelete="CASCADE"),
           nullable=False),
    Column("item_id", Text, nullable=False),
    Column("value", Text, nullable=False),
    Column("comment", Text),
    Column("source", Text),
    # core_0007: the date of the assessment a confirmed answer was carried forward from
    Column("carried_from", Text),
    PrimaryKeyConstraint("assessment_id", "item_id"),
    sqlite_with_rowid=False,
)

scores = Table(
    "scores", metadata,
    _id(),
    Column("assessment_id", Integer, ForeignKey("assessments.id", ondelete="CASCADE"),
           nullable=False),
    Column("seq", Integer, nullable=False),
    Column("instrument_id", Text, nullable=False),
    Column("instrument_version", Text, nullable=False),
    Column("scorer_plugin", Text, nullable=False),
    Column("scorer_version", Text, nullable=False),
    Column("config_name", Text, nullable=False),
    Column("config_hash", Text, nullable=False),
    Column("complete", Integer, nullable=False),
    Column("level_final", Text),
    Column("result", Text, nullable=False),
    Column("created_at", Text, nullable=False),
    UniqueConstraint("assessment_id", "seq"),
)

# Each configuration record once (core_0012): its hash -> the record without its name (the
# score row's ``config_name`` holds that); a stored result whose record is kept here leaves
# it out, and reading the score puts it back.
score_configurations = Table(
    "score_configurations", metadata,
    Column("hash", Text, primary_key=True, nullable=False),
    Column("record", Text, nullable=False),
)

score_values = Table(
    "score_values", metadata,
    Column("score_id", Integer, ForeignKey("scores.id", ondelete="CASCADE"), nullable=False),
    Column("kind", Text, nullable=False),
    Column("name", Text, nullable=False),
    Column("value_num", FLOAT8),
    Column("value_text", Text),
    PrimaryKeyConstraint("score_id", "kind", "name"),
    # comparisons, not IN (...): SQLite checked an IN list several times slower (core_0009)
    CheckConstraint("kind = 'score' OR kind = 'band' OR kind = 'level' OR kind = 'flag'"
                    " OR kind = 'criterion' OR kind = 'group'", name="score_values_kind"),
    sqlite_with_rowid=False,
)

audit = Table(
    "audit", metadata,
    _id(),
    Column("at", Text, nullable=False),
    Column("actor", Text, nullable=False),
    Column("action", Text, nullable=False),
    Column("object_type", Text),
    Column("object_id", Text),
    Column("request_id", Text),
    Column("details", Text, nullable=False, server_default=text("'{}'")),
    Column("prev_hash", Text, nullable=False),
    Column("hash", Text, nullable=False),
    Index("audit_actor", "actor"),
    Index("audit_action", "action"),
    Index("audit_object", "object_type", "object_id"),
)

# core_0005: page views and lists, appended without the chain's lock and sealed into the
# audit chain in batches (formsengine.audit.seal_views); append-only by trigger
view_log = Table(
    "view_log", metadata,
    _id(),
    Column("at", Text, nullable=False),
    Column("actor", Text, nullable=False),
    Column("action", Text, nullable=False),
    Column("object_type", Text),
    Column("object_id", Text),
    Column("request_id", Text),
    Column("details", Text, nullable=False, server_default=text("'{}'")),
    Index("view_log_actor", "actor"),
    Index("view_log_action", "action"),
    Index("view_log_object", "object_type", "object_id"),
)

# core_0003: the stored schedule (formsengine.store.schedule), kept by triggers
schedule_entries = Table(
    "schedule_entries", metadata,
    Column("case_id", Integer, nullable=False),
    Column("instrument_id", Text, nullable=False),
    Column("occasion", Text, nullable=False),
    Column("team_id", Integer),
    Column("due", Text, nullable=False),  # an ISO date, as every date here
    Column("done", Integer, nullable=False, server_default=text("0")),
    PrimaryKeyConstraint("case_id", "instrument_id", "occasion"),
    Index("schedule_due", "team_id", "done", "due", "case_id", "instrument_id", "occasion"),
    sqlite_with_rowid=False,
)

schedule_offsets = Table(
    "schedule_offsets", metadata,
    Column("instrument_id", Text, nullable=False),
    Column("occasion", Text, nullable=False),
    Column("unit", Text, nullable=False),
    Column("n", Integer, nullable=False),
    PrimaryKeyConstraint("instrument_id", "occasion"),
    CheckConstraint("unit IN ('months', 'weeks')", name="schedule_offsets_unit"),
)

# core_0008: the researcher's page's counts (formsengine.store.counts), kept by triggers
final_people = Table(
    "final_people", metadata,
    Column("instrument_id", Text, nullable=False),
    Column("occasion", Text, nullable=False),
    Column("person_id", Integer, nullable=False),
    Column("assessments", Integer, nullable=False),  # the person's final assessments there
    PrimaryKeyConstraint("instrument_id", "occasion", "person_id"),
    sqlite_with_rowid=False,
)

final_counts = Table(
    "final_counts", metadata,
    Column("instrument_id", Text, nullable=False),
    Column("occasion", Text, nullable=False),
    Column("people", Integer, nullable=False),  # people with a final assessment there
    PrimaryKeyConstraint("instrument_id", "occasion"),
    sqlite_with_rowid=False,
)

CORE_TABLES = (teams, people, cases, case_people, case_people_set_aside, definition_snapshots,
               assessments, answers, scores, score_configurations, score_values, audit,
               schedule_entries, schedule_offsets, view_log, final_people, final_counts)

# -- the web plugin --------------------------------------------------------------------------
web_users = Table(
    "web_users", metadata,
    _id(),
    Column("uid", Text, nullable=False, unique=True),
    # unique without regard to case: SQLite's NOCASE collation; on PostgreSQL (which has no
    # NOCASE) a unique index on lower(username) besides
    Column("username", Text(collation="NOCASE").with_variant(Text(), "postgresql"),
           nullable=False, unique=True),
    Column("display_name", Text, nullable=False),
    Column("role", Text, nullable=False),
    Column("password_hash", Text, nullable=False),
    Column("must_change_password", Integer, nullable=False, server_default=text("1")),
    Column("disabled", Integer, nullable=False, server_default=text("0")),
    Column("totp_secret", Text),
    Column("totp_last_step", Integer),
    Column("created_at", Text, nullable=False),
    Column("password_changed_at", Text),
    CheckConstraint("role IN ('practitioner', 'supervisor', 'administrator', 'researcher')",
                    name="web_users_role"),
)
Index("web_users_username_lower", func.lower(web_users.c.username),
      unique=True).ddl_if(dialect="postgresql")

web_memberships = Table(
    "web_memberships", metadata,
    Column("user_id", Integer, ForeignKey("web_users.id", ondelete="CASCADE"),
           nullable=False),
    Column("team_id", Integer, ForeignKey("teams.id", ondelete="CASCADE"), nullable=False),
    PrimaryKeyConstraint("user_id", "team_id"),
)

web_sessions = Table(
    "web_sessions", metadata,
    _id(),
    Column("token_hash", Text, nullable=False, unique=True),
    Column("user_id", Integer, ForeignKey("web_users.id", ondelete="CASCADE"),
           nullable=False),
    Column("created_at", FLOAT8, nullable=False),
    Column("last_seen", FLOAT8, nullable=False),
    Column("totp_pending", Text),  # web m002
    Index("web_sessions_user", "user_id"),
)

web_login_attempts = Table(
    "web_login_attempts", metadata,
    _id(),
    Column("username_hash", Text, nullable=False),
    Column("at", FLOAT8, nullable=False),
    Column("ok", Integer, nullable=False),
    Column("device", Text),  # web m002
    Index("web_login_attempts_user", "username_hash", "at"),
)

web_settings = Table(
    "web_settings", metadata,
    Column("key", Text, primary_key=True),
    Column("value", Text, nullable=False),
)

web_case_assignments = Table(
    "web_case_assignments", metadata,
    Column("case_id", Integer, ForeignKey("cases.id", ondelete="CASCADE"), primary_key=True,
           autoincrement=False),
    Column("user_id", Integer, ForeignKey("web_users.id"), nullable=False),
    Index("web_case_assignments_user", "user_id"),
)

web_known_devices = Table(
    "web_known_devices", metadata,
    Column("account_key", Text, nullable=False),
    Column("device_hash", Text, nullable=False),
    Column("last_used", FLOAT8, nullable=False),
    PrimaryKeyConstraint("account_key", "device_hash"),
)

web_idempotency = Table(
    "web_idempotency", metadata,
    Column("token_hash", Text, primary_key=True),
    Column("user_id", Integer, ForeignKey("web_users.id", ondelete="CASCADE"),
           nullable=False),
    Column("created_at", FLOAT8, nullable=False),
    Column("location", Text),
)

WEB_TABLES = (web_users, web_memberships, web_sessions, web_login_attempts, web_settings,
              web_case_assignments, web_known_devices, web_idempotency)
