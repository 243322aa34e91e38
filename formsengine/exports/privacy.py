"""Disclosure control for research exports.

* Ages are exported only as bands.
* A k-anonymity gate: every combination of the declared quasi-identifiers must cover at
  least ``k`` people, or nothing is written. Checking the full combination is enough: a
  combination of fewer quasi-identifiers merges whole groups of the full one, so it can only
  cover more people.
* Aggregate tables suppress counts from 1 to ``threshold - 1``.
* Text cells that a spreadsheet would run as a formula are neutralised.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from ..errors import FormsEngineError

AGE_BANDS: list[tuple[int, int | None, str]] = [
    (0, 17, "under_18"), (18, 24, "18_24"), (25, 34, "25_34"), (35, 44, "35_44"),
    (45, 54, "45_54"), (55, 64, "55_64"), (65, None, "65_plus"),
]
AGE_BAND_CODES = {label: i for i, (_, _, label) in enumerate(AGE_BANDS)}
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


class ExportRefused(FormsEngineError):
    """The export would disclose too much; nothing was written."""


def age_band(age: int | None) -> str | None:
    if age is None or age < 0:
        return None
    for low, high, label in AGE_BANDS:
        if age >= low and (high is None or age <= high):
            return label
    return None  # pragma: no cover - the last band is open


@dataclass
class KAnonymity:
    quasi_identifiers: list[str]
    k_required: int
    k_achieved: int | None
    small_groups: list[tuple[dict[str, Any], int]]

    @property
    def ok(self) -> bool:
        return self.k_achieved is None or self.k_achieved >= self.k_required


def check_k_anonymity(people: pd.DataFrame, quasi_identifiers: list[str], k: int,
                      describe: dict[str, dict[Any, str]] | None = None) -> KAnonymity:
    """Group people by every quasi-identifier together (a missing value is a value of its
    own) and report the smallest group."""
    if not quasi_identifiers or people.empty:
        return KAnonymity(list(quasi_identifiers), k, None, [])
    keys = people[quasi_identifiers].astype("object").where(people[quasi_identifiers].notna(),
                                                             "(missing)")
    sizes = keys.value_counts(sort=False)
    small = sizes[sizes < k].sort_values()
    groups = []
    describe = describe or {}
    for combo, count in small.items():
        combo = combo if isinstance(combo, tuple) else (combo,)
        shown = {q: describe.get(q, {}).get(v, v) for q, v in zip(quasi_identifiers, combo)}
        groups.append((shown, int(count)))
    return KAnonymity(list(quasi_identifiers), k, int(sizes.min()), groups)


def refusal_message(result: KAnonymity) -> str:
    shown = "; ".join(
        ", ".join(f"{q}={v}" for q, v in combo.items()) + f" covers {n}"
        for combo, n in result.small_groups[:3])
    more = (f" (and {len(result.small_groups) - 3} more)" if len(result.small_groups) > 3
            else "")
    return (
        f"export refused: {len(result.small_groups)} combination(s) of the quasi-identifiers "
        f"{', '.join(result.quasi_identifiers)} cover fewer than k={result.k_required} people "
        f"(smallest: {result.k_achieved}): {shown}{more}. Nothing was written. Drop or coarsen "
        "a quasi-identifier, export a larger cohort, or (with the data protection officer's "
        "agreement) lower --k.")


def suppress_counts(counts: pd.Series, threshold: int, groups: pd.Series | None = None
                    ) -> tuple[pd.Series, pd.Series, pd.Series]:
    """Blank small counts; returns (shown counts, primary flags, secondary flags).

    Primary: counts from 1 to threshold-1. Secondary, when ``groups`` says which cells add up
    to a total that a reader may know (the people with any value of one result at one
    occasion, say): in a group with a blanked cell, the smallest shown non-zero cells are
    blanked too, until the group's blanked cells are at least two and hold at least
    ``threshold`` people between them (or every non-zero cell is blanked). Otherwise a single
    blanked count could be worked out by subtracting the shown ones from the total. Zeros
    are shown."""
    primary = (counts > 0) & (counts < threshold)
    secondary = pd.Series(False, index=counts.index)
    if groups is not None:
        values = counts.to_numpy()
        for group in pd.Series(np.arange(len(counts))).groupby(
                groups.to_numpy(), sort=False).groups.values():
            members = np.asarray(group)
            blanked = primary.to_numpy()[members]
            if not blanked.any():
                continue
            order = members[np.argsort(values[members], kind="stable")]
            hidden = set(members[blanked].tolist())
            for i in order:
                if len(hidden) >= 2 and values[list(hidden)].sum() >= threshold:
                    break
                if i not in hidden and values[i] > 0:
                    hidden.add(int(i))
                    secondary.iloc[i] = True
    shown = counts.astype("Float64").mask(primary | secondary)
    return shown, primary, secondary


def neutralise_cell(value: Any) -> Any:
    """Prefix a text cell that a spreadsheet would treat as a formula with a quote."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def neutralise_frame(df: pd.DataFrame, string_columns: list[str]) -> pd.DataFrame:
    """A copy of ``df`` whose text columns cannot start a spreadsheet formula. Number
    columns are left alone: a number such as -1 is not a formula. A categorical column is
    checked through its categories only."""
    out = df
    for col in string_columns:
        series = df[col]
        new: pd.Series
        if isinstance(series.dtype, pd.CategoricalDtype):
            categories = list(series.cat.categories)
            fixed = [neutralise_cell(c) for c in categories]
            if fixed == categories:
                continue
            new = series.cat.rename_categories(pd.Index(fixed, dtype=object))
        else:
            text = series.astype("string")
            risky = text.str.startswith(FORMULA_STARTS, na=False)
            if not risky.any():
                continue
            new = text.where(~risky, "'" + text)
        if out is df:
            out = df.copy()
        out[col] = new
    return out
