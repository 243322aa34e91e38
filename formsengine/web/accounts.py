"""Accounts: password hashing and policy, users, teams, server-side sessions, settings.

Used by the web application and the command line alike; every function takes an open
``Store`` and writes inside ``store.write()``.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import time
from collections.abc import Collection
from functools import cache
from importlib import resources
from typing import TYPE_CHECKING, Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask_babel import gettext as _

from .. import audit as audit_mod
from ..errors import FormsEngineError
from ..store import accounts as rows
from ..store import new_uid
from ..store.teams import team_names

if TYPE_CHECKING:
    from ..engine import Engine
    from ..store import Store
from .schema import ROLES

MIN_PASSWORD = 12
MAX_PASSWORD = 256
USERNAME_MAX = 64
DEVICE_DAYS = 365  # a browser not signed in from for this long is forgotten


class AccountError(FormsEngineError):
    pass


# -- passwords ----------------------------------------------------------------------------
@cache
def hasher(time_cost: int, memory_cost: int, parallelism: int) -> PasswordHasher:
    return PasswordHasher(time_cost=time_cost, memory_cost=memory_cost,
                          parallelism=parallelism)


@cache
def common_passwords() -> frozenset[str]:
    text = resources.files("formsengine.web").joinpath("data", "common-passwords.txt")
    return frozenset(line.strip().lower() for line in text.read_text("utf-8").splitlines()
                     if line.strip() and not line.startswith("#"))


def password_problem(password: str, username: str | None = None) -> str | None:
    """Why a new password is refused, or None. Length only: no composition rules."""
    if len(password) < MIN_PASSWORD:
        return _("Password must be at least %(n)s characters long", n=MIN_PASSWORD)
    if len(password) > MAX_PASSWORD:
        return _("Password must be %(n)s characters or fewer", n=MAX_PASSWORD)
    lowered = password.lower()
    if lowered in common_passwords() or (username and lowered == username.lower()):
        return _("This password is too common or easy to guess: choose another")
    return _guessable(password, username)


def _guessable(password: str, username: str | None) -> str | None:
    """The two easy guesses a length rule lets through: the username inside the password
    (usernames of 3 characters or more), and one character repeated."""
    name = (username or "").strip().lower()
    if len(name) >= 3 and name in password.lower():
        return _("Your password must not contain your username: choose another")
    if len(set(password)) == 1:
        return _("Your password must not be one character repeated: choose another")
    return None


# Lower-case letters and digits that cannot be taken for one another when read or heard:
# no i, l, 1, o, 0 (and no 5/s, 2/z, 8/b, 6/g, 9/q, u/v pairs).
READABLE = "acdefhjkmnprtwxy347"
PASSWORD_GROUPS = 5  # of 4 characters: 20 characters, about 85 bits


def generate_password(username: str | None = None) -> str:
    """A one-time password easy to read out and type: groups of four characters from
    ``READABLE`` joined by hyphens ("hk4m-trwa-..."), one the policy accepts for
    ``username``."""
    while True:
        password = "-".join("".join(secrets.choice(READABLE) for _n in range(4))
                            for _n in range(PASSWORD_GROUPS))
        if password_problem(password, username) is None:
            return password


# -- users --------------------------------------------------------------------------------
def username_problem(username: str) -> str | None:
    if not username or len(username) > USERNAME_MAX:
        return _("Username must be 1 to %(n)s characters", n=USERNAME_MAX)
    if not all(c.isalnum() or c in "._-@" for c in username):
        return _("Username may use letters, digits and . _ - @ only")
    return None


def create_user(store: Store, username: str, *, role: str, password: str, params: dict,
                display_name: str | None = None, teams: Collection[int] = (),
                must_change: bool = True, actor: str = "system",
                request_id: str | None = None) -> int:
    problem = username_problem(username)
    if problem:
        raise AccountError(problem)
    if role not in ROLES:
        raise AccountError(f"role must be one of {', '.join(ROLES)}, not {role!r}")
    problem = password_problem(password, username)
    if problem:
        raise AccountError(problem)
    digest = hasher(**params).hash(password)
    with store.write():
        if rows.user_id_by_name(store, username) is not None:
            raise AccountError(_("The username %(name)s is already in use: choose another",
                                 name=username))
        user_id = rows.add_user(store, uid=new_uid(), username=username,
                                display_name=display_name or username, role=role,
                                password_hash=digest, must_change=must_change,
                                created_at=audit_mod.utcnow())
        rows.add_memberships(store, user_id, teams)
        store.audit("create", actor=actor, object_type="user", object_id=user_id,
                    request_id=request_id, details={"role": role, "teams": list(teams)})
    return user_id


def get_user(store: Store, user_id: int) -> dict[str, Any] | None:
    return rows.user_by_id(store, user_id)


def user_teams(store: Store, user_id: int) -> list[int]:
    return rows.team_ids_of_user(store, user_id)


def turn_off_totp(store: Store, user_id: int, *, actor: str,
                  request_id: str | None = None) -> None:
    """For a lost phone: two-factor sign-in off, every session ended. Where the organisation
    requires it, the user sets it up again at the next sign-in."""
    with store.write():
        rows.clear_totp(store, user_id)
        rows.delete_user_sessions(store, user_id)
        store.audit("totp_disabled", actor=actor, object_type="user", object_id=user_id,
                    request_id=request_id)


def set_teams(store: Store, user_id: int, team_ids: list[int], *, actor: str,
              request_id: str | None = None) -> int:
    """Replace a user's teams. The user is unassigned from cases of teams they leave (they
    can no longer open them; a supervisor assigns someone else). Returns how many."""
    wanted = sorted(set(team_ids))
    with store.write():
        known = rows.team_ids(store)
        unknown = [t for t in wanted if t not in known]
        if unknown:
            raise AccountError(f"no team with id {unknown[0]}")
        before = user_teams(store, user_id)
        rows.replace_memberships(store, user_id, wanted)
        # only the cases of teams they leave (every case when they leave every team)
        unassigned = rows.unassign_outside_teams(store, user_id, wanted)
        store.audit("teams", actor=actor, object_type="user", object_id=user_id,
                    request_id=request_id,
                    details={"from": before, "to": wanted, "unassigned_cases": unassigned})
    return unassigned


def user_id_by_name(store: Store, username: str) -> int:
    user_id = rows.user_id_by_name(store, username)
    if user_id is None:
        raise AccountError(f"no user {username!r}")
    return user_id


def team_id_by_name(store: Store, name: str) -> int:
    team_id = store.team_id(name)
    if team_id is None:
        names = team_names(store)
        raise AccountError(f"no team {name!r} (teams: {', '.join(names) or 'none yet'})")
    return team_id


def set_password(store: Store, user_id: int, password: str, *, params: dict,
                 must_change: bool = False, actor: str, request_id: str | None = None,
                 keep_session: int | None = None) -> None:
    """Change a password; ends every session of the user except ``keep_session``."""
    user = get_user(store, user_id)
    problem = password_problem(password, user["username"] if user else None)
    if problem:
        raise AccountError(problem)
    digest = hasher(**params).hash(password)
    with store.write():
        rows.set_password_hash(store, user_id, digest, must_change=must_change,
                               changed_at=audit_mod.utcnow())
        rows.delete_user_sessions(store, user_id, keep=keep_session)
        store.audit("password_change", actor=actor, object_type="user", object_id=user_id,
                    request_id=request_id)


def set_disabled(store: Store, user_id: int, disabled: bool, *, actor: str,
                 request_id: str | None = None) -> None:
    with store.write():
        rows.set_disabled(store, user_id, disabled)
        if disabled:
            rows.delete_user_sessions(store, user_id)
        store.audit("disable" if disabled else "enable", actor=actor, object_type="user",
                    object_id=user_id, request_id=request_id)


# -- signing in ---------------------------------------------------------------------------
def _dummy_hash(params: dict) -> str:
    return _dummy(params["time_cost"], params["memory_cost"], params["parallelism"])


@cache
def _dummy(time_cost: int, memory_cost: int, parallelism: int) -> str:
    return hasher(time_cost, memory_cost, parallelism).hash(secrets.token_hex(16))


def account_key(secret: str | bytes, username: str) -> str:
    """What the sign-in limits know of a typed username: an HMAC under the server's secret
    key (what is typed there is often a password, so nothing weaker is kept)."""
    key = secret.encode("utf-8") if isinstance(secret, str) else secret
    sub = hmac.new(key, b"formsengine sign-in attempts", hashlib.sha256).digest()
    return hmac.new(sub, username.strip().lower().encode("utf-8"), hashlib.sha256).hexdigest()


def device_hash(token: str | None) -> str | None:
    return _token_hash(token) if token else None


def known_device(store: Store, key: str, token: str | None) -> str | None:
    """The device pool of a browser's device cookie when the account has signed in from
    that browser before, else None (the pool of every other browser)."""
    digest = device_hash(token)
    if digest and rows.is_known_device(store, key, digest):
        return digest
    return None


def sign_in_wait(store: Store, key: str, device: str | None, *, free: int, base: float,
                 cap: float, window: float) -> float:
    """Seconds before the next attempt for an account (from one device pool) is checked:
    0 for the first ``free`` failures since the pool's last success, then ``base`` doubled
    at each further failure, at most ``cap``, counted from the last failure. Attempts
    refused while waiting are not failures: naming an account can slow it, not lock it."""
    now = time.time()
    row = rows.failures_since_success(store, key, device, now - window)
    if row["n"] < free:
        return 0.0
    delay = min(cap, base * 2 ** min(row["n"] - free, 32))
    return max(0.0, row["last"] + delay - now)


def record_sign_in(store: Store, key: str, ok: bool, device: str | None = None, *,
                   keep: float = 86400) -> None:
    """One attempt (a password, a two-factor code or a password asked again) of an account
    in a device pool. A success starts the pool's count again and makes the device known."""
    now = time.time()
    with store.write():
        rows.add_sign_in_attempt(store, key, now, ok, device)
        rows.forget_sign_in_attempts(store, now - keep)


