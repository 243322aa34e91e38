"""Settings and the organisation's configuration.

Settings come from the command line, then environment variables, then defaults:

=========================  ===============================  ==============================
setting                    environment variable             default
=========================  ===============================  ==============================
database file              ``FORMSENGINE_DB``               ``formsengine.db`` in the
                                                            current folder
PostgreSQL database        ``FORMSENGINE_DATABASE_URL``     none (SQLite, the file above)
                           (``postgresql+psycopg://…``)
organisation config        ``FORMSENGINE_CONFIG``           none (built-in defaults)
local definitions folder   ``FORMSENGINE_DEFINITIONS``      none
=========================  ===============================  ==============================

The organisation configuration is a TOML file. It overrides scoring parameters of
instruments without editing a plugin, for example::

    [organisation]
    name = "Example Area DA Service"

    [instruments.dash-safelives.parameters]
    marac_escalation_incidents = 5
    # or, to change the risk bands as well:
    [instruments.dash-police.parameters]
    risk_cutoffs = [{min = 0, band = "none"}, {min = 1, band = "standard"},
                    {min = 8, band = "medium"}, {min = 12, band = "high"}]

Cut-offs are lists of ``{min, band}`` tables. Every scored result records the
configuration's name, the parameters applied and a hash of them.

It can also change when an instrument's occasions fall due (counted from the date a case
was opened), for any occasion the instrument declares::

    [instruments.dash-safelives.occasions]
    review = {months = 6}
    exit = {weeks = 40}
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .bounded import TooLarge, read_bounded
from .definition_checks import cutoff_problems
from .errors import ConfigError
from .occasions import AD_HOC, Occasion, due_from

# A database location that is a PostgreSQL URL rather than a SQLite file (kept here, not in
# formsengine.store.postgres, so that reading settings loads no database library).
DATABASE_URL_PREFIXES = ("postgresql://", "postgresql+psycopg://", "postgres://")


def is_database_url(location: Any) -> bool:
    """Whether a database location is a PostgreSQL URL (rather than a SQLite file)."""
    return isinstance(location, str) and location.startswith(DATABASE_URL_PREFIXES)

if TYPE_CHECKING:
    from .instruments import Instrument

MAX_CONFIG_BYTES = 1_000_000


@dataclass
class OrgConfig:
    name: str = "defaults"
    instruments: dict[str, dict[str, Any]] = field(default_factory=dict)
    raw: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def load(cls, path: str | os.PathLike | None) -> OrgConfig:
        if path is None:
            return cls()
        p = Path(path)
        try:
            data = read_bounded(p, MAX_CONFIG_BYTES)
        except TooLarge:
            raise ConfigError(f"configuration {p}: larger than {MAX_CONFIG_BYTES} bytes") from None
        except OSError as exc:
            raise ConfigError(f"configuration {p}: cannot read: {exc.strerror}") from None
        import tomllib  # only when there is a configuration file

        try:
            raw = tomllib.loads(data.decode("utf-8"))
        except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
            raise ConfigError(f"configuration {p}: not valid TOML: {exc}") from None
        return cls.from_dict(raw, where=str(p))

    @classmethod
    def from_dict(cls, raw: dict[str, Any], where: str = "configuration") -> OrgConfig:
        unknown = set(raw) - {"organisation", "instruments", "web", "research", "retention"}
        if unknown:
            raise ConfigError(
                f"{where}: unknown section(s) {', '.join(sorted(unknown))} "
                "(known: organisation, instruments, web, research, retention)"
            )
        org = raw.get("organisation", {})
        instruments = raw.get("instruments", {})
        if not isinstance(instruments, dict):
            raise ConfigError(f"{where}: [instruments] must be a table")
        for inst_id, spec in instruments.items():
            if not isinstance(spec, dict) or set(spec) - {"parameters", "occasions"}:
                raise ConfigError(
                    f"{where}: [instruments.{inst_id}] may only hold 'parameters' and "
                    "'occasions'"
                )
            if not isinstance(spec.get("parameters", {}), dict):
                raise ConfigError(f"{where}: [instruments.{inst_id}.parameters] must be a table")
            if not isinstance(spec.get("occasions", {}), dict):
                raise ConfigError(
                    f"{where}: [instruments.{inst_id}.occasions] must be a table of occasions, "
                    "for example review = {months = 6}")
            for occasion, due in spec.get("occasions", {}).items():
                try:
                    due_from(due)
                except ValueError as exc:
                    raise ConfigError(
                        f"{where}: instruments.{inst_id}.occasions.{occasion} {exc}") from None
        return cls(name=str(org.get("name", "organisation")), instruments=instruments, raw=raw)

    def overrides_for(self, instrument_id: str) -> dict[str, Any]:
        return dict(self.instruments.get(instrument_id, {}).get("parameters", {}))

    def occasion_overrides_for(self, instrument_id: str) -> dict[str, Any]:
        return dict(self.instruments.get(instrument_id, {}).get("occasions", {}))


def resolve_occasions(inst: Instrument, overrides: dict[str, Any],
                      where: str = "configuration") -> list[Occasion]:
    """The occasions ``inst`` declares, with the due offsets of ``overrides`` applied."""
    declared = {o.id: o for o in inst.declared_occasions}
    for occasion in overrides:
        if occasion not in declared:
            raise ConfigError(
                f"{where}: instrument {inst.id} v{inst.version} has no occasion {occasion!r} "
                f"(occasions: {', '.join(declared)})")
        if occasion == AD_HOC:
            raise ConfigError(f"{where}: instrument {inst.id}: {AD_HOC} is used when needed "
                              "and cannot fall due")
    out = []
    for o in inst.declared_occasions:
        if o.id in overrides:
            try:
                o = replace(o, due=due_from(overrides[o.id]))
            except ValueError as exc:
                raise ConfigError(
                    f"{where}: instruments.{inst.id}.occasions.{o.id} {exc}") from None
        out.append(o)
    return out


def resolve_parameters(inst: Instrument, overrides: dict[str, Any],
                       where: str = "configuration") -> dict[str, Any]:
    """Defaults of ``inst`` with ``overrides`` applied, each checked against its spec."""
    params = inst.default_parameters()
    for name, value in overrides.items():
        spec = inst.parameters.get(name)
        if spec is None:
            raise ConfigError(
                f"{where}: instrument {inst.id} has no parameter {name!r} "
                f"(parameters: {', '.join(sorted(inst.parameters)) or 'none'})"
            )
        ptype = spec["type"]
        if ptype == "cutoffs":
            problems = cutoff_problems(value, f"{inst.id}.{name}")
            if problems:
                raise ConfigError(f"{where}: " + "; ".join(problems))
            default_bands = {c["band"] for c in spec["default"]}
            bands = {c["band"] for c in value}
            if bands - default_bands:
                raise ConfigError(
                    f"{where}: {inst.id}.{name}: unknown band(s) "
                    f"{', '.join(sorted(bands - default_bands))} "
                    f"(bands: {', '.join(sorted(default_bands))})"
                )
        else:
            ok = isinstance(value, (int, float)) and not isinstance(value, bool)
            if ptype == "integer":
                ok = ok and float(value).is_integer()
            if not ok:
                kind = "a whole number" if ptype == "integer" else "a number"
                raise ConfigError(f"{where}: {inst.id}.{name} must be {kind}, not {value!r}")
            if "minimum" in spec and value < spec["minimum"]:
                raise ConfigError(f"{where}: {inst.id}.{name} must be at least {spec['minimum']}")
            if "maximum" in spec and value > spec["maximum"]:
                raise ConfigError(f"{where}: {inst.id}.{name} must be at most {spec['maximum']}")
            if ptype == "integer":
                value = int(value)
        params[name] = value
    return params


def configuration_record(inst: Instrument, name: str, params: dict[str, Any]) -> dict[str, Any]:
    defaults = inst.default_parameters()
    canonical = json.dumps(
        {"instrument": inst.id, "version": inst.version, "parameters": params},
        sort_keys=True, separators=(",", ":"),
    )
    return {
        "name": name,
        "hash": "sha256:" + hashlib.sha256(canonical.encode()).hexdigest(),
        "parameters": params,
        "overridden": sorted(k for k, v in params.items() if defaults.get(k) != v),
    }


SWITCH_WORDS = {"on": True, "true": True, "1": True, "yes": True,
                "off": False, "false": False, "0": False, "no": False}


def parse_switch(value: str, name: str) -> bool:
    """An on/off setting: on, true, 1, yes or off, false, 0, no (any case); anything else
    is refused, so a typo never switches a protection off."""
    word = value.strip().lower()
    if word not in SWITCH_WORDS:
        raise ConfigError(f"{name} must be on or off (on/off, true/false, 1/0, yes/no), "
                          f"not {value[:80]!r}")
    return SWITCH_WORDS[word]


def env_switch(name: str, *, default: bool) -> bool:
    """An on/off environment variable (see ``parse_switch``); unset or empty: ``default``."""
    raw = os.environ.get(name, "")
    return default if not raw.strip() else parse_switch(raw, name)


DATABASE_URL_ENV = "FORMSENGINE_DATABASE_URL"


@dataclass
class Settings:
    database: Path = Path("formsengine.db")
    config_file: Path | None = None
    definitions_dir: Path | None = None
    # a PostgreSQL database (``postgresql+psycopg://user@host/name``): used instead of the
    # SQLite file when set
    database_url: str | None = None

    @property
    def location(self) -> str | Path:
        """Where the data is: the PostgreSQL URL when one is set, else the SQLite file."""
        return self.database_url or self.database

    @property
    def on_server(self) -> bool:
        """Whether the database is a server's (PostgreSQL) rather than a file."""
        return bool(self.database_url)

    @classmethod
    def from_env(cls, **given: Any) -> Settings:
        env = os.environ
        db = given.get("database") or env.get("FORMSENGINE_DB") or "formsengine.db"
        cfg = given.get("config_file") or env.get("FORMSENGINE_CONFIG")
        defs = given.get("definitions_dir") or env.get("FORMSENGINE_DEFINITIONS")
        url = given.get("database_url") or env.get(DATABASE_URL_ENV) or None
        if given.get("database") and not given.get("database_url"):
            url = None  # a file named explicitly wins over the environment's URL
        if url is not None and not url.startswith(
                ("postgresql://", "postgresql+psycopg://", "postgres://")):
            from .errors import ConfigError

            raise ConfigError(f"{DATABASE_URL_ENV} must be a postgresql+psycopg:// URL")
        return cls(
            database=Path(db),
            config_file=Path(cfg) if cfg else None,
            definitions_dir=Path(defs) if defs else None,
            database_url=url,
        )
