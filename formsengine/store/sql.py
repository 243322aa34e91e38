"""Small SQL helpers shared by the store's modules.

Only the store package writes SQL. Statements use ``?`` placeholders and SQL that both
SQLite and PostgreSQL accept; anything one dialect needs differently belongs in a helper
here, documented, rather than in the module that uses it.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence, Sized
from typing import Any


def insert_returning_id(conn: Any, sql: str, params: Any) -> int:
    """Run one ``INSERT`` (given without ``RETURNING``) and return the new row's id, by
    ``RETURNING id`` on both databases (PostgreSQL has no ``lastrowid``)."""
    rows = conn.execute(sql + " RETURNING id", params).fetchall()
    return int(rows[0][0])


def insert_or_nothing(conn: Any, sql: str, params: Any, target: str = "") -> int | None:
    """Run one ``INSERT`` (given without ``ON CONFLICT`` or ``RETURNING``) unless it would
    break a unique rule; return the new row's id, or None when such a row was there already
    (or was added meanwhile by another transaction, which this one waited for). ``target``:
    the unique columns (``"(ref)"``), or empty for any unique rule. The same SQL on both
    databases: ``INSERT … ON CONFLICT … DO NOTHING RETURNING id``, instead of a check
    before the insert that two writers at once could both pass."""
    rows = conn.execute(f"{sql} ON CONFLICT {target} DO NOTHING RETURNING id", params).fetchall()
    return int(rows[0][0]) if rows else None


def marks(values: Sized) -> str:
    """``?, ?, ?``: one placeholder per value, for ``IN (...)``. An empty list gives
    ``NULL`` so that ``x IN (NULL)`` matches nothing instead of being a syntax error."""
    return ", ".join("?" for _ in range(len(values))) or "NULL"


def chunks(values: Sequence[Any], size: int = 500) -> Iterator[Sequence[Any]]:
    """The values in slices of at most ``size``, to keep each ``IN (...)`` list below the
    database's limit on bound parameters."""
    for start in range(0, len(values), size):
        yield values[start:start + size]


def in_list(values: Iterable[Any]) -> tuple[str, list[Any]]:
    """``("(?, ?)", [a, b])``: the parenthesised placeholder list and its parameters."""
    params = list(values)
    return f"({marks(params)})", params



# -- what differs between SQLite and PostgreSQL ------------------------------------------------
# Each helper takes the connection (or its dialect name) and returns the SQL fragment that
# dialect needs. The store's connections say which they are: a PostgreSQL connection
# (``formsengine.store.postgres.PgConnection``) has ``dialect = "postgresql"``; a sqlite3
# connection has none.
SQLITE = "sqlite"
POSTGRESQL = "postgresql"


def dialect_of(conn: Any) -> str:
    """``"sqlite"`` or ``"postgresql"``: the dialect a connection speaks."""
    named = getattr(conn, "dialect", None)
    if isinstance(named, str):
        return named
    if type(conn).__module__.split(".")[0].startswith("psycopg"):
        return POSTGRESQL
    return SQLITE


def is_postgres(conn: Any) -> bool:
    return dialect_of(conn) == POSTGRESQL


def _pg(where: Any) -> bool:
    return where == POSTGRESQL if isinstance(where, str) else is_postgres(where)


def json_array_agg(where: Any, expr: str) -> str:
    """The values of ``expr`` over the group as JSON array text (``[]`` for no rows):
    SQLite's ``json_group_array``, PostgreSQL's ``json_agg`` (which gives NULL for no rows,
    hence the COALESCE). Rows come in the order of the subquery they are read from."""
    if _pg(where):
        return f"COALESCE(json_agg({expr}), '[]'::json)::text"
    return f"json_group_array({expr})"


def json_array(where: Any, *exprs: str) -> str:
    """A JSON array of the expressions: ``json_array`` / ``json_build_array``."""
    return ("json_build_array(" if _pg(where) else "json_array(") + ", ".join(exprs) + ")"


def group_concat(where: Any, expr: str, separator: str = " ") -> str:
    """The group's values of ``expr`` joined by ``separator`` (a constant of the caller's,
    without quotes): ``group_concat`` / ``string_agg``."""
    if "'" in separator:
        raise ValueError("separator must not hold a quote")
    if _pg(where):
        return f"string_agg(({expr})::text, '{separator}')"
    return f"group_concat({expr}, '{separator}')"


def json_field(where: Any, column: str, key_param: str = "?") -> str:
    """The value at a top-level key (given by the parameter ``key_param``) of a column
    holding a JSON object, NULL when absent: SQLite's ``json_extract(col, '$.' || key)``
    (a JSON string as text, a number as a number), PostgreSQL's ``col::jsonb -> key`` (the
    driver reads it back as the same Python value)."""
    if _pg(where):
        return f"NULLIF(({column})::jsonb -> ({key_param})::text, 'null'::jsonb)"
    return f"json_extract({column}, '$.' || {key_param})"


