"""The database schema's migrations, with Alembic: one version branch per plugin.

The core's revisions are in ``formsengine/migrations/versions`` (branch ``core``), the web
application's in ``formsengine/web/migrations`` (branch ``web``); a plugin offers its own
branch through the ``register_migrations`` hook, returning ``(label, versions directory)``.
Alembic runs here from code (``env.py`` beside this file), on a connection that is already
open: no ``alembic.ini``.

Migrating is a deploy step (``formsengine db upgrade``), not something every server process
does at start: a database whose schema is behind the installed code is refused (see
``require_current``), except a new, empty one, which is created at the head of every branch.

A database made by release 0.1 kept its schema with sqlite-utils migration sets
(``_sqlite_migrations``). ``upgrade`` first applies what is left of the core's and the web
application's old sets (``formsengine.store_schema``, ``formsengine.web.schema``: kept
unchanged as the reference), then stamps the branches whose first revision names the old set
it replaces (``legacy_set = "..."`` in the revision's module) at that revision, and upgrades
from there, in place.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import StorageError

if TYPE_CHECKING:
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    from ..engine import Engine

HERE = Path(__file__).parent
CORE_BRANCH = "core"
CORE_VERSIONS = HERE / "versions"
VERSION_TABLE = "alembic_version"
LEGACY_TABLE = "_sqlite_migrations"  # sqlite-utils' record of release 0.1's migrations
LABEL = re.compile(r"[a-z][a-z0-9_]{0,30}")
UPGRADE_HINT = "run: formsengine db upgrade"


class SchemaBehindError(StorageError):
    """The database's schema is older than the installed code (or than a plugin's)."""


@dataclass(frozen=True)
class BranchStatus:
    label: str
    current: str | None  # the branch's revision in the database (None: not applied)
    head: str  # the branch's newest revision in the installed code

    @property
    def behind(self) -> bool:
        return self.current != self.head


# -- the branches -----------------------------------------------------------------------------
def branches(engine: Engine) -> list[tuple[str, Path]]:
    """Every ``(label, versions directory)`` the plugins offer, the core's first; checked."""
    found: list[tuple[str, Path]] = []
    for item in engine.pm.hook.register_migrations():
        if item is None:
            continue
        if not (isinstance(item, tuple) and len(item) == 2 and isinstance(item[0], str)
                and isinstance(item[1], str | Path)):
            raise StorageError(
                f"register_migrations returned {item!r:.80}: it returns (label, versions "
                "directory), or None")
        label, directory = item[0], Path(item[1])
        if not LABEL.fullmatch(label):
            raise StorageError(f"migration branch label {label!r:.40} is not lower-case "
                               "letters, digits and _ (at most 31, starting with a letter)")
        if any(label == seen for seen, _ in found):
            raise StorageError(f"two plugins offer migration branch {label!r}")
        if not directory.is_dir():
            raise StorageError(f"migration branch {label}: no directory {directory}")
        found.append((label, directory))
    found.sort(key=lambda b: b[0] != CORE_BRANCH)
    if not found or found[0][0] != CORE_BRANCH:
        raise StorageError("the core's migration branch is not registered")
    return found


def config(engine: Engine, connection: Any = None) -> Config:
    """Alembic's configuration for these branches, made in code."""
    import os

    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(HERE))
    cfg.set_main_option("path_separator", "os")
    cfg.set_main_option("version_locations",
                        os.pathsep.join(str(d) for _, d in branches(engine)))
    cfg.set_main_option("file_template", "%%(rev)s_%%(slug)s")
    cfg.attributes["connection"] = connection
    return cfg


@dataclass
class _Scripts:
    script: ScriptDirectory
    heads: dict[str, str]  # branch label -> head revision
    members: dict[str, frozenset[str]]  # branch label -> its revisions
    legacy: dict[str, str]  # old sqlite-utils set name -> the revision that replaces it


_scripts_cache: dict[tuple, _Scripts] = {}
_scripts_lock = threading.Lock()


def scripts(engine: Engine) -> _Scripts:
    """The revisions of every branch, read once per process and set of branches."""
    found = branches(engine)
    key = tuple((label, str(d)) for label, d in found)
    with _scripts_lock:
        cached = _scripts_cache.get(key)
        if cached is None:
            cached = _scripts_cache[key] = _read_scripts(engine, found)
        return cached


