"""The RFG configuration: defaults, an organisation's file, checks and the hash.

The defaults (``data/default_config.toml``) are formsengine's illustrative numbers, not any
police force's weights. An organisation's file (TOML or JSON, same keys) is laid over them:
tables merge key by key, except ``recency.bands`` and ``gravity.matrix``, which replace the
defaults whole (an organisation's matrix must not inherit our codes). Unknown keys are
errors, so a misspelt weight cannot be ignored silently.

The configuration hash is the SHA-256 of the canonical JSON of the effective configuration
(sorted keys, no spaces, whole numbers written without a decimal point): every setting,
used or not, except ``name`` and ``description``, plus the algorithm version and, when
gravity comes from harm days, the harm table's own hash. The same configuration therefore
gives the same hash whether it was written in TOML or JSON, in any key order; changing any
number changes it.
"""

from __future__ import annotations

import copy
import hashlib
import json
import math
import tomllib
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from formsengine.errors import ConfigError

ALGORITHM = "formsengine-rfg/1"
MAX_CONFIG_BYTES = 1_000_000
COMPONENTS = ("recency", "frequency_crime", "frequency_noncrime", "gravity", "victims")
SCALED = ("frequency_crime", "frequency_noncrime", "gravity", "victims")
REPLACED_WHOLE = {("recency", "bands"), ("gravity", "matrix")}
ALLOWED: dict[str, Any] = {
    "name": str,
    "description": str,
    "window_months": int,
    "recency": {"bands": list},
    "frequency": {"cap": int},
    "gravity": {"source": str, "aggregate": str, "non_crime": float, "matrix": dict},
    "weights": {c: float for c in COMPONENTS},
    "normalisation": {"method": str, "scale": {c: float for c in SCALED}},
}


@dataclass
class RfgConfig:
    data: dict[str, Any]
    source: str

    @property
    def name(self) -> str:
        return self.data["name"]

    @property
    def window_months(self) -> int:
        return self.data["window_months"]

    @property
    def bands(self) -> list[tuple[int, float]]:
        return [(b["max_months"], b["points"]) for b in self.data["recency"]["bands"]]

    @property
    def max_points(self) -> float:
        return max(p for _, p in self.bands)

    @property
    def cap(self) -> int | None:
        return self.data["frequency"].get("cap")

    @property
    def gravity(self) -> dict[str, Any]:
        return self.data["gravity"]

    @property
    def weights(self) -> dict[str, float]:
        return self.data["weights"]

    @property
    def method(self) -> str:
        return self.data["normalisation"]["method"]

    @property
    def scale(self) -> dict[str, float]:
        return self.data["normalisation"]["scale"]

    def matrix(self) -> dict[str, float]:
        from .tables import code_key

        return {code_key(k): v for k, v in self.gravity["matrix"].items()}

    def canonical(self, harm_table_sha256: str | None = None) -> str:
        body = {k: v for k, v in self.data.items() if k not in ("name", "description")}
        body = {"algorithm": ALGORITHM, **body}
        if self.gravity["source"] == "harm_days":
            body["harm_table_sha256"] = harm_table_sha256
        return json.dumps(_canonical_numbers(body), sort_keys=True, separators=(",", ":"),
                          ensure_ascii=False)

    def hash(self, harm_table_sha256: str | None = None) -> str:
        digest = hashlib.sha256(self.canonical(harm_table_sha256).encode("utf-8")).hexdigest()
        return "sha256:" + digest

    def record(self, harm_table_sha256: str | None = None) -> dict[str, Any]:
        return {"name": self.name, "source": self.source,
                "hash": self.hash(harm_table_sha256), "settings": self.data}


