"""The pseudonymised research export: long, wide and item-level files in every registered
format, a Frictionless data package, a codebook (HTML and PDF) and a manifest.

Everything is built and checked in memory first (including the k-anonymity gate); files are
written to a hidden folder beside the target and moved into place at the end, so a refused
or failed export leaves nothing behind. Every export, and every refusal, is audited with its
stated purpose.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import secrets
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .. import __version__
from ..errors import FormsEngineError
from ..store.exports import exported_instruments
from . import DEFAULT_K
from . import tables as T
from .codebook import Table
from .collect import collect
from .formats import format_registry
from .items import build_items, repeat_tables
from .keys import load_key_file
from .privacy import AGE_BANDS, ExportRefused, check_k_anonymity, refusal_message
from .writer import FileWriter, auto_workers, file_records, write_codebook, write_datapackage

if TYPE_CHECKING:
    from ..store import Store

DEFAULT_QUASI_IDENTIFIERS = ("role", "age_band")
MANIFEST = "manifest.json"
PRIVATE_FILE, PRIVATE_DIR = 0o600, 0o700  # as the store's files


@dataclass
class ResearchOptions:
    project: str
    out: Path
    key_file: Path
    purpose: str
    instruments: list[str] | None = None
    occasions: list[str] | None = None
    formats: list[str] | None = None
    k: int | None = None
    quasi_identifiers: list[str] | None = None
    suppress_below: int | None = None
    codebook_pdf: bool = True
    workers: int | None = None  # processes writing SPSS/Stata alongside; None: automatic
    allow_small_k: bool = False  # k below DEFAULT_K only when asked for (manifest, audit)
    actor: str = "cli"
    request_id: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def research_settings(store: Store, opts: ResearchOptions) -> tuple[int, list[str], int]:
    """k, quasi-identifiers and the suppression threshold: options, then the organisation's
    ``[research]`` configuration, then the defaults."""
    conf = store.engine.org_config.raw.get("research", {})
    if not isinstance(conf, dict):
        raise FormsEngineError("configuration: [research] must be a table")
    k: int = opts.k if opts.k is not None else conf.get("k", DEFAULT_K)
    qis = opts.quasi_identifiers if opts.quasi_identifiers is not None else conf.get(
        "quasi_identifiers", list(DEFAULT_QUASI_IDENTIFIERS))
    threshold: int = opts.suppress_below if opts.suppress_below is not None else conf.get(
        "suppress_below", k)
    for name, value in (("k", k), ("suppress_below", threshold)):
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise FormsEngineError(f"research setting {name} must be a whole number of at "
                                   f"least 1, not {value!r}")
    if not isinstance(qis, list) or not all(isinstance(q, str) for q in qis):
        raise FormsEngineError("research setting quasi_identifiers must be a list of names")
    if k < DEFAULT_K and not opts.allow_small_k:
        raise FormsEngineError(
            f"k={k} is below {DEFAULT_K}: groups of fewer than {DEFAULT_K} people make it easy "
            "to recognise someone. Nothing was written. If the project's approval allows it, "
            "run again with --allow-small-k (it is recorded in the manifest and the audit)")
    return k, list(qis), threshold


def _check_target(opts: ResearchOptions) -> None:
    if not opts.purpose or len(opts.purpose.strip()) < 10:
        raise FormsEngineError("give the purpose of the export (--purpose, at least 10 "
                               "characters): it is recorded in the audit trail")
    out = opts.out
    if opts.key_file.resolve().is_relative_to(out.resolve()):
        raise FormsEngineError("the key file must not be inside the export folder")
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise FormsEngineError(f"{out} already exists and is not an empty folder; choose a "
                               "new folder for the export")


def _instruments(store: Store, opts: ResearchOptions) -> list[str]:
    engine = store.engine
    if opts.instruments:
        for inst_id in opts.instruments:
            engine.instruments.get(inst_id)  # clear error for an unknown id
        return sorted(set(opts.instruments))
    return sorted(i for i in exported_instruments(store) if i in engine.instruments)


def export_research(store: Store, opts: ResearchOptions,
                    progress: Callable[[str], None] = lambda _m: None) -> dict[str, Any]:
    """Run the export; return the manifest. Raises ExportRefused (nothing written) when the
    k-anonymity gate fails."""
    started = time.monotonic()

    def say(message: str) -> None:
        progress(f"[{time.monotonic() - started:6.1f}s] {message}")

    engine = store.engine
    _check_target(opts)
    key = load_key_file(opts.key_file, opts.project)
    k, qis, threshold = research_settings(store, opts)
    registry = format_registry(engine.pm)
    formats = opts.formats or list(registry)
    unknown = [f for f in formats if f not in registry]
    if unknown:
        raise FormsEngineError(f"unknown export format(s) {', '.join(unknown)} "
                               f"(formats: {', '.join(registry)})")
    instruments = _instruments(store, opts)
    if not instruments:
        raise FormsEngineError("there are no final assessments to export")
    c = collect(store, key, instruments, opts.occasions, say)
    if c.assessments.empty:
        raise FormsEngineError("no final assessments match the instruments and occasions")
    a = T.sort_assessments(c, engine)
    coded = T.code_values(c, a, engine)
    wide, wide_vars = T.build_wide(c, a, coded)
    say(f"wide table: {len(wide)} people x {len(wide_vars)} variables")
    gate = _k_gate(wide, wide_vars, qis, k)
    if not gate.ok:
        store.audit("research_export_refused", actor=opts.actor, object_type="research_export",
                    request_id=opts.request_id,
                    details={"project": opts.project, "purpose": opts.purpose.strip(),
                             "k_required": k, "k_achieved": gate.k_achieved,
                             "small_k_allowed": k < DEFAULT_K,
                             "quasi_identifiers": qis, "key_id": key.key_id})
        raise ExportRefused(refusal_message(gate))
    long, long_vars = T.build_long(c, a, coded)
    say(f"long table: {len(long)} rows")
    aggregates, agg_vars, suppressed = T.build_aggregates(a, coded, threshold)
    created = dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat()
    info = {"project": opts.project, "created": created, "version": __version__,
            "key_id": key.key_id, "k_required": k, "k_achieved": gate.k_achieved,
            "small_k_allowed": k < DEFAULT_K,
            "quasi_identifiers": qis, "threshold": threshold,
            "instruments": [_instrument_info(engine, i, a) for i in instruments]}
    workers = auto_workers(len(long)) if opts.workers is None else opts.workers
    staging = opts.out.parent / f".{opts.out.name}.partial-{secrets.token_hex(4)}"
    staging.mkdir(parents=True)
    os.chmod(staging, PRIVATE_DIR)  # nobody else can open what is written in it
    try:
        with FileWriter(staging, formats, registry, say, workers) as writer:
            out_tables = [
                Table("scores_long", "Scores, long", "One row per person x instrument x "
                      "occasion x result, for every final assessment.", long, long_vars),
                Table("scores_wide", "Scores, wide", "One row per person; one column per "
                      "instrument x result x occasion (the latest assessment at each "
                      "occasion).", wide, wide_vars),
            ]
            for table in out_tables:
                writer.add(table)
            for inst_id in instruments:
                if (a["instrument"] == inst_id).any():
                    table = _items_table(store, c, a, inst_id)
                    say(f"items of {inst_id}: {len(table.frame)} rows x "
                        f"{len(table.variables)} variables")
                    writer.add(table)
                    out_tables.append(table)
                    for extra_table in _repeat_tables(store, table, inst_id):
                        writer.add(extra_table)
                        out_tables.append(extra_table)
            table = Table("aggregates", "Aggregate counts", "People at each value of each "
                          "categorical result, per instrument and occasion; counts from 1 "
                          f"to {threshold - 1} suppressed, and further cells of the same "
                          "result where one could otherwise be worked out by subtraction.",
                          aggregates, agg_vars)
            writer.add(table, ["csv"])
            out_tables.append(table)
            extra = write_codebook(staging, out_tables, _results(coded.specs), info,
                                   opts.codebook_pdf)
            say("wrote the codebook")
            files = writer.finish()
        extra.append(write_datapackage(staging, out_tables, info, files))
        files += file_records(staging, extra)
        manifest = _manifest(opts, info, out_tables, files, suppressed, len(c.people),
                             len(a), formats)
        (staging / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n")
        # audited before the files are moved into place: no export without its audit row
        store.audit("research_export", actor=opts.actor, object_type="research_export",
                    object_id=manifest["export_id"], request_id=opts.request_id,
                    details={"project": opts.project, "purpose": opts.purpose.strip(),
                             "key_id": key.key_id, "instruments": instruments,
                             "occasions": opts.occasions or "all", "people": len(c.people),
                             "assessments": len(a), "k_required": k,
                             "k_achieved": gate.k_achieved,
                             "small_k_allowed": info["small_k_allowed"],
                             "files": len(manifest["files"])})
        for path in staging.iterdir():  # whoever wrote them (a worker process too)
            os.chmod(path, PRIVATE_DIR if path.is_dir() else PRIVATE_FILE)
        if opts.out.exists():
            opts.out.rmdir()
        os.replace(staging, opts.out)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    say(f"export written to {opts.out}")
    return manifest


def _k_gate(wide, wide_vars, qis: list[str], k: int):
    names = {v.name: v for v in wide_vars}
    unknown = [q for q in qis if q not in names]
    if unknown:
        raise FormsEngineError(
            f"unknown quasi-identifier(s) {', '.join(unknown)}: name columns of the wide "
            f"file, for example role, age_band or an instrument result column")
    describe = {q: {float(c): lab for c, lab in names[q].all_labels().items()} for q in qis}
    return check_k_anonymity(wide, qis, k, describe)


def _instrument_info(engine, inst_id: str, a) -> dict[str, Any]:
    inst = engine.instruments.get(inst_id)
    versions = sorted(set(a.loc[a["instrument"] == inst_id, "instrument_version"]
                          .astype("object")))
    return {"id": inst.id, "version": inst.version, "versions_exported": versions,
            "title": inst.title, "plugin": inst.plugin, "plugin_version": inst.plugin_version}


def _items_table(store: Store, c, a, inst_id: str) -> Table:
    frame, variables, left_out = build_items(store, store.engine, c, a, inst_id)
    wording = next((v.wording for v in variables if v.wording), None)
    return Table(f"items_{T.safe_name(inst_id)}", f"Items of {inst_id}",
                 f"One row per final {inst_id} assessment; one column per item (one per "
                 "option for multiple-choice items).", frame, variables, wording=wording,
                 left_out=left_out)


def _repeat_tables(store: Store, items: Table, inst_id: str) -> list[Table]:
    """The long tables of the instrument's repeating groups (``items_<id>__<group>``)."""
    inst = store.engine.instruments.get(inst_id)
    return [Table(f"{items.name}__{group_id}", f"Items of {inst_id}: {group_id}",
                  f"One row per final {inst_id} assessment and instance of repeating group "
                  f"{group_id} given; the instance number in column instance.", frame,
                  variables, wording=items.wording)
            for group_id, frame, variables in repeat_tables(items.frame, items.variables,
                                                            inst)]


