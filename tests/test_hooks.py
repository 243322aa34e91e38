"""Every hook: a contract in its docstring, a test named test_hook_<name>, a documentation
entry; and a test of each hook's behaviour through the core."""

from __future__ import annotations

import inspect
import json
import re
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

import formsengine
from formsengine import hookspecs
from formsengine.engine import PluginLoadError
from formsengine.store import Store
from formsengine.store import inspection as look

from .conftest import DefinitionsPlugin, answers, make_engine, toy_definition

ROOT = Path(__file__).resolve().parent.parent


def hook_names() -> list[str]:
    return sorted(name for name, fn in inspect.getmembers(hookspecs, inspect.isfunction)
                  if hasattr(fn, "formsengine_spec"))


@pytest.mark.parametrize("name", hook_names())
def test_every_hook_has_docstring_test_and_documentation(name):
    fn = getattr(hookspecs, name)
    assert fn.__doc__ and len(fn.__doc__.strip()) > 80, f"{name} needs a docstring contract"
    test_sources = "".join(p.read_text() for p in ROOT.glob("tests/**/test_*.py"))
    assert re.search(rf"def test_hook_{name}\b", test_sources), f"no test_hook_{name}"
    docs = (ROOT / "docs" / "plugin-hooks.md").read_text()
    assert f"## {name}" in docs, f"docs/plugin-hooks.md has no section for {name}"


def test_hook_register_instruments(toy):
    engine = make_engine(DefinitionsPlugin(toy, name="org"))
    assert engine.instruments.get("toy-checklist").plugin == "org"


def test_hook_register_wording_packs(toy, tmp_path):
    pack = {"id": "licensed-wording", "version": "1.0", "instrument": "toy-checklist",
            "language": "en-GB", "licence": "Licensed to the example organisation",
            "holder": "Example rights holder",
            "items": {"toy.a": {"label": "Official wording A", "options": {"yes": "Yes, A"}}}}

    class Packs:
        __name__ = "packs"

        @formsengine.hookimpl
        def register_wording_packs(self, register):
            register(pack)

    engine = make_engine(DefinitionsPlugin(toy), Packs())
    from formsengine.wording import item_text

    inst = engine.instruments.get("toy-checklist")
    found = engine.wording.for_instrument(inst)
    assert [p.ref for p in found] == ["licensed-wording@1.0"]
    text = item_text(inst, "toy.a", found[0])
    assert text["label"] == "Official wording A" and text["options"]["yes"] == "Yes, A"
    assert item_text(inst, "toy.a", None)["label"] == "First indicator"
    pack["items"] = {"toy.nope": {"label": "x"}}
    pack["version"] = "1.1"
    with pytest.raises(PluginLoadError, match="toy.nope: toy-checklist v1.0 has no such item"):
        make_engine(DefinitionsPlugin(toy), Packs())


def test_hook_score_assessment(toy):
    class Custom:
        __name__ = "custom-scorer"

        @formsengine.hookimpl
        def score_assessment(self, instrument, submission, parameters):
            if instrument.id != "toy-checklist":
                return None
            return {"scores": {"custom": len(submission.answers)}, "bands": {}, "level": None,
                    "flags": {}, "criteria": {}, "criteria_groups": {}, "complete": True,
                    "warnings": [], "instrument": {"id": "forged"},
                    "configuration": {"name": "weights-v2", "hash": "abc"}}

    engine = make_engine(DefinitionsPlugin(toy), Custom())
    result = engine.score_data(answers())
    assert result["scores"] == {"custom": 4}
    assert result["scorer"]["plugin"] == "custom-scorer"
    assert result["instrument"]["id"] == "toy-checklist"  # the core's record stands
    assert result["configuration"]["scorer"] == {"name": "weights-v2", "hash": "abc"}
    plain_hash = make_engine(DefinitionsPlugin(toy)).score_data(answers())["configuration"]
    assert result["configuration"]["hash"] != plain_hash["hash"]
    # without it, the declarative fallback (trylast) scores
    plain = make_engine(DefinitionsPlugin(toy)).score_data(answers())
    assert plain["scorer"]["plugin"].endswith("declarative_scoring")


def test_hook_assessment_flags(toy):
    class Extra:
        __name__ = "extra-flags"

        @formsengine.hookimpl
        def assessment_flags(self, instrument, submission, result):
            return {"note_mentions_weapon": "weapon" in submission.answers.get("toy.note", ""),
                    "first": False}

    engine = make_engine(DefinitionsPlugin(toy), Extra())
    data = answers(a="yes")
    data["answers"]["toy.note"] = "a weapon was shown"
    flags = engine.score_data(data)["flags"]
    assert flags["note_mentions_weapon"] is True
    assert flags["first"] is True  # a plugin cannot lower a flag the scorer raised


