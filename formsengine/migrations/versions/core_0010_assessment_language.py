"""The language each assessment was completed in.

A person chooses English or Welsh for the pages; an assessment records the language it was
started in (``en`` or ``cy``), and its pages, check answers, result and PDF reports use
that language for the instrument's words (a wording pack in that language when one is
installed) and for the report's own text. Every assessment stored before this revision
was completed in English.

Revision ID: core_0010
Revises: core_0008
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "core_0010"
down_revision = "core_0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # a plain ADD COLUMN (with its default, every existing row gets 'en'): no copy of the
    # table, whose triggers and indexes stay as they are
    op.add_column("assessments", sa.Column("language", sa.Text(), nullable=False,
                                           server_default=sa.text("'en'")))


def downgrade() -> None:
    op.drop_column("assessments", "language")
