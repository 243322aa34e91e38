"""Accounts: users, their team memberships, sign-in attempts and known devices, server-side
sessions, sent-form tokens and the organisation's settings.

The rules (password policy, hashing, how long a sign-in waits) live in ``web/accounts.py``;
this module reads and writes the rows. Functions that write assume they run inside the
caller's ``store.write()`` block, so that a change and its audit row stand or fall together.
"""

from __future__ import annotations

import json
from collections.abc import Collection
from typing import TYPE_CHECKING, Any

from ..errors import StorageError
from .sql import equals_nocase, in_list, json_array_agg, serialise_on

if TYPE_CHECKING:
    from . import Store


def _new_id(store: Store, sql: str, params: list[Any]) -> int:
    """The id an ``INSERT ... RETURNING id`` gave its row."""
    row = store.one(sql, params)
    if row is None:
        raise StorageError("the new row's id was not returned")
    return int(row["id"])


# -- users --------------------------------------------------------------------------------
def user_by_id(store: Store, user_id: int) -> dict[str, Any] | None:
    """The user's row (every column of ``web_users``), or None."""
    return store.one("SELECT * FROM web_users WHERE id = ?", [user_id])


def user_by_name(store: Store, username: str) -> dict[str, Any] | None:
    """The row of the user with this username, or None. Usernames compare without regard
    to case (the column is ``COLLATE NOCASE``): "Alice" finds alice."""
    return store.one(f"SELECT * FROM web_users WHERE {equals_nocase(store.conn, 'username')}",  # nosec B608: helper's SQL
                     [username])


def user_by_uid(store: Store, uid: str) -> dict[str, Any] | None:
    """The row of the user with this opaque id, or None."""
    return store.one("SELECT * FROM web_users WHERE uid = ?", [uid])


def user_id_by_name(store: Store, username: str) -> int | None:
    """The id of the user with this username (compared without regard to case), or None."""
    row = store.one(f"SELECT id FROM web_users WHERE {equals_nocase(store.conn, 'username')}",  # nosec B608: helper's SQL
                    [username])
    return row["id"] if row else None


def users_for_admin(store: Store) -> list[dict[str, Any]]:
    """Every user, by username, with what the administration page lists: id, uid, username,
    display_name, role, disabled and ``has_totp`` (1 when two-factor sign-in is set up; the
    key itself is not read)."""
    return store.all(
        "SELECT id, uid, username, display_name, role, disabled,"
        " CASE WHEN totp_secret IS NOT NULL THEN 1 ELSE 0 END AS has_totp"
        " FROM web_users ORDER BY username")


def add_user(store: Store, *, uid: str, username: str, display_name: str, role: str,
             password_hash: str, must_change: bool, created_at: str) -> int:
    """Add a user; returns the new id. Inside the caller's write."""
    return _new_id(store, (
        "INSERT INTO web_users (uid, username, display_name, role, password_hash,"
        " must_change_password, created_at) VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id"),
        [uid, username, display_name, role, password_hash, int(must_change), created_at])


def set_password_hash(store: Store, user_id: int, password_hash: str, *,
                      must_change: bool | None = None, changed_at: str | None = None) -> None:
    """Store a user's new password hash. With ``must_change`` and ``changed_at`` (a password
    changed rather than only rehashed), those are stored too. Inside the caller's write."""
    if must_change is None:
        store.conn.execute("UPDATE web_users SET password_hash = ? WHERE id = ?",
                           [password_hash, user_id])
        return
    store.conn.execute(
        "UPDATE web_users SET password_hash = ?, must_change_password = ?,"
        " password_changed_at = ? WHERE id = ?",
        [password_hash, int(must_change), changed_at, user_id])


def set_disabled(store: Store, user_id: int, disabled: bool) -> None:
    """Disable or enable a user's account. Inside the caller's write."""
    store.conn.execute("UPDATE web_users SET disabled = ? WHERE id = ?",
                       [int(disabled), user_id])


def set_role(store: Store, user_id: int, role: str) -> None:
    """Change a user's role. Inside the caller's write."""
    store.conn.execute("UPDATE web_users SET role = ? WHERE id = ?", [role, user_id])


def set_totp(store: Store, user_id: int, secret: str, step: int) -> None:
    """Turn on two-factor sign-in with ``secret``, the code of time step ``step`` used.
    Inside the caller's write."""
    store.conn.execute("UPDATE web_users SET totp_secret = ?, totp_last_step = ? WHERE id = ?",
                       [secret, step, user_id])


def clear_totp(store: Store, user_id: int) -> None:
    """Turn off two-factor sign-in (key and last step forgotten). Inside the caller's write."""
    store.conn.execute("UPDATE web_users SET totp_secret = NULL, totp_last_step = NULL"
                       " WHERE id = ?", [user_id])