def test_hook_register_migrations(toy, tmp_path):
    versions = tmp_path / "org_extras"
    versions.mkdir()
    (versions / "org_extras_0001_notes.py").write_text(
        "from alembic import op\nimport sqlalchemy as sa\n"
        "revision = 'org_extras_0001'\ndown_revision = None\n"
        "branch_labels = ('org_extras',)\ndepends_on = 'core_0012'\n"
        "def upgrade():\n"
        "    op.create_table('org_notes', sa.Column('id', sa.Integer, primary_key=True),"
        " sa.Column('text', sa.Text))\n")

    class Plugin:
        __name__ = "org-db"

        @formsengine.hookimpl
        def register_migrations(self):
            return "org_extras", versions

    engine = make_engine(DefinitionsPlugin(toy), Plugin())
    store = Store.open(tmp_path / "m.db", engine, create=True)
    assert "org_notes" in look.schema_sql(store)
    assert look.migration_revisions(store) == {"web_0001", "org_extras_0001"}
    store.close()


def test_hook_register_commands(monkeypatch):
    from formsengine import cli as cli_module

    class Plugin:
        __name__ = "org-cli"

        @formsengine.hookimpl
        def register_commands(self, cli):
            @cli.command("org-hello")
            def hello():
                """Say hello."""
                click.echo("hello from a plugin")

    group = click.Group(commands=dict(cli_module.cli.commands))
    pm = formsengine.plugins.make_plugin_manager(load_entrypoints=False, plugins=[Plugin()])
    pm.hook.register_commands(cli=group)
    out = CliRunner().invoke(group, ["org-hello"])
    assert out.output == "hello from a plugin\n"


def test_hook_assessment_saved(toy, tmp_path):
    seen = []

    class Listener:
        __name__ = "listener"

        @formsengine.hookimpl
        def assessment_saved(self, store, assessment_id, result):
            seen.append((assessment_id, result and result["scores"]["yes_count"]))
            raise RuntimeError("a failing listener must not undo the save")

    engine = make_engine(DefinitionsPlugin(toy), Listener())
    store = Store.open(tmp_path / "s.db", engine, create=True)
    inst, sub = engine.check(answers(a="yes"))
    pid = store.ensure_person("P", "victim_survivor")
    aid = store.create_assessment(inst, sub, person_id=pid, occasion="intake")
    assert seen == [(aid, 1)]
    assert store.get_assessment(aid)["status"] == "final"
    store.close()


def test_default_plugins_are_registered_like_any_other():
    engine = make_engine()
    names = {engine.pm.get_name(p) for p in engine.pm.get_plugins()}
    assert set(formsengine.plugins.DEFAULT_PLUGINS) <= names


def test_entry_points_not_loaded_unless_asked(monkeypatch):
    calls = []
    monkeypatch.setattr("formsengine.plugins.load_entry_point_plugins",
                        lambda pm, environ: calls.append(pm))
    make_engine()
    assert calls == []
    pm = formsengine.plugins.make_plugin_manager(load_entrypoints=True)
    assert calls == [pm]


def test_hook_wrappers_see_the_calls_and_scoring_names_the_answering_plugin(toy):
    """Hooks go through pluggy's hook caller: an old-style and a new-style wrapper around
    score_assessment both run, tracing sees the call, and the result still names the plugin
    whose implementation scored (not the wrappers' plugins)."""
    seen = []

    class Watcher:
        __name__ = "watcher"

        @formsengine.hookimpl(hookwrapper=True)
        def score_assessment(self, instrument, submission, parameters):
            outcome = yield
            seen.append(("hookwrapper", instrument.id, outcome.get_result()["scores"]))

    class NewWatcher:
        __name__ = "new-watcher"

        @formsengine.hookimpl(wrapper=True)
        def score_assessment(self, instrument, submission, parameters):
            result = yield
            seen.append(("wrapper", instrument.id, result["scores"]))
            return result

        @formsengine.hookimpl(wrapper=True)
        def register_instruments(self, register):
            seen.append(("register", "before"))
            return (yield)

    engine = make_engine(DefinitionsPlugin(toy, name="org"), Watcher(), NewWatcher())
    assert ("register", "before") in seen
    assert engine.instruments.get("toy-checklist").plugin == "org"
    traced = []
    undo = engine.pm.add_hookcall_monitoring(
        lambda name, impls, kwargs: traced.append(name), lambda *a: None)
    result = engine.score_data(answers(a="yes"))
    undo()
    assert traced.count("score_assessment") == 1
    assert ("hookwrapper", "toy-checklist", result["scores"]) in seen
    assert ("wrapper", "toy-checklist", result["scores"]) in seen
    assert result["scorer"]["plugin"] == "formsengine.default_plugins.declarative_scoring"


