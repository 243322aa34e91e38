"""The ``formsengine rfg`` commands.

Bad rows: every bad row of every input file is reported with its line number. Without
``--skip-bad-rows`` the command then stops with exit code 1 and writes no ranking or harm
report (only the list of bad rows, when ``--out`` is given). With ``--skip-bad-rows`` the
bad rows are left out, listed on the terminal, in the JSON output and in
``rfg-bad-rows.csv``, and counted in the summary. Problems with a whole file (missing
columns, too large, unreadable configuration or table) stop the command with exit code 2.
"""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path
from typing import Any

import click

from . import RFG_HELP, __version__, output
from .config import load_config
from .csvfile import BadRow
from .dates import parse_iso_date
from .incidents import read_incidents, read_reference_dates
from .tables import ILLUSTRATIVE_NOTE, HarmTable, load_harm_table

PLUGIN = f"formsengine-rfg {__version__}"
DEFAULT_SHOWN = 20


def _date_option(ctx: click.Context, param: click.Parameter, value: str | None):
    if value is None:
        return None
    try:
        return parse_iso_date(value.strip())
    except ValueError as exc:
        raise click.BadParameter(f"{value[:20]!r} {exc}") from None


input_file = click.Path(exists=True, dir_okay=False, path_type=Path)
out_folder = click.Path(file_okay=False, path_type=Path)


@click.group("rfg", help=RFG_HELP)
def rfg() -> None:
    pass


def _stop_on_bad_rows(groups: list[tuple[str, list[BadRow]]], skip: bool,
                      out: Path | None) -> None:
    count = sum(len(bad) for _, bad in groups)
    if not count:
        return
    output.report_bad_rows(groups)
    if out is not None:
        output.write_bad_rows(output.prepare_out(out), groups)
    if skip:
        click.echo(f"warning: {count} bad row(s) left out (--skip-bad-rows)", err=True)
        return
    listed = f"; listed in {out.name}/rfg-bad-rows.csv" if out is not None else ""
    click.echo(f"error: {count} bad row(s){listed}. Nothing was computed. Correct them, or "
               "rerun with --skip-bad-rows to leave them out (they are then listed and "
               "counted in the output).", err=True)
    sys.exit(1)


def _table(path: Path | None) -> HarmTable:
    table = load_harm_table(path)
    if table.illustrative:
        click.echo(f"warning: using {ILLUSTRATIVE_NOTE}", err=True)
    return table


def _bad_json(groups: list[tuple[str, list[BadRow]]]) -> list[dict[str, Any]]:
    return [{"file": name, **b.to_json()} for name, bad in groups for b in bad]


@rfg.command("config")
@click.option("--config", "config_file", type=input_file,
              help="RFG configuration (TOML or JSON) laid over the defaults.")
@click.option("--harm-table", type=input_file,
              help="Harm table (CSV), when gravity.source is harm_days.")
def config_cmd(config_file: Path | None, harm_table: Path | None) -> None:
    """Print the effective RFG configuration and its hash as JSON."""
    config = load_config(config_file)
    sha = _table(harm_table).sha256 if config.gravity["source"] == "harm_days" else None
    if harm_table is not None and sha is None:
        raise click.UsageError("--harm-table is used only when gravity.source is "
                               "\"harm_days\" in the configuration")
    click.echo(output.to_json(config.record(sha)), nl=False)


@rfg.command("rank")
@click.argument("incidents", type=input_file)
@click.option("--as-of", required=True, callback=_date_option, metavar="DATE",
              help="Rank as of this date (YYYY-MM-DD); later incidents are ignored.")
@click.option("--config", "config_file", type=input_file,
              help="RFG configuration (TOML or JSON) laid over formsengine's illustrative "
                   "defaults. Not the organisation configuration given before 'rfg'.")
@click.option("--harm-table", type=input_file,
              help="Harm days per offence (CSV), used when gravity.source is harm_days.")
