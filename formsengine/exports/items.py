"""Item-level tables: one file per instrument, one row per final assessment, one column per
item (multiple-choice items: one 0/1 column per option).

Free text never leaves the database: text items, comments, sources, text fields and fields
the definition marks ``identifying`` are left out (the codebook lists what was left out).
Dates become days since the person's first assessment.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import replace
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from ..instance_ids import split_instance_id
from ..store.exports import assessment_fields, carried_answers
from .coding import (
    MISSING_CODES,
    NOT_KNOWN,
    YES_NO_LABELS,
    Variable,
    option_codes,
    option_labels,
    pid_variable,
    safe_name,
)
from .collect import days_since, read_answers

if TYPE_CHECKING:
    from ..engine import Engine
    from ..instruments import Field, Instrument, Item
    from ..store import Store
    from .collect import Collected

SKIPPED_FIELDS = {"assessment_date"}  # the assessment's own date: exported as ``day``


def instrument_items(engine: Engine, inst_id: str, versions: list[str]
                     ) -> tuple[list[Item], list[Field], Instrument]:
    """Items and fields across the exported versions, newest definition first."""
    ordered = sorted(versions, key=lambda v: tuple(int(x) for x in v.split(".")), reverse=True)
    insts = [engine.instruments.get(inst_id, v) for v in ordered]
    items: dict[str, Item] = {}
    fields: dict[str, Field] = {}
    for inst in insts:
        for item in inst.items.values():
            items.setdefault(item.id, item)
        for f in inst.fields.values():
            fields.setdefault(f.id, f)
    order = [i for i in insts[0].items] + [i for i in items if i not in insts[0].items]
    return [items[i] for i in order], list(fields.values()), insts[0]


def wording_note(a: pd.DataFrame, inst: Instrument) -> str:
    counts = Counter(a["wording"].astype("object"))
    parts = []
    for ref, n in sorted(counts.items(), key=lambda kv: (kv[0] != "paraphrase", kv[0])):
        if ref == "paraphrase":
            parts.append(f"paraphrased labels of {inst.id} v{inst.version} "
                         f"(plugin {inst.plugin} {inst.plugin_version}): {n} assessment(s)")
        else:
            parts.append(f"licensed wording pack {ref}: {n} assessment(s)")
    return "; ".join(parts)


def build_items(store: Store, engine: Engine, c: Collected, a_all: pd.DataFrame,
                inst_id: str) -> tuple[pd.DataFrame, list[Variable], list[str]]:
    a = a_all[a_all["instrument"] == inst_id].reset_index(drop=True)
    versions = sorted(set(a["instrument_version"].astype("object")))
    items, fields, inst = instrument_items(engine, inst_id, versions)
    wording = wording_note(a, inst)
    wanted = [i.id for i in items if i.type != "text"]
    answers = read_answers(store, inst_id, wanted, a["assessment_id"].to_numpy())
    lut = np.full(int(a["assessment_id"].max()) + 1, -1, dtype=np.int64)
    lut[a["assessment_id"].to_numpy()] = np.arange(len(a))
    answer_row = lut[answers["assessment_id"].to_numpy()]
    # Distinct stored values are few: decode each once, then work on codes.
    decoded = [json.loads(v) for v in answers["value"].cat.categories]
    value_code = answers["value"].cat.codes.to_numpy()
    item_code = answers["item_id"].cat.codes.to_numpy()
    by_item = {item_id: np.flatnonzero(item_code == k)
               for k, item_id in enumerate(answers["item_id"].cat.categories)}
    origin = a["origin"]
    # every person's code among all exported people, so SPSS/Stata codes match across files
    pid = pd.Categorical.from_codes(a["person_pos"].to_numpy(),
                                    categories=pd.Index(c.people["pid"], dtype=object))
    data: dict[str, Any] = {
        "pid": pd.Series(pid),
        "occasion": a["occasion"].astype("object").to_numpy(),
        "day": a["day"].to_numpy(dtype="float64", na_value=np.nan),
        "instrument_version": a["instrument_version"].astype("object").to_numpy(),
        "wording": a["wording"].astype("object").to_numpy(),
        "language": a["language"].astype("object").to_numpy(),
        "complete": a["complete"].to_numpy(dtype="float64"),
    }
    variables = [
        pid_variable(),
        Variable("occasion", "Occasion (timepoint) id", "string", "meta", instrument=inst_id,
                 encode=True),
        Variable("day", "Days from the person's first assessment to this one", "integer",
                 "meta", instrument=inst_id),
        Variable("instrument_version", "Version of the instrument definition", "string",
                 "meta", instrument=inst_id, encode=True),
        Variable("wording", "Wording shown: paraphrase or a licensed wording pack id@version",
                 "string", "meta", instrument=inst_id, encode=True),
        Variable("language", "Language the assessment was completed in: en (English) or cy "
                 "(Welsh)", "string", "meta", instrument=inst_id, encode=True),
        Variable("complete", "Every item answered (no declined or not-asked items)",
                 "integer", "meta", instrument=inst_id, value_labels=dict(YES_NO_LABELS)),
    ]
    left_out: list[str] = []
    n = len(a)
    for item in items:
        if item.type == "text":
            left_out.append(f"{item.id} (free text)")
            continue
        idx = by_item.get(item.id, np.array([], dtype=np.int64))
        rows, codes = answer_row[idx], value_code[idx]
        name = item_column(item)
        base: dict[str, Any] = dict(role="item", instrument=inst_id, item=item.id,
                                    wording=wording)
        if item.repeat is not None:  # "Child 2: Age in years"
            group = inst.repeats.get(item.repeat)
            item = replace(item, label=f"{group.label if group else item.repeat} "
                                       f"{item.instance}: {item.label}")

        def column(convert, rows=rows, codes=codes) -> np.ndarray:
            """The item's values: ``convert`` applied once per distinct stored value."""
            table = np.array([convert(d) for d in decoded] or [np.nan], dtype=np.float64)
            out = np.full(n, np.nan)
            out[rows] = table[codes]
            return out

        if item.type == "choice":
            option = option_codes(item)
            data[name] = column(lambda d, o=option: o.get(d, NOT_KNOWN) if isinstance(d, str)
                                else NOT_KNOWN)
            variables.append(Variable(name, item.label, "integer", value_labels=option_labels(
                item, option), missing=True, notes=REVERSED_NOTE if item.reverse else "",
                **base))
        elif item.type == "multi_choice":
            missing = {o.value: MISSING_CODES[o.missing] for o in item.options if o.missing}
            for opt in (o for o in item.options if o.missing is None):
                col = f"{name}__{safe_name(opt.value)}"
                data[col] = column(lambda d, v=opt.value, m=missing: _dummy(d, v, m))
                variables.append(Variable(col, f"{item.label}: {opt.label}", "integer",
                                          value_labels=dict(YES_NO_LABELS),
                                          missing=bool(missing),
                                          notes=EXCLUSIVE_NOTE if opt.exclusive else "",
                                          **{**base, "role": "option"}))
        elif item.type in ("integer", "number"):
            data[name] = column(lambda d: float(d) if isinstance(d, (int, float))
                                and not isinstance(d, bool) else np.nan)
            variables.append(Variable(name, item.label, item.type, **base))
        elif item.type == "date":
            texts = np.full(n, None, dtype=object)
            texts[rows] = np.array(decoded + [None], dtype=object)[codes]
            data[name] = days_since(pd.Series(texts, dtype=object), origin).to_numpy(
                dtype="float64", na_value=np.nan)
            variables.append(Variable(name, f"{item.label} (days from the first assessment)",
                                      "integer", **base))
    _add_carried(store, a, items, data, variables, inst_id, answer_row, item_code, answers)
    _add_fields(store, a, fields, data, variables, left_out, inst_id)
    return pd.DataFrame(data), variables, left_out


