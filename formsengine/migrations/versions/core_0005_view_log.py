"""The view log: page views and lists recorded without waiting on the audit chain.

Every view of a record is audited. Until now each view was a row of the hash-chained audit
table, and on PostgreSQL every append waits on the one lock that keeps the chain in order:
every page view of every server process queued behind the others (116 views a second where
plain inserts managed 1,347). Views now go to ``view_log``, a table of the audit's shape
without the chain's columns, inserted with no lock and no hash; ``formsengine.audit
.seal_views`` seals them into the chain in batches (one audit row per batch carrying the
batch's id range, row count and keyed digest), so that ``audit verify`` finds a sealed view
row that was changed, removed or added. Like the audit table, the view log only grows:
triggers refuse UPDATE and DELETE.

The audit rows already there stay as they are and verify as before. (Numbered before
core_0007 and core_0009, which were written at the same time, and applied after them.)

Revision ID: core_0005
Revises: core_0009
Create Date: 2026-12-06
"""

from __future__ import annotations

from alembic import op

revision = "core_0005"
down_revision = "core_0009"
branch_labels = None
depends_on = None


def _table_ddl(id_type: str) -> str:
    return (f"CREATE TABLE view_log (id {id_type} NOT NULL, at TEXT NOT NULL, actor TEXT NOT"
            " NULL, action TEXT NOT NULL, object_type TEXT, object_id TEXT, request_id TEXT,"
            " details TEXT DEFAULT '{}' NOT NULL, PRIMARY KEY (id))")


INDEXES_DDL = (
    "CREATE INDEX view_log_actor ON view_log (actor)",
    "CREATE INDEX view_log_action ON view_log (action)",
    "CREATE INDEX view_log_object ON view_log (object_type, object_id)",
)

SQLITE_TRIGGERS_DDL = (
    """CREATE TRIGGER view_log_no_update BEFORE UPDATE ON view_log
    BEGIN SELECT RAISE(ABORT, 'view log rows are append-only'); END""",
    """CREATE TRIGGER view_log_no_delete BEFORE DELETE ON view_log
    BEGIN SELECT RAISE(ABORT, 'view log rows are append-only'); END""",
)

POSTGRES_TRIGGERS_DDL = (
    """CREATE FUNCTION view_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN RAISE EXCEPTION 'view log rows are append-only'; END $$""",
    """CREATE TRIGGER view_log_no_update BEFORE UPDATE ON view_log
    FOR EACH ROW EXECUTE FUNCTION view_log_append_only()""",
    """CREATE TRIGGER view_log_no_delete BEFORE DELETE ON view_log
    FOR EACH ROW EXECUTE FUNCTION view_log_append_only()""",
)


def upgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    op.execute(_table_ddl("SERIAL" if postgres else "INTEGER"))
    for statement in INDEXES_DDL:
        op.execute(statement)
    for statement in POSTGRES_TRIGGERS_DDL if postgres else SQLITE_TRIGGERS_DDL:
        op.execute(statement)


def downgrade() -> None:
    raise NotImplementedError("restore the backup taken before the upgrade instead")
