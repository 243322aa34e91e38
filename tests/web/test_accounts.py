"""Accounts and sign-in: Argon2id, password policy, first administrator, equal answers for
unknown users, slowing and auditing failed sign-ins, TOTP."""

from __future__ import annotations

import html
import re
import time

import pyotp
import pytest
from click.testing import CliRunner

from formsengine.store import accounts as store_accounts
from formsengine.store import inspection as look
from formsengine.web import accounts
from formsengine.web.auth import qr_svg

from .conftest import FAST_HASH, PASSWORD, csrf, login, make_user, post


def test_passwords_are_argon2id(store, users):
    row = look.first(store, "web_users", "password_hash", username="alice")
    assert row["password_hash"].startswith("$argon2id$")
    assert PASSWORD not in row["password_hash"]


def test_rehash_on_login_when_parameters_change(app, client, store, users):
    before = look.first(store, "web_users", "password_hash", username="alice")
    assert "m=1024,t=1" in before["password_hash"]
    app.config["PASSWORD_HASH"] = {"time_cost": 2, "memory_cost": 2048, "parallelism": 1}
    assert login(client, "alice").status_code == 302
    after = look.first(store, "web_users", "password_hash", username="alice")
    assert "m=2048,t=2" in after["password_hash"]


@pytest.mark.parametrize("length", [64, 128, 256])
def test_long_passwords_work_unchanged(client, store, length):
    password = ("a long passphrase with words " * 20)[:length]
    make_user(store, "longpw", password=password)
    assert login(client, "longpw", password).status_code == 302


def test_password_too_long_for_policy_refused():
    assert "256 characters or fewer" in accounts.password_problem("x" * 257)