def remember_device(store: Store, key: str, token: str) -> None:
    with store.write():
        rows.remember_device(store, key, device_hash(token), time.time())
        rows.forget_devices(store, time.time() - DEVICE_DAYS * 86400)


def check_password(store: Store, username: str, password: str, params: dict) -> dict | None:
    """The user when the password is right and the account usable, else None. Does the
    same Argon2 work whether or not the user exists; rehashes when parameters changed."""
    user = rows.user_by_name(store, username.strip())
    ph = hasher(**params)
    stored = user["password_hash"] if user else _dummy_hash(params)
    try:
        ph.verify(stored, password)
    except (VerificationError, InvalidHashError):
        return None
    if user is None or user["disabled"]:
        return None
    if ph.check_needs_rehash(stored):
        with store.write():
            rows.set_password_hash(store, user["id"], ph.hash(password))
    return user


# -- sessions -----------------------------------------------------------------------------
def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("ascii", "replace")).hexdigest()


def start_session(store: Store, user_id: int, *, idle: float | None = None,
                  absolute: float | None = None) -> tuple[int, str]:
    """A new session. With the timeouts given, sessions of anyone that have expired without
    a sign-out (a browser closed) are deleted on the way."""
    token = secrets.token_urlsafe(32)
    now = time.time()
    with store.write():
        if idle is not None and absolute is not None:
            rows.delete_expired_sessions(store, idle_before=now - idle,
                                         started_before=now - absolute)
        session_id = rows.add_session(store, _token_hash(token), user_id, now)
    return session_id, token


