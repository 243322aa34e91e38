"""Built-in plugin: the ``formsengine fhir`` commands."""

from __future__ import annotations

import json
from pathlib import Path

import click

from ..hookspecs import hookimpl


def _emit(resource: dict, out: Path | None) -> None:
    from .fhir import validate

    validate(resource)
    text = json.dumps(resource, indent=2, ensure_ascii=False) + "\n"
    if out is None:
        click.echo(text, nl=False)
    else:
        out.write_text(text, encoding="utf-8")
        click.echo(f"written to {out}", err=True)


@hookimpl
def register_commands(cli: click.Group) -> None:
    @cli.group("fhir")
    def fhir() -> None:
        """FHIR R4 resources: Questionnaire and QuestionnaireResponse (JSON)."""

    @fhir.command("questionnaire")
    @click.argument("instrument_id")
    @click.option("--version", "version", help="Instrument version (default: newest).")
    @click.option("--out", type=click.Path(dir_okay=False, path_type=Path))
    @click.pass_obj
    def questionnaire_cmd(state, instrument_id: str, version: str | None,
                          out: Path | None) -> None:
        """An instrument definition as a FHIR Questionnaire."""
        from ..extras import require

        require("fhir", "fhir questionnaire")
        from .fhir import questionnaire

        _emit(questionnaire(state.engine.instruments.get(instrument_id, version)), out)

    @fhir.command("response")
    @click.argument("uid")
    @click.option("--out", type=click.Path(dir_okay=False, path_type=Path))
    @click.option("--actor", default="cli", show_default=True,
                  help="Name recorded in the audit.")
    @click.pass_obj
    def response_cmd(state, uid: str, out: Path | None, actor: str) -> None:
        """The assessment with this UID as a FHIR QuestionnaireResponse (audited)."""
        from ..extras import require

        require("fhir", "fhir response")
        from ..reports.context import assessment_id_for
        from .fhir import questionnaire_response

        with state.store() as store:
            assessment_id = assessment_id_for(store, uid)
            resource = questionnaire_response(store, assessment_id)
            store.audit("fhir_export", actor=actor, object_type="assessment",
                        object_id=assessment_id)
        _emit(resource, out)
