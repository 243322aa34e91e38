"""Plugin manager factory.

Built-in features are plugins listed in ``DEFAULT_PLUGINS`` and registered exactly like
third-party ones. Installed plugins are found through the ``formsengine`` entry-point group;
one that cannot be loaded is skipped with a warning and listed by ``formsengine plugins``.
An entry point that names a package without hook implementations offers the definition
files in the package's ``definitions/`` folder: a plugin made only of definitions needs no
Python.

Hooks are always called through pluggy's hook caller (``pm.hook.name(...)``), so hook
wrappers and call tracing see every call. The core knows which plugin's implementation is
running through ``calling_plugin()`` and which plugin answered a ``firstresult`` hook through
``call_answered()``.
"""

from __future__ import annotations

import functools
import importlib
import logging
import os
from collections.abc import Callable, Iterable, Mapping
from contextvars import ContextVar
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from types import ModuleType
from typing import Any

import pluggy

from . import __version__, hookspecs
from .hookspecs import hookimpl

log = logging.getLogger(__name__)

ENTRY_POINT_GROUP = "formsengine"
LOAD_VARIABLE = "FORMSENGINE_LOAD_PLUGINS"
DISABLE_VARIABLE = "FORMSENGINE_DISABLE_PLUGINS"

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

_calling: ContextVar[str | None] = ContextVar("formsengine_calling_plugin", default=None)
_answered: ContextVar[list[str] | None] = ContextVar("formsengine_answered", default=None)


def calling_plugin() -> str | None:
    """The name of the plugin whose hook implementation is running, or ``None`` outside a
    hook call. A callback handed to a hook (``register`` of ``register_instruments``) uses it
    to record which plugin called it."""
    return _calling.get()


def call_answered(pm: pluggy.PluginManager, hook_name: str,
                  **kwargs: Any) -> tuple[Any, str | None]:
    """Call a ``firstresult`` hook through pluggy's hook caller and return ``(result, name
    of the plugin whose implementation gave it)``; ``(None, None)`` when none answered.
    Wrappers around the hook run as for any call (a wrapper that replaces the result does
    not change which plugin is named)."""
    answered: list[str] = []
    token = _answered.set(answered)
    try:
        result = getattr(pm.hook, hook_name)(**kwargs)
    finally:
        _answered.reset(token)
    return result, (answered[-1] if answered and result is not None else None)


def _named(plugin_name: str, function: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(function)
    def call(*args: Any, **kwargs: Any) -> Any:
        token = _calling.set(plugin_name)
        try:
            result = function(*args, **kwargs)
        finally:
            _calling.reset(token)
        answered = _answered.get()
        if answered is not None and result is not None:
            answered.append(plugin_name)
        return result

    return call


@dataclass(frozen=True)
class LoadProblem:
    """An installed plugin that was not loaded, and why."""

    name: str
    distribution: str | None
    version: str | None
    problem: str


class PluginManager(pluggy.PluginManager):
    """pluggy's plugin manager that also records, for each hook implementation it calls,
    the plugin it belongs to (see ``calling_plugin`` and ``call_answered``), the installed
    plugins it could not load, and the distribution of each plugin loaded from an entry
    point."""

    def __init__(self) -> None:
        super().__init__("formsengine")
        self.load_problems: list[LoadProblem] = []
        self.distributions: dict[str, tuple[str, str]] = {}

    def register(self, plugin: Any, name: str | None = None) -> str | None:
        registered = super().register(plugin, name)
        if registered is None:
            return None
        for caller in self.get_hookcallers(plugin) or []:
            for impl in caller.get_hookimpls():
                if impl.plugin is plugin and not (impl.wrapper or impl.hookwrapper):
                    # pluggy calls impl.function; wrapping it keeps the call in pluggy's
                    # hands (order, wrappers, tracing) and tells the core who answered.
                    impl.function = _named(registered, impl.function)  # type: ignore[misc]
        return registered

    def has_hookimpls(self, plugin: Any) -> bool:
        return any(self.parse_hookimpl_opts(plugin, attr) is not None for attr in dir(plugin))


def make_plugin_manager(
    *,
    load_entrypoints: bool = True,
    plugins: Iterable[object] = (),
    definitions_dir: Path | None = None,
    environ: Mapping[str, str] | None = None,
) -> PluginManager:
    """Return a new plugin manager with the default plugins registered.

    ``load_entrypoints`` loads every installed distribution's ``formsengine`` entry points
    (subject to ``FORMSENGINE_LOAD_PLUGINS`` and ``FORMSENGINE_DISABLE_PLUGINS``); tests
    leave it off and register what they need through ``plugins``.
    """
    pm = PluginManager()
    pm.add_hookspecs(hookspecs)
    for name in DEFAULT_PLUGINS:
        module = importlib.import_module(name)
        if name == LOCAL_DEFINITIONS:
            pm.register(module.LocalDefinitions(definitions_dir), name=name)
        else:
            pm.register(module, name=name)
    if load_entrypoints:
        load_entry_point_plugins(pm, os.environ if environ is None else environ)
    for plugin in plugins:
        name = getattr(plugin, "__name__", None) or type(plugin).__name__
        if pm.get_plugin(name) is None and not pm.is_registered(plugin):
            pm.register(plugin, name=name)
    pm.check_pending()
    return pm


def _names(value: str | None) -> set[str] | None:
    if value is None or not value.strip():
        return None
    return {n.strip() for n in value.split(",") if n.strip()}


_warned: set[str] = set()


def warn_once(message: str) -> None:
    """Log a warning once per process."""
    if message not in _warned:  # the command line makes more than one plugin manager
        _warned.add(message)
        log.warning(message)


def forget_warnings() -> None:
    """Forget which warnings ``warn_once`` has logged, so that each is logged again: for
    test suites, where one process runs many tests and each should see the warnings its
    own set-up causes (the test suite does this before every test)."""
    _warned.clear()


def load_entry_point_plugins(pm: PluginManager, environ: Mapping[str, str]) -> None:
    """Register every installed ``formsengine`` entry point that is chosen: all of them,
    or only those named in ``FORMSENGINE_LOAD_PLUGINS`` (comma-separated entry-point names),
    less those named in ``FORMSENGINE_DISABLE_PLUGINS``. A plugin that cannot be imported or
    whose hooks do not match the specifications is skipped with a warning and recorded in
    ``pm.load_problems``."""
    chosen = _names(environ.get(LOAD_VARIABLE))
    disabled = _names(environ.get(DISABLE_VARIABLE)) or set()
    for ep, dist_name, version in _entry_points():
        if ep.name in disabled or (chosen is not None and ep.name not in chosen):
            continue
        if pm.has_plugin(ep.name) or pm.is_blocked(ep.name):
            continue
        try:
            plugin = ep.load()
            if not pm.has_hookimpls(plugin):
                plugin = PackagedDefinitions.for_package(plugin, ep.name)
            pm.register(plugin, name=ep.name)
            pm.check_pending()
        except Exception as exc:  # a broken plugin must not stop every command
            if pm.get_plugin(ep.name) is not None:
                pm.unregister(name=ep.name)
            problem = f"{type(exc).__name__}: {exc}"
            pm.load_problems.append(LoadProblem(ep.name, dist_name, version, problem))
            warn_once(f"warning: plugin {ep.name!r} ({dist_name} {version}) was not "
                      f"loaded and is skipped: {problem}")
            continue
        pm.distributions[ep.name] = (version, dist_name)


@functools.cache
def _entry_points() -> list[tuple[Any, str, str]]:
    """(entry point, distribution name, version) of every installed ``formsengine`` entry
    point, looked up once per process (a command makes more than one plugin manager)."""
    import importlib.metadata

    found = []
    for ep in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP):
        dist = ep.dist
        dist_name = dist.metadata["Name"] if dist is not None else "unknown"
        version = dist.version if dist is not None else "unknown"
        found.append((ep, dist_name, version))
    return found