def item_column(item: Item) -> str:
    """An item's column name: its id made a variable name (``dash.injury`` ->
    ``dash_injury``); an instance of a repeating group's item ends in its instance number
    (``children[2].age`` -> ``children_age_2``)."""
    if item.repeat is not None and item.base is not None:
        return f"{safe_name(item.base)}_{item.instance}"
    return safe_name(item.id)


def repeat_tables(frame: pd.DataFrame, variables: list[Variable], inst: Instrument
                  ) -> list[tuple[str, pd.DataFrame, list[Variable]]]:
    """For each repeating group, the items of its instances as a long table: one row per
    assessment and instance given (an instance with at least one value), the ``instance``
    number (from 1) beside the assessment's pid, occasion and day, and one column per item
    of the group under the group's own name (``children_age``)."""
    out = []
    keys = [v for v in variables if v.name in ("pid", "occasion", "day")]
    for group in inst.repeats.values():
        columns: dict[str, list[tuple[int, Variable]]] = {}
        for var in variables:
            parts = split_instance_id(var.item or "")
            if parts is None or parts[0] != group.id:
                continue
            _g, n, base_id = parts
            long_name = safe_name(base_id) + var.name[len(f"{safe_name(base_id)}_{n}"):]
            columns.setdefault(long_name, []).append((n, var))
        if not columns:
            continue
        pieces = []
        for n in range(1, group.maximum + 1):
            part = {k.name: frame[k.name] for k in keys}
            part["instance"] = pd.Series(np.full(len(frame), n, dtype=np.int64),
                                         index=frame.index)
            for long_name, by_n in columns.items():
                found = next((v for k, v in by_n if k == n), None)
                part[long_name] = (frame[found.name] if found is not None
                                   else pd.Series(np.nan, index=frame.index))
            piece = pd.DataFrame(part)
            given = piece[list(columns)].notna().any(axis=1)
            pieces.append(piece[given])
        long = pd.concat(pieces).sort_values(["pid", "day", "instance"], kind="stable") \
            .reset_index(drop=True) if pieces else pd.DataFrame()
        long_vars = keys + [Variable("instance", f"{group.label} number (1 to the number "
                                     "given)", "integer", "meta", instrument=inst.id)]
        for long_name, by_n in columns.items():
            first = by_n[0][1]
            label = first.label.split(": ", 1)[-1]
            parts = split_instance_id(first.item or "")
            long_vars.append(replace(first, name=long_name, label=label,
                                     item=parts[2] if parts else first.item))
        out.append((group.id, long, long_vars))
    return out


