"""The incident file and the reference-dates file.

Incident file (UTF-8 CSV, header on line 1, column names ignoring case):

=================  ===============================================================
``perpetrator_ref``  required; 1 to 64 printable characters
``date``             required; ``YYYY-MM-DD``
``offence_code``     the offence code (or use ``incident_type``; at least one column
``incident_type``    must exist); required on crime rows, looked up in the table
``is_crime``         required; ``true``/``false``, ``yes``/``no`` or ``1``/``0``
``victim_ref``       the column is required; a cell may be empty (victim not recorded)
=================  ===============================================================

Other columns are ignored (and listed in the summary). A row is *bad* when a required cell
is empty or malformed, when a crime's code is not in the table in use (it is never scored 0
silently), when it has more or fewer values than the header, or when it is not UTF-8 text.
Each bad row is reported with the line it starts on. Non-crime rows are never looked up: they
score the configured non-crime gravity and 0 harm days, and are counted separately.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from operator import itemgetter
from pathlib import Path
from typing import Any

from .csvfile import BadRow, read_csv
from .dates import parse_iso_date
from .tables import code_key

MAX_REF_CHARS = 64
TRUTH = {"true": True, "yes": True, "1": True, "false": False, "no": False, "0": False}
INCIDENT_COLUMNS = ("perpetrator_ref", "date", "is_crime", "victim_ref")
CODE_COLUMNS = ("offence_code", "incident_type")

# One incident: (date, is_crime, value, victim_ref or "", offence code or incident type as
# written, or "")
Incident = tuple[dt.date, bool, float, str, str]


@dataclass
class IncidentSet:
    file: str
    by_perpetrator: dict[str, list[Incident]]
    bad: list[BadRow]
    rows_read: int = 0
    crimes: int = 0
    non_crimes: int = 0
    without_victim: int = 0
    duplicates: int = 0
    extra_columns: list[str] = field(default_factory=list)
    latest: dt.date | None = None
    earliest: dt.date | None = None

    @property
    def rows_used(self) -> int:
        return self.crimes + self.non_crimes

    def summary(self) -> dict[str, Any]:
        return {
            "file": self.file,
            "rows_read": self.rows_read,
            "rows_used": self.rows_used,
            "rows_bad": len(self.bad),
            "crimes": self.crimes,
            "non_crimes": self.non_crimes,
            "rows_without_victim": self.without_victim,
            "exact_duplicate_rows": self.duplicates,
            "perpetrators": len(self.by_perpetrator),
            "earliest_date": self.earliest.isoformat() if self.earliest else None,
            "latest_date": self.latest.isoformat() if self.latest else None,
            "ignored_columns": self.extra_columns,
        }


def ref_problem(value: str, column: str) -> str | None:
    if len(value) > MAX_REF_CHARS:
        return f"{column} is longer than {MAX_REF_CHARS} characters"
    if not value.isprintable():
        return f"{column} contains control or invisible characters"
    return None


def read_incidents(path: Path, values: dict[str, float], *, table: str,
                   non_crime_value: float = 0, max_bytes: int | None = None) -> IncidentSet:
    """Read and check every row of an incident file.

    ``values`` maps offence codes (compared with ``code_key``) to the number a crime scores
    (a gravity weight or harm days); ``table`` names that table in messages.
    """
    rows = read_csv(path, label="incident file", required=INCIDENT_COLUMNS,
                    one_of=CODE_COLUMNS, max_bytes=max_bytes)
    cols = rows.columns
    first_code = cols.get("offence_code", cols.get("incident_type"))
    second_code = cols.get("incident_type") if "offence_code" in cols else None
    cells = itemgetter(*(cols[c] for c in INCIDENT_COLUMNS), first_code)
    out = IncidentSet(path.name, {}, rows.bad, extra_columns=rows.extra_columns)
    groups = out.by_perpetrator
    dates: dict[str, dt.date] = {}
    code_values: dict[str, float | None] = {}
    problems: list[str] = []
    read = crimes = non_crimes = no_victim = 0
    earliest: dt.date | None = None
    latest: dt.date | None = None
    for line, row in rows.records:
        read += 1
        perp, text, flag, victim, code = cells(row)
        perp = perp.strip()
        if not perp:
            problems.append("perpetrator_ref is empty")
        elif (len(perp) > MAX_REF_CHARS or not perp.isprintable()) and (
                problem := ref_problem(perp, "perpetrator_ref")):
            problems.append(problem)
        day = dates.get(text)
        if day is None:
            raw, text = text, text.strip()
            try:
                day = dates[raw] = parse_iso_date(text)
            except ValueError as exc:
                problems.append(f"date {text[:20]!r} {exc}" if text else "date is empty")
        crime = TRUTH.get(flag)
        if crime is None:
            flag = flag.strip()
            crime = TRUTH.get(flag.lower())
        if crime is None:
            problems.append(f"is_crime {flag[:20]!r} is not one of true, false, yes, no, 1, 0"
                            if flag else "is_crime is empty")
        code = code.strip()
        if not code and second_code is not None:
            code = row[second_code].strip()
        value: float | None = non_crime_value
        if crime:
            if not code:
                problems.append("a crime needs an offence_code (or incident_type)")
            else:
                value = code_values.get(code)
                if value is None and code not in code_values:
                    value = code_values[code] = values.get(code_key(code))
                if value is None:
                    problems.append(f"offence code {code[:40]!r} is not in the {table}")
        victim = victim.strip()
        if victim and (len(victim) > MAX_REF_CHARS or not victim.isprintable()) and (
                problem := ref_problem(victim, "victim_ref")):
            problems.append(problem)
        # each of day, crime and value is None only with a problem listed
        if problems or day is None or crime is None or value is None:
            rows.bad.append(BadRow(line, "; ".join(problems)))
            problems = []
            continue
        if crime:
            crimes += 1
        else:
            non_crimes += 1
        if not victim:
            no_victim += 1
        if latest is None or earliest is None:
            earliest = latest = day
        elif day > latest:
            latest = day
        elif day < earliest:
            earliest = day
        incident = (day, crime, value, victim, code)
        group = groups.get(perp)
        if group is None:
            groups[perp] = [incident]
        else:
            group.append(incident)
    out.rows_read = read
    out.crimes, out.non_crimes, out.without_victim = crimes, non_crimes, no_victim
    out.bad.sort(key=lambda b: b.line)
    out.earliest, out.latest = earliest, latest
    if groups:
        out.duplicates = sum(len(g) - len(set(g)) for g in groups.values() if len(g) > 1)
    return out


@dataclass
class ReferenceDates:
    file: str
    dates: dict[str, dt.date]
    bad: list[BadRow]
    rows_read: int = 0


def read_reference_dates(path: Path, *, max_bytes: int | None = None) -> ReferenceDates:
    """A CSV file with ``perpetrator_ref`` and ``reference_date`` (one row per person)."""
    rows = read_csv(path, label="reference dates file",
                    required=("perpetrator_ref", "reference_date"), max_bytes=max_bytes)
    p_i, d_i = rows.columns["perpetrator_ref"], rows.columns["reference_date"]
    out = ReferenceDates(path.name, {}, rows.bad)
    first_line: dict[str, int] = {}
    for line, row in rows.records:
        out.rows_read += 1
        problems = []
        perp = row[p_i].strip()
        if not perp:
            problems.append("perpetrator_ref is empty")
        elif (problem := ref_problem(perp, "perpetrator_ref")) is not None:
            problems.append(problem)
        elif perp in first_line:
            problems.append(f"perpetrator_ref {perp!r} already has a reference date on line "
                            f"{first_line[perp]}")
        text = row[d_i].strip()
        try:
            day = parse_iso_date(text)
        except ValueError as exc:
            problems.append(f"reference_date {text[:20]!r} {exc}" if text
                            else "reference_date is empty")
        if problems:
            out.bad.append(BadRow(line, "; ".join(problems)))
            continue
        first_line[perp] = line
        out.dates[perp] = day
    out.bad.sort(key=lambda b: b.line)
    return out
