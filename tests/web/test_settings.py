"""Organisation settings: the question wording chosen per instrument on the administration
page, and the `settings set` command (checked the same way)."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from formsengine.store import inspection as look
from formsengine.web import accounts

from .conftest import login, post
from .test_requests import HOSTILE

PACK = {"id": "settings-pack", "version": "1.0", "instrument": "test-risk", "language": "en-GB",
        "licence": "Test licence", "holder": "Test holder",
        "items": {"t.injury": {"label": "Licensed wording for the injury question"}}}


@pytest.fixture
def pack(app, store):
    engine = app.extensions["formsengine_engine"]
    if engine.wording.get("settings-pack@1.0") is None:
        engine.wording.add(PACK, plugin="tests", instruments=engine.instruments)
    yield "settings-pack@1.0"
    accounts.set_setting(store, "wording", {}, actor="test")


def _wording_audit(store):
    return [json.loads(r["details"])["value"] for r in look.rows(
        store, "audit", "details", action="setting", object_id="wording")]


def test_the_administrator_chooses_a_licensed_wording(admin, store, pack):
    page = admin.get("/admin/").get_data(as_text=True)
    assert "Question wording" in page and 'name="wording-test-risk"' in page
    assert "settings-pack 1.0, Test licence (Test holder)" in page
    response = post(admin, "/admin/wording", {"wording-test-risk": pack}, token_from="/admin/")
    assert response.status_code == 302
    assert accounts.get_setting(store, "wording") == {"test-risk": pack}
    assert _wording_audit(store) == [{"test-risk": pack}]
    page = admin.get("/admin/").get_data(as_text=True)
    assert f'<option value="{pack}" selected>' in page
    post(admin, "/admin/wording", {"wording-test-risk": ""}, token_from="/admin/")
    assert accounts.get_setting(store, "wording") == {}
    assert _wording_audit(store) == [{"test-risk": pack}, {}]


@pytest.mark.parametrize("value", ["nopack@1.0", HOSTILE, "x" * 50_000])
def test_a_wording_not_offered_is_refused_and_nothing_changes(admin, store, pack, value):
    post(admin, "/admin/wording", {"wording-test-risk": pack}, token_from="/admin/")
    response = post(admin, "/admin/wording", {"wording-test-risk": value},
                    token_from="/admin/")
    assert response.status_code == 302
    page = admin.get("/admin/").get_data(as_text=True)
    assert "Choose one of the wordings offered" in page and "<script>alert" not in page
    assert accounts.get_setting(store, "wording") == {"test-risk": pack}
    assert len(_wording_audit(store)) == 1


def test_without_packs_the_page_says_so(tmp_path):
    from formsengine.config import Settings
    from formsengine.engine import Engine
    from formsengine.store import Store
    from formsengine.web import create_app

    from .conftest import DEFINITIONS, FAST_HASH, make_user

    engine = Engine(Settings(definitions_dir=DEFINITIONS), load_entrypoints=False)
    app = create_app({"DATABASE": str(tmp_path / "w.db"), "ENGINE": engine,
                      "SECRET_KEY": "w" * 40, "PASSWORD_HASH": FAST_HASH})
    store = Store.open(tmp_path / "w.db", engine)
    make_user(store, "chief", role="administrator", teams=())
    store.close()
    client = app.test_client()
    assert login(client, "chief").status_code == 302
    page = client.get("/admin/").get_data(as_text=True)
    assert "No licensed wording packs are installed" in page
    assert 'name="wording-' not in page


@pytest.mark.parametrize("who", ["alice", "rita"])
def test_only_administrators_choose_the_wording(app, store, users, pack, who):
    client = app.test_client()
    login(client, who)
    response = post(client, "/admin/wording", {"wording-test-risk": pack},
                    token_from="/account/password")
    assert response.status_code == 403
    assert accounts.get_setting(store, "wording") == {}


def test_settings_command(tmp_path, monkeypatch):
    from formsengine.cli import _load_plugin_commands, cli

    monkeypatch.setenv("FORMSENGINE_DB", str(tmp_path / "cli.db"))
    _load_plugin_commands(cli)
    runner = CliRunner()

    def run(*args):
        return runner.invoke(cli, ["settings", "set", *args])

    assert run("require_totp", "on").exit_code == 0
    refused = run("exit_url", "http://example.org")
    assert refused.exit_code != 0 and "must start with https://" in refused.output
    assert run("exit_url", "https://example.org/weather").exit_code == 0
    refused = run("wording", "no-such-instrument=x@1")
    assert refused.exit_code != 0 and "no-such-instrument" in refused.output
    instrument = runner.invoke(cli, ["instruments", "list"]).output.split()[0]
    refused = run("wording", f"{instrument}=nopack@1.0")
    assert refused.exit_code != 0 and "no wording pack 'nopack@1.0'" in refused.output
    assert run("wording", f"{instrument}=").exit_code == 0

    from formsengine.config import Settings
    from formsengine.engine import Engine
    from formsengine.store import Store

    store = Store.open(tmp_path / "cli.db", Engine(Settings(database=tmp_path / "cli.db")))
    try:
        assert accounts.get_setting(store, "require_totp") is True
        assert accounts.get_setting(store, "exit_url") == "https://example.org/weather"
        assert accounts.get_setting(store, "wording") == {}
    finally:
        store.close()
