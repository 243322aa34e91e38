"""The ``formsengine`` command line."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Collection
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

import click

from . import __version__
from .config import Settings
from .errors import DefinitionError, FormsEngineError

if TYPE_CHECKING:
    from .engine import Engine
    from .store import Store

MAX_ANSWERS_BYTES = 1_000_000
ACTOR_HELP = ("Name recorded in the audit (the operating-system account that ran the command "
              "is recorded beside it).")


class State:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._engine: Engine | None = None

    @property
    def engine(self) -> Engine:
        if self._engine is None:
            from .engine import Engine

            self._engine = Engine(self.settings)
        return self._engine

    def store(self, *, create: bool = False) -> Store:
        from .store import Store

        return Store.open(self.settings.location, self.engine, create=create)


def fail(message: str, code: int = 2) -> NoReturn:
    click.echo(f"error: {message}", err=True)
    sys.exit(code)


def echo_json(data: Any) -> None:
    click.echo(json.dumps(data, indent=2, ensure_ascii=False, default=str))


def echo_table(header: list[str], rows: list[list[Any]], numeric: Collection[int] = frozenset()
               ) -> None:
    """Rows under a header, each column as wide as its widest cell (columns in ``numeric``
    to the right); ``None`` shows as ``-``."""
    cells = [[("-" if c is None else str(c)) for c in row] for row in rows]
    widths = [max(len(r[i]) for r in [header, *cells]) for i in range(len(header))]
    for row in [header, *cells]:
        click.echo("  ".join(c.rjust(w) if i in numeric else c.ljust(w)
                             for i, (c, w) in enumerate(zip(row, widths))).rstrip())


def _database_problem(exc: Exception, database: Path | None) -> str:
    """One plain line for SQLite's own errors about the database file."""
    text = str(exc)
    where = f"database {database}" if database else "the database"
    if "unable to open database file" in text and database is not None:
        folder = database.resolve().parent
        if not folder.is_dir():
            return f"{where}: cannot be created, the folder {folder} does not exist"
        return f"{where}: cannot be opened or created (check the folder's permissions)"
    if "file is not a database" in text:
        return f"{where}: this file is not a SQLite database"
    return f"{where}: {text[:200]}"


def _os_problem(exc: OSError) -> str:
    import errno

    if exc.errno == errno.EADDRINUSE:
        return ("the address is already in use: another server is listening on that port "
                "(choose another with --port)")
    where = f": {exc.filename}" if exc.filename else ""
    return f"{(exc.strerror or str(exc)).lower()}{where}"