def _read_scripts(engine: Engine, found: list[tuple[str, Path]]) -> _Scripts:
    from alembic.script import ScriptDirectory
    from alembic.util import CommandError

    script = ScriptDirectory.from_config(config(engine))
    heads: dict[str, str] = {}
    members: dict[str, frozenset[str]] = {}
    legacy: dict[str, str] = {}
    every_dir = {Path(r.path).parent.resolve() for r in script.walk_revisions()}
    try:
        for label, directory in found:
            if directory.resolve() not in every_dir:
                continue  # a branch without revisions yet
            branch_heads = script.revision_map.get_revisions(f"{label}@head")
            head: Any = branch_heads[0] if len(branch_heads) == 1 else None
            if head is None or isinstance(head, str):
                raise StorageError(f"migration branch {label} has {len(branch_heads)} heads; "
                                   "a branch is one line: fix down_revision")
            heads[label] = head.revision
            chain: set[str] = set()
            rev: Any = head
            while rev is not None:
                if Path(rev.path).parent.resolve() != directory.resolve():
                    raise StorageError(f"revision {rev.revision} of branch {label} is not in "
                                       f"its directory {directory}")
                chain.add(rev.revision)
                old = getattr(rev.module, "legacy_set", None)
                if old:
                    legacy[str(old)] = rev.revision
                down = rev.down_revision
                if isinstance(down, tuple | list):
                    raise StorageError(f"revision {rev.revision}: a branch here is one line")
                rev = script.get_revision(down) if down else None
            members[label] = frozenset(chain)
    except CommandError as exc:
        raise StorageError(f"migrations: {exc}") from exc
    every = {r.revision for r in script.walk_revisions()}
    stray = every - set().union(*members.values())
    if stray:
        raise StorageError("revisions outside every branch: " + ", ".join(sorted(stray)))
    return _Scripts(script, heads, members, legacy)


# -- the database's state ----------------------------------------------------------------------
def _table_names(raw: Any) -> set[str]:
    from ..store.sql import table_names_sql

    return {r[0] for r in raw.execute(table_names_sql(raw))}


def current_revisions(raw: Any) -> set[str]:
    """The revisions recorded in the database (none for a new or a release-0.1 one)."""
    if VERSION_TABLE not in _table_names(raw):
        return set()
    return {r[0] for r in raw.execute(f"SELECT version_num FROM {VERSION_TABLE}")}  # nosec B608


def is_empty(raw: Any) -> bool:
    """No table at all: a database just created."""
    return not _table_names(raw)


def status(raw: Any, engine: Engine) -> list[BranchStatus]:
    """Each branch's revision in the database against its head in the code."""
    s = scripts(engine)
    current = current_revisions(raw)
    unknown = current - set().union(*s.members.values())
    if unknown:
        raise SchemaBehindError(
            "the database is at revision(s) " + ", ".join(sorted(unknown)) + " that the "
            "installed code does not have: it was upgraded by a newer formsengine or a plugin "
            "that is no longer installed")
    applied = _with_ancestors(s, current)
    out = []
    for label, head in s.heads.items():
        # (Alembic's table keeps only the heads: a revision another branch depends on is
        # left out of it once that branch moves on)
        rev: Any = s.script.get_revision(head)
        while rev is not None and rev.revision not in applied:
            rev = s.script.get_revision(rev.down_revision) if rev.down_revision else None
        out.append(BranchStatus(label, rev.revision if rev is not None else None, head))
    return out


def _with_ancestors(s: _Scripts, revisions: set[str]) -> set[str]:
    """The revisions and every revision they come after (down the line or by dependency)."""
    seen: set[str] = set()
    todo = list(revisions)
    while todo:
        rev = s.script.get_revision(todo.pop())
        if rev is None or rev.revision in seen:
            continue
        seen.add(rev.revision)
        todo.extend(rev._all_down_revisions)
    return seen


_REVISION = re.compile(r"^revision\s*(?::\s*str\s*)?=\s*[\"']([^\"']+)[\"']\s*$", re.M)
_DOWN = re.compile(r"^down_revision\s*(?::[^=]*)?=\s*(.+?)\s*$", re.M)
_QUOTED = re.compile(r"[\"']([^\"']+)[\"']")
_quick_cache: dict[tuple, frozenset[str] | None] = {}


