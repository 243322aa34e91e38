"""Built-in plugin: the research export formats and the ``formsengine export`` commands."""

from __future__ import annotations

from pathlib import Path

import click

from ..hookspecs import hookimpl


@hookimpl
def register_export_formats(register) -> None:
    from .formats import BUILTIN_FORMATS

    for fmt in BUILTIN_FORMATS:
        register(fmt)


def split_values(values: tuple[str, ...]) -> list[str] | None:
    """``--x a,b --x c`` -> ``[a, b, c]``; nothing given -> None."""
    out = [v.strip() for value in values for v in value.split(",") if v.strip()]
    return out or None


def registered_formats_text() -> str:
    """'csv, parquet, sav, dta, xyz (description)': every format the installed plugins
    register, the built-in formats first by id, then the others with their description."""
    from ..plugins import make_plugin_manager
    from .formats import BUILTIN_FORMATS, format_registry

    builtin = {f.id for f in BUILTIN_FORMATS}
    try:
        formats = format_registry(make_plugin_manager(load_entrypoints=True))
    except Exception:  # help must show even when a plugin is broken
        formats = {f.id: f for f in BUILTIN_FORMATS}
    ordered = sorted(formats.values(), key=lambda f: f.id not in builtin)
    return ", ".join(f.id if f.id in builtin else f"{f.id} ({f.description})"
                     for f in ordered)


class FormatOption(click.Option):
    """``--format``: its help lists the formats registered when the help is shown, those
    added by plugins included."""

    def get_help_record(self, ctx: click.Context):
        self.help = ("File format (repeat or comma-separate); default: every registered "
                     f"format: {registered_formats_text()}.")
        return super().get_help_record(ctx)


@hookimpl
def register_commands(cli: click.Group) -> None:
    @cli.group("export")
    def export() -> None:
        """Pseudonymised research exports and their keys."""

    @export.command("keygen")
    @click.option("--project", required=True, help="Research project name.")
    @click.option("--key-file", required=True, type=click.Path(dir_okay=False, path_type=Path),
                  help="File to create (permissions 0600); keep it outside the database "
                       "and every export folder.")
    def keygen(project: str, key_file: Path) -> None:
        """Create a project's pseudonymisation key file."""
        from .keys import create_key_file

        key = create_key_file(key_file, project)
        click.echo(f"key {key.key_id} for project {project} written to {key_file} (mode 600)")

    @export.command("research")
    @click.option("--project", required=True, help="Research project name (must match the key).")
    @click.option("--out", required=True, type=click.Path(file_okay=False, path_type=Path),
                  help="New folder to write the export to.")
    @click.option("--key-file", required=True,
                  type=click.Path(exists=True, dir_okay=False, path_type=Path),
                  help="The project's key file (see 'export keygen').")
    @click.option("--purpose", required=True, help="Why the data are exported (audited).")
    @click.option("--instruments", "instruments", multiple=True,
                  help="Instrument ids (repeat or comma-separate); default: every instrument "
                       "with final assessments.")
    @click.option("--occasions", "occasions", multiple=True,
                  help="Occasion ids (repeat or comma-separate); default: all.")
    @click.option("--format", "formats", multiple=True, cls=FormatOption,
                  help="File format (repeat or comma-separate); default: every registered "
                       "format.")
    @click.option("--k", "k", type=click.IntRange(1, 1000),
                  help="Smallest group of people a combination of quasi-identifiers may "
                       "cover [configuration research.k; default 5]. Below 5 only with "
                       "--allow-small-k.")
    @click.option("--allow-small-k", is_flag=True,
                  help="Allow a k below 5 (recorded in the manifest and the audit).")
    @click.option("--quasi-identifier", "quasi_identifiers", multiple=True,
                  help="Wide-file column treated as a quasi-identifier (repeat) "
                       "[configuration research.quasi_identifiers; default role, age_band].")
    @click.option("--no-codebook-pdf", is_flag=True, help="Write the codebook as HTML only.")
    @click.option("--actor", default="cli", show_default=True,
                  help="Name recorded in the audit.")
    @click.option("--quiet", is_flag=True, help="No progress messages.")
    @click.pass_obj
    def research(state, project, out, key_file, purpose, instruments, occasions, formats, k,
                 allow_small_k, quasi_identifiers, no_codebook_pdf, actor, quiet) -> None:
        """Write pseudonymised long, wide and item-level files (CSV, Parquet, SPSS, Stata),
        a data package, a codebook and a manifest to OUT."""
        from ..extras import require

        require("research", "export research")
        from .research import ResearchOptions, export_research

        opts = ResearchOptions(
            project=project, out=out, key_file=key_file, purpose=purpose,
            instruments=split_values(instruments), occasions=split_values(occasions),
            formats=split_values(formats), k=k, allow_small_k=allow_small_k,
            quasi_identifiers=split_values(quasi_identifiers),
            codebook_pdf=not no_codebook_pdf, actor=actor)
        with state.store() as store:
            manifest = export_research(
                store, opts, progress=(lambda m: None) if quiet else
                (lambda m: click.echo(m, err=True)))
        ka = manifest["k_anonymity"]
        click.echo(f"exported {manifest['counts']['people']} people, "
                   f"{manifest['counts']['assessments']} assessments, "
                   f"{len(manifest['files'])} files to {out} (k achieved {ka['k_achieved']}, "
                   f"key {manifest['pseudonymisation']['key_id']})")