class FriendlyGroup(click.Group):
    """Turns errors a user can act on into one plain line on stderr and exit code 2, never a
    traceback: our own refusals, SQLite's errors about the database file and operating-system
    errors (a port in use, a folder that cannot be written). Click's own usage errors keep
    click's usage message (also exit code 2)."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except FormsEngineError as exc:
            fail(str(exc))
        except BrokenPipeError:  # the reader stopped early (| head): no message
            import os

            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            sys.exit(141)
        except OSError as exc:
            fail(_os_problem(exc))
        except Exception as exc:
            from sqlite_utils.utils import sqlite3

            if not isinstance(exc, sqlite3.DatabaseError):
                raise
            state = ctx.obj if isinstance(ctx.obj, State) else None
            fail(_database_problem(exc, state.settings.database if state else None))


def _load_plugin_commands(group: click.Group) -> None:
    """Let plugins add commands (``register_commands``) without loading the engine twice."""
    from .plugins import make_plugin_manager

    try:
        pm = make_plugin_manager(load_entrypoints=True)
    except Exception as exc:  # a broken plugin must not hide the core commands
        click.echo(f"warning: plugin commands not loaded: {exc}", err=True)
        return
    pm.hook.register_commands(cli=group)


@click.group(cls=FriendlyGroup)
@click.version_option(__version__, prog_name="formsengine")
@click.option("--db", "database", type=str,
              help="SQLite database file [env FORMSENGINE_DB; default ./formsengine.db], or "
              "a postgresql+psycopg:// URL [env FORMSENGINE_DATABASE_URL]")
@click.option("--config", "config_file", type=click.Path(dir_okay=False, path_type=Path),
              help="Organisation configuration (TOML) [env FORMSENGINE_CONFIG]")
@click.option("--definitions", "definitions_dir",
              type=click.Path(file_okay=False, path_type=Path),
              help="Folder of local instrument definitions [env FORMSENGINE_DEFINITIONS]")
@click.pass_context
def cli(ctx: click.Context, database, config_file, definitions_dir) -> None:
    """formsengine: risk-assessment instruments as plugins, scored on the server,
    measured repeatedly over time."""
    # every file a command creates (database, backup, export, report) is the owner's only
    os.umask(os.umask(0o077) | 0o077)
    if ctx.invoked_subcommand != "serve":  # --actor is any name: say who ran the command
        from .audit import record_os_user

        record_os_user()
        ctx.call_on_close(lambda: record_os_user(False))  # for this command only
    from .config import is_database_url

    url = database if is_database_url(database) else None
    ctx.obj = State(Settings.from_env(database=None if url else database, database_url=url,
                                      config_file=config_file,
                                      definitions_dir=definitions_dir))


# -- plugins and instruments -----------------------------------------------------------------
@cli.command("plugins")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_obj
def plugins_cmd(state: State, as_json: bool) -> None:
    """List every plugin with its version and the hooks it implements, and every installed
    plugin that was not loaded, with the reason (choose plugins with
    FORMSENGINE_LOAD_PLUGINS and FORMSENGINE_DISABLE_PLUGINS: comma-separated entry-point
    names)."""
    from .plugins import describe_plugins

    infos = describe_plugins(state.engine.pm)
    problems = getattr(state.engine.pm, "load_problems", [])
    if as_json:
        echo_json([{**p.__dict__, "loaded": True} for p in infos]
                  + [{"name": p.name, "version": p.version, "distribution": p.distribution,
                      "hooks": [], "builtin": False, "loaded": False,
                      "problem": p.problem} for p in problems])
        return
    for p in infos:
        kind = "built-in" if p.builtin else (p.distribution or "plugin")
        click.echo(f"{p.name}  {p.version}  ({kind})")
        click.echo(f"    hooks: {', '.join(p.hooks) or 'none'}")
    for p in problems:
        click.echo(f"{p.name}  {p.version or 'unknown'}  ({p.distribution or 'plugin'})"
                   "  NOT LOADED")
        click.echo(f"    problem: {p.problem}")


@cli.group()
def instruments() -> None:
    """List, show, validate and test instrument definitions."""


@instruments.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_obj
def instruments_list(state: State, as_json: bool) -> None:
    """List registered instruments and the plugin each came from."""
    rows = [i.summary() for i in state.engine.instruments]
    if as_json:
        echo_json(rows)
        return
    if not rows:
        click.echo("No instruments registered. Install a plugin, or set --definitions.")
    for r in rows:
        click.echo(f"{r['id']:<22} v{r['version']:<8} {count_text(r):<24} "
                   f"plugin {r['plugin']} {r['plugin_version']}  {r['title']}")


def count_text(summary: dict[str, Any]) -> str:
    """' 24 items + 6 details': details are the optional follow-up questions, asked only
    when their condition holds."""
    items, details = summary["items"], summary["details"]
    text = f"{items:>3} item{'' if items == 1 else 's'}"
    if details:
        text += f" + {details} detail{'' if details == 1 else 's'}"
    for group, limits in summary.get("repeats", {}).items():  # counted once, as declared
        text += f", {group} x{limits['min']}-{limits['max']}"
    return text


@instruments.command("show")
@click.argument("instrument_id")
@click.option("--version", "version", help="Instrument version (default: newest).")
@click.pass_obj
def instruments_show(state: State, instrument_id: str, version: str | None) -> None:
    """Print an instrument's definition as JSON."""
    inst = state.engine.instruments.get(instrument_id, version)
    echo_json(inst.definition)


@instruments.command("validate")
@click.argument("paths", nargs=-1, required=True,
                type=click.Path(exists=True, dir_okay=False, path_type=Path))
def instruments_validate(paths: tuple[Path, ...]) -> None:
    """Check definition files against the schema and for meaning, without installing them."""
    from .instruments import build_instrument, read_json_file, schema_problems

    bad = 0
    for path in paths:
        try:
            data = read_json_file(path)
            if path.name.endswith(".wording.json"):
                problems = schema_problems("wording-pack", data)
                if problems:
                    raise DefinitionError(str(path), problems)
            else:
                if not isinstance(data, dict):
                    raise DefinitionError(str(path), ["$: must be a JSON object"])
                build_instrument(data, plugin="(validate)", plugin_version="-", source=str(path))
            click.echo(f"ok: {path}")
        except DefinitionError as exc:
            bad += 1
            click.echo(f"invalid: {exc}", err=True)
    if bad:
        sys.exit(1)


@instruments.command("scaffold")
@click.argument("instrument_id")
@click.option("--out", "out", type=click.Path(path_type=Path), default=Path("."),
              show_default=True, help="Folder to write into.")