@click.option("--out", type=out_folder,
              help="Write rfg-ranking.csv and rfg-ranking.json to this folder.")
@click.option("--json", "as_json", is_flag=True, help="Print the JSON output.")
@click.option("--top", type=click.IntRange(1), metavar="N", help="Keep only the first N ranks.")
@click.option("--skip-bad-rows", is_flag=True,
              help="Leave bad rows out (listed and counted) instead of stopping.")
@click.option("--store", is_flag=True,
              help="Store each perpetrator's result as an rfg-ranking assessment.")
@click.option("--occasion", help="Occasion to store at (with --store), e.g. selection.")
@click.option("--db", type=click.Path(dir_okay=False, path_type=Path),
              help="Database file for --store (default: formsengine --db, FORMSENGINE_DB).")
@click.option("--existing-only", is_flag=True,
              help="With --store: store only perpetrators already in the database.")
@click.option("--actor", default="cli", show_default=True,
              help="Name recorded in the audit trail for --store.")
@click.pass_obj
def rank_cmd(state: Any, incidents: Path, as_of: dt.date, config_file: Path | None,
             harm_table: Path | None, out: Path | None, as_json: bool, top: int | None,
             skip_bad_rows: bool, store: bool, occasion: str | None, db: Path | None,
             existing_only: bool, actor: str) -> None:
    """Rank perpetrators in INCIDENTS (CSV) by recency, frequency, gravity and victims."""
    from .ranking import rank

    if store and not occasion:
        raise click.UsageError("--store needs --occasion (for example selection)")
    if (occasion or db or existing_only) and not store:
        raise click.UsageError("--occasion, --db and --existing-only go with --store")
    config = load_config(config_file)
    table = None
    if config.gravity["source"] == "harm_days":
        table = _table(harm_table)
        values, label = table.days, f"harm table {table.name}"
    elif harm_table is not None:
        raise click.UsageError("--harm-table is used only when gravity.source is "
                               "\"harm_days\" in the configuration (--config)")
    else:
        values, label = config.matrix(), "gravity matrix"
    data = read_incidents(incidents, values, table=label,
                          non_crime_value=config.gravity["non_crime"])
    groups = [(incidents.name, data.bad)]
    _stop_on_bad_rows(groups, skip_bad_rows, out)
    ranking = rank(data, config, as_of, table.sha256 if table else None)
    rows = ranking.rows()
    kept = ranking.results if top is None else ranking.results[:top]
    payload: dict[str, Any] = {
        "kind": "rfg-ranking",
        "produced_by": PLUGIN,
        "as_of": as_of.isoformat(),
        "window": {"months": config.window_months, "start": ranking.window_start.isoformat(),
                   "end": as_of.isoformat()},
        "configuration": config.record(table.sha256 if table else None),
        "harm_table": table.record() if table else None,
        "input": data.summary(),
        "counts": ranking.counts,
        "bad_rows": _bad_json(groups),
        "warnings": ranking.warnings,
        "ranking": rows if top is None else rows[:top],
    }
    for warning in ranking.warnings:
        click.echo(f"warning: {warning}", err=True)
    if out is not None:
        paths = output.write_ranking(output.prepare_out(out), payload)
        click.echo(f"wrote {', '.join(p.name for p in paths)} to {out}", err=True)
    if as_json:
        click.echo(output.to_json(payload), nl=False)
    else:
        click.echo(f"RFG ranking as of {as_of.isoformat()}: {len(rows)} perpetrators, "
                   f"configuration {ranking.config_hash[:19]}...")
        output.print_ranking(payload["ranking"], top or DEFAULT_SHOWN)
    if store and occasion:  # --store without --occasion is refused above
        from .storage import store_ranking

        if db is not None:
            state.settings.database = db
        opened = state.store()
        try:
            done = store_ranking(opened, ranking, kept, occasion=occasion,
                                 config_name=config.name, window_months=config.window_months,
                                 actor=actor, existing_only=existing_only)
        finally:
            opened.close()
        skipped = (f" ({done['skipped_not_in_database']} not in the database, left out)"
                   if existing_only else "")
        click.echo(f"stored {done['stored']} rfg-ranking assessments at occasion "
                   f"{occasion} in {state.settings.database}{skipped}", err=True)


