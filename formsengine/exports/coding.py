"""How answers and scores become numbers in research files.

Every exported variable is described by a ``Variable``: its name, label, instrument, item,
occasion, where the item wording came from, and its value labels. The same description
drives every format (CSV, Parquet, SPSS, Stata), the data package and the codebook.

Codes
-----
* ``yes`` / ``no`` items: 1 = yes, 0 = no.
* Other choice items: the option's ``numeric`` value when every known option has a distinct
  whole number (for example frequency bands coded by their lower bound), otherwise the
  option's position among the known options, from 0, in the order the definition lists them
  (lowest first).
* Not-known answers keep their reason, and are never turned into ``no``:

  ==============  =====  ===========  =====================================
  kind            code   Stata        meaning
  ==============  =====  ===========  =====================================
  ``dont_know``   -1     ``.a``       asked; the person did not know
  ``declined``    -2     ``.b``       asked; the person chose not to answer
  ``not_asked``   -3     ``.c``       not asked (for example, unsafe to ask)
  ``not_known``   -4     ``.d``       not known (reason not recorded, or a
                                      score that cannot be computed)
  ==============  =====  ===========  =====================================

  In SPSS the range -4 to -1 is declared user-missing; in Stata the codes are written as the
  extended missing values shown; in CSV and Parquet the negative codes are written as they
  are and the data package lists them as labelled missing values.
* An empty cell (system missing) means no value was recorded: no assessment at that
  occasion, an item not answered or not shown, or no professional judgement made.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..instruments import Instrument, Item

MISSING_CODES: dict[str, int] = {"dont_know": -1, "declined": -2, "not_asked": -3,
                                 "not_known": -4}
STATA_MISSING: dict[str, str] = {"dont_know": "a", "declined": "b", "not_asked": "c",
                                 "not_known": "d"}
MISSING_LABELS: dict[str, str] = {
    "dont_know": "dont_know: asked, not known",
    "declined": "declined: asked, not answered",
    "not_asked": "not_asked: not asked",
    "not_known": "not_known: not known",
}
CODE_TO_KIND: dict[float, str] = {v: k for k, v in MISSING_CODES.items()}
NOT_KNOWN = MISSING_CODES["not_known"]
YES_NO_LABELS: dict[float, str] = {1: "yes", 0: "no"}


@dataclass
class Variable:
    """One column of a research file, as every format and the codebook describe it."""

    name: str
    label: str
    type: str  # "string", "integer" or "number"
    role: str  # id, person, meta, item, option, field, score, band, level, flag, criterion, group
    instrument: str | None = None
    item: str | None = None
    occasion: str | None = None
    wording: str | None = None
    value_labels: dict[float, str] = field(default_factory=dict)
    missing: bool = False
    notes: str = ""
    encode: bool = False  # SPSS and Stata: store this text column as labelled whole numbers
    series: str | None = None  # wide files: the same result at other occasions shares this
    series_label: str | None = None

    def all_labels(self) -> dict[float, str]:
        """Value labels including the labels of the missing codes this variable may hold."""
        labels = dict(self.value_labels)
        if self.missing:
            labels.update({code: MISSING_LABELS[kind] for kind, code in MISSING_CODES.items()})
        return labels


PID_LABEL = "Pseudonymous person id (HMAC-SHA256 with the project key)"
PID_NOTE = ("SPSS and Stata: stored as a whole number with the pid text as its value label; "
            "the number is the same for a person in every file of this export")


def pid_variable() -> Variable:
    return Variable("pid", PID_LABEL, "string", "id", encode=True, notes=PID_NOTE)


def safe_name(text: str) -> str:
    """An id as a variable-name part: ``dash.injury`` -> ``dash_injury``."""
    name = re.sub(r"[^A-Za-z0-9_]", "_", text).strip("_").lower()
    if not name or not name[0].isalpha():
        name = "v_" + name
    return name


def short_name(name: str, limit: int) -> str:
    """``name`` cut to ``limit`` characters when longer: its start and end kept around a
    stable hash, so that cut names stay unique and still show the occasion."""
    if len(name) <= limit:
        return name
    digest = hashlib.sha1(name.encode(), usedforsecurity=False).hexdigest()[:4]
    keep = limit - 6
    head = keep // 2
    tail = keep - head
    return f"{name[:head].rstrip('_')}_{digest}_{name[-tail:].lstrip('_')}"


def option_codes(item: Item) -> dict[str, float]:
    """Code of every option of a choice item (missing options get their missing code)."""
    known = [o for o in item.options if o.missing is None]
    values = {o.value for o in known}
    codes: dict[str, float] = {}
    if values == {"yes", "no"}:
        codes = {"yes": 1, "no": 0}
    else:
        whole = [n for o in known if (n := o.numeric) is not None and float(n).is_integer()]
        if (known and len(whole) == len(known) and len(set(whole)) == len(whole)
                and min(whole) >= 0):
            codes = {o.value: int(n) for o, n in zip(known, whole)}
        else:
            codes = {o.value: i for i, o in enumerate(known)}
    for o in item.options:
        if o.missing is not None:
            codes[o.value] = MISSING_CODES[o.missing]
    return codes


def option_labels(item: Item, codes: dict[str, float]) -> dict[float, str]:
    return {codes[o.value]: f"{o.value}: {o.label}"[:120] for o in item.options
            if o.missing is None}


def category_order(inst: Instrument, params: dict[str, Any]) -> dict[tuple[str, str], list[str]]:
    """Known orders of text-valued results: bands (by cut-off), levels, ``max`` scores."""
    orders: dict[tuple[str, str], list[str]] = {}
    scoring = inst.scoring
    for band in scoring.get("bands", []):
        cut = band["cutoffs"]
        if isinstance(cut, dict):
            cut = params.get(cut["param"], inst.default_parameters().get(cut["param"], []))
        orders[("band", band["id"])] = [c["band"] for c in cut]
    level = scoring.get("level")
    if level:
        for which in ("computed", "judged", "final"):
            orders[("level", which)] = list(level["order"])
    for spec in inst.score_specs:
        if spec["type"] == "max" and "order" in spec:  # a max of numbers is a number
            orders[("score", spec["id"])] = list(spec["order"])
    return orders


def result_labels(inst: Instrument) -> dict[tuple[str, str], str]:
    """Human labels of every score, band, flag, criterion and group the definition names."""
    scoring = inst.scoring
    labels: dict[tuple[str, str], str] = {}
    for spec in inst.score_specs:
        labels[("score", spec["id"])] = spec.get("label", spec["id"])
    for spec in scoring.get("bands", []):
        labels[("band", spec["id"])] = spec.get("label", spec["id"])
    for which in ("computed", "judged", "final"):
        labels[("level", which)] = {"computed": "Risk level from the score",
                                    "judged": "Level judged by the assessor",
                                    "final": "Final risk level"}[which]
    for kind, key in (("flag", "flags"), ("criterion", "criteria")):
        for spec in scoring.get(key, []):
            labels[(kind, spec["id"])] = spec["label"]
    for gid, spec in scoring.get("criteria_groups", {}).items():
        labels[("group", gid)] = spec["label"]
    return labels


RESULT_PREFIX = {"score": "", "band": "", "level": "level_", "flag": "flag_",
                 "criterion": "crit_", "group": "group_"}


def result_var_part(kind: str, name: str) -> str:
    """The middle part of a wide column name: ``yes_count``, ``level_final``, ``flag_x``."""
    return safe_name(RESULT_PREFIX.get(kind, kind + "_") + name)