@click.option("--plugin", "as_plugin", is_flag=True,
              help="Write a whole plugin distribution (in OUT/formsengine-ID) instead of a "
                   "definition file alone.")
@click.pass_obj
def instruments_scaffold(state: State, instrument_id: str, out: Path, as_plugin: bool) -> None:
    """Write a starting definition for a new local instrument: a yes / no / not known
    checklist with a count, risk bands, a flag and test vectors that pass. Existing files are
    never overwritten."""
    from . import scaffold

    scaffold.check_instrument_id(instrument_id)
    registered, plugin_names = _names_in_use(state)
    if instrument_id in registered:
        fail(f"instrument id {instrument_id!r} is already registered by plugin "
             f"{registered[instrument_id]!r}; choose another id (a local variant needs its "
             "own id)")
    names = scaffold.names_for(instrument_id)
    if as_plugin and names["entry_point"] in plugin_names:
        fail(f"a plugin named {names['entry_point']!r} is already installed; choose another id")
    files = (scaffold.plugin_files(instrument_id) if as_plugin
             else scaffold.definition_files(instrument_id))
    for path in scaffold.write_files(out, files):
        click.echo(f"wrote {path}")
    if as_plugin:
        root = out / names["distribution"]
        definition = root / names["package"] / "definitions" / f"{instrument_id}.json"
        click.echo(f"next: edit {definition}, then\n"
                   f"  pip install -e {root}\n"
                   f"  formsengine instruments test {instrument_id} -v")
    else:
        definition = out / f"{instrument_id}.json"
        click.echo(f"next: edit {definition}, then\n"
                   f"  formsengine instruments validate {definition}\n"
                   f"  formsengine --definitions {out} instruments test {instrument_id} -v")


def _names_in_use(state: State) -> tuple[dict[str, str], set[str]]:
    """Registered instrument ids (with the plugin of each) and plugin names; nothing when the
    engine cannot start, so that a broken definition elsewhere does not stop the scaffold."""
    try:
        engine = state.engine
    except FormsEngineError:
        return {}, set()
    return ({i.id: i.plugin for i in engine.instruments},
            {name for name, _ in engine.pm.list_name_plugin()})


@instruments.command("test")
@click.argument("instrument_id", required=False)
@click.option("-v", "--verbose", is_flag=True, help="List every vector.")
@click.pass_obj
def instruments_test(state: State, instrument_id: str | None, verbose: bool) -> None:
    """Run the test vectors shipped with each instrument (or one instrument)."""
    from .vectors import run_vectors

    if instrument_id:
        state.engine.instruments.get(instrument_id)  # clear error when unknown
    outcomes = run_vectors(state.engine, instrument_id)
    failed = [o for o in outcomes if not o.passed]
    for o in outcomes:
        if verbose or not o.passed:
            click.echo(f"{'PASS' if o.passed else 'FAIL'} {o.instrument} v{o.version}: {o.name}")
            for p in o.problems:
                click.echo(f"     {p}")
    counted = {(o.instrument, o.version) for o in outcomes}
    click.echo(f"{len(outcomes) - len(failed)} passed, {len(failed)} failed "
               f"({len(counted)} instruments)")
    if failed or not outcomes:
        sys.exit(1)


# -- scoring ---------------------------------------------------------------------------------
def read_answers_file(path: Path) -> Any:
    from .instruments import read_json_file

    try:
        return read_json_file(path, max_bytes=MAX_ANSWERS_BYTES)
    except DefinitionError as exc:
        fail(f"answers file {path}: {'; '.join(exc.problems)}")


@cli.command("score")
@click.argument("instrument_id")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.pass_obj
def score_cmd(state: State, instrument_id: str, file: Path) -> None:
    """Score an answers file (schemas/answers.schema.json) and print the whole result as
    JSON: every score, band, level, criterion and flag by name."""
    data = read_answers_file(file)
    if isinstance(data, dict):
        if data.get("instrument") not in (None, instrument_id):
            fail(f"answers file {file} is for instrument {str(data['instrument'])[:64]!r}, "
                 f"not {instrument_id!r}")
        data.setdefault("instrument", instrument_id)
    echo_json(state.engine.score_data(data, where=f"answers file {file}"))


# -- database ------------------------------------------------------------------------------
@cli.group()
def db() -> None:
    """Create, upgrade and check the database (SQLite or PostgreSQL)."""