def quick_heads(engine: Engine) -> frozenset[str] | None:
    """The head revisions of every branch, read from the revision files' ``revision`` and
    ``down_revision`` lines without loading Alembic (a command that only opens a database
    that is up to date then starts without it); None when a file does not say them in that
    plain form, and Alembic has to read it."""
    found = branches(engine)
    key = tuple((label, str(d)) for label, d in found)
    if key in _quick_cache:
        return _quick_cache[key]
    revisions: set[str] = set()
    downs: set[str] = set()
    heads: frozenset[str] | None = None
    try:
        for _label, directory in found:
            for path in sorted(directory.glob("*.py")):
                if path.name == "__init__.py":
                    continue
                text = path.read_text(encoding="utf-8")
                rev, down = _REVISION.search(text), _DOWN.search(text)
                if rev is None or down is None:
                    raise ValueError(path.name)
                revisions.add(rev.group(1))
                if down.group(1) != "None":
                    quoted = _QUOTED.fullmatch(down.group(1))
                    if quoted is None:
                        raise ValueError(path.name)
                    downs.add(quoted.group(1))
        heads = frozenset(revisions - downs)
    except (OSError, UnicodeDecodeError, ValueError):
        heads = None
    _quick_cache[key] = heads
    return heads


def require_current(raw: Any, engine: Engine) -> None:
    """Refuse a database whose schema is behind the installed code."""
    quick = quick_heads(engine)
    if quick and current_revisions(raw) == quick:
        return  # at the head of every branch, as the files say: Alembic need not load
    behind = [b for b in status(raw, engine) if b.behind]
    if behind:
        what = ", ".join(f"{b.label} at {b.current or 'nothing'} (code: {b.head})"
                         for b in behind)
        raise SchemaBehindError(f"the database schema is behind: {what}; {UPGRADE_HINT}")


# -- upgrading ---------------------------------------------------------------------------------
@contextmanager
def sqlalchemy_connection(raw: Any) -> Iterator[Any]:
    """A SQLAlchemy connection over an open SQLite connection (its transactions opened with
    ``BEGIN IMMEDIATE``, so that the whole upgrade is one transaction). The connection stays
    open afterwards."""
    from sqlalchemy import create_engine, event
    from sqlalchemy.pool import StaticPool
    from sqlite_utils.utils import sqlite3

    bind = create_engine("sqlite://", module=sqlite3, creator=lambda: raw,
                         poolclass=StaticPool)

    @event.listens_for(bind, "begin")
    def _begin(conn: Any) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE")

    with bind.connect() as conn:
        yield conn


def _legacy_applied(raw: Any) -> dict[str, set[str]]:
    if LEGACY_TABLE not in _table_names(raw):
        return {}
    out: dict[str, set[str]] = {}
    for set_name, name in raw.execute(
            f"SELECT migration_set, name FROM {LEGACY_TABLE}"):  # nosec B608: a constant
        out.setdefault(set_name, set()).add(name)
    return out


def _finish_legacy(raw: Any, applied: dict[str, set[str]]) -> list[str]:
    """Apply what is left of the core's and the web application's old migration sets."""
    from sqlite_utils import Database

    from ..store_schema import core_migrations
    from ..web.schema import web_migrations

    db = Database(raw)
    done = []
    for legacy in (core_migrations, web_migrations):
        if legacy.name not in applied:
            continue
        pending = [m.name for m in legacy.pending(db)]
        legacy.apply(db)
        done += [f"{legacy.name}:{name}" for name in pending]
    return done


# Alembic's ``context`` and ``op`` are module-level: one upgrade at a time in a process
_upgrade_lock = threading.Lock()
_run_lock = threading.RLock()


def upgrade(raw: Any, engine: Engine) -> list[str]:
    """Bring a database (an open SQLite connection, or the store's PostgreSQL one) to the
    head of every branch; return what was applied (``label:revision``, ``set:name`` for what
    was left of release 0.1's sets, and any note a revision made, e.g. rows it set aside)."""
    from ..store.sql import is_postgres

    with _upgrade_lock:
        if is_postgres(raw):
            return _upgrade_postgres(raw, engine)
        return _upgrade(raw, engine)


SCHEMA_LOCK = 0x66650001  # PostgreSQL's advisory lock held while a process upgrades