def json_field_text(where: Any, column: str, key_param: str = "?") -> str:
    """As ``json_field`` but always as text (a date kept as a JSON string): ``->>`` on
    PostgreSQL. The key is quoted in SQLite's path, so it may hold dots."""
    if _pg(where):
        return f"(({column})::jsonb ->> ({key_param})::text)"
    return f"json_extract({column}, '$.\"' || {key_param} || '\"')"


def nocase(where: Any, expr: str) -> str:
    """``expr`` compared without regard to letter case: SQLite's ``COLLATE NOCASE``
    (which its indexes on such columns serve), PostgreSQL's ``upper()``. Compare it with
    ``nocase`` of the other side, or with values already in upper case."""
    return f"upper({expr})" if _pg(where) else f"{expr} COLLATE NOCASE"


def day_number(where: Any, expr: str) -> str:
    """An ISO date (text) as a number of days, for sorting and comparing: SQLite's
    ``julianday``, on PostgreSQL the days since 1 January 2000."""
    if _pg(where):
        return f"(({expr})::date - DATE '2000-01-01')"
    return f"julianday({expr})"


def glob_match(where: Any, expr: str) -> str:
    """``expr`` matching a pattern parameter made by ``glob_pattern``: SQLite's ``GLOB``,
    PostgreSQL's regular expression match ``~``."""
    return f"{expr} ~ ?" if _pg(where) else f"{expr} GLOB ?"


def glob_pattern(where: Any, pattern: str) -> str:
    """A GLOB pattern (letters, digits, ``-`` and ``[0-9]`` classes only) for
    ``glob_match``: as it is on SQLite, an anchored regular expression on PostgreSQL."""
    if not _pg(where):
        return pattern
    import re

    if not re.fullmatch(r"(?:[A-Za-z0-9-]|\[[0-9A-Za-z-]+\])*", pattern):
        raise ValueError("glob_pattern: only letters, digits, '-' and [..] classes")
    return "^" + pattern + "$"


def table_exists_sql(where: Any) -> str:
    """A query giving a row when the table named by its one parameter exists: SQLite's
    ``sqlite_master``, PostgreSQL's catalogue (in the schemas on the search path)."""
    if _pg(where):
        return "SELECT 1 AS x WHERE to_regclass(?) IS NOT NULL"
    return "SELECT 1 AS x FROM sqlite_master WHERE type = 'table' AND name = ?"


def table_names_sql(where: Any) -> str:
    """A query giving the name (column ``name``) of every table of the database: SQLite's
    ``sqlite_master``; on PostgreSQL the tables of the first schema on the search path."""
    if _pg(where):
        return ("SELECT table_name AS name FROM information_schema.tables"
                " WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'")
    return "SELECT name FROM sqlite_master WHERE type = 'table'"


def new_ids_sql(where: Any, table: str) -> str:
    """A query giving ``n`` (its one parameter) new ids for rows of ``table`` (a constant
    of the caller's), one a row, for inserts that name their ids. PostgreSQL: taken from the
    table's id sequence (``nextval``), so that concurrent writers never get the same id and
    the sequence stays ahead of every row. SQLite: the ids after the largest one, which
    holds only because the caller's write transaction (``BEGIN IMMEDIATE``) keeps every
    other writer out until its rows are in (SQLite numbers rows the same way)."""
    if not table.isidentifier():
        raise ValueError("new_ids_sql: a table name")
    if _pg(where):
        return (f"SELECT nextval(pg_get_serial_sequence('{table}', 'id')) AS id"  # nosec B608 (a checked table name)
                " FROM generate_series(1, ?) ORDER BY 1")
    return ("WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?)"
            f" SELECT (SELECT COALESCE(MAX(id), 0) FROM {table}) + i AS id FROM n")  # nosec B608 (a checked table name)


def stream_rows(conn: Any, sql: str, params: Sequence[Any] | dict[str, Any],
                size: int) -> Iterator[list[tuple[Any, ...]]]:
    """The rows of a query in lists of at most ``size``, without the whole result ever
    being in memory: SQLite's cursor steps through the result as rows are fetched;
    PostgreSQL's rows come through a server-side cursor (``PgConnection.stream``), where a
    plain query would bring the whole result into the client at once. Read the rows before
    sending the connection anything else."""
    if is_postgres(conn):
        yield from conn.stream(sql, params, size)
        return
    cursor = conn.execute(sql, params)
    while True:
        rows = cursor.fetchmany(size)
        if not rows:
            return
        yield rows


def least(where: Any, *exprs: str) -> str:
    """The smallest of the expressions: SQLite's scalar ``min``, PostgreSQL's ``LEAST``."""
    return ("LEAST(" if _pg(where) else "min(") + ", ".join(exprs) + ")"