@db.command("init")
@click.pass_obj
def db_init(state: State) -> None:
    """Create the database, or bring an existing one up to date (as db upgrade)."""
    from .store import Store
    from .store.maintenance import database_version

    if state.settings.on_server:
        from .store.postgres import redacted

        with Store.open(state.settings.location, state.engine, create=True) as store:
            store.audit("db_init", actor=SYSTEM)
            version = database_version(store)
        click.echo(f"database ready: {redacted(str(state.settings.database_url))}"
                   f" (PostgreSQL {version})")
        return
    warn_if_readable(state.settings.database)
    with Store.open(state.settings.database, state.engine, create=True,
                    upgrade=True) as store:
        store.audit("db_init", actor=SYSTEM)
        version = database_version(store)
    click.echo(f"database ready: {state.settings.database} (SQLite {version}, WAL)")


@db.command("upgrade")
@click.pass_obj
def db_upgrade(state: State) -> None:
    """Apply every migration branch's new revisions (the core's and each plugin's): the
    deploy step after installing a new version, run once before starting the servers. A
    database made by release 0.1 is taken over in place. Back the database up first."""
    from .store import Store

    where: str | Path = state.settings.database
    if state.settings.on_server:
        from .store.postgres import redacted

        where = redacted(str(state.settings.database_url))
    else:
        warn_if_readable(state.settings.database)
    with Store.open(state.settings.location, state.engine, create=True,
                    upgrade=True) as store:
        applied = store.last_upgrade
        if applied:
            store.audit("db_upgrade", actor=SYSTEM, details={"applied": applied})
    for step in applied:
        click.echo(step if step.startswith("note:") else f"applied {step}")
    click.echo(f"database up to date: {where}")


@db.command("status")
@click.pass_obj
def db_status(state: State) -> None:
    """Each migration branch's revision in the database against the installed code's head.
    Exit status 1 when any branch is behind (run db upgrade)."""
    from . import migrations
    from .store import connect_to

    path = state.settings.database
    if not state.settings.on_server and not path.exists():
        fail(f"database {path} does not exist; create it with: formsengine --db {path} db init")
    conn = connect_to(state.settings.location)
    try:
        branches = migrations.status(conn, state.engine)
        legacy = not migrations.current_revisions(conn) and not migrations.is_empty(conn)
    finally:
        conn.close()
    echo_table(["branch", "database", "code", ""],
               [[b.label, b.current or "-", b.head, "behind" if b.behind else "current"]
                for b in branches])
    if legacy:
        click.echo("made by formsengine 0.1: db upgrade takes it over in place")
    if any(b.behind for b in branches):
        click.echo(f"the schema is behind; {migrations.UPGRADE_HINT}", err=True)
        sys.exit(1)


@db.command("revision")
@click.option("-m", "--message", required=True, help="What the revision changes.")
@click.option("--branch", default="core", show_default=True,
              help="core, or the label of a plugin's branch (a plugin's first revision "
              "starts its branch).")
@click.pass_obj
def db_revision(state: State, message: str, branch: str) -> None:
    """(For developers) Write a new, empty revision at the head of a branch, in that branch's
    versions directory; fill in its upgrade() with alembic.op calls, and change
    formsengine/store/tables.py to match for the core's tables."""
    from . import migrations

    if len(message) > 200:
        fail("the message is at most 200 characters")
    path = migrations.new_revision(state.engine, message, branch)
    click.echo(f"wrote {path}")


def warn_if_readable(database: Path) -> None:
    """Warn (on stderr) when an existing database's files can be read by other users."""
    from .store import readable_by_others

    exposed = readable_by_others(database)
    if exposed:
        click.echo(f"warning: {', '.join(f.name for f in exposed)} can be read by other "
                   "users of this computer; make it the owner's only: chmod 600 "
                   + " ".join(str(f) for f in exposed), err=True)


@db.command("backup")
@click.argument("target", type=click.Path(dir_okay=False, path_type=Path))
@click.pass_obj
def db_backup(state: State, target: Path) -> None:
    """Copy the live database to TARGET with SQLite's online backup, then check the copy."""
    from .audit import key_path
    from .store.maintenance import backup_to

    if target.exists() or key_path(target).exists():
        fail(f"{target} (or its {key_path(target).name}) exists; choose a new file name")
    with state.store() as store:
        check = backup_to(store, target)
        copy_audit_key(store, target)
        store.audit("backup", actor=SYSTEM, details={"integrity": check})
    if check != "ok":
        fail(f"backup written to {target} but integrity check says: {check}", 1)
    click.echo(f"backup written to {target}; integrity check ok")


