"""``score_values``' rule on ``kind`` written as comparisons instead of ``kind IN (...)``.

Every scored assessment writes about twenty score values, and SQLite evaluates a CHECK of the
form ``kind IN ('score', 'band', ...)`` by building a small index of the six constants for
every row it checks: that check cost more than the rest of the row (an import of 2,000
assessments spent 0.09 s of its 0.15 s of score value inserts on it). The same rule written
as ``kind = 'score' OR kind = 'band' OR ...`` costs next to nothing. The table keeps its
name, columns, key, foreign key and rows; on SQLite it is rebuilt (a CHECK cannot be
altered there), on PostgreSQL the constraint is replaced.

Revision ID: core_0009
Revises: core_0007
Create Date: 2026-12-06
"""

from __future__ import annotations

from alembic import op

revision = "core_0009"
down_revision = "core_0007"
branch_labels = None
depends_on = None

KINDS = ("score", "band", "level", "flag", "criterion", "group")
CHECK = " OR ".join(f"kind = '{kind}'" for kind in KINDS)
OLD_CHECK = "kind IN (" + ", ".join(f"'{kind}'" for kind in KINDS) + ")"


def _sqlite_table(name: str, check: str) -> str:
    return (f"CREATE TABLE {name} (score_id INTEGER NOT NULL REFERENCES scores(id) ON DELETE"
            " CASCADE, kind TEXT NOT NULL CONSTRAINT score_values_kind"
            f" CHECK ({check}), name TEXT NOT NULL, value_num REAL, value_text TEXT,"
            " PRIMARY KEY (score_id, kind, name)) WITHOUT ROWID")


def _rebuild_sqlite(check: str) -> None:
    op.execute(_sqlite_table("score_values_rebuilt", check))
    op.execute("INSERT INTO score_values_rebuilt (score_id, kind, name, value_num, value_text)"
               " SELECT score_id, kind, name, value_num, value_text FROM score_values")
    op.execute("DROP TABLE score_values")
    op.execute("ALTER TABLE score_values_rebuilt RENAME TO score_values")


def _replace_postgres(check: str) -> None:
    op.execute("ALTER TABLE score_values DROP CONSTRAINT score_values_kind")
    op.execute(f"ALTER TABLE score_values ADD CONSTRAINT score_values_kind CHECK ({check})")


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        _replace_postgres(CHECK)
    else:
        _rebuild_sqlite(CHECK)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        _replace_postgres(OLD_CHECK)
    else:
        _rebuild_sqlite(OLD_CHECK)
