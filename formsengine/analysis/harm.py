"""Difference in differences of crime harm between two groups.

Input (CSV, UTF-8, header row), in either of two shapes:

1. **One row per person**: ``person``, ``group``, ``before``, ``after``: harm (for example
   Cambridge Crime Harm Index days) in the window before and the window after the
   reference date (random assignment, selection or engagement).
2. **Harm per block**, as written by the RFG plugin's harm command: ``perpetrator_ref``,
   ``block`` (``before_N`` ... ``before_1``, ``after_1`` ... ``after_N``), ``harm_days`` and
   optionally ``observed``, plus a ``group`` column or a separate groups file (``person`` or
   ``perpetrator_ref``, and ``group``). Blocks are summed into before and after; a person
   with any block not observed (outside the period the incident data covers) is left out
   and counted, because a missing block would look like desistance.

For each group: people, mean and total harm before and after, and the mean change. The
difference in differences is (mean after - mean before) in the treatment group minus the
same in the comparison group, with Welch's t-test and the Mann-Whitney U test of the
per-person changes between the groups.
"""

from __future__ import annotations

import csv
import io
import statistics
from pathlib import Path
from typing import Any

from ..errors import FormsEngineError

MAX_BYTES = 100_000_000


def _read_csv(path: Path) -> list[dict[str, str]]:
    if path.stat().st_size > MAX_BYTES:
        raise FormsEngineError(f"{path}: larger than {MAX_BYTES} bytes")
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        raise FormsEngineError(f"{path}: not UTF-8 text") from None
    reader = csv.DictReader(io.StringIO(text))
    return [{(k or "").strip(): (v or "").strip() for k, v in row.items()} for row in reader]


def _number(value: str, where: str) -> float:
    try:
        number = float(value)
    except ValueError:
        raise FormsEngineError(f"{where}: {value[:40]!r} is not a number") from None
    if number != number or number < 0:
        raise FormsEngineError(f"{where}: harm must be a number of at least 0")
    return number


def read_harm(path: Path, groups_file: Path | None = None
              ) -> tuple[dict[str, dict[str, Any]], dict[str, int]]:
    """person -> {group, before, after}; and counts of people left out, by reason."""
    rows = _read_csv(path)
    if not rows:
        raise FormsEngineError(f"{path}: no rows")
    columns = set(rows[0])
    left_out = {"no_group": 0, "unobserved_blocks": 0}
    people: dict[str, dict[str, Any]] = {}
    if {"person", "group", "before", "after"} <= columns:
        for n, row in enumerate(rows, start=2):
            where = f"{path.name} line {n}"
            if not row["group"]:
                left_out["no_group"] += 1
                continue
            if row["person"] in people:
                raise FormsEngineError(f"{where}: person {row['person'][:40]!r} appears twice")
            people[row["person"]] = {"group": row["group"],
                                     "before": _number(row["before"], where),
                                     "after": _number(row["after"], where)}
        return people, left_out
    if not {"perpetrator_ref", "block", "harm_days"} <= columns:
        raise FormsEngineError(
            f"{path}: expected columns person, group, before, after (one row per person) or "
            "perpetrator_ref, block, harm_days (harm per block)")
    groups = _groups(groups_file) if groups_file else {}
    blocks: dict[str, dict[str, Any]] = {}
    for n, row in enumerate(rows, start=2):
        where = f"{path.name} line {n}"
        ref = row["perpetrator_ref"]
        entry = blocks.setdefault(ref, {"group": row.get("group") or groups.get(ref),
                                        "before": 0.0, "after": 0.0, "observed": True})
        if row.get("observed", "true").lower() in ("false", "0", "no"):
            entry["observed"] = False
        side = row["block"].split("_", 1)[0]
        if side in ("before", "after"):
            entry[side] += _number(row["harm_days"], where)
    for ref, entry in blocks.items():
        if not entry["group"]:
            left_out["no_group"] += 1
        elif not entry["observed"]:
            left_out["unobserved_blocks"] += 1
        else:
            people[ref] = {k: entry[k] for k in ("group", "before", "after")}
    return people, left_out


def _groups(path: Path) -> dict[str, str]:
    out = {}
    for row in _read_csv(path):
        ref = row.get("person") or row.get("perpetrator_ref")
        if ref and row.get("group"):
            out[ref] = row["group"]
    return out


def difference_in_differences(people: dict[str, dict[str, Any]], treatment: str | None = None
                              ) -> dict[str, Any]:
    from scipy.stats import mannwhitneyu, ttest_ind

    names = sorted({p["group"] for p in people.values()})
    if len(names) != 2:
        raise FormsEngineError(f"harm comparison needs exactly two groups; found "
                               f"{len(names)}: {', '.join(names[:10])}")
    if treatment is None:
        treatment = "treatment" if "treatment" in names else None
    if treatment not in names:
        raise FormsEngineError(f"name the treatment group with --treatment (groups: "
                               f"{', '.join(names)})")
    comparison = next(n for n in names if n != treatment)
    summary = {}
    changes = {}
    for name in (treatment, comparison):
        members = [p for p in people.values() if p["group"] == name]
        before = [p["before"] for p in members]
        after = [p["after"] for p in members]
        changes[name] = [a - b for a, b in zip(after, before)]
        summary[name] = {
            "people": len(members), "total_before": round(sum(before), 4),
            "total_after": round(sum(after), 4),
            "mean_before": round(statistics.fmean(before), 4),
            "mean_after": round(statistics.fmean(after), 4),
            "mean_change": round(statistics.fmean(changes[name]), 4),
        }
    did = summary[treatment]["mean_change"] - summary[comparison]["mean_change"]
    t_p = mw_p = None
    if min(len(changes[treatment]), len(changes[comparison])) >= 2:
        if len(set(changes[treatment] + changes[comparison])) > 1:
            t_p = float(ttest_ind(changes[treatment], changes[comparison],
                                  equal_var=False).pvalue)
            mw_p = float(mannwhitneyu(changes[treatment], changes[comparison]).pvalue)
    return {"treatment": treatment, "comparison": comparison, "groups": summary,
            "difference_in_differences": round(did, 4),
            "total_difference_in_differences": round(
                (summary[treatment]["total_after"] - summary[treatment]["total_before"])
                - (summary[comparison]["total_after"] - summary[comparison]["total_before"]),
                4),
            "p_welch_t": t_p, "p_mann_whitney": mw_p}