def _results(specs) -> list[dict[str, Any]]:
    out = []
    for spec in specs:
        labels = spec.value_labels
        codes = "; ".join(f"{k} = {v}" for k, v in labels.items())
        if spec.type != "string" and spec.missing_code == spec.missing_code:  # not NaN
            codes = (codes + "; " if codes else "") + f"{int(spec.missing_code)} = not known"
        out.append({"instrument": spec.instrument, "kind": spec.kind, "name": spec.name,
                    "label": spec.label, "type": spec.type, "codes": codes})
    return out


def _manifest(opts: ResearchOptions, info: dict[str, Any], out_tables: list[Table],
              files: list[dict[str, Any]], suppressed: tuple[int, int], people: int,
              assessments: int,
              formats: list[str]) -> dict[str, Any]:
    return {
        "manifest_version": 1,
        "export_id": secrets.token_hex(8),
        "project": opts.project,
        "purpose": opts.purpose.strip(),
        "created": info["created"],
        "software": f"formsengine {info['version']}",
        "pseudonymisation": {
            "method": "HMAC-SHA256 of the person reference with the project key, first 128 "
                      "bits in hex",
            "key_id": info["key_id"],
            "dates": "days since the person's first final assessment",
            "age": "band at the first assessment: "
                   + ", ".join(label for _, _, label in AGE_BANDS),
            "free_text": "not exported",
        },
        "k_anonymity": {"quasi_identifiers": info["quasi_identifiers"],
                        "k_required": info["k_required"], "k_achieved": info["k_achieved"],
                        "small_k_allowed": info["small_k_allowed"]},
        "suppression": {"threshold": info["threshold"], "suppressed_cells": suppressed[0],
                        "secondary_cells": suppressed[1]},
        "instruments": info["instruments"],
        "occasions": opts.occasions or "all",
        "formats": formats,
        "counts": {"people": people, "assessments": assessments,
                   "tables": {t.name: len(t.frame) for t in out_tables}},
        "files": files,
    }
