"""Commands for erasure and retention (see ``formsengine.erasure``)."""

from __future__ import annotations

import datetime as dt

import click

from ..hookspecs import hookimpl


@hookimpl
def register_commands(cli: click.Group) -> None:
    cli.add_command(erase)
    cli.add_command(retention)


@click.group()
def erase() -> None:
    """Erase a person or one assessment record, leaving an audit tombstone."""


def _store(ctx: click.Context):
    return ctx.find_root().obj.store()


def _reason_options(func):
    """--reason (a code from a fixed list) and --reference (the request's number): what the
    permanent audit keeps about why, with no free text in which someone could be named."""
    from ..erasure import ERASURE_REASONS, REFERENCE_EXAMPLE

    func = click.option(
        "--reference", required=True,
        help=f"Number of the request or decision in your records, e.g. {REFERENCE_EXAMPLE} "
             "(capital-letter prefix, then digits).")(func)
    return click.option(
        "--reason", required=True, type=click.Choice(list(ERASURE_REASONS)),
        help="Why: " + "; ".join(f"{code}: {text}" for code, text in
                                 ERASURE_REASONS.items()))(func)


ACTOR_HELP = ("Name recorded in the audit (the operating-system account that ran the command "
              "is recorded beside it).")


@erase.command("person")
@click.argument("ref")
@_reason_options
@click.option("--actor", default="cli", show_default=True, help=ACTOR_HELP)
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@click.pass_context
def erase_person_cmd(ctx: click.Context, ref: str, reason: str, reference: str, actor: str,
                     yes: bool) -> None:
    """Erase person REF with every assessment and score of theirs."""
    from ..erasure import check_reason, erase_person

    check_reason(reason, reference, record_ref=ref)  # before asking
    if not yes:
        click.confirm(f"Erase person {ref} and all their assessments? This cannot be undone",
                      abort=True)
    with _store(ctx) as store:
        counts = erase_person(store, ref, actor=actor, reason=reason, reference=reference)
    click.echo(f"erased person {ref}: {counts['assessments']} assessment(s), "
               f"{counts['cases_removed']} empty case(s); the audit keeps a tombstone")
    click.echo(counts.remains)


@erase.command("assessment")
@click.argument("uid")
@_reason_options
@click.option("--actor", default="cli", show_default=True, help=ACTOR_HELP)
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@click.pass_context
def erase_assessment_cmd(ctx: click.Context, uid: str, reason: str, reference: str,
                         actor: str, yes: bool) -> None:
    """Erase one assessment record (all its versions) by its opaque id."""
    from ..erasure import check_reason, erase_assessment
    from ..errors import StorageError
    from ..store.caseviews import assessment_id

    check_reason(reason, reference)  # before asking

    with _store(ctx) as store:
        found = assessment_id(store, uid)
        if found is None:
            raise StorageError(f"no assessment {uid!r}")
        if not yes:
            click.confirm(f"Erase assessment {uid} and every version of it?", abort=True)
        remains = erase_assessment(store, found, actor=actor, reason=reason,
                                   reference=reference)
    click.echo(f"erased assessment {uid}; the audit keeps a tombstone")
    click.echo(remains)


@erase.command("checkpoint")
@click.pass_context
def checkpoint_cmd(ctx: click.Context) -> None:
    """Copy everything into the database file and empty the write-ahead log."""
    from ..erasure import checkpoint

    with _store(ctx) as store:
        checkpoint(store)
    click.echo("write-ahead log emptied")


@click.group()
def retention() -> None:
    """Apply the retention periods of the organisation's configuration."""


@retention.command("purge")
@click.option("--dry-run", is_flag=True, help="Only report what would be removed.")
@click.option("--today", type=click.DateTime(["%Y-%m-%d"]), default=None,
              help="Date to measure from (default: today).")
@click.option("--actor", default="cli", show_default=True, help="Name recorded in the audit.")
@click.pass_context
def purge_cmd(ctx: click.Context, dry_run: bool, today, actor: str) -> None:
    """Remove drafts and people past their retention period ([retention] in the config)."""
    from ..erasure import plan_purge, purge, retention_settings

    state = ctx.find_root().obj
    settings = retention_settings(state.engine.org_config.raw)
    if not settings:
        click.echo("no retention periods are configured ([retention] in the configuration)")
        return
    with state.store() as store:
        plan = plan_purge(store, settings, (today.date() if today else dt.date.today()))
        click.echo(f"{len(plan.drafts)} draft(s) and {len(plan.people)} person(s) are past "
                   "their retention period")
        if not dry_run and (plan.drafts or plan.people):
            remains = purge(store, plan, actor=actor)
            click.echo("removed; the audit keeps a tombstone for each")
            click.echo(remains)
