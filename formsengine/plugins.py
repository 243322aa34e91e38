"""Plugin manager factory.

Built-in features are plugins listed in ``DEFAULT_PLUGINS`` and registered exactly like
third-party ones. Installed plugins are found through the ``formsengine`` entry-point group.
"""

from __future__ import annotations

import importlib
import importlib.metadata
from collections.abc import Iterable
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from types import ModuleType

import pluggy

from . import __version__, hookspecs

ENTRY_POINT_GROUP = "formsengine"

DEFAULT_PLUGINS: tuple[str, ...] = (
    "formsengine.default_plugins.declarative_scoring",
    "formsengine.default_plugins.core_migrations",
    "formsengine.default_plugins.local_definitions",
    "formsengine.default_plugins.data_protection",
    "formsengine.web.plugin",
    "formsengine.exports.plugin",
    "formsengine.analysis.plugin",
    "formsengine.reports.plugin",
    "formsengine.interop.plugin",
)
LOCAL_DEFINITIONS = "formsengine.default_plugins.local_definitions"


def make_plugin_manager(
    *,
    load_entrypoints: bool = True,
    plugins: Iterable[object] = (),
    definitions_dir: Path | None = None,
) -> pluggy.PluginManager:
    """Return a new plugin manager with the default plugins registered.

    ``load_entrypoints`` loads every installed distribution's ``formsengine`` entry points;
    tests leave it off and register what they need through ``plugins``.
    """
    pm = pluggy.PluginManager("formsengine")
    pm.add_hookspecs(hookspecs)
    for name in DEFAULT_PLUGINS:
        module = importlib.import_module(name)
        if name == LOCAL_DEFINITIONS:
            pm.register(module.LocalDefinitions(definitions_dir), name=name)
        else:
            pm.register(module, name=name)
    if load_entrypoints:
        pm.load_setuptools_entrypoints(ENTRY_POINT_GROUP)
    for plugin in plugins:
        name = getattr(plugin, "__name__", None) or type(plugin).__name__
        if pm.get_plugin(name) is None and not pm.is_registered(plugin):
            pm.register(plugin, name=name)
    pm.check_pending()
    return pm


@dataclass(frozen=True)
class PluginInfo:
    name: str
    version: str
    distribution: str | None
    hooks: tuple[str, ...]
    builtin: bool


def plugin_version(pm: pluggy.PluginManager, plugin: object) -> tuple[str, str | None]:
    """(version, distribution name) of a registered plugin."""
    for plug, dist in pm.list_plugin_distinfo():
        if plug is plugin:
            return dist.version, dist.project_name
    module: ModuleType | None = plugin if isinstance(plugin, ModuleType) else None
    version = getattr(plugin, "__version__", None) or (
        getattr(module, "__version__", None) if module else None
    )
    if version:
        return str(version), None
    name = pm.get_name(plugin) or ""
    if name.startswith("formsengine."):
        return __version__, "formsengine"
    return "unknown", None


def describe_plugins(pm: pluggy.PluginManager) -> list[PluginInfo]:
    out = []
    for plugin in pm.get_plugins():
        name = pm.get_name(plugin) or repr(plugin)
        version, dist = plugin_version(pm, plugin)
        hooks = tuple(sorted(h.name for h in (pm.get_hookcallers(plugin) or [])))
        out.append(
            PluginInfo(name, version, dist, hooks, builtin=name in DEFAULT_PLUGINS)
        )
    return sorted(out, key=lambda p: (not p.builtin, p.name))


def installed_plugin_distributions() -> list[str]:
    eps = importlib.metadata.entry_points(group=ENTRY_POINT_GROUP)
    return sorted({ep.dist.name for ep in eps if ep.dist is not None})


def packaged_definition_names(package: str, folder: str = "definitions") -> list[str]:
    """Names of the instrument definition files (``*.json``, wording packs excepted) that
    ``package`` ships in its ``folder``, sorted."""
    root = resources.files(package).joinpath(folder)
    return sorted(e.name for e in root.iterdir()
                  if e.name.endswith(".json") and not e.name.endswith(".wording.json"))


def register_packaged_definitions(register, package: str, folder: str = "definitions") -> None:
    """For a plugin's ``register_instruments``: register every instrument definition file
    ``package`` ships in ``folder``. Works for installed and editable packages alike."""
    root = resources.files(package).joinpath(folder)
    for name in packaged_definition_names(package, folder):
        with resources.as_file(root.joinpath(name)) as path:
            register(path)
