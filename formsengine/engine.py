"""The engine: one plugin manager, the instruments and wording packs it registered, and the
organisation's configuration. The command line and the web application each make one.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from . import __version__
from .config import (
    OrgConfig,
    Settings,
    configuration_record,
    resolve_occasions,
    resolve_parameters,
)
from .errors import DefinitionError, FormsEngineError, SubmissionError
from .instruments import Instrument, InstrumentRegistry, build_instrument, read_json_file
from .occasions import Occasion
from .plugins import (
    LoadProblem,
    PluginManager,
    call_answered,
    calling_plugin,
    make_plugin_manager,
    plugin_version,
    warn_once,
)
from .submission import Submission, check_submission
from .wording import WordingRegistry

log = logging.getLogger(__name__)


CORE_RESULT_KEYS = ("instrument", "scorer", "wording")


class PluginLoadError(FormsEngineError):
    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__(
            "plugins registered definitions that cannot be used:\n"
            + "\n".join(f"- {p}" for p in problems)
        )


class Engine:
    def __init__(
        self,
        settings: Settings | None = None,
        *,
        load_entrypoints: bool = True,
        plugins: Iterable[object] = (),
        org_config: OrgConfig | None = None,
    ) -> None:
        self.settings = settings or Settings()
        self.pm: PluginManager = make_plugin_manager(
            load_entrypoints=load_entrypoints,
            plugins=plugins,
            definitions_dir=self.settings.definitions_dir,
        )
        self.org_config = org_config or OrgConfig.load(self.settings.config_file)
        self.instruments = InstrumentRegistry()
        self._config_cache: dict[tuple[str, str], tuple[dict, dict]] = {}
        # each scorer plugin's version, looked up once (every scored result records it)
        self._scorer_versions: dict[str, str] = {}
        self._occasions_cache: dict[tuple[str, str], list[Occasion]] = {}
        self.wording = WordingRegistry()
        problems: list[str] = []
        by_plugin: dict[str, list[str]] = {}
        self._collect_instruments(problems, by_plugin)
        self._skip_broken_installed_plugins(problems, by_plugin)
        self._check_offers(problems)
        self._collect_wording(problems)
        if problems:
            raise PluginLoadError(problems)
        # Check the organisation's overrides now, not at the first score.
        for inst_id in self.org_config.instruments:
            if inst_id not in self.instruments:
                raise PluginLoadError(
                    [f"configuration names instrument {inst_id!r}, which no plugin registered"]
                )
            for version in self.instruments.versions(inst_id):
                self.parameters_for(self.instruments.get(inst_id, version))
                self.occasions_for(self.instruments.get(inst_id, version))

    # -- registration -------------------------------------------------------------------
    def _plugin_version(self, plugin_name: str) -> str:
        plugin = self.pm.get_plugin(plugin_name)
        return plugin_version(self.pm, plugin)[0] if plugin is not None else "unknown"

    def _collect_instruments(self, problems: list[str],
                             by_plugin: dict[str, list[str]]) -> None:
        def register(definition: dict | str | Path) -> None:
            name = calling_plugin() or "unknown"
            version = self._plugin_version(name)
            source = None
            try:
                if isinstance(definition, (str, Path)):
                    source = Path(definition).name
                    data = read_json_file(Path(definition))
                    if not isinstance(data, dict):
                        raise DefinitionError(
                            f"plugin {name!r} file {source}",
                            ["$: must be a JSON object"],
                        )
                else:
                    data = definition
                inst = build_instrument(data, plugin=name, plugin_version=version,
                                        source=source)
                self.instruments.add(inst)
            except DefinitionError as exc:
                if not exc.where.startswith("plugin"):
                    exc = DefinitionError(f"plugin {name!r} file {exc.where}", exc.problems)
                problems.append(str(exc))
                by_plugin.setdefault(name, []).append(str(exc))
            except FormsEngineError as exc:
                problems.append(str(exc))
                by_plugin.setdefault(name, []).append(str(exc))

        self.pm.hook.register_instruments(register=register)

    def _skip_broken_installed_plugins(self, problems: list[str],
                                       by_plugin: dict[str, list[str]]) -> None:
        """An installed plugin (loaded from an entry point) whose definitions cannot be used
        is skipped with a warning, its instruments withdrawn, and listed by ``formsengine
        plugins``; every other command still works. Definitions from the organisation's own
        folder or from plugins registered in code still stop start-up."""
        installed = getattr(self.pm, "distributions", {})
        for name, found in by_plugin.items():
            if name not in installed:
                continue
            for problem in found:
                problems.remove(problem)
            self.instruments.drop_plugin(name)
            self.pm.unregister(name=name)
            version, dist = installed.pop(name)
            text = "; ".join(found)
            self.pm.load_problems.append(LoadProblem(name, dist, version, text))
            warn_once(f"warning: plugin {name!r} ({dist} {version}) was not loaded and is "
                      f"skipped: {text}")

    def _check_offers(self, problems: list[str]) -> None:
        """``offered_when`` names another instrument's items: check them against every
        registered version of that instrument. An offer for an instrument that is not
        installed is allowed (it never fires)."""
        from .definition_checks import check_condition

        for inst in self.instruments:
            for index, offer in enumerate(inst.definition.get("offered_when", [])):
                if offer["instrument"] not in self.instruments:
                    continue
                for version in self.instruments.versions(offer["instrument"]):
                    target = self.instruments.get(offer["instrument"], version)
                    found: list[str] = []
                    check_condition(offer["when"], f"$.offered_when[{index}].when", found,
                                    target, [], [], [], form_only=True)
                    problems.extend(
                        f"plugin {inst.plugin!r} instrument {inst.id} v{inst.version}: {p} "
                        f"(checked against {target.id} v{target.version})" for p in found
                    )

    def _collect_wording(self, problems: list[str]) -> None:
        def register(pack: dict | str | Path) -> None:
            try:
                self.wording.add(pack, plugin=calling_plugin() or "unknown",
                                 instruments=self.instruments)
            except FormsEngineError as exc:
                problems.append(str(exc))

        self.pm.hook.register_wording_packs(register=register)

    # -- scoring --------------------------------------------------------------------------
    def parameters_for(self, inst: Instrument, extra: dict[str, Any] | None = None,
                       where: str = "configuration") -> dict[str, Any]:
        params = resolve_parameters(inst, self.org_config.overrides_for(inst.id),
                                    where=f"configuration {self.org_config.name!r}")
        if extra:
            params = resolve_parameters(inst, {**_changed(inst, params), **extra}, where=where)
        return params

    def occasions_for(self, inst: Instrument) -> list[Occasion]:
        """The instrument's declared occasions with the organisation's due offsets."""
        cached = self._occasions_cache.get(inst.key)
        if cached is None:
            cached = resolve_occasions(inst, self.org_config.occasion_overrides_for(inst.id),
                                       where=f"configuration {self.org_config.name!r}")
            self._occasions_cache[inst.key] = cached
        return list(cached)

    def check(self, data: Any, where: str = "answers") -> tuple[Instrument, Submission]:
        return check_submission(self.instruments, data, where=where)

    def score(self, inst: Instrument, sub: Submission,
              extra_parameters: dict[str, Any] | None = None) -> dict[str, Any]:
        """Score a checked submission through the ``score_assessment`` hook."""
        if extra_parameters:
            params = self.parameters_for(inst, extra_parameters)
            config = configuration_record(inst, f"{self.org_config.name}+test-overrides",
                                          params)
        else:
            params, config = self._configuration(inst)
            params = dict(params)
        result, scorer = call_answered(self.pm, "score_assessment", instrument=inst,
                                       submission=sub, parameters=params)
        if result is None:
            raise SubmissionError(
                f"instrument {inst.id} v{inst.version}",
                ["no plugin can score this instrument (its definition declares no scoring, "
                 "and no plugin implements score_assessment for it)"],
            )
        flags_hook = self.pm.hook.assessment_flags
        extras = flags_hook(instrument=inst, submission=sub, result=result) \
            if flags_hook.get_hookimpls() else []  # (no call when no plugin adds flags)
        for extra in extras:
            for flag, raised in (extra or {}).items():
                result.setdefault("flags", {})
                result["flags"][flag] = bool(result["flags"].get(flag)) or bool(raised)
        ordered: dict[str, Any] = {
            "instrument": {"id": inst.id, "version": inst.version, "title": inst.title,
                           "plugin": inst.plugin, "plugin_version": inst.plugin_version},
            "scorer": {"plugin": scorer,
                       "version": self._scorer_version(scorer) if scorer else "unknown",
                       "engine": "formsengine " + __version__},
            "configuration": {**config, "parameters": dict(config["parameters"])},
            "wording": sub.wording,
        }
        scorer_config = result.pop("configuration", None)
        for key in CORE_RESULT_KEYS:  # a scorer cannot overwrite the core's records
            result.pop(key, None)
        if scorer_config:
            # Configuration the scorer used (for example a ranking's weights): recorded and
            # folded into the hash, so that the stored hash identifies everything that applied.
            record = ordered["configuration"]
            record["scorer"] = scorer_config
            combined = json.dumps([record["hash"], scorer_config], sort_keys=True, default=str)
            record["hash"] = "sha256:" + hashlib.sha256(combined.encode()).hexdigest()
        ordered.update(result)
        return ordered

    def _scorer_version(self, name: str) -> str:
        version = self._scorer_versions.get(name)
        if version is None:
            version = self._scorer_versions[name] = self._plugin_version(name)
        return version

    def _configuration(self, inst: Instrument) -> tuple[dict[str, Any], dict[str, Any]]:
        """(parameters, configuration record) of the organisation's configuration."""
        cached = self._config_cache.get(inst.key)
        if cached is None:
            params = self.parameters_for(inst)
            cached = (params, configuration_record(inst, self.org_config.name, params))
            self._config_cache[inst.key] = cached
        return cached

    def is_current(self, inst: Instrument, result: dict[str, Any] | None) -> bool:
        """Whether a stored result is what scoring now would record: the same instrument
        version, scorer plugin version, engine and configuration. A result whose scorer
        folded its own configuration into the hash is never taken as current."""
        if not result:
            return False
        try:
            scorer = result["scorer"]
            return (result["instrument"]["version"] == inst.version
                    and result["instrument"]["id"] == inst.id
                    and scorer["engine"] == "formsengine " + __version__
                    and scorer["version"] == self._plugin_version(scorer["plugin"])
                    and "scorer" not in result["configuration"]
                    and result["configuration"]["hash"] == self._configuration(inst)[1]["hash"])
        except (KeyError, TypeError):
            return False

    def offers_for(self, inst: Instrument, answers: dict[str, Any],
                   fields: dict[str, Any] | None = None) -> list[Instrument]:
        """Instruments whose ``offered_when`` names ``inst`` and holds for these answers
        (for example the stalking supplement after a DASH with item 8 answered yes)."""
        from .conditions import evaluate_form_condition

        offered: list[Instrument] = []
        for other in self.instruments:
            if other.key == inst.key or (offered and offered[-1].id == other.id):
                continue
            for offer in other.definition.get("offered_when", []):
                if offer["instrument"] == inst.id and evaluate_form_condition(
                        offer["when"], answers, fields or {}):
                    offered.append(self.instruments.get(other.id))  # newest version
                    break
        return offered

    def score_data(self, data: Any, where: str = "answers") -> dict[str, Any]:
        inst, sub = self.check(data, where)
        return self.score(inst, sub)


def _changed(inst: Instrument, params: dict[str, Any]) -> dict[str, Any]:
    defaults = inst.default_parameters()
    return {k: v for k, v in params.items() if defaults.get(k) != v}