class PackagedDefinitions:
    """The plugin the core makes for an entry point that names a package with no hook
    implementations: it offers the package's ``definitions/`` folder (instrument
    definitions, and ``*.wording.json`` wording packs)."""

    def __init__(self, package: str) -> None:
        self.package = package

    @classmethod
    def for_package(cls, plugin: Any, entry_point: str) -> PackagedDefinitions:
        package = getattr(plugin, "__name__", None)
        if not isinstance(plugin, ModuleType) or package is None:
            raise ValueError(f"entry point {entry_point!r} names {plugin!r}, which implements "
                             "no hooks and is not a package")
        try:
            folder = resources.files(package).joinpath("definitions")
            found = folder.is_dir()
        except (ModuleNotFoundError, TypeError):
            found = False
        if not found:
            raise ValueError(f"package {package!r} implements no hooks and has no "
                             "definitions/ folder")
        return cls(package)

    @hookimpl
    def register_instruments(self, register) -> None:
        register_packaged_definitions(register, self.package)

    @hookimpl
    def register_wording_packs(self, register) -> None:
        root = resources.files(self.package).joinpath("definitions")
        for entry in sorted(root.iterdir(), key=lambda e: e.name):
            if entry.name.endswith(".wording.json"):
                with resources.as_file(entry) as path:
                    register(path)


@dataclass(frozen=True)
class PluginInfo:
    name: str
    version: str
    distribution: str | None
    hooks: tuple[str, ...]
    builtin: bool


def plugin_version(pm: pluggy.PluginManager, plugin: object) -> tuple[str, str | None]:
    """(version, distribution name) of a registered plugin."""
    name = pm.get_name(plugin) or ""
    if isinstance(pm, PluginManager) and name in pm.distributions:
        return pm.distributions[name]
    for plug, dist in pm.list_plugin_distinfo():
        if plug is plugin:
            return dist.version, dist.project_name
    module: ModuleType | None = plugin if isinstance(plugin, ModuleType) else None
    version = getattr(plugin, "__version__", None) or (
        getattr(module, "__version__", None) if module else None
    )
    if version:
        return str(version), None
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
    import importlib.metadata

    eps = importlib.metadata.entry_points(group=ENTRY_POINT_GROUP)
    return sorted({ep.dist.name for ep in eps if ep.dist is not None})


def packaged_definition_names(package: str, folder: str = "definitions") -> list[str]:
    """Names of the instrument definition files that ``package`` ships in its ``folder``,
    sorted: every ``*.json`` file that is a definition by ``looks_like_definition`` (wording
    packs and other JSON, such as an author's helper files, are left out)."""
    from .instruments import looks_like_definition

    root = resources.files(package).joinpath(folder)
    names = []
    for entry in root.iterdir():
        if not entry.name.endswith(".json") or entry.name.endswith(".wording.json"):
            continue
        with resources.as_file(entry) as path:
            if looks_like_definition(path):
                names.append(entry.name)
    return sorted(names)


def register_packaged_definitions(register, package: str, folder: str = "definitions") -> None:
    """For a plugin's ``register_instruments``: register every instrument definition file
    ``package`` ships in ``folder``. Works for installed and editable packages alike."""
    root = resources.files(package).joinpath(folder)
    for name in packaged_definition_names(package, folder):
        with resources.as_file(root.joinpath(name)) as path:
            register(path)
