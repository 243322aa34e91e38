"""The hooks a formsengine plugin may implement.

Each hook's docstring is its contract: what it receives, what it must return, and what
``None`` means. Plugins implement hooks with ``@formsengine.hookimpl``. Built-in behaviour is
itself a set of plugins (see ``formsengine.plugins.DEFAULT_PLUGINS``) registered through the
same path as an organisation's plugin, with fallbacks marked ``trylast`` so that installed
plugins win.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import pluggy

if TYPE_CHECKING:  # pragma: no cover - typing only
    from pathlib import Path

    import click

    from .instruments import Instrument
    from .store import Store
    from .submission import Submission

hookspec = pluggy.HookspecMarker("formsengine")
hookimpl = pluggy.HookimplMarker("formsengine")


@hookspec
def register_instruments(register: Callable[..., None]) -> None:
    """Offer instrument definitions to the core.

    Call ``register(definition)`` once per instrument, where ``definition`` is either a
    ``dict`` following ``schemas/instrument.schema.json`` or a path to a JSON file holding
    one. The core validates each definition as it arrives and records which plugin sent it;
    a definition that fails the schema is rejected with the plugin's name, the file and the
    JSON path of the problem. Registering an ``(id, version)`` that another plugin already
    registered is an error. Return value is ignored.
    """


@hookspec
def register_wording_packs(register: Callable[..., None]) -> None:
    """Offer wording packs: an instrument's wording in one language (licensed official
    wording, or a plugin's own words), its items keyed by item id and its own headings by
    the ids the definition gives them.

    Call ``register(pack)`` with a ``dict`` following ``schemas/wording-pack.schema.json``
    or a path to a JSON file. Packs are validated on arrival and must name items and parts
    that exist in the instrument they target. Return value is ignored.
    """


@hookspec(firstresult=True)
def score_assessment(
    instrument: Instrument, submission: Submission, parameters: dict[str, Any]
) -> dict[str, Any] | None:
    """Score one validated submission of ``instrument``.

    ``parameters`` are the instrument's scoring parameters after the organisation's
    configuration has been applied. Return a result ``dict`` with the keys ``scores``,
    ``bands``, ``level``, ``flags``, ``criteria``, ``criteria_groups``, ``complete`` and
    ``warnings`` (see ``docs/scoring.md``), or ``None`` to leave the instrument to the next
    plugin. Stops at the first non-``None`` result. The built-in declarative engine is
    registered ``trylast`` and scores every instrument whose definition declares ``scoring``;
    a plugin implements this hook only for what a definition cannot say.
    The core adds the instrument, scorer and configuration records to the result.
    """


@hookspec
def assessment_flags(
    instrument: Instrument, submission: Submission, result: dict[str, Any]
) -> dict[str, bool] | None:
    """Add flags to a scored result, for concerns a definition cannot express.

    Return a mapping of flag id to ``True``/``False`` (merged into ``result["flags"]``), or
    ``None`` for nothing to add. A plugin may not overwrite a flag the scorer already set to
    ``True``: flags only ever raise concern.
    """


@hookspec
def register_migrations() -> tuple[str, str | Path] | None:
    """Offer database migrations: one Alembic version branch of the plugin's own.

    Return ``(label, versions directory)``: the branch label (the plugin's name: lower-case
    letters, digits and ``_``), which every revision of the branch carries through its first
    revision's ``branch_labels``, and the directory holding the branch's revision files
    (shipped with the plugin). ``formsengine db revision -m MSG --branch LABEL`` writes a new
    revision there. ``formsengine db upgrade`` applies every branch; a server refuses to start
    while any branch is behind. ``None`` offers nothing. See ``docs/plugin-hooks.md``.
    """


@hookspec
def register_commands(cli: click.Group) -> None:
    """Add click commands or groups to the ``formsengine`` command line.

    Use ``@cli.command()`` or ``cli.add_command(...)``. Return value is ignored.
    """


@hookspec
def assessment_saved(store: Store, assessment_id: int, result: dict[str, Any] | None) -> None:
    """Called after an assessment and its score row have been committed.

    ``store`` is the open ``formsengine.store.Store``; ``result`` is the score result or
    ``None`` for a draft that was not scored. Must not raise for ordinary conditions: an
    exception is logged and does not undo the save. Return value is ignored.
    """


@hookspec
def report_sections(kind: str, context: dict[str, Any]) -> list[dict[str, str]] | None:
    """Add sections to a PDF report.

    ``kind`` is the report being built: ``"assessment"``, ``"marac"`` or ``"case"``.
    ``context`` is the report's data (read it, do not change it): for ``assessment`` and
    ``marac`` the keys ``assessment`` (the stored assessment with ``answers``, ``fields``,
    ``result``, ``instrument_id`` and ``occasion``) and ``instrument`` (the ``Instrument``);
    for ``case`` the keys ``case``, ``people`` and ``blocks`` (one per person and instrument,
    each with ``instrument`` and ``history``, the change over time of ``compare.history``).

    Return a list of sections, each a ``dict`` with ``title`` (plain text; it is escaped) and
    ``html`` (an HTML fragment inserted as it is), or ``None`` for nothing to add. The
    plugin is responsible for escaping every value it puts in ``html``
    (``markupsafe.escape``). Resources the fragment refers to are subject to the report's URL
    fetcher, which serves only formsengine's own static files: no network, no local files.
    Sections from all plugins appear in registration order after the built-in sections.
    """


@hookspec
def register_export_formats(register: Callable[..., None]) -> None:
    """Offer file formats for research exports.

    Call ``register(fmt)`` with a ``formsengine.exports.formats.ExportFormat``: an ``id``
    (used by ``--format``), a file ``suffix``, a ``description`` and a ``write(frame,
    variables, path, title)`` function that writes one table (a pandas ``DataFrame``) to
    ``path``. ``variables`` describe every column (``formsengine.exports.coding.Variable``:
    name, label, type, value labels, whether it may hold the labelled missing codes); a
    writer must keep them as far as the format allows, must not write free text of its own
    and must not write outside ``path``. Registering an id twice is an error. The built-in
    formats ``csv``, ``parquet``, ``sav`` and ``dta`` are registered the same way. Return
    value is ignored.
    """