def _upgrade_postgres(raw: Any, engine: Engine) -> list[str]:
    """PostgreSQL: the revisions run on a connection of the same pool, in one transaction
    that first takes an advisory lock, so that two processes upgrading at once upgrade once
    (the second, let in after the first commits, finds nothing left to do)."""
    from alembic.runtime.migration import MigrationContext
    from sqlalchemy import text

    from ..store.postgres import engine_for

    s = scripts(engine)
    notes: list[str] = []
    with engine_for(raw.url).connect() as conn:
        conn.begin()
        conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": SCHEMA_LOCK})
        before = set(MigrationContext.configure(conn).get_current_heads())
        run_upgrade(conn, engine, notes=notes)
    after = current_revisions(raw)
    done: list[str] = []
    for label in s.heads:
        done += _applied_between(s, label, before, after)
    return done + notes


def _upgrade(raw: Any, engine: Engine) -> list[str]:
    s = scripts(engine)
    done: list[str] = []
    before = current_revisions(raw)
    stamp: list[str] = []
    if not before:
        legacy = _legacy_applied(raw)
        if legacy:
            done += _finish_legacy(raw, legacy)
            stamp = [rev for name, rev in s.legacy.items() if name in legacy]
    notes: list[str] = []
    with sqlalchemy_connection(raw) as conn:
        started = run_upgrade(conn, engine, stamp=stamp, notes=notes)
    # (read inside the upgrade's transaction: another process may have taken the database
    # over between the first look above and this one's turn)
    start = started or before | set(stamp)
    after = current_revisions(raw)
    for label in s.heads:
        done += _applied_between(s, label, start, after)
    return done + notes


def _applied_between(s: _Scripts, label: str, before: set[str], after: set[str]) -> list[str]:
    start = _with_ancestors(s, before) & s.members[label]
    end = _with_ancestors(s, after) & s.members[label]
    if end <= start:
        return []
    out = []
    rev: Any = s.script.get_revision(s.heads[label])
    while rev is not None and rev.revision not in end:
        rev = s.script.get_revision(rev.down_revision) if rev.down_revision else None
    while rev is not None and rev.revision not in start:
        out.append(f"{label}:{rev.revision}")
        rev = s.script.get_revision(rev.down_revision) if rev.down_revision else None
    return out[::-1]


def run_upgrade(conn: Any, engine: Engine, *, stamp: list[str] | None = None,
                notes: list[str] | None = None) -> set[str]:
    """Run every branch's revisions up to its head on a SQLAlchemy connection (SQLite or
    PostgreSQL), in one transaction, after stamping ``stamp``. A revision's notes for the
    operator (``note(...)``) are added to ``notes``. Returns the revisions the database
    was at when the transaction began (empty: none, so ``stamp`` was stamped)."""
    from alembic import command

    cfg = config(engine, conn)
    cfg.attributes["stamp"] = list(stamp or ())
    cfg.attributes["notes"] = notes if notes is not None else []
    with _run_lock:
        command.upgrade(cfg, "heads")
    if conn.in_transaction():
        conn.commit()
    return set(cfg.attributes.get("heads_before", ()))


def note(text: str) -> None:
    """From inside a revision's ``upgrade()``: a line for the operator, printed by
    ``formsengine db upgrade`` with what was applied (e.g. rows a new constraint set
    aside)."""
    from alembic import op

    notes = op.get_context().config.attributes.setdefault("notes", [])  # type: ignore[union-attr]
    notes.append(text)


def new_revision(engine: Engine, message: str, branch: str) -> Path:
    """Write an empty revision at the head of ``branch`` (a plugin's first one starts the
    branch, depending on the core's head); return its file."""
    from alembic import command

    if not message.strip():
        raise StorageError("give the revision a message (-m)")
    if len(message) > 200 or not message.isprintable() or any(c in message for c in '"\\'):
        raise StorageError("a revision message is one line of at most 200 characters, "
                           "without quotes or backslashes (it becomes the file's docstring)")
    found = dict(branches(engine))
    if branch not in found:
        raise StorageError(f"no migration branch {branch!r} (branches: "
                           f"{', '.join(sorted(found))})")
    s = scripts(engine)
    number = len(s.members.get(branch, ())) + 1
    rev_id = f"{branch}_{number:04d}"
    cfg = config(engine)
    kwargs: dict[str, Any] = {"message": message, "rev_id": rev_id,
                              "version_path": str(found[branch])}
    if branch in s.heads:
        kwargs["head"] = f"{branch}@head"
    else:
        kwargs.update(head="base", branch_label=branch, depends_on=s.heads[CORE_BRANCH])
    script = command.revision(cfg, **kwargs)
    with _scripts_lock:
        _scripts_cache.clear()
    if script is None or isinstance(script, list):
        raise StorageError("alembic wrote no single revision")
    return Path(script.path)
