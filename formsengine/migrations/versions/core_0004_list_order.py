"""Indexes in the order the team lists are shown, so that a page reads its 50 cases from
the index instead of sorting every case of the team.

The case list shows a team's cases newest opened first (``COALESCE(opened_on, '')`` then
id, both descending; open cases, or all of them); the caseload sorts by reference. Until
now the index on ``(team_id, status)`` found the team's cases and every one of them was
sorted before the first 50 were kept: a cost that grew with the team (20 ms of sorting for a
team of 20,000 cases). Each index below gives one list's order directly.

Revision ID: core_0004
Revises: core_0003
Create Date: 2026-12-06
"""

from __future__ import annotations

from alembic import op

revision = "core_0004"
down_revision = "core_0003"
branch_labels = None
depends_on = None

INDEXES_DDL = (
    "CREATE INDEX cases_list_open ON cases (team_id, status, (COALESCE(opened_on, '')), id)",
    "CREATE INDEX cases_list_all ON cases (team_id, (COALESCE(opened_on, '')), id)",
    "CREATE INDEX cases_by_ref ON cases (team_id, status, ref)",
)


def upgrade() -> None:
    for statement in INDEXES_DDL:
        op.execute(statement)


def downgrade() -> None:
    for name in ("cases_list_open", "cases_list_all", "cases_by_ref"):
        op.execute(f"DROP INDEX {name}")
