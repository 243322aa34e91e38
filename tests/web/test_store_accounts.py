"""The account rows of ``formsengine.store.accounts``: users, memberships, sessions,
sign-in attempts, known devices, sent forms and settings, read and written directly."""

from __future__ import annotations

import pytest

from formsengine.store import accounts as rows
from formsengine.store import new_uid
from formsengine.store.caseviews import assign_case

from .conftest import make_user


def _user(store, name="carol", **kw):
    with store.write():
        return rows.add_user(store, uid=new_uid(), username=name, display_name=name.title(),
                             role=kw.get("role", "practitioner"), password_hash="x",
                             must_change=kw.get("must_change", True),
                             created_at="2026-01-01T00:00:00Z")


def test_a_new_user_gets_the_id_of_its_row(store):
    first, second = _user(store, "carol"), _user(store, "dave", must_change=False)
    assert second != first
    row = rows.user_by_id(store, second)
    assert row["username"] == "dave" and row["must_change_password"] == 0
    assert rows.user_by_name(store, "carol")["id"] == first
    assert rows.user_by_uid(store, row["uid"])["id"] == second
    assert rows.user_id_by_name(store, "Carol") == first  # a name is one whatever its case
    assert rows.user_by_name(store, "DAVE")["id"] == second
    assert rows.user_id_by_name(store, "carol ") is None
    assert rows.user_by_id(store, 10_000) is None and rows.user_by_uid(store, "nope") is None


def test_the_administration_list_says_who_has_two_factor_sign_in(store, users):
    with store.write():
        rows.set_totp(store, users["bob"], "SECRETKEY", 7)
    listed = {u["username"]: u for u in rows.users_for_admin(store)}
    assert list(listed) == sorted(listed)
    assert listed["bob"]["has_totp"] == 1 and listed["alice"]["has_totp"] == 0
    assert "totp_secret" not in listed["bob"] and "password_hash" not in listed["bob"]
    with store.write():
        rows.clear_totp(store, users["bob"])
    bob = rows.user_by_id(store, users["bob"])
    assert bob["totp_secret"] is None and bob["totp_last_step"] is None


def test_memberships_replaced_and_cases_outside_them_unassigned(store, users):
    a, b = store.ensure_team("Team A"), store.ensure_team("Team B")
    c = store.ensure_team("Team C")
    assert rows.team_ids(store) == {a, b, c}
    assert [t["name"] for t in rows.teams(store)] == ["Team A", "Team B", "Team C"]
    with store.write():
        rows.replace_memberships(store, users["alice"], [b, a])
    for ref, team in (("C-A", a), ("C-B", b), ("C-N", None)):
        case_id = store.create_case(ref, team_id=team)
        with store.write():
            assign_case(store, case_id, users["alice"])
    assert rows.team_ids_of_user(store, users["alice"]) == sorted([a, b])
    with store.write():
        rows.replace_memberships(store, users["alice"], [b])
        # the case of team A and the case of no team are left; team B's stays
        assert rows.unassign_outside_teams(store, users["alice"], [b]) == 2
    assert rows.team_ids_of_user(store, users["alice"]) == [b]
    with store.write():
        assert rows.unassign_outside_teams(store, users["alice"], []) == 1  # every case
        assert rows.unassign_outside_teams(store, users["alice"], []) == 0


def test_a_session_carries_its_user_teams_and_the_setting(store, users):
    with store.write():
        session = rows.add_session(store, "hash-1", users["alice"], 1000.0)
    found = rows.session_user(store, "hash-1")
    assert found["session_id"] == session and found["username"] == "alice"
    assert found["session_started"] == found["last_seen"] == 1000.0
    assert found["team_ids"] == rows.team_ids_of_user(store, users["alice"])
    assert found["require_totp"] is None  # never set
    with store.write():
        rows.save_setting(store, "require_totp", True)
        rows.touch_session(store, session, 1500.0)
    found = rows.session_user(store, "hash-1")
    assert found["require_totp"] == "true" and found["last_seen"] == 1500.0
    assert rows.session_user(store, "hash-2") is None
    with store.write():
        rows.add_session(store, "hash-admin", users["admin"], 1000.0)
    assert rows.session_user(store, "hash-admin")["team_ids"] == []  # no teams


def _sessions(store, user_id):
    with store.write():
        return [rows.add_session(store, f"h-{user_id}-{i}", user_id, 1000.0 + i)
                for i in range(3)]


def test_ending_sessions_keeps_the_one_asked(store, users):
    ids = _sessions(store, users["alice"])
    other = _sessions(store, users["bob"])
    with store.write():
        rows.delete_user_sessions(store, users["alice"], keep=ids[1])
    assert [rows.session_user(store, f"h-{users['alice']}-{i}") is not None
            for i in range(3)] == [False, True, False]
    with store.write():
        rows.delete_user_sessions(store, users["alice"])
    assert rows.session_user(store, f"h-{users['alice']}-1") is None
    assert all(rows.session_user(store, f"h-{users['bob']}-{i}") for i in range(3))
    with store.write():
        assert rows.delete_sessions_but_newest(store, users["bob"], 1) == 2
    assert rows.session_user(store, f"h-{users['bob']}-2")["session_id"] == other[2]
    with store.write():
        assert rows.delete_sessions_but_newest(store, users["bob"], 0) == 1


