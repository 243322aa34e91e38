"""Built-in plugin: the ``formsengine analyse`` commands."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from ..hookspecs import hookimpl

FORMATS = ("json", "csv", "html", "pdf")


def _emit(kind: str, result: dict, fmt: str, out: Path | None) -> None:
    from . import render

    if fmt == "json":
        data: str | bytes = render.to_json(result)
    elif fmt == "csv":
        if kind == "paired":
            data = render.to_csv(render.paired_rows(result))
        else:
            data = render.to_csv(render.harm_rows(result), ["group", "measure", "value"])
    elif fmt == "html":
        data = render.to_html(f"{kind}.html", result)
    else:
        data = render.to_pdf(f"{kind}.html", result)
    if out is not None:
        if isinstance(data, bytes):
            out.write_bytes(data)
        else:
            out.write_text(data, encoding="utf-8")
        click.echo(f"written to {out}", err=True)
    elif isinstance(data, bytes):
        if sys.stdout.isatty():
            raise click.UsageError("a PDF is not printed to a terminal: give --out FILE")
        sys.stdout.buffer.write(data)
    else:
        click.echo(data, nl=False)


@hookimpl
def register_commands(cli: click.Group) -> None:
    @cli.group("analyse")
    def analyse() -> None:
        """Paired comparisons between occasions, and crime harm between groups."""

    @analyse.command("paired")
    @click.option("--instrument", "instrument_id", required=True, help="Instrument id.")
    @click.option("--from", "first", required=True, help="First occasion, e.g. intake.")
    @click.option("--to", "second", required=True, help="Second occasion, e.g. closure.")
    @click.option("--group", help="Group by an answer or score: INSTRUMENT:ITEM, "
                                  "INSTRUMENT:SCORE or an item id.")
    @click.option("--format", "fmt", type=click.Choice(FORMATS), default="json",
                  show_default=True)
    @click.option("--out", type=click.Path(dir_okay=False, path_type=Path),
                  help="Write to this file instead of standard output.")
    @click.option("--actor", default="cli", show_default=True,
                  help="Name recorded in the audit.")
    @click.pass_obj
    def paired_cmd(state, instrument_id, first, second, group, fmt, out, actor) -> None:
        """Exact McNemar tests, transition tables and Wilcoxon tests between two occasions,
        for people assessed at both."""
        from ..extras import require

        require("research", "analyse paired")
        from .paired import paired

        with state.store() as store:
            result = paired(store, instrument_id, first, second, group)
            store.audit("analysis", actor=actor, object_type="paired_comparison",
                        details={"instrument": instrument_id, "from": first, "to": second,
                                 "group": group, "paired": result["people"]["paired"]})
        _emit("paired", result, fmt, out)

    @analyse.command("harm")
    @click.argument("harm_file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
    @click.option("--groups", "groups_file",
                  type=click.Path(exists=True, dir_okay=False, path_type=Path),
                  help="CSV of person (or perpetrator_ref) and group, for a per-block file "
                       "without a group column.")
    @click.option("--treatment", help="Name of the treatment group (default: 'treatment').")
    @click.option("--format", "fmt", type=click.Choice(FORMATS), default="json",
                  show_default=True)
    @click.option("--out", type=click.Path(dir_okay=False, path_type=Path),
                  help="Write to this file instead of standard output.")
    def harm_cmd(harm_file, groups_file, treatment, fmt, out) -> None:
        """Difference in differences of crime harm between two groups. HARM_FILE is a CSV:
        person, group, before, after; or the RFG harm-per-block file (perpetrator_ref,
        block, harm_days, observed) with a group column or --groups."""
        from ..extras import require

        require("research", "analyse harm")
        from .harm import difference_in_differences, read_harm

        people, left_out = read_harm(harm_file, groups_file)
        result = difference_in_differences(people, treatment)
        result["left_out"] = left_out
        _emit("harm", result, fmt, out)