def copy_audit_key(store: Store, target: Path) -> None:
    """Put the database's audit key beside a copy of it (mode 0600), so that the copy's
    audit trail verifies and can be written to once restored. Nothing when the key comes
    from the environment."""
    from .audit import KEY_ENV, key_path
    from .store.maintenance import audit_key

    if os.environ.get(KEY_ENV):
        return
    key = audit_key(store)
    fd = os.open(key_path(target), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    os.fchmod(fd, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(key)


# -- cases -----------------------------------------------------------------------------------
@cli.group("cases")
def cases_group() -> None:
    """List cases and give them a team."""


@cases_group.command("list")
@click.option("--team", help="A team's name ('-' for cases with no team).")
@click.option("--status", type=click.Choice(["open", "closed"]))
@click.option("--person", help="Only cases of the person with this reference.")
@click.option("--limit", type=click.IntRange(1, 100_000), default=1000, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_obj
def cases_list(state: State, team: str | None, status: str | None, person: str | None,
               limit: int, as_json: bool) -> None:
    """List cases, newest first: uid, reference, team, status, people and assessments."""
    with state.store() as store:
        rows = store.list_cases(team=team, status=status, person=person, limit=limit)
    if as_json:
        echo_json([{k: v for k, v in r.items() if k != "id"} for r in rows])
        return
    echo_table(["uid", "reference", "team", "status", "opened", "people", "final", "drafts"],
               [[r["uid"], r["ref"], r["team"], r["status"], r["opened_on"], r["people"],
                 r["final"], r["drafts"]] for r in rows], numeric={6, 7})
    click.echo(f"{len(rows)} case(s)" + (" (limit reached)" if len(rows) == limit else ""))


@cases_group.command("assign")
@click.argument("cases", nargs=-1)
@click.option("--team", required=True, help="The team the cases go to (an existing team).")
@click.option("--practitioner", help="Username of the practitioner who holds them "
              "(a member of the team).")
@click.option("--without-team", is_flag=True, help="Every case that has no team yet (for "
              "example imported ones), besides any named.")
@click.option("--actor", default="cli", show_default=True, help="Name recorded in the audit.")
@click.pass_obj
def cases_assign(state: State, cases: tuple[str, ...], team: str, practitioner: str | None,
                 without_team: bool, actor: str) -> None:
    """Give cases (uids or references) a team, and optionally a practitioner, so that the
    team sees them in the web application. A practitioner outside the new team stops
    holding a case. Audited; all or nothing."""
    from .errors import StorageError

    if not cases and not without_team:
        fail("name the cases (uids or references), or give --without-team")
    moved = 0
    with state.store() as store:
        try:
            team_id = store.team_id(team)
            if team_id is None:
                fail(f"no team {team[:80]!r} (create it first: formsengine teams create NAME)")
            if practitioner:
                problem = store.practitioner_problem(practitioner, team_id)
                if problem:
                    fail(problem)
            ids = []
            for ref in cases:
                found = store.find_case(ref)
                if found is None:
                    fail(f"no case with the uid or reference {ref[:80]!r}")
                ids.append(found["id"])
            with store.write():
                if without_team:
                    ids += [r["id"] for r in store.list_cases(team="-", limit=10_000_000)]
                for case_id in dict.fromkeys(ids):
                    moved += store.assign_case_team(case_id, team_id, actor=actor)
                    if practitioner:
                        store.assign_case_practitioner(case_id, practitioner, actor=actor)
        except StorageError as exc:
            fail(str(exc))
    click.echo(f"{len(dict.fromkeys(ids))} case(s) in team {team}; {moved} moved"
               + (f"; held by {practitioner}" if practitioner else ""))


# -- assessments -----------------------------------------------------------------------------
SYSTEM = "cli"


@cli.group()
def assessments() -> None:
    """Import and list stored assessments."""


@assessments.command("list")
@click.option("--case", "case_ref", help="A case's uid or reference.")
@click.option("--person", help="A person's reference.")
@click.option("--instrument", "instrument_id", help="An instrument id.")
@click.option("--occasion", help="An occasion id (intake, review, exit, ...).")
@click.option("--status", type=click.Choice(["draft", "final", "superseded"]))
@click.option("--limit", type=click.IntRange(1, 100_000), default=1000, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_obj
def assessments_list(state: State, case_ref: str | None, person: str | None,
                     instrument_id: str | None, occasion: str | None, status: str | None,
                     limit: int, as_json: bool) -> None:
    """List assessments, newest first, with the uid that `report` and `fhir response`
    take."""
    with state.store() as store:
        rows = store.list_assessments(case=case_ref, person=person, instrument=instrument_id,
                                      occasion=occasion, status=status, limit=limit)
    if as_json:
        echo_json(rows)
        return
    echo_table(["uid", "case", "person", "instrument", "occasion", "date", "status", "level"],
               [[r["uid"], r["case_ref"], r["person"], f"{r['instrument']} v{r['version']}",
                 r["occasion"], r["assessment_date"], r["status"], r["level"]] for r in rows])
    click.echo(f"{len(rows)} assessment(s)" + (" (limit reached)" if len(rows) == limit else ""))


@assessments.command("rescore")
@click.option("--instrument", "instrument_id", help="Only assessments of this instrument.")
@click.option("--to-version", "to_version", metavar="VERSION",
              help="With --instrument: move its final assessments made with other versions "
                   "to this version of the definition (each amended, the earlier one kept "
                   "as superseded); all or none.")
@click.option("--actor", default=SYSTEM, show_default=True, help=ACTOR_HELP)
@click.pass_obj
def assessments_rescore(state: State, instrument_id: str | None, to_version: str | None,
                        actor: str) -> None:
    """Score every final assessment again with the current plugins and configuration (for
    example after the organisation changed a threshold). Adds score rows; earlier rows are
    kept, so every result stays traceable to the configuration that produced it.

    With --to-version, the migration step after a plugin ships a new version of a
    definition: the assessments are amended to that version and scored under it."""
    if to_version is not None and not instrument_id:
        fail("--to-version needs --instrument: versions belong to one instrument")
    if to_version is not None:
        from .store.snapshots import move_to_version

        with state.store() as store:
            moved = move_to_version(store, str(instrument_id), to_version, actor=actor)
        click.echo(f"moved {len(moved)} assessments of {instrument_id} to version "
                   f"{to_version} (each amended; the earlier versions are kept as superseded)")
        return
    from .store.maintenance import final_assessment_ids, latest_config_hash

    with state.store() as store:
        if instrument_id:
            state.engine.instruments.get(instrument_id)  # clear error when unknown
        ids = final_assessment_ids(store, instrument_id)
        changed = 0
        for n, assessment_id in enumerate(ids, start=1):
            before = latest_config_hash(store, assessment_id)
            result = store.rescore(assessment_id, actor=actor)
            if before is None or before != result["configuration"]["hash"]:
                changed += 1
            if n % 1000 == 0:
                click.echo(f"rescored {n} of {len(ids)}", err=True)
    click.echo(f"rescored {len(ids)} assessments ({changed} under a different configuration)")


@assessments.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--actor", default=SYSTEM, show_default=True, help=ACTOR_HELP)
@click.pass_obj
def assessments_import(state: State, file: Path, actor: str) -> None:
    """Import assessments from a JSON Lines file: one answers object per line with person,
    role, occasion (and optionally case, assessor, status). All or nothing: every bad line
    is reported with its number and nothing is written."""
    from .importer import import_file

    with state.store() as store:
        summary = import_file(store, file, actor=actor,
                              progress=lambda msg: click.echo(msg, err=True))
    click.echo(f"imported {summary['imported']} assessments for {summary['people']} people")


@cli.command("compare")
@click.argument("person")
@click.argument("instrument_id")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_obj
def compare_cmd(state: State, person: str, instrument_id: str, as_json: bool) -> None:
    """Show how PERSON's scores on INSTRUMENT_ID changed across occasions."""
    from .compare import history

    with state.store() as store:
        data = history(store, person, instrument_id)
        found = store.get_person(person)
        assert found is not None  # history() refused a reference that names no one
        store.log_view("view", actor=SYSTEM, object_type="person_history",
                    object_id=found["id"],
                    details={"instrument": instrument_id})
    if as_json:
        echo_json(data)
        return
    print_history(data)


def print_history(data: dict[str, Any]) -> None:
    """The history as a table whose columns line up (numbers to the right), with the
    critical flags raised at each occasion, then the threshold crossings."""
    occasions = data["occasions"]
    if not occasions:
        click.echo(f"{data['person']}: no final {data['instrument']} assessments")
        return
    names = [k for k, v in occasions[0]["scores"].items()
             if isinstance(v, (int, float)) and not isinstance(v, bool)]
    labels = data.get("flag_labels", {})
    header = ["occasion", "date", *names, "level", "change", "critical flags"]
    numeric = {2 + i for i in range(len(names))}
    rows = []
    for occ in occasions:
        change = ", ".join(f"{k} {v:+g}" for k, v in occ["change_from_first"].items()
                           if k in names[:1])
        scores = [occ["scores"].get(n) for n in names]
        flags = "; ".join(labels.get(f, f) for f in occ["flags"])
        rows.append([occ["occasion"], occ["date"] or "-",
                     *["not known" if v is None else f"{v:g}" for v in scores],
                     occ["level"] or "-", change or "-", flags or "none"])
    click.echo(f"{data['person']} - {data['instrument']}")
    echo_table(header, rows, numeric)
    for text in data["crossings"]:
        click.echo(f"  {text}")


# -- audit -----------------------------------------------------------------------------------
@cli.group("schedule")
def schedule_group() -> None:
    """The stored schedule the due pages read."""


@schedule_group.command("rebuild")
@click.option("--actor", default="cli", show_default=True, help=ACTOR_HELP)
@click.option("--drop-not-installed", is_flag=True,
              help="Also remove the entries of instruments not installed here (by default "
                   "they are kept: another installation may use them).")
@click.pass_obj
def schedule_rebuild(state: State, actor: str, drop_not_installed: bool) -> None:
    """Write every open case's schedule entries again from its instruments, opening date
    and final assessments, with the configured occasion offsets (opening the database
    already does this for an instrument whose offsets have changed). Audited; all or
    nothing."""
    from .store.schedule import offsets_hash, rebuild, stale_instruments, stored_offsets

    with state.store() as store:
        _changed, foreign = stale_instruments(store)
        entries = rebuild(store, actor=actor, keep_not_installed=not drop_not_installed)
        offsets = stored_offsets(store)
    click.echo(f"{entries} schedule entries written ({len(offsets)} occasion offsets, "
               f"{offsets_hash(offsets)})")
    if foreign:
        click.echo(f"{'removed' if drop_not_installed else 'kept'}: the offsets of instrument(s)"
                   f" not installed here: {', '.join(sorted(foreign))}", err=True)


@cli.group("counts")
def counts_group() -> None:
    """The stored counts the researcher's page reads."""


@counts_group.command("rebuild")
@click.option("--actor", default="cli", show_default=True, help=ACTOR_HELP)
@click.pass_obj
def counts_rebuild(state: State, actor: str) -> None:
    """Count the people with a final assessment of each instrument at each occasion again
    from the stored assessments (the database keeps these counts as assessments are saved;
    this is for after a bulk write that went around it). Audited; all or nothing."""
    from .store.counts import rebuild

    with state.store() as store:
        result = rebuild(store, actor=actor)
    click.echo(f"{result['counts']} counts written ({result['corrected']} corrected)")


@cli.group("audit")
def audit_group() -> None:
    """Check the audit trail."""


@audit_group.command("verify")
@click.option("--anchor", "anchor_file", type=click.Path(dir_okay=False, path_type=Path),
              help="Anchor file to check against (default: FORMSENGINE_AUDIT_ANCHOR, when it "
                   "exists): finds rows removed from the end and a rewritten chain.")
@click.option("--no-seal", is_flag=True,
              help="Only read: do not seal the page views not sealed yet before checking (for "
                   "a copy or backup of the database); they are counted as not yet sealed.")
@click.pass_obj
def audit_verify(state: State, anchor_file: Path | None, no_seal: bool) -> None:
    """Recompute the keyed audit chain; report the first broken row, and any anchor that the
    trail no longer agrees with. The page views not sealed yet are sealed first (one audit
    row), unless --no-seal."""
    from .audit import ANCHOR_ENV, read_anchors
    from .store.maintenance import verify_audit

    if anchor_file is None and os.environ.get(ANCHOR_ENV):
        configured = Path(os.environ[ANCHOR_ENV])
        anchor_file = configured if configured.exists() else None
    if anchor_file is not None and not anchor_file.is_file():
        fail(f"anchor file {anchor_file} does not exist")
    anchors = read_anchors(anchor_file) if anchor_file else None
    with state.store() as store:
        report = verify_audit(store, anchors, seal=not no_seal)
    if not report.ok:
        fail(report.message(), 1)
    click.echo(report.message())


@audit_group.command("seal")
@click.pass_obj
def audit_seal(state: State) -> None:
    """Seal the page views and lists not sealed yet into the audit chain (one audit row
    for the batch). ``serve`` seals every 500 views and before each anchor; ``verify``
    seals before it reads."""
    with state.store() as store:
        sealed = store.seal_views()
    click.echo(f"{sealed} view rows sealed" if sealed else "no view rows to seal")


@audit_group.command("anchor")
@click.argument("anchor_file", required=False,
                type=click.Path(dir_okay=False, allow_dash=True, path_type=Path))
@click.pass_obj
def audit_anchor(state: State, anchor_file: Path | None) -> None:
    """Check the chain, then record its head (row count, last id, hash, time) as one JSON
    line appended to ANCHOR_FILE (default: FORMSENGINE_AUDIT_ANCHOR; '-' or none: print it,
    to ship elsewhere). Keep anchors where the database's users cannot change them. Nothing
    is anchored when the chain, or the anchors already in the file, do not verify."""
    from .audit import ANCHOR_ENV, read_anchors, write_anchor
    from .store.maintenance import audit_head, verify_audit

    if anchor_file is None and os.environ.get(ANCHOR_ENV):
        anchor_file = Path(os.environ[ANCHOR_ENV])
    to_file = anchor_file if anchor_file is not None and str(anchor_file) != "-" else None
    earlier = read_anchors(to_file) if to_file and to_file.is_file() else None
    with state.store() as store:
        report = verify_audit(store, earlier)
        if not report.ok:
            fail(f"not anchored: {report.message()}", 1)
        anchor = audit_head(store)
    if anchor is None:
        fail("not anchored: the audit log has no rows yet", 1)
    if to_file is None:
        click.echo(anchor.to_json())
        return
    write_anchor(to_file, anchor)
    click.echo(f"anchored row {anchor.last_id} ({anchor.rows} rows) in {to_file}")


def before_serving(state: State) -> None:
    """What ``serve`` does first: warn when the database can be read by other users, and
    anchor the audit chain periodically when an anchor file is
    configured (FORMSENGINE_AUDIT_ANCHOR, every FORMSENGINE_AUDIT_ANCHOR_MINUTES)."""
    from .audit import start_anchoring

    if not state.settings.on_server:
        warn_if_readable(state.settings.database)
    anchorer = start_anchoring(state.settings.location)
    if anchorer is not None:
        click.echo(f"audit anchored in {anchorer.anchor_file} every "
                   f"{anchorer.interval / 60:g} minutes", err=True)


# -- demo ------------------------------------------------------------------------------------
DEMO_TEAM = "Demo"


def _demo_team(store: Store) -> int:
    """Give the synthetic cases (refs C-nnnnn, no team yet) to a team of their own, with the
    date of their first assessment as their opening date and the instruments assessed as
    the ones they follow, so that the web application shows them to that team's members."""
    from .store.maintenance import give_cases_to_team, synthetic_cases_without_team

    with store.write():
        team = store.ensure_team(DEMO_TEAM, actor="demo")
        cases = synthetic_cases_without_team(store)
        give_cases_to_team(store, team, cases)
        if cases:
            store.audit("demo_team", actor="demo", object_type="team", object_id=team,
                        details={"cases": len(cases)})
    return len(cases)


@cli.command("demo")
@click.option("--people", default=5, show_default=True, type=click.IntRange(1, 10000),
              help="Synthetic people per subject role.")
@click.pass_obj
def demo(state: State, people: int) -> None:
    """Create the database with synthetic assessments (no real people) and show how one
    person's scores changed over time."""
    import tempfile

    from .importer import import_file
    from .store import Store
    from .store.maintenance import has_synthetic_people
    from .synthetic import generate

    engine = state.engine
    if not len(engine.instruments):
        fail("no instruments are installed; install the plugins first (see README)")
    with Store.open(state.settings.location, engine, create=True) as store:
        if has_synthetic_people(store):
            click.echo(f"demo data already in {state.settings.database}")
        else:
            with tempfile.NamedTemporaryFile("w", suffix=".jsonl", delete=False) as fh:
                for record in generate(engine, people=people):
                    fh.write(json.dumps(record) + "\n")
            summary = import_file(store, Path(fh.name), actor="demo")
            Path(fh.name).unlink()
            click.echo(f"imported {summary['imported']} synthetic assessments into "
                       f"{state.settings.database}")
        moved = _demo_team(store)
        if moved:
            click.echo(f"{moved} synthetic cases belong to the team {DEMO_TEAM!r}: to see them "
                       "in the web application, create an account in that team, e.g.\n"
                       f"  formsengine users create demo --role practitioner --team {DEMO_TEAM}")
        from .compare import history

        for inst in engine.instruments:
            if inst.scoring.get("level"):
                prefix = "VS" if inst.subject_role == "victim_survivor" else "SU"
                click.echo("")
                print_history(history(store, f"{prefix}-00001", inst.id))


def main() -> None:
    _load_plugin_commands(cli)
    cli(prog_name="formsengine")


if __name__ == "__main__":  # pragma: no cover
    main()