@pytest.mark.parametrize("password,problem", [
    ("short", "at least 12"),
    ("elevenchars", "at least 12"),
    ("password1234", "too common"),
    ("QWERTYUIOP123", "too common"),
    ("correct horse battery", None),
    ("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "one character repeated"),
    ("            ", "one character repeated"),
    ("ababababababab", None),  # no composition rules
    ("Practitioner01 is me", "contain your username"),
    ("my name is PRACTITIONER01!", "contain your username"),
    ("a passphrase of words", None),
])
def test_password_policy(password, problem):
    found = accounts.password_problem(password, "practitioner01")
    assert (found is None) if problem is None else (problem in found)


def test_a_short_username_inside_a_password_is_allowed():
    assert accounts.password_problem("jo's long passphrase", "jo") is None


def test_a_password_with_the_username_is_refused_on_the_page(alice):
    new = "alice in wonderland"
    response = post(alice, "/account/password", {"current": PASSWORD, "new": new,
                                                 "confirm": new})
    assert response.status_code == 400
    assert "must not contain your username" in response.get_data(as_text=True)
    new = "z" * 20
    response = post(alice, "/account/password", {"current": PASSWORD, "new": new,
                                                 "confirm": new})
    assert response.status_code == 400
    assert "one character repeated" in response.get_data(as_text=True)


def test_password_equal_to_username_refused():
    assert accounts.password_problem("practitioner01", "Practitioner01")


def test_fresh_database_has_no_usable_account(client, store):
    assert look.count(store, "web_users") == 0
    for username in ("admin", "administrator", "root"):
        response = login(client, username, "admin")
        assert response.status_code == 400


def test_create_admin_command_prints_one_time_password(tmp_path, monkeypatch, engine):
    from formsengine.cli import _load_plugin_commands, cli

    monkeypatch.setenv("FORMSENGINE_DB", str(tmp_path / "cli.db"))
    _load_plugin_commands(cli)
    runner = CliRunner()
    result = runner.invoke(cli, ["users", "create-admin", "chief"])
    assert result.exit_code == 0, result.output
    password = result.output.split("One-time password: ")[1].split()[0]
    assert len(password) >= 12
    result = runner.invoke(cli, ["teams", "create", "North"])
    assert result.exit_code == 0, result.output
    result = runner.invoke(cli, ["users", "create", "pat", "--role", "practitioner",
                                 "--team", "North"])
    assert result.exit_code == 0, result.output
    result = runner.invoke(cli, ["users", "create", "pat2", "--role", "practitioner",
                                 "--team", "Nowhere"])
    assert result.exit_code != 0 and "no team 'Nowhere'" in result.output

    from formsengine.web import create_app

    app = create_app({"DATABASE": str(tmp_path / "cli.db"), "ENGINE": engine,
                      "SECRET_KEY": "k" * 40})
    client = app.test_client()
    response = login(client, "chief", password)
    assert response.status_code == 302
    # the one-time password must be changed before anything else
    assert client.get("/admin/").headers["Location"].endswith("/account/password")
    response = post(client, "/account/password", {
        "current": password, "new": "a brand new passphrase", "confirm":
        "a brand new passphrase"})
    assert response.status_code == 302
    assert client.get("/admin/").status_code == 200


def test_secret_key_file_is_private(tmp_path, monkeypatch, engine):
    from formsengine.web import create_app

    monkeypatch.delenv("FORMSENGINE_SECRET_KEY", raising=False)
    db = tmp_path / "k.db"
    app = create_app({"DATABASE": str(db), "ENGINE": engine})
    key_file = tmp_path / "k.db.secret-key"
    assert key_file.stat().st_mode & 0o777 == 0o600
    assert app.config["SECRET_KEY"] == key_file.read_text().strip()
    again = create_app({"DATABASE": str(db), "ENGINE": engine})
    assert again.config["SECRET_KEY"] == app.config["SECRET_KEY"]


def test_unknown_user_and_wrong_password_same_answer_and_time(app, client, store):
    params = {"time_cost": 2, "memory_cost": 16384, "parallelism": 1}
    app.config["PASSWORD_HASH"] = params
    app.config["LOGIN_FAILURES_PER_USER"] = 1000  # per-account slowing is tested below
    store.ensure_team("Team A")
    accounts.create_user(store, "sue", role="practitioner", password=PASSWORD, params=params,
                         must_change=False)

    def attempt(username):
        token = csrf(client)
        start = time.perf_counter()
        response = client.post("/sign-in", data={"username": username,
                                                 "password": "wrong password here",
                                                 "csrf_token": token})
        return response, time.perf_counter() - start

    attempt("sue")  # warm up both paths
    attempt("nobody")
    # interleaved, so that load from elsewhere on the machine falls on both alike
    wrong, unknown = [], []
    for i in range(5):
        wrong.append(attempt("sue"))
        unknown.append(attempt(f"ghost{i}"))
    body = {r.get_data(as_text=True).replace(csrf(client), "") for r, _ in wrong + unknown}
    statuses = {r.status_code for r, _ in wrong + unknown}
    assert statuses == {400}
    assert all("Enter a correct username and password" in b for b in body)
    t_wrong = sorted(t for _, t in wrong)[2]  # medians
    t_unknown = sorted(t for _, t in unknown)[2]
    assert 0.5 < t_wrong / t_unknown < 2.0, (t_wrong, t_unknown)


def test_failed_sign_ins_are_slowed_and_audited(app, client, store, users):
    for _ in range(app.config["LOGIN_FAILURES_PER_USER"]):
        assert login(client, "alice", "not the password!").status_code == 400
    # now even the right password is refused for a while, with the same kind of answer
    response = login(client, "alice")
    assert response.status_code == 400
    assert "Too many failed attempts" in response.get_data(as_text=True)
    rows = look.rows(store, "audit", "actor", "details", action="login_failed")
    assert len(rows) == app.config["LOGIN_FAILURES_PER_USER"] + 1
    assert all("alice" not in r["details"] for r in rows)  # no typed usernames in the trail
    # another account is not affected
    assert login(client, "sue").status_code == 302


def test_failed_sign_ins_from_one_address_hit_the_rate_limit(app, client, users):
    app.config["LOGIN_FAILURES_PER_USER"] = 1000
    statuses = [login(client, f"ghost{i}", "wrong wrong wrong").status_code
                for i in range(22)]
    assert statuses[:20] == [400] * 20
    assert statuses[-1] == 429


def test_successful_sign_in_is_audited_and_not_rate_limited(client, store, users):
    for _ in range(25):
        assert login(client, "alice").status_code == 302
        client.post("/sign-out", data={"csrf_token": csrf(client, "/account/password")})
    assert login(client, "alice").status_code == 302
    rows = look.rows(store, "audit", "actor", action="login")
    assert len(rows) == 26 and {r["actor"] for r in rows} == {"alice"}
    assert len(look.rows(store, "audit", "id", action="logout")) == 25


def _enable_totp(store, username):
    secret = pyotp.random_base32()
    with store.write():
        store_accounts.set_totp(store, store_accounts.user_id_by_name(store, username),
                                secret, 0)
    return secret


def test_totp_sign_in(client, store, users):
    secret = _enable_totp(store, "alice")
    response = login(client, "alice")
    assert response.headers["Location"].endswith("/sign-in/code")
    assert client.get("/").status_code == 302  # not signed in yet
    token = csrf(client, "/sign-in/code")
    bad = client.post("/sign-in/code", data={"code": "000000", "csrf_token": token})
    assert bad.status_code == 400
    code = pyotp.TOTP(secret).now()
    good = client.post("/sign-in/code", data={"code": code, "csrf_token": token})
    assert good.status_code == 302
    assert client.get("/").status_code == 200
    # the same code cannot be used twice
    client.post("/sign-out", data={"csrf_token": csrf(client, "/account/password")})
    login(client, "alice")
    token = csrf(client, "/sign-in/code")
    replay = client.post("/sign-in/code", data={"code": code, "csrf_token": token})
    assert replay.status_code == 400


def test_organisation_can_require_totp(client, store, users):
    accounts.set_setting(store, "require_totp", True, actor="test")
    assert login(client, "alice").status_code == 302
    response = client.get("/")
    assert response.headers["Location"].endswith("/account/two-factor")
    page = client.get("/account/two-factor").get_data(as_text=True)
    secret = page.split('id="totp-key">')[1].split("<")[0]
    # the QR code holds the set-up address shown beside it, which holds the key shown
    uri = html.unescape(page.split('class="govuk-details__text app-break">')[1].split("<")[0])
    assert pyotp.parse_uri(uri).secret == secret
    svg = re.search(r"<svg .*?</svg>", page, re.S).group(0)
    assert svg == str(qr_svg(uri))
    assert svg.startswith('<svg role="img" aria-label="QR code of the set-up key"')
    assert "style=" not in svg and "alice" not in svg  # CSP-safe; nothing identifying
    response = post(client, "/account/two-factor", {"code": pyotp.TOTP(secret).now()},
                    token_from="/account/two-factor")
    assert response.status_code == 302
    assert client.get("/").status_code == 200
    assert look.first(store, "web_users", "totp_secret", username="alice")[
        "totp_secret"] == secret


def test_anyone_can_turn_on_two_factor_from_their_account_page(alice, store):
    """Not required by the organisation: offered on the account page, and shown as on."""
    page = alice.get("/account/password").get_data(as_text=True)
    assert 'href="/account/two-factor">Set up two-factor sign-in</a>' in page
    setup = alice.get("/account/two-factor").get_data(as_text=True)
    secret = setup.split('id="totp-key">')[1].split("<")[0]
    response = post(alice, "/account/two-factor", {"code": pyotp.TOTP(secret).now()},
                    token_from="/account/two-factor")
    assert response.status_code == 302
    page = alice.get("/account/password").get_data(as_text=True)
    assert "Two-factor sign-in is on for your account" in page
    assert "Set up two-factor sign-in</a>" not in page
    assert look.count(store, "audit", action="totp_enabled") == 1


def _sign_in_with_code(client, secret, username="alice"):
    assert login(client, username).headers["Location"].endswith("/sign-in/code")
    # a fresh step: the last code used may not be used again
    code = pyotp.TOTP(secret).at(time.time() + 30)
    response = post(client, "/sign-in/code", {"code": code}, token_from="/sign-in/code")
    return response


def test_moving_two_factor_to_a_new_app_needs_the_password(client, store, users):
    old = _enable_totp(store, "alice")
    _sign_in_with_code(client, old)
    page = client.get("/account/two-factor").get_data(as_text=True)
    assert "already on for your account" in page and 'id="current"' in page
    new = page.split('id="totp-key">')[1].split("<")[0]
    code = pyotp.TOTP(new).now()
    for password, message in (("", "Enter your password"),
                              ("not the password at all", "Your password is not right")):
        response = post(client, "/account/two-factor", {"code": code, "current": password},
                        token_from="/account/two-factor")
        assert response.status_code == 400 and message in response.get_data(as_text=True)
        assert look.first(store, "web_users", "totp_secret", username="alice")[
            "totp_secret"] == old
    response = post(client, "/account/two-factor", {"code": code, "current": PASSWORD},
                    token_from="/account/two-factor")
    assert response.status_code == 302
    assert look.first(store, "web_users", "totp_secret", username="alice")[
        "totp_secret"] == new


def test_an_administrator_turns_off_two_factor_for_a_lost_phone(app, client, store, users):
    secret = _enable_totp(store, "alice")
    assert _sign_in_with_code(client, secret).status_code == 302
    admin = app.test_client()
    assert login(admin, "admin").status_code == 302
    page = admin.get("/admin/").get_data(as_text=True)
    assert page.count("Turn off two-factor") == 1  # only alice has it on
    uid = look.value(store, "web_users", "uid", username="alice")
    response = post(admin, f"/admin/users/{uid}/two-factor-off", {}, token_from="/admin/")
    assert response.status_code == 302
    row = look.first(store, "web_users", "totp_secret", username="alice")
    assert row["totp_secret"] is None
    assert client.get("/").status_code == 302  # her session ended
    assert login(client, "alice").headers["Location"].endswith("/")  # no code asked
    [entry] = look.rows(store, "audit", "actor", "object_id", action="totp_disabled")
    assert entry["actor"] == "admin"
    # practitioners cannot; the request needs its CSRF token
    assert post(client, f"/admin/users/{uid}/two-factor-off", {},
                token_from="/account/password").status_code == 403
    assert admin.post(f"/admin/users/{uid}/two-factor-off").status_code == 400


def test_two_factor_off_from_the_command_line(cli_run, store, users):
    _enable_totp(store, "alice")
    result = cli_run("users", "two-factor-off", "nobody")
    assert result.exit_code != 0 and "no user 'nobody'" in result.output
    result = cli_run("users", "two-factor-off", "alice")
    assert result.exit_code == 0 and "off for alice" in result.output
    assert look.first(store, "web_users", "totp_secret", username="alice")[
        "totp_secret"] is None


def test_disabling_a_user_from_the_command_line(cli_run, client, store, users):
    assert login(client, "alice").status_code == 302
    result = cli_run("users", "disable", "nobody")
    assert result.exit_code != 0 and "no user 'nobody'" in result.output
    result = cli_run("users", "disable", "alice")
    assert result.exit_code == 0 and "User alice disabled." in result.output
    assert client.get("/").status_code == 302  # her session ended at once
    assert login(client, "alice").status_code == 400


@pytest.mark.parametrize("path", ["/account/password", "/account/two-factor"])
def test_guessing_the_password_from_a_session_left_open_is_stopped(app, alice, store, path):
    """Wrong passwords on the account pages count as failed sign-ins: after the limit, even
    the right one is refused for a while."""
    if path.endswith("two-factor"):
        _enable_totp(store, "alice")  # setting it up again is what asks for the password
    new = "a completely new passphrase"

    def attempt(password):
        return post(alice, path, {"current": password, "new": new, "confirm": new,
                                  "code": "000000"}, token_from=path)

    for _ in range(app.config["LOGIN_FAILURES_PER_USER"]):
        response = attempt("a wrong guess here")
        assert response.status_code == 400 and "not right" in response.get_data(as_text=True)
    response = attempt(PASSWORD)
    assert response.status_code == 400
    assert "Too many failed attempts" in response.get_data(as_text=True)
    assert look.count(store, "audit", action="password_check_failed") == app.config[
        "LOGIN_FAILURES_PER_USER"]
    assert accounts.check_password(store, "alice", PASSWORD, FAST_HASH) is not None  # unchanged


def test_change_password_checks_policy(alice):
    response = post(alice, "/account/password", {"current": PASSWORD, "new": "password1234",
                                                 "confirm": "password1234"})
    assert response.status_code == 400
    assert "too common" in response.get_data(as_text=True)
    response = post(alice, "/account/password", {"current": "wrong one entirely",
                                                 "new": "another fine passphrase",
                                                 "confirm": "another fine passphrase"})
    assert response.status_code == 400


def test_fast_hash_fixture_is_used(store, users):
    assert FAST_HASH["memory_cost"] == 1024


def _cookie_payload(client) -> bytes:
    import base64
    import zlib

    value = client.get_cookie("fe_session").value
    payload = value.split(".")[1]  # compressed payloads start with "."
    raw = base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))
    return zlib.decompress(raw) if value.startswith(".") else raw