def find_session(store: Store, token: str) -> dict[str, Any] | None:
    """The signed-in user of a session token, with the session's times, as ``team_ids``
    the user's teams and as ``require_totp`` the organisation's setting (one query: this
    runs on every request)."""
    row = rows.session_user(store, _token_hash(token))
    if row is not None:
        row["require_totp"] = (json.loads(row["require_totp"]) if row["require_totp"]
                               is not None else DEFAULT_SETTINGS["require_totp"])
    return row


def touch_session(store: Store, session_id: int) -> None:
    with store.write():
        rows.touch_session(store, session_id, time.time())


def end_session(store: Store, session_id: int) -> None:
    with store.write():
        rows.delete_session(store, session_id)


def pending_totp(store: Store, session_id: int) -> str | None:
    """The two-factor key being set up in a session, until it is confirmed: kept with the
    server-side session, never in the (signed, readable) cookie."""
    return rows.pending_totp(store, session_id)


def set_pending_totp(store: Store, session_id: int, secret: str | None) -> None:
    with store.write():
        rows.set_pending_totp(store, session_id, secret)


def sent_before(store: Store, key: str) -> str | None:
    """Where the create form with this token went when it was sent before (see ``once``)."""
    return rows.sent_location(store, key)


def remember_send(store: Store, key: str, user_id: int, location: str, *, keep: float) -> None:
    now = time.time()
    with store.write():
        rows.remember_sent(store, key, user_id, location, at=now, forget_before=now - keep)


def end_sessions(store: Store, user_id: int, *, keep: int = 0) -> int:
    """End a user's sessions but the ``keep`` newest (all of them with 0); how many."""
    with store.write():
        return rows.delete_sessions_but_newest(store, user_id, keep)


# -- organisation settings ----------------------------------------------------------------
DEFAULT_SETTINGS: dict[str, Any] = {
    "require_totp": False,
    "exit_url": "https://www.bbc.co.uk/weather",
    "wording": {},  # instrument id -> wording pack ref
    "max_sessions": 0,  # sessions one account may have at once; 0: no limit
    "default_instrument": "dash-safelives",  # chosen first when starting an assessment
}


def get_setting(store: Store, key: str) -> Any:
    text = rows.stored_setting(store, key)
    return json.loads(text) if text is not None else DEFAULT_SETTINGS.get(key)


def set_wording(store: Store, engine: Engine, instrument_id: str, ref: str | None, *, actor: str,
                request_id: str | None = None) -> None:
    """Choose the wording new assessments of an instrument show: an installed wording pack
    (by its ref, ``id@version``) or, with no ref, the built-in paraphrase."""
    engine.instruments.get(instrument_id)  # an unknown instrument is an error
    chosen = dict(get_setting(store, "wording") or {})
    if ref:
        pack = engine.wording.get(ref)
        if pack is None or pack.instrument != instrument_id:
            offered = [p.ref for p in engine.wording if p.instrument == instrument_id]
            raise AccountError(f"no wording pack {ref!r} for {instrument_id} (packs: "
                               f"{', '.join(offered) or 'none'})")
        chosen[instrument_id] = ref
    else:
        chosen.pop(instrument_id, None)
    set_setting(store, "wording", chosen, actor=actor, request_id=request_id)


def set_setting(store: Store, key: str, value: Any, *, actor: str,
                request_id: str | None = None) -> None:
    if key not in DEFAULT_SETTINGS:
        raise AccountError(f"unknown setting {key!r} (settings: {', '.join(DEFAULT_SETTINGS)})")
    with store.write():
        rows.save_setting(store, key, value)
        store.audit("setting", actor=actor, object_type="setting", object_id=key,
                    request_id=request_id, details={"value": value})