def _canonical_numbers(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _canonical_numbers(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_canonical_numbers(v) for v in value]
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def default_data() -> dict[str, Any]:
    text = resources.files(__package__).joinpath("data", "default_config.toml").read_text(
        encoding="utf-8")
    return tomllib.loads(text)


def load_config(path: Path | None) -> RfgConfig:
    """The effective configuration: the defaults, with the file at ``path`` laid over them."""
    base = default_data()
    if path is None:
        return RfgConfig(check(base, "default configuration"), "defaults")
    where = f"RFG configuration {path.name}"
    try:
        raw = path.read_bytes() if path.stat().st_size <= MAX_CONFIG_BYTES else None
    except OSError as exc:
        raise ConfigError(f"{where}: cannot read: {exc.strerror}") from None
    if raw is None:
        raise ConfigError(f"{where}: larger than {MAX_CONFIG_BYTES:,} bytes")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{where}: not UTF-8 text (bad byte at offset {exc.start})") from None
    suffix = path.suffix.lower()
    try:
        if suffix == ".toml":
            given = tomllib.loads(text)
        elif suffix == ".json":
            given = json.loads(text)
        else:
            raise ConfigError(f"{where}: name the file .toml or .json")
    except (tomllib.TOMLDecodeError, json.JSONDecodeError, RecursionError) as exc:
        raise ConfigError(f"{where}: cannot be read as {suffix[1:].upper()}: {exc}") from None
    if not isinstance(given, dict):
        raise ConfigError(f"{where}: must be a table (a JSON object)")
    return RfgConfig(check(merge(base, given, where), where), path.name)


def merge(base: dict[str, Any], given: dict[str, Any], where: str,
          allowed: dict[str, Any] = ALLOWED, path: tuple[str, ...] = ()) -> dict[str, Any]:
    out = copy.deepcopy(base)
    for key, value in given.items():
        here = path + (key,)
        dotted = ".".join(here)
        if key not in allowed:
            raise ConfigError(f"{where}: unknown key {dotted!r} "
                              f"(known here: {', '.join(sorted(allowed))})")
        spec = allowed[key]
        if isinstance(spec, dict):
            if not isinstance(value, dict):
                raise ConfigError(f"{where}: {dotted} must be a table")
            out[key] = merge(out.get(key, {}), value, where, spec, here)
        elif here in REPLACED_WHOLE or value is None:
            out[key] = copy.deepcopy(value)
            if value is None:
                out.pop(key)
        else:
            out[key] = copy.deepcopy(value)
    return out


def _number(value: Any, what: str, where: str, *, minimum: float = 0,
            whole: bool = False) -> float | int:
    ok = isinstance(value, (int, float)) and not isinstance(value, bool)
    if ok and isinstance(value, float):
        ok = math.isfinite(value)
    if ok and whole:
        ok = float(value).is_integer()
    if not ok:
        raise ConfigError(f"{where}: {what} must be a {'whole number' if whole else 'number'}, "
                          f"not {str(value)[:40]!r}")
    if value < minimum:
        raise ConfigError(f"{where}: {what} must be at least {minimum:g}")
    return int(value) if float(value).is_integer() else float(value)


def check(data: dict[str, Any], where: str) -> dict[str, Any]:
    """Check every value and return the configuration with numbers normalised."""
    out = copy.deepcopy(data)
    if not isinstance(out.get("name", ""), str) or not isinstance(out.get("description", ""),
                                                                   str):
        raise ConfigError(f"{where}: name and description must be text")
    out.setdefault("name", "unnamed RFG configuration")
    out["window_months"] = _number(out.get("window_months"), "window_months", where,
                                   minimum=1, whole=True)
    if out["window_months"] > 240:
        raise ConfigError(f"{where}: window_months must be at most 240")

    bands = out["recency"].get("bands")
    if not isinstance(bands, list) or not bands:
        raise ConfigError(f"{where}: recency.bands must be a non-empty list of "
                          "{max_months, points}")
    checked = []
    previous: float = -1
    for i, band in enumerate(bands):
        if not isinstance(band, dict) or set(band) != {"max_months", "points"}:
            raise ConfigError(f"{where}: recency.bands[{i}] must have exactly max_months and "
                              "points")
        months = _number(band["max_months"], f"recency.bands[{i}].max_months", where,
                         whole=True)
        points = _number(band["points"], f"recency.bands[{i}].points", where)
        if months <= previous:
            raise ConfigError(f"{where}: recency.bands must rise: max_months {months} comes "
                              f"after {previous}")
        previous = months
        checked.append({"max_months": months, "points": points})
    if max(b["points"] for b in checked) <= 0:
        raise ConfigError(f"{where}: at least one recency band must give points")
    out["recency"]["bands"] = checked

    cap = out["frequency"].get("cap")
    if cap is not None:
        out["frequency"]["cap"] = _number(cap, "frequency.cap", where, minimum=1, whole=True)

    gravity = out["gravity"]
    if gravity.get("source") not in ("matrix", "harm_days"):
        raise ConfigError(f"{where}: gravity.source must be \"matrix\" or \"harm_days\"")
    if gravity.get("aggregate") not in ("sum", "max"):
        raise ConfigError(f"{where}: gravity.aggregate must be \"sum\" or \"max\"")
    gravity["non_crime"] = _number(gravity.get("non_crime", 0), "gravity.non_crime", where)
    matrix = gravity.get("matrix")
    if gravity["source"] == "matrix" and (not isinstance(matrix, dict) or not matrix):
        raise ConfigError(f"{where}: gravity.matrix must list at least one offence code")
    if isinstance(matrix, dict):
        from .tables import code_key

        seen: dict[str, str] = {}
        for code, weight in matrix.items():
            key = code_key(code)
            if not key or len(key) > 100:
                raise ConfigError(f"{where}: gravity.matrix codes must be 1 to 100 characters")
            if key in seen:
                raise ConfigError(f"{where}: gravity.matrix lists {code!r} and {seen[key]!r}, "
                                  "which are the same code ignoring case")
            seen[key] = code
            matrix[code] = _number(weight, f"gravity.matrix.{code}", where)

    weights = out["weights"]
    for c in COMPONENTS:
        weights[c] = _number(weights.get(c, 0), f"weights.{c}", where)
    if not any(weights.values()):
        raise ConfigError(f"{where}: at least one weight must be above 0")

    norm = out["normalisation"]
    if norm.get("method") not in ("scale", "cohort_max"):
        raise ConfigError(f"{where}: normalisation.method must be \"scale\" or \"cohort_max\"")
    for c in SCALED:
        value = norm["scale"].get(c)
        norm["scale"][c] = _number(value, f"normalisation.scale.{c}", where)
        if norm["scale"][c] <= 0:
            raise ConfigError(f"{where}: normalisation.scale.{c} must be above 0")
    return out