@rfg.command("harm")
@click.argument("incidents", type=input_file)
@click.option("--reference-dates", required=True, type=input_file,
              help="CSV with perpetrator_ref and reference_date (YYYY-MM-DD).")
@click.option("--block-months", default=6, show_default=True, type=click.IntRange(1, 60),
              help="Length of each block in months.")
@click.option("--blocks", default=2, show_default=True, type=click.IntRange(1, 20),
              help="Blocks before and after the reference date.")
@click.option("--harm-table", type=input_file,
              help="Harm days per offence (CSV). Default: the illustrative table, which is "
                   "NOT the Cambridge Crime Harm Index.")
@click.option("--data-start", callback=_date_option, metavar="DATE",
              help="First day the incident data covers; earlier blocks are not counted.")
@click.option("--data-end", callback=_date_option, metavar="DATE",
              help="Last day the incident data covers; later blocks are not counted.")
@click.option("--out", type=out_folder,
              help="Write rfg-harm-blocks.csv, rfg-harm-summary.csv and rfg-harm.json here.")
@click.option("--json", "as_json", is_flag=True, help="Print the JSON output.")
@click.option("--skip-bad-rows", is_flag=True,
              help="Leave bad rows out (listed and counted) instead of stopping.")
def harm_cmd(incidents: Path, reference_dates: Path, block_months: int, blocks: int,
             harm_table: Path | None, data_start: dt.date | None, data_end: dt.date | None,
             out: Path | None, as_json: bool, skip_bad_rows: bool) -> None:
    """Crime harm days per perpetrator in blocks before and after a reference date, and the
    DA reoffending rate per block."""
    from .harm import harm_blocks

    if data_start and data_end and data_start > data_end:
        raise click.UsageError("--data-start is after --data-end")
    table = _table(harm_table)
    data = read_incidents(incidents, table.days, table=f"harm table {table.name}",
                          non_crime_value=0)
    references = read_reference_dates(reference_dates)
    groups = [(incidents.name, data.bad), (reference_dates.name, references.bad)]
    _stop_on_bad_rows(groups, skip_bad_rows, out)
    if not references.dates:
        raise click.UsageError(f"{reference_dates.name} gives no usable reference dates")
    report = harm_blocks(data, references, block_months=block_months, blocks=blocks,
                         data_start=data_start, data_end=data_end)
    payload = {
        "kind": "rfg-harm",
        "produced_by": PLUGIN,
        "block_months": block_months,
        "blocks": report.summary,
        "block_labels": report.labels,
        "data_start": data_start.isoformat() if data_start else None,
        "data_end": data_end.isoformat() if data_end else None,
        "harm_table": table.record(),
        "input": {**data.summary(), "reference_dates_file": references.file,
                  "reference_rows_read": references.rows_read},
        "counts": report.counts,
        "bad_rows": _bad_json(groups),
        "warnings": report.warnings,
        "perpetrators": report.perpetrators,
    }
    for warning in report.warnings:
        click.echo(f"warning: {warning}", err=True)
    if out is not None:
        paths = output.write_harm(output.prepare_out(out), payload, report.block_rows())
        click.echo(f"wrote {', '.join(p.name for p in paths)} to {out}", err=True)
    if as_json:
        click.echo(output.to_json(payload), nl=False)
    else:
        click.echo(f"Crime harm in {blocks} block(s) of {block_months} months before and after "
                   f"the reference date: {report.counts['cohort']} perpetrators")
        output.print_harm(report.summary)
