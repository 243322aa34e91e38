"""Answers carried forward: ``answers.carried_from`` holds, for an answer offered from the
person's previous finalised assessment and confirmed by the practitioner saving its page,
the date of the assessment it was carried from (NULL for an answer given on this
occasion). Drafts keep the same in their ``draft_answers`` document.

Revision ID: core_0007
Revises: core_0004
Create Date: 2026-12-06
"""

from __future__ import annotations

from alembic import op

revision = "core_0007"
down_revision = "core_0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("ALTER TABLE answers ADD COLUMN carried_from TEXT")


def downgrade() -> None:
    op.execute("ALTER TABLE answers DROP COLUMN carried_from")
