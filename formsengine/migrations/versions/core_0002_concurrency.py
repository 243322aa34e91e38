"""Rules that concurrent writers cannot break: a case has at most one person in each role
(``UNIQUE (case_id, role)`` on ``case_people``), and on PostgreSQL every table's id sequence
starts after the rows already there.

Until now a case's roles were kept unique by a check before the insert, which two requests
at once could both pass (on PostgreSQL, where writers do not wait for each other). A case
that got two people in one role that way keeps one of them: the one with the most
assessments on the case (then the one stored first); the others are moved, not deleted, to
``case_people_set_aside`` (with the time), and ``db upgrade`` prints a line for each case so
that someone can look at it. Nothing is lost: the person rows and their assessments stay.

Rows inserted with explicit ids (as imports did) leave a PostgreSQL sequence behind the
table's largest id, so that the next ordinary insert would collide: each sequence is set
past the largest id.

Revision ID: core_0002
Revises: core_0001
Create Date: 2026-12-06
"""

from __future__ import annotations

from alembic import op
from sqlalchemy import text

revision = "core_0002"
down_revision = "core_0001"
branch_labels = None
depends_on = None

SET_ASIDE_DDL = (
    "CREATE TABLE case_people_set_aside (case_id INTEGER NOT NULL, person_id INTEGER NOT"
    " NULL, role TEXT NOT NULL, set_aside_at TEXT NOT NULL, PRIMARY KEY (case_id,"
    " person_id), FOREIGN KEY(case_id) REFERENCES cases (id) ON DELETE CASCADE, FOREIGN"
    " KEY(person_id) REFERENCES people (id) ON DELETE CASCADE)")
UNIQUE_ROLE_DDL = "CREATE UNIQUE INDEX case_people_role ON case_people (case_id, role)"

# the core's tables whose id PostgreSQL numbers with a sequence (SERIAL)
SERIAL_TABLES = ("teams", "people", "cases", "definition_snapshots", "assessments", "scores",
                 "audit")


def upgrade() -> None:
    from formsengine.audit import utcnow
    from formsengine.migrations import note

    bind = op.get_bind()
    op.execute(SET_ASIDE_DDL)
    doubled = bind.execute(text(
        "SELECT case_id, role FROM case_people GROUP BY case_id, role HAVING COUNT(*) > 1"
        " ORDER BY case_id, role")).fetchall()
    now = utcnow()
    for case_id, role in doubled:
        people = [r[0] for r in bind.execute(text(
            "SELECT cp.person_id FROM case_people cp WHERE cp.case_id = :case AND"
            " cp.role = :role ORDER BY (SELECT COUNT(*) FROM assessments a WHERE"
            " a.case_id = cp.case_id AND a.person_id = cp.person_id) DESC, cp.person_id"),
            {"case": case_id, "role": role})]
        kept, moved = people[0], people[1:]
        for person_id in moved:
            params = {"case": case_id, "person": person_id, "role": role, "at": now}
            bind.execute(text(
                "INSERT INTO case_people_set_aside (case_id, person_id, role, set_aside_at)"
                " VALUES (:case, :person, :role, :at)"), params)
            bind.execute(text("DELETE FROM case_people WHERE case_id = :case"
                              " AND person_id = :person"), params)
        note(f"note: case {case_id} had {len(people)} people as {role}: kept person "
             f"{kept}, moved person(s) {', '.join(map(str, moved))} to "
             "case_people_set_aside")
    op.execute(UNIQUE_ROLE_DDL)
    if bind.dialect.name == "postgresql":
        for table in SERIAL_TABLES:
            bind.execute(text(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'),"  # nosec B608 (constant table names)
                f" COALESCE((SELECT MAX(id) FROM {table}), 0) + 1, false)"))


def downgrade() -> None:
    raise NotImplementedError("restore the backup taken before the upgrade instead")