def coded_temp_table(conn: Any, name: str, select: str, params: Sequence[Any] = ()) -> None:
    """Create the temporary table ``name`` (a constant of the caller's) from ``select``,
    each row numbered in a column ``code`` (1, 2, …); any earlier one is dropped first.
    The same on both databases (SQLite's ``rowid`` has no PostgreSQL counterpart)."""
    conn.execute(f"DROP TABLE IF EXISTS {name}")
    conn.execute(f"CREATE TEMP TABLE {name} AS SELECT row_number() OVER () AS code, q.*"  # nosec B608: constants
                 f" FROM ({select}) q", list(params))


def drop_temp_table(conn: Any, name: str) -> None:
    conn.execute(f"DROP TABLE IF EXISTS {name}")


def equals_nocase(where: Any, column: str) -> str:
    """``column`` equal to one parameter without regard to letter case, for a column that
    SQLite declares ``COLLATE NOCASE`` (so ``=`` already ignores case there, through its
    index) and PostgreSQL indexes as ``lower(column)``."""
    return f"lower({column}) = lower(?)" if _pg(where) else f"{column} = ?"


def like(where: Any) -> str:
    """The operator for a pattern match that ignores letter case (ASCII): SQLite's
    ``LIKE`` does; PostgreSQL needs ``ILIKE``."""
    return "ILIKE" if _pg(where) else "LIKE"


def json_array_items(where: Any, expr: str, alias: str) -> str:
    """A table of the items of the JSON array text ``expr``, each in ``alias.value`` (for
    ``JOIN … ON 1 = 1``: PostgreSQL needs the ``ON``): SQLite's ``json_each``, PostgreSQL's
    ``json_array_elements_text``."""
    if _pg(where):
        return f"json_array_elements_text(({expr})::json) AS {alias}(value)"
    return f"json_each({expr}) AS {alias}"


def offset_date(where: Any, date: str, unit: str, n: str) -> str:
    """The ISO date ``n`` weeks or months (``unit``: an expression giving 'weeks' or
    'months') after the ISO date ``date``, as Python's ``add_months`` makes it: a month
    offset from the 31st lands on the last day of a shorter month. PostgreSQL's date
    arithmetic does that itself; SQLite's ``date()`` would roll over into the next month,
    so it takes the earlier of that and the last day of the target month."""
    if _pg(where):
        return (f"CASE {unit} WHEN 'weeks' THEN to_char(({date})::date + 7 * ({n})::integer,"
                f" 'YYYY-MM-DD') ELSE to_char(({date})::date + make_interval(months =>"
                f" ({n})::integer), 'YYYY-MM-DD') END")
    return (f"CASE {unit} WHEN 'weeks' THEN date({date}, '+' || (7 * {n}) || ' days')"
            f" ELSE min(date({date}, 'start of month', '+' || ({n} + 1) || ' months',"
            f" '-1 day'), date({date}, 'start of month', '+' || {n} || ' months',"
            f" '+' || (CAST(strftime('%d', {date}) AS INTEGER) - 1) || ' days')) END")


def no_index(where: Any, column: str) -> str:
    """The text ``column`` written so that the planner does not choose an index on it,
    where a query knows a better one: SQLite's unary ``+``; on PostgreSQL, which has no
    ``+`` on text, the column with the empty string appended. Neither database is given
    statistics (no ``ANALYZE``): without them both would prefer an index matching more of a
    query's equalities, such as ``assessments_counts`` (status, instrument, occasion), to
    the case index, and read every final assessment of an occasion to find one case's."""
    return f"({column} || '')" if _pg(where) else f"+{column}"


def row_by_row(where: Any) -> str:
    """What ends a correlated ``EXISTS`` subquery that is to be looked up for each outer row
    (through an index) however many rows the planner expects. PostgreSQL would otherwise
    turn it into one hashed read of every matching row of the table when it guesses many
    outer rows (as it does, without statistics, for rows from a JSON array): ``OFFSET 0``
    keeps the subquery as written. SQLite looks up each row: nothing."""
    return " OFFSET 0" if _pg(where) else ""


def read_through(where: Any, source: str, index: str) -> str:
    """The table ``source`` (with its alias) read through ``index``: SQLite's ``INDEXED
    BY``, which makes a statement that could not use that index an error instead of a
    slower plan. PostgreSQL has no such clause: the table as it is (pair it with
    ``no_index`` on the columns of the index to avoid)."""
    return source if _pg(where) else f"{source} INDEXED BY {index}"


def serialise_on(conn: Any, key: str) -> None:
    """Make the rest of this write transaction wait for any other transaction holding the
    same ``key`` (a check-then-insert on that key then runs one at a time). PostgreSQL: a
    transaction-scoped advisory lock on the key's hash, released by COMMIT or ROLLBACK.
    SQLite: nothing (``BEGIN IMMEDIATE`` already runs one write at a time)."""
    if is_postgres(conn) and conn.in_transaction:
        conn.execute("SELECT pg_advisory_xact_lock(hashtextextended(?, 0))", [key])
