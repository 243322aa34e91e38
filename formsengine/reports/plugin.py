"""Built-in plugin: the ``formsengine report`` commands."""

from __future__ import annotations

import os
from pathlib import Path

import click

from ..hookspecs import hookimpl


def write_private(folder: Path, kind: str, pdf: bytes) -> Path:
    """Write ``pdf`` under an opaque name, readable by its owner only (a folder it makes:
    its owner's only too)."""
    from .names import opaque_filename

    if not folder.exists():
        folder.mkdir(parents=True)
        os.chmod(folder, 0o700)
    path = folder / opaque_filename(kind)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    os.fchmod(fd, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(pdf)
    return path


@hookimpl
def register_commands(cli: click.Group) -> None:
    @cli.group("report")
    def report() -> None:
        """PDF reports: assessment, MARAC referral summary, case progress."""

    out_dir = click.option("--out-dir", type=click.Path(file_okay=False, path_type=Path),
                           default=Path("."), show_default=True,
                           help="Folder for the PDF (its name is random).")
    actor = click.option("--actor", default="cli", show_default=True,
                         help="Name recorded in the audit.")

    def run(state, kind: str, uid: str, folder: Path, who: str,
            language: str | None = None) -> None:
        from . import render_assessment_pdf, render_case_pdf, render_marac_pdf
        from .context import assessment_id_for, case_id_for

        with state.store() as store:
            if kind == "case":
                pdf = render_case_pdf(store, case_id_for(store, uid), actor=who,
                                      language=language)
            else:
                render = render_marac_pdf if kind == "marac" else render_assessment_pdf
                pdf = render(store, assessment_id_for(store, uid), actor=who)
        click.echo(str(write_private(folder, kind, pdf)))

    @report.command("assessment")
    @click.argument("uid")
    @out_dir
    @actor
    @click.pass_obj
    def assessment_cmd(state, uid: str, out_dir: Path, actor: str) -> None:
        """Assessment report for the assessment with this UID: answers in the wording
        shown, comments, scores, level, MARAC criteria, flags, assessor and times. (Put
        -- before a UID that starts with '-'.)"""
        run(state, "assessment", uid, out_dir, actor)

    @report.command("marac")
    @click.argument("uid")
    @out_dir
    @actor
    @click.pass_obj
    def marac_cmd(state, uid: str, out_dir: Path, actor: str) -> None:
        """MARAC referral summary for the DASH assessment with this UID."""
        run(state, "marac", uid, out_dir, actor)

    @report.command("case")
    @click.argument("uid")
    @out_dir
    @actor
    @click.option("--language", type=click.Choice(["en", "cy"]), default="en",
                  show_default=True,
                  help="Language of the report (an assessment's reports are in the language "
                       "it was completed in).")
    @click.pass_obj
    def case_cmd(state, uid: str, out_dir: Path, actor: str, language: str) -> None:
        """Case progress report for the case with this UID or reference: every instrument across
        occasions, with change charts."""
        run(state, "case", uid, out_dir, actor, language)