CARRIED_NOTE = ("1: the answer was carried forward from the person's previous assessment "
                "and confirmed by the practitioner; 0: the answer was given at this "
                "assessment; empty: no answer.")


def _add_carried(store: Store, a: pd.DataFrame, items: list, data: dict, variables: list,
                 inst_id: str, answer_row: np.ndarray, item_code: np.ndarray,
                 answers: pd.DataFrame) -> None:
    """For each item whose definition says ``prefill``: ``<item>__carried``, whether the
    assessment's answer was carried forward (1), given at this assessment (0) or absent."""
    prefilled = [i for i in items if i.prefill and i.type != "text"]
    if not prefilled:
        return
    n = len(a)
    position = {int(aid): k for k, aid in enumerate(a["assessment_id"].to_numpy())}
    carried: dict[str, list[int]] = {}
    for aid, item_id in carried_answers(store, inst_id, [i.id for i in prefilled]):
        if aid in position:
            carried.setdefault(item_id, []).append(position[aid])
    categories = list(answers["item_id"].cat.categories)
    for item in prefilled:
        col = np.full(n, np.nan)
        if item.id in categories:
            col[answer_row[np.flatnonzero(item_code == categories.index(item.id))]] = 0
        col[np.array(carried.get(item.id, []), dtype=np.int64)] = 1
        name = f"{safe_name(item.id)}__carried"
        data[name] = col
        variables.append(Variable(name, f"{item.label}: carried forward", "integer",
                                  "meta", instrument=inst_id, item=item.id,
                                  value_labels=dict(YES_NO_LABELS), notes=CARRIED_NOTE))


REVERSED_NOTE = ("Counted reversed in sum scores (highest + lowest - number); the value here "
                 "is the answer as given.")
EXCLUSIVE_NOTE = ("An exclusive option: when it is 1, every other option of the question is 0.")


def _dummy(chosen: Any, value: str, missing: dict[str, int]) -> float:
    """One option of a multiple-choice answer: 1 chosen, 0 not chosen, or the missing code
    when the only answers given say the thing is not known."""
    chosen = chosen if isinstance(chosen, list) else [chosen]
    if value in chosen:
        return 1
    if chosen and all(c in missing for c in chosen):
        return missing[chosen[0]]
    return 0


def _add_fields(store: Store, a: pd.DataFrame, fields: list, data: dict, variables: list,
                left_out: list[str], inst_id: str) -> None:
    ids = a["assessment_id"].tolist()
    raw: dict[int, dict] = {}
    for aid, text in assessment_fields(store, ids):
        raw[aid] = json.loads(text or "{}")
    records = [raw.get(aid, {}) for aid in ids]
    for f in fields:
        if f.id in SKIPPED_FIELDS:
            continue
        if f.identifying or f.type == "text":
            left_out.append(f"field {f.id} ({'identifying' if f.identifying else 'free text'})")
            continue
        name = safe_name(f.id)
        if name in data:
            name = f"field_{name}"
        values = pd.Series([r.get(f.id) for r in records], dtype="object")
        base: dict[str, Any] = dict(role="field", instrument=inst_id)
        if f.type == "choice":
            codes = option_codes(f)
            data[name] = np.array([np.nan if v is None else codes.get(v, NOT_KNOWN)
                                   for v in values], dtype="float64")
            variables.append(Variable(name, f.label, "integer",
                                      value_labels=option_labels(f, codes), missing=True,
                                      **base))
        elif f.type == "date":
            data[name] = days_since(values, a["origin"]).to_numpy(dtype="float64",
                                                                   na_value=np.nan)
            variables.append(Variable(name, f"{f.label} (days from the first assessment)",
                                      "integer", **base))
        else:
            data[name] = pd.to_numeric(values, errors="coerce").to_numpy(dtype="float64")
            variables.append(Variable(name, f.label, f.type, **base))
