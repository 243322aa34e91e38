"""The schema's triggers on PostgreSQL, in PL/pgSQL: the same rules the SQLite migrations
keep with their triggers (the audit is append-only and every row continues the chain; each
case keeps its risk order). Applied after ``tables.metadata.create_all``.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import text

from ..store_schema import _RISK_ORDER
from .sql import no_index

# A case's risk order finds its latest final assessment through the case index: written as
# release 0.1 wrote it, PostgreSQL without statistics also read ``assessments_counts`` for
# the status (every final assessment of the database) and intersected the two (core_0011).
_FINAL = "a.status = 'final'"
assert _FINAL in _RISK_ORDER  # nosec B101 (a code constant, checked at import)
CASE_RISK_ORDER = (
    "CREATE FUNCTION case_risk_order(case_id integer) RETURNS integer LANGUAGE sql STABLE AS"
    " $$ SELECT " + _RISK_ORDER.replace("{case}", "case_risk_order.case_id").replace(
        _FINAL, f"{no_index('postgresql', 'a.status')} = 'final'") + " $$")

POSTGRES_TRIGGERS_DDL = [
    """CREATE FUNCTION audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN RAISE EXCEPTION 'audit rows are append-only'; END $$""",
    """CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit
    FOR EACH ROW EXECUTE FUNCTION audit_append_only()""",
    """CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit
    FOR EACH ROW EXECUTE FUNCTION audit_append_only()""",
    """CREATE FUNCTION audit_in_chain() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      IF NEW.id IS DISTINCT FROM (SELECT COALESCE(MAX(id), 0) + 1 FROM audit)
         OR NEW.prev_hash IS DISTINCT FROM COALESCE(
             (SELECT hash FROM audit ORDER BY id DESC LIMIT 1), repeat('0', 64)) THEN
        RAISE EXCEPTION 'audit rows are only appended to the chain';
      END IF;
      RETURN NEW;
    END $$""",
    """CREATE TRIGGER audit_insert_in_chain BEFORE INSERT ON audit
    FOR EACH ROW EXECUTE FUNCTION audit_in_chain()""",
    CASE_RISK_ORDER,
    """CREATE FUNCTION case_risk_score() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      UPDATE cases SET risk_order = case_risk_order(cases.id)
      WHERE id = (SELECT case_id FROM assessments WHERE id = NEW.assessment_id);
      RETURN NULL;
    END $$""",
    """CREATE TRIGGER case_risk_score AFTER INSERT ON scores
    FOR EACH ROW EXECUTE FUNCTION case_risk_score()""",
    """CREATE FUNCTION case_risk_assessment() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      IF TG_OP = 'DELETE' THEN
        UPDATE cases SET risk_order = case_risk_order(cases.id) WHERE id = OLD.case_id;
      ELSIF NEW.status != 'draft' OR OLD.status != 'draft' THEN
        UPDATE cases SET risk_order = case_risk_order(cases.id)
        WHERE id IN (NEW.case_id, OLD.case_id);
      END IF;
      RETURN NULL;
    END $$""",
    """CREATE TRIGGER case_risk_status AFTER UPDATE OF status, case_id, assessment_date
    ON assessments FOR EACH ROW EXECUTE FUNCTION case_risk_assessment()""",
    """CREATE TRIGGER case_risk_delete AFTER DELETE ON assessments
    FOR EACH ROW EXECUTE FUNCTION case_risk_assessment()""",
]


def create_postgres_triggers(conn: Any) -> None:
    """Create the triggers through a SQLAlchemy connection to PostgreSQL."""
    for statement in POSTGRES_TRIGGERS_DDL:
        conn.execute(text(statement))