def set_totp_last_step(store: Store, user_id: int, step: int) -> None:
    """Record the time step of the two-factor code just used (a code is used once).
    Inside the caller's write."""
    store.conn.execute("UPDATE web_users SET totp_last_step = ? WHERE id = ?", [step, user_id])


# -- teams and memberships ----------------------------------------------------------------
def teams(store: Store) -> list[dict[str, Any]]:
    """Every team (id and name) by name: what a user may be made a member of."""
    return store.all("SELECT id, name FROM teams ORDER BY name")


def team_ids(store: Store) -> set[int]:
    """The ids of every team."""
    return {r["id"] for r in store.all("SELECT id FROM teams")}


def team_ids_of_user(store: Store, user_id: int) -> list[int]:
    """The ids of the user's teams, in order."""
    return [r["team_id"] for r in store.all(
        "SELECT team_id FROM web_memberships WHERE user_id = ? ORDER BY team_id", [user_id])]


def add_memberships(store: Store, user_id: int, team_ids: Collection[int]) -> None:
    """Make the user a member of ``team_ids`` too. Inside the caller's write."""
    store.conn.executemany("INSERT INTO web_memberships (user_id, team_id) VALUES (?, ?)",
                           [(user_id, t) for t in team_ids])


def replace_memberships(store: Store, user_id: int, team_ids: Collection[int]) -> None:
    """Make ``team_ids`` the user's only teams. Inside the caller's write."""
    store.conn.execute("DELETE FROM web_memberships WHERE user_id = ?", [user_id])
    add_memberships(store, user_id, team_ids)


def unassign_outside_teams(store: Store, user_id: int, team_ids: Collection[int]) -> int:
    """Take the user off every case that is not in one of ``team_ids`` (off every case when
    there are none); returns how many. Inside the caller's write."""
    sql = "DELETE FROM web_case_assignments WHERE user_id = ?"
    params: list[Any] = [user_id]
    if team_ids:
        teams_sql, team_params = in_list(team_ids)
        sql += (" AND case_id IN (SELECT id FROM cases WHERE team_id IS NULL"
                f" OR team_id NOT IN {teams_sql})")  # nosec B608 (placeholders only)
        params += team_params
    return int(store.conn.execute(sql, params).rowcount)


# -- sign-in attempts and known devices ---------------------------------------------------
def failures_since_success(store: Store, key: str, device: str | None,
                           since: float) -> dict[str, Any]:
    """The failed sign-ins of an account in a device pool after ``since`` and after the
    pool's last success: ``n`` (how many) and ``last`` (when the last was, or None)."""
    return store.all(  # an aggregate: always one row
        "SELECT COUNT(*) AS n, MAX(at) AS last FROM web_login_attempts"
        " WHERE username_hash = ? AND device IS NOT DISTINCT FROM ? AND ok = 0 AND at > ?"
        " AND at > COALESCE((SELECT MAX(at) FROM web_login_attempts WHERE username_hash = ?"
        " AND device IS NOT DISTINCT FROM ? AND ok = 1), 0)",
        [key, device, since, key, device])[0]


def add_sign_in_attempt(store: Store, key: str, at: float, ok: bool,
                        device: str | None) -> None:
    """Record one sign-in attempt. Inside the caller's write."""
    store.conn.execute(
        "INSERT INTO web_login_attempts (username_hash, at, ok, device) VALUES (?, ?, ?, ?)",
        [key, at, int(ok), device])


def forget_sign_in_attempts(store: Store, before: float) -> None:
    """Delete the sign-in attempts made before ``before``. Inside the caller's write."""
    store.conn.execute("DELETE FROM web_login_attempts WHERE at < ?", [before])


def is_known_device(store: Store, key: str, device: str) -> bool:
    """Whether the account has signed in from the browser whose device hash is ``device``."""
    return store.one("SELECT 1 AS ok FROM web_known_devices WHERE account_key = ?"
                     " AND device_hash = ?", [key, device]) is not None


def remember_device(store: Store, key: str, device: str | None, at: float) -> None:
    """Record (or refresh) that the account signed in from a browser at ``at``.
    Inside the caller's write."""
    store.conn.execute(
        "INSERT INTO web_known_devices (account_key, device_hash, last_used)"
        " VALUES (?, ?, ?) ON CONFLICT (account_key, device_hash)"
        " DO UPDATE SET last_used = excluded.last_used", [key, device, at])


def forget_devices(store: Store, before: float) -> None:
    """Forget the browsers last used before ``before``. Inside the caller's write."""
    store.conn.execute("DELETE FROM web_known_devices WHERE last_used < ?", [before])


# -- sessions -----------------------------------------------------------------------------
def add_session(store: Store, token_hash: str, user_id: int, at: float) -> int:
    """A new session of the user started at ``at``; returns its id. Inside the caller's
    write."""
    return _new_id(store, "INSERT INTO web_sessions (token_hash, user_id, created_at,"
                   " last_seen) VALUES (?, ?, ?, ?) RETURNING id", [token_hash, user_id, at, at])