def test_expired_sessions_go_by_idle_or_age(store, users):
    with store.write():
        rows.add_session(store, "old", users["alice"], 100.0)
        recent = rows.add_session(store, "recent", users["alice"], 500.0)
        rows.add_session(store, "idle", users["alice"], 400.0)
        rows.touch_session(store, recent, 900.0)
        rows.delete_expired_sessions(store, idle_before=450.0, started_before=200.0)
    assert [t for t in ("old", "recent", "idle") if rows.session_user(store, t)] == ["recent"]
    with store.write():
        rows.delete_session(store, recent)
    assert rows.session_user(store, "recent") is None


def test_the_key_being_set_up_stays_with_the_session(store, users):
    with store.write():
        session = rows.add_session(store, "s", users["alice"], 1.0)
    assert rows.pending_totp(store, session) is None
    with store.write():
        rows.set_pending_totp(store, session, "KEY")
    assert rows.pending_totp(store, session) == "KEY"
    with store.write():
        rows.set_pending_totp(store, session, None)
    assert rows.pending_totp(store, session) is None
    assert rows.pending_totp(store, 999) is None


@pytest.mark.parametrize("device", [None, "dev-1"])
def test_failures_count_from_the_pools_last_success(store, device):
    def add(at, ok, dev=device):
        with store.write():
            rows.add_sign_in_attempt(store, "acct", at, ok, dev)

    assert rows.failures_since_success(store, "acct", device, 0) == {"n": 0, "last": None}
    add(10, False)
    add(20, True)
    add(30, False)
    add(40, False)
    add(50, False, "another-device" if device is None else None)  # another pool
    seen = rows.failures_since_success(store, "acct", device, 0)
    assert seen == {"n": 2, "last": 40}
    assert rows.failures_since_success(store, "acct", device, 35) == {"n": 1, "last": 40}
    assert rows.failures_since_success(store, "other", device, 0)["n"] == 0
    with store.write():
        rows.forget_sign_in_attempts(store, 35)
    assert rows.failures_since_success(store, "acct", device, 0) == {"n": 1, "last": 40}


def test_known_devices_refreshed_and_forgotten(store):
    assert not rows.is_known_device(store, "acct", "d1")
    with store.write():
        rows.remember_device(store, "acct", "d1", 100.0)
        rows.remember_device(store, "acct", "d2", 100.0)
        rows.remember_device(store, "acct", "d1", 300.0)  # signed in again: kept longer
        rows.forget_devices(store, 200.0)
    assert rows.is_known_device(store, "acct", "d1")
    assert not rows.is_known_device(store, "acct", "d2")
    assert not rows.is_known_device(store, "another", "d1")


def test_a_sent_form_is_remembered_until_forgotten(store, users):
    assert rows.sent_location(store, "t1") is None
    with store.write():
        rows.remember_sent(store, "t1", users["alice"], "/cases/abc", at=100.0,
                           forget_before=0.0)
    assert rows.sent_location(store, "t1") == "/cases/abc"
    with store.write():
        rows.remember_sent(store, "t2", users["alice"], "/cases/def", at=200.0,
                           forget_before=150.0)
    assert rows.sent_location(store, "t1") is None
    assert rows.sent_location(store, "t2") == "/cases/def"


def test_settings_stored_as_json_and_replaced(store):
    assert rows.stored_setting(store, "wording") is None
    with store.write():
        rows.save_setting(store, "wording", {"test-risk": "pack@1"})
        rows.save_setting(store, "max_sessions", 3)
        rows.save_setting(store, "max_sessions", 0)
    assert rows.stored_setting(store, "wording") == '{"test-risk": "pack@1"}'
    assert rows.stored_setting(store, "max_sessions") == "0"


def test_password_and_account_changes(store):
    user = make_user(store, "erin")
    with store.write():
        rows.set_password_hash(store, user, "rehashed")
    row = rows.user_by_id(store, user)
    assert row["password_hash"] == "rehashed" and row["password_changed_at"] is None
    with store.write():
        rows.set_password_hash(store, user, "new", must_change=True,
                               changed_at="2026-02-02T00:00:00Z")
        rows.set_disabled(store, user, True)
        rows.set_role(store, user, "supervisor")
        rows.set_totp_last_step(store, user, 42)
    row = rows.user_by_id(store, user)
    assert (row["password_hash"], row["must_change_password"], row["password_changed_at"],
            row["disabled"], row["role"], row["totp_last_step"]) == (
        "new", 1, "2026-02-02T00:00:00Z", 1, "supervisor", 42)
