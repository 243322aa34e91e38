"""Sign-in limits: wrong two-factor codes count with wrong passwords per account; an account
is slowed by a progressive delay that refused attempts do not extend, and never for the
browsers it signs in from; the per-address limit takes the client's own address and a
storage several processes share; refusals are audited; nothing of a typed username is
kept but an HMAC under the server key."""

from __future__ import annotations

import hashlib
import socket
import time
import uuid

import pyotp
import pytest
from limits.storage import MemoryStorage

from formsengine.store import accounts as store_accounts
from formsengine.store import inspection as look
from formsengine.web import accounts, create_app

from .conftest import FAST_HASH, csrf, login

WRONG = "not the password at all"


def _enable_totp(store, username="alice"):
    secret = pyotp.random_base32()
    with store.write():
        store_accounts.set_totp(store, store_accounts.user_id_by_name(store, username),
                                secret, 0)
    return secret


def _code(client, code):
    return client.post("/sign-in/code", data={"code": code,
                                              "csrf_token": csrf(client, "/sign-in/code")})


def _key(app, username):
    return accounts.account_key(app.secret_key, username)


def test_wrong_two_factor_codes_count_per_account(app, client, store, users):
    """12 wrong codes: after the first five the account waits, even the right code is
    refused, and each wrong code is counted and audited."""
    app.config["LOGIN_DELAY_BASE"] = 1
    secret = _enable_totp(store)
    assert login(client, "alice").headers["Location"].endswith("/sign-in/code")
    texts = []
    for _ in range(12):
        response = _code(client, "000000")
        assert response.status_code == 400
        texts.append(response.get_data(as_text=True))
    assert all("The code is not right" in t for t in texts[:5])
    assert all("Too many failed attempts for this account" in t for t in texts[5:])
    response = _code(client, pyotp.TOTP(secret).now())
    assert response.status_code == 400
    assert "Too many failed attempts" in response.get_data(as_text=True)
    assert client.get("/").status_code == 302  # not signed in
    key = _key(app, "alice")
    assert look.count(store, "web_login_attempts", username_hash=key, ok=0) == 5
    rows = look.rows(store, "audit", "details", action="login_failed")
    assert sum('"stage": "totp"' in r["details"] for r in rows) == 5
    assert sum('"throttled": true' in r["details"] for r in rows) == 1  # once a minute
    # the same count holds a wrong password: the sixth failure doubles the wait
    time.sleep(1.1)
    assert _code(client, pyotp.TOTP(secret).now()).status_code == 302
    assert client.get("/").status_code == 200


def test_the_wait_grows_and_stops_at_its_cap(app, store, users):
    key = _key(app, "alice")
    wait = lambda: accounts.sign_in_wait(store, key, None, free=5, base=30, cap=300,  # noqa: E731
                                         window=86400)
    for _ in range(5):
        assert wait() == 0
        accounts.record_sign_in(store, key, False)
    found = []
    for _ in range(5):
        found.append(round(wait()))
        accounts.record_sign_in(store, key, False)
    assert found == [30, 60, 120, 240, 300]
    accounts.record_sign_in(store, key, True)  # a success starts the count again
    assert wait() == 0


def test_refused_attempts_do_not_extend_the_wait(app, client, store, users):
    """Someone who keeps naming the account slows it; they cannot keep it locked."""
    app.config.update(LOGIN_DELAY_BASE=1, LOGIN_LIMIT="1000 per minute")
    for _ in range(5):
        assert login(client, "alice", WRONG).status_code == 400
    start = time.monotonic()
    refused = 0
    while time.monotonic() - start < 0.8:
        response = login(client, "alice", WRONG)
        assert "Too many failed attempts" in response.get_data(as_text=True)
        refused += 1
    assert refused >= 3
    time.sleep(max(0.0, 1.1 - (time.monotonic() - start)))
    assert login(client, "alice").status_code == 302
    assert look.count(store, "web_login_attempts", ok=0) == 5


def test_naming_an_account_does_not_slow_the_browsers_it_signs_in_from(app, store, users):
    own, other = app.test_client(), app.test_client()
    assert login(own, "alice").status_code == 302
    assert own.get_cookie("fe_device").http_only
    own.post("/sign-out", data={"csrf_token": csrf(own, "/account/password")})
    for _ in range(8):
        login(other, "alice", WRONG)
    response = login(other, "alice")
    assert "Too many failed attempts" in response.get_data(as_text=True)
    assert login(own, "alice").status_code == 302  # her own browser is not slowed
    # a made-up device cookie is no way round the wait
    other.set_cookie("fe_device", "made-up-device")
    assert "Too many failed" in login(other, "alice").get_data(as_text=True)


def _from(app, address):
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = address
    return client


def test_the_address_limit_is_per_client_address(app, store, users):
    """Behind a trusted proxy waitress sets REMOTE_ADDR to the client's address (tested
    against a real server in test_server_limits): one address's failures do not refuse
    another's."""
    app.config["LOGIN_FAILURES_PER_USER"] = 1000
    noisy, quiet = _from(app, "203.0.113.7"), _from(app, "203.0.113.8")
    statuses = [login(noisy, f"ghost{i}", WRONG).status_code for i in range(22)]
    assert statuses[:20] == [400] * 20 and statuses[20:] == [429, 429]
    assert login(quiet, "alice").status_code == 302
    rows = look.rows(store, "audit", "actor", "details", action="rate_limited")
    assert len(rows) == 1  # aggregated: one row a minute per address
    assert '"address": "203.0.113.7"' in rows[0]["details"]


def test_the_limiter_storage_is_memory_by_default(app):
    assert app.config["LIMITER_STORAGE"] == "memory://"
    assert isinstance(app.extensions["formsengine_limiter"].storage, MemoryStorage)


def _redis_answers() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 6379), timeout=0.5) as s:
            s.sendall(b"PING\r\n")
            return s.recv(16).startswith(b"+PONG")
    except OSError:
        return False


def test_a_shared_storage_limits_across_server_processes(tmp_path, engine):
    """Two applications (two server processes) sharing a Redis storage share the count."""
    if not _redis_answers():
        pytest.skip("no Redis server answers on 127.0.0.1:6379")
    url = "redis://127.0.0.1:6379/0"
    apps = [create_app({"TESTING": True, "DATABASE": str(tmp_path / "shared.db"),
                        "SECRET_KEY": "k" * 40, "ENGINE": engine, "PASSWORD_HASH": FAST_HASH,
                        "LOGIN_FAILURES_PER_USER": 1000, "LIMITER_STORAGE": url})
            for _ in range(2)]
    address = f"2001:db8::{uuid.uuid4().hex[:4]}"  # a fresh address each run
    clients = [_from(a, address) for a in apps]
    statuses = [login(clients[i % 2], f"ghost{i}", WRONG).status_code for i in range(21)]
    assert statuses[:20] == [400] * 20 and statuses[20] == 429


def test_nothing_of_a_typed_username_is_kept(app, client, store, users):
    typed = "my-Passphrase-typed-in-the-wrong-box"
    assert login(client, typed, WRONG).status_code == 400
    sha = hashlib.sha256(typed.lower().encode()).hexdigest()
    key = _key(app, typed)
    [row] = look.rows(store, "web_login_attempts", "username_hash")
    assert row["username_hash"] == key != sha
    audit = " ".join(str(r) for r in look.rows(store, "audit"))
    for text in (typed, typed.lower(), sha[:12], key[:12]):
        assert text not in audit
    # a key of another server does not match this one's
    assert accounts.account_key("another-server-secret-key-0000000000", typed) != key
