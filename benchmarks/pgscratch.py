"""A throwaway PostgreSQL schema for the benchmarks that compare the two backends.

`scratch_url(url)` creates a schema with a random name, yields a database URL whose
connections use it (their search path) and drops it with everything in it afterwards, so a
benchmark never touches a schema anyone else uses. The audit key PostgreSQL requires is set
for the benchmark's process if none is set.
"""

from __future__ import annotations

import contextlib
import os
import secrets
from collections.abc import Iterator

DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def server_url(given: str | None) -> str | None:
    """The URL to use: the one given, else FORMSENGINE_BENCH_DATABASE_URL, else none."""
    return given or os.environ.get("FORMSENGINE_BENCH_DATABASE_URL") or None


@contextlib.contextmanager
def scratch_url(url: str) -> Iterator[str]:
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    os.environ.setdefault("FORMSENGINE_AUDIT_KEY", secrets.token_hex(32))
    schema = f"bench_{secrets.token_hex(6)}"
    admin = create_engine(url)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        scoped = make_url(url).update_query_dict({"options": f"-csearch_path={schema}"})
        yield scoped.render_as_string(hide_password=False)
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()