def session_user(store: Store, token_hash: str) -> dict[str, Any] | None:
    """For a session's token hash: the user's row with ``session_id``, ``session_started``,
    ``last_seen``, ``team_ids`` (a list) and ``require_totp`` (the stored JSON text of the
    organisation's setting, or None), in one query; or None.

    (The JSON aggregation: ``sql.json_array_agg``.)"""
    row = store.one(
        "SELECT u.*, s.id AS session_id, s.created_at AS session_started, s.last_seen,"  # nosec B608: helper's SQL
        f" (SELECT {json_array_agg(store.conn, 'team_id')} FROM (SELECT team_id FROM"
        " web_memberships WHERE user_id = u.id ORDER BY team_id) m) AS team_ids,"
        " (SELECT value FROM web_settings WHERE key = 'require_totp') AS require_totp"
        " FROM web_sessions s JOIN web_users u ON u.id = s.user_id WHERE s.token_hash = ?",
        [token_hash])
    if row is not None:
        row["team_ids"] = json.loads(row["team_ids"])
    return row


def touch_session(store: Store, session_id: int, at: float) -> None:
    """Record that the session was used at ``at``. Inside the caller's write."""
    store.conn.execute("UPDATE web_sessions SET last_seen = ? WHERE id = ?", [at, session_id])


def delete_session(store: Store, session_id: int) -> None:
    """End one session. Inside the caller's write."""
    store.conn.execute("DELETE FROM web_sessions WHERE id = ?", [session_id])


def delete_expired_sessions(store: Store, *, idle_before: float,
                            started_before: float) -> None:
    """End everyone's sessions last used before ``idle_before`` or started before
    ``started_before``. Inside the caller's write."""
    store.conn.execute("DELETE FROM web_sessions WHERE last_seen < ? OR created_at < ?",
                       [idle_before, started_before])


def delete_user_sessions(store: Store, user_id: int, *, keep: int | None = None) -> None:
    """End every session of the user but the one with id ``keep`` (all with None).
    Inside the caller's write."""
    store.conn.execute(
        "DELETE FROM web_sessions WHERE user_id = ? AND id IS DISTINCT FROM ?",
        [user_id, keep])


def delete_sessions_but_newest(store: Store, user_id: int, keep: int) -> int:
    """End the user's sessions but the ``keep`` newest (all of them with 0); returns how
    many. Inside the caller's write."""
    return int(store.conn.execute(
        "DELETE FROM web_sessions WHERE user_id = ? AND id NOT IN (SELECT id FROM"
        " web_sessions WHERE user_id = ? ORDER BY created_at DESC, id DESC LIMIT ?)",
        [user_id, user_id, keep]).rowcount)


def pending_totp(store: Store, session_id: int) -> str | None:
    """The two-factor key being set up in the session, or None."""
    row = store.one("SELECT totp_pending FROM web_sessions WHERE id = ?", [session_id])
    return row["totp_pending"] if row else None


def set_pending_totp(store: Store, session_id: int, secret: str | None) -> None:
    """Keep (or with None forget) the two-factor key being set up in the session.
    Inside the caller's write."""
    store.conn.execute("UPDATE web_sessions SET totp_pending = ? WHERE id = ?",
                       [secret, session_id])


# -- forms sent once ----------------------------------------------------------------------
def sent_location(store: Store, token_hash: str) -> str | None:
    """Where the form sent with this token went, or None when it was not sent before.
    Inside the caller's write: a second send of the same form waits there until the first
    one's write ends (``sql.serialise_on``), then finds where it went."""
    serialise_on(store.conn, "web_idempotency:" + token_hash)
    row = store.one("SELECT location FROM web_idempotency WHERE token_hash = ?", [token_hash])
    return row["location"] if row else None


def remember_sent(store: Store, token_hash: str, user_id: int, location: str, *, at: float,
                  forget_before: float) -> None:
    """Record where a sent form went, forgetting the tokens recorded before
    ``forget_before``. Inside the caller's write."""
    store.conn.execute("DELETE FROM web_idempotency WHERE created_at < ?", [forget_before])
    store.conn.execute(
        "INSERT INTO web_idempotency (token_hash, user_id, created_at, location)"
        " VALUES (?, ?, ?, ?)", [token_hash, user_id, at, location])


# -- organisation settings ----------------------------------------------------------------
def stored_setting(store: Store, key: str) -> str | None:
    """The JSON text stored for an organisation setting, or None when it was never set."""
    row = store.one("SELECT value FROM web_settings WHERE key = ?", [key])
    return row["value"] if row else None


def save_setting(store: Store, key: str, value: Any) -> None:
    """Store an organisation setting (as JSON). Inside the caller's write."""
    store.conn.execute(
        "INSERT INTO web_settings (key, value) VALUES (?, ?)"
        " ON CONFLICT(key) DO UPDATE SET value = excluded.value", [key, json.dumps(value)])