def test_the_key_being_set_up_stays_on_the_server(alice, store):
    page = alice.get("/account/two-factor").get_data(as_text=True)
    secret = page.split('id="totp-key">')[1].split("<")[0]
    assert secret.encode() not in _cookie_payload(alice)
    [row] = look.rows(store, "web_sessions", "totp_pending")
    assert row["totp_pending"] == secret
    # the same key while the page is opened again, until it is confirmed
    again = alice.get("/account/two-factor").get_data(as_text=True)
    assert again.split('id="totp-key">')[1].split("<")[0] == secret
    response = post(alice, "/account/two-factor", {"code": pyotp.TOTP(secret).now()},
                    token_from="/account/two-factor")
    assert response.status_code == 302
    assert look.value(store, "web_sessions", "totp_pending") is None
    assert secret.encode() not in _cookie_payload(alice)


def test_one_time_passwords_always_pass_the_policy(monkeypatch):
    """A random password that happens to contain the username is drawn again."""
    draws = iter("acdmacdmacdmacdmacdm" + "k7hm3pxw4ytr7knf3wha")
    monkeypatch.setattr(accounts.secrets, "choice", lambda _: next(draws))
    assert accounts.generate_password("acdm") == "k7hm-3pxw-4ytr-7knf-3wha"


def test_one_time_passwords_have_no_look_alike_characters():
    """Groups of four, read aloud without spelling out which "l" or "0" is meant."""
    import re

    for _ in range(200):
        password = accounts.generate_password("someone")
        assert re.fullmatch(r"[a-z0-9]{4}(-[a-z0-9]{4}){4}", password), password
        assert not set(password) & set("il1o0O5s2z8bB6g9quvIlSZ")
        assert accounts.password_problem(password, "someone") is None