def test_calling_plugin_and_call_answered_outside_and_inside_calls(toy):
    from formsengine.plugins import call_answered, calling_plugin

    assert calling_plugin() is None

    class Nobody:
        __name__ = "nobody"

        @formsengine.hookimpl(tryfirst=True)
        def score_assessment(self, instrument, submission, parameters):
            assert calling_plugin() == "nobody"
            return None

    engine = make_engine(DefinitionsPlugin(toy), Nobody())
    inst, sub = engine.check(answers())
    result, plugin = call_answered(engine.pm, "score_assessment", instrument=inst,
                                   submission=sub, parameters=inst.default_parameters())
    assert plugin == "formsengine.default_plugins.declarative_scoring"
    assert result["scores"]["yes_count"] == 0
    assert calling_plugin() is None


def test_toy_definition_is_valid_json():
    assert toy_definition()["id"] == "toy-checklist"
    assert json.dumps(toy_definition())


def test_offered_when_suggests_a_supplement(toy):
    supplement = json.loads(json.dumps(toy))
    supplement.update(id="toy-supplement", title="Supplement",
                      offered_when=[{"instrument": "toy-checklist",
                                     "when": {"item": "toy.b", "equals": "yes"}}])
    engine = make_engine(DefinitionsPlugin(toy, supplement))
    inst = engine.instruments.get("toy-checklist")
    assert [i.id for i in engine.offers_for(inst, {"toy.b": "yes"})] == ["toy-supplement"]
    assert engine.offers_for(inst, {"toy.b": "no"}) == []
    assert engine.offers_for(inst, {"toy.b": "dont_know"}) == []
    bad = json.loads(json.dumps(supplement))
    bad["offered_when"][0]["when"] = {"item": "toy.nope", "equals": "yes"}
    with pytest.raises(PluginLoadError, match="toy.nope"):
        make_engine(DefinitionsPlugin(toy, bad))


def test_the_python_scorer_example_in_the_docs_runs(toy):
    """The example under 'What a Python scorer receives' in docs/plugin-hooks.md, run as a
    plugin module on an instrument without declarative scoring."""
    import types

    text = (ROOT / "docs" / "plugin-hooks.md").read_text()
    section = text[text.index("### What a Python scorer receives"):]
    code = section[section.index("```python\n") + 10:]
    code = code[:code.index("```")]
    module = types.ModuleType("myorg_scorer")
    exec(compile(code, "plugin-hooks.md", "exec"), module.__dict__)  # noqa: S102
    toy.update(id="myorg-weighted-check")
    for key in ("scoring", "test_vectors"):
        toy.pop(key, None)
    engine = make_engine(DefinitionsPlugin(toy), module)
    data = answers(a="yes", b="yes", physical="none", sexual="none")
    data["instrument"] = "myorg-weighted-check"
    data["fields"]["incidents"] = 5
    result = engine.score_data(data)
    assert result["scores"] == {"weighted_total": 4, "at_least": 4}
    assert result["flags"] == {"many_incidents": True}
    assert result["scorer"]["plugin"] == "myorg_scorer"
    data["answers"]["toy.c"] = "dont_know"
    data["fields"]["incidents"] = 1
    result = engine.score_data(data)
    assert result["scores"] == {"weighted_total": None, "at_least": 4}
    assert result["flags"] == {"many_incidents": False}
    assert result["warnings"] == ["1 answer(s) not known"]
    # another instrument is left to the declarative engine
    plain = make_engine(DefinitionsPlugin(toy_definition()), module).score_data(answers())
    assert plain["scorer"]["plugin"].endswith("declarative_scoring")


def test_assessment_saved_runs_after_the_commit_for_imports_and_amendments(toy, tmp_path):
    """Each imported row and an amendment are announced once their transaction has
    committed: the listener, reading through another connection, already sees them."""
    import json as json_module

    from formsengine.importer import import_file

    seen = []
    db = tmp_path / "s.db"

    class Listener:
        __name__ = "listener"

        @formsengine.hookimpl
        def assessment_saved(self, store, assessment_id, result):
            with Store.open(db, engine) as other:  # a connection of its own
                row = look.first(other, "assessments", "status", id=assessment_id)
            seen.append((assessment_id, row["status"] if row else None,
                         result and result["scores"]["yes_count"]))

    engine = make_engine(DefinitionsPlugin(toy), Listener())
    store = Store.open(db, engine, create=True)
    lines = []
    for n, items in enumerate([dict(a="yes"), dict(a="yes", b="yes")]):
        r = answers(**items)
        r.update(person=f"P-{n}", role="victim_survivor", occasion="intake")
        lines.append(json_module.dumps(r))
    (tmp_path / "in.jsonl").write_text("\n".join(lines) + "\n")
    summary = import_file(store, tmp_path / "in.jsonl", actor="t")
    assert seen == [(summary["first_id"], "final", 1), (summary["last_id"], "final", 2)]

    seen.clear()
    inst, sub = engine.check(answers(a="yes", b="yes", c="yes"))
    new_id = store.amend(summary["first_id"], sub, reason="corrected", actor="t")
    assert seen == [(new_id, "final", 3)]
    store.close()
