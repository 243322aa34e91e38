"""Server-side sessions.

The signed session cookie holds only a random session token (and Flask-WTF's CSRF secret);
the session itself is a row in ``web_sessions``. Signing out, disabling the user or changing
the password deletes the row, so a replayed cookie finds nothing. Sessions end after
``IDLE_TIMEOUT`` seconds without a request and ``ABSOLUTE_TIMEOUT`` seconds after sign-in.

Requests the page's script makes on its own do not count as activity: asking how long the
session has left (``auth.session_status``) and the draft save it sends just before an idle
sign-out (marked with the ``X-Idle-Save`` header). Typing and clicking do count: the script
sends them as a throttled keep-alive (``auth.extend``).
"""

from __future__ import annotations

import time
from urllib.parse import urlsplit

from flask import Flask, current_app, flash, g, redirect, request, session, url_for
from flask.sessions import SecureCookieSessionInterface
from flask_babel import gettext as _
from flask_babel import ngettext

from . import accounts
from .db import get_store

PUBLIC = {"static", "auth.login", "auth.totp", "auth.health", "auth.signed_out",
          "auth.quick_exit", "language.switch"}
ALWAYS = {"static", "auth.logout", "auth.health", "auth.signed_out", "auth.quick_exit",
          "auth.session_status", "language.switch"}
NOT_ACTIVITY = {"auth.session_status"}
TOUCH_EVERY = 15  # seconds: do not write the session row on every single request


LANGUAGE_KEY = "lang"


def clear_session() -> None:
    """Empty the session (signing in or out, an ended session) but keep the person's
    choice of language (see ``i18n``)."""
    lang = session.get(LANGUAGE_KEY)
    session.clear()
    if lang is not None:
        session[LANGUAGE_KEY] = lang


def duration_text(seconds: int) -> str:
    """A timeout in words: "30 minutes", "1 minute", "45 seconds"."""
    if seconds < 120 and seconds % 60:
        return ngettext("%(num)s second", "%(num)s seconds", seconds)
    return ngettext("%(num)s minute", "%(num)s minutes", round(seconds / 60))


class CookieInterface(SecureCookieSessionInterface):
    """Flask's signed cookie, with its signing serializer made once per set of keys rather
    than on every request and every response (the keys are read each time, so a changed
    secret key or fallback list takes effect at once)."""

    def get_signing_serializer(self, app: Flask):
        keys = (app.secret_key, tuple(app.config["SECRET_KEY_FALLBACKS"] or ()))
        cached = getattr(self, "_serializer", None)
        if cached is None or cached[0] != keys:
            cached = self._serializer = (keys, super().get_signing_serializer(app))
        return cached[1]


def init_app(app: Flask) -> None:
    app.session_interface = CookieInterface()
    app.before_request(load_user)

    @app.context_processor
    def user_context():
        user = g.get("user")
        idle = current_app.config["IDLE_TIMEOUT"]
        return {
            "current_user": user,
            "idle_timeout": idle,
            "idle_text": duration_text(idle),
            "idle_warning": min(current_app.config["IDLE_WARNING"], idle // 3),
            "idle_left": g.get("idle_left", idle),
        }


def _to_login(message: str | None = None):
    if session.get("sid"):
        clear_session()  # an ended session: drop its CSRF secret too
    if message:
        flash(message)
    if wants_json():  # the page's own script: it takes the person to sign in itself
        return {"signed_in": False}, 401
    target = request.full_path if request.method == "GET" else None
    if target and target.endswith("?"):
        target = target[:-1]
    return redirect(url_for("auth.login", next=target) if target else url_for("auth.login"))


def load_user():
    g.user = None
    endpoint = request.endpoint or ""
    if endpoint == "static":
        return None
    token = session.get("sid")
    if token:
        store = get_store()
        row = accounts.find_session(store, token)
        now = time.time()
        cfg = current_app.config
        if row is None:
            session.pop("sid", None)
            if endpoint not in PUBLIC:
                return _to_login(_("You have been signed out. Sign in again to continue."))
        elif row["disabled"]:
            accounts.end_session(store, row["session_id"])
            return _to_login(_("You have been signed out."))
        elif now - row["last_seen"] > cfg["IDLE_TIMEOUT"]:
            accounts.end_session(store, row["session_id"])
            store.audit("session_timeout", actor=row["username"], object_type="user",
                        object_id=row["id"], request_id=g.request_id,
                        details={"kind": "idle"})
            return _to_login(_("You were signed out after %(time)s without activity, to "
                               "protect the records.", time=duration_text(cfg["IDLE_TIMEOUT"])))
        elif now - row["session_started"] > cfg["ABSOLUTE_TIMEOUT"]:
            accounts.end_session(store, row["session_id"])
            store.audit("session_timeout", actor=row["username"], object_type="user",
                        object_id=row["id"], request_id=g.request_id,
                        details={"kind": "absolute"})
            return _to_login(ngettext("You were signed out because you signed in more than "
                                      "%(num)s hour ago.",
                                      "You were signed out because you signed in more than "
                                      "%(num)s hours ago.", cfg["ABSOLUTE_TIMEOUT"] // 3600))
        else:
            last_seen = row["last_seen"]
            if (now - last_seen > TOUCH_EVERY and endpoint not in NOT_ACTIVITY
                    and request.headers.get("X-Idle-Save") != "1"):
                accounts.touch_session(store, row["session_id"])
                last_seen = now
            g.idle_left = max(0, round(cfg["IDLE_TIMEOUT"] - (now - last_seen)))
            g.user = row
            g.teams = row["team_ids"]
    if g.user is None:
        if endpoint in PUBLIC:
            return None
        return _to_login()
    if endpoint in ALWAYS:
        return None
    if g.user["must_change_password"] and endpoint != "auth.change_password":
        return redirect(url_for("auth.change_password"))
    if (not g.user["totp_secret"] and endpoint not in ("auth.totp_setup", "auth.change_password")
            and g.user["require_totp"]):
        return redirect(url_for("auth.totp_setup"))
    return None


def wants_json() -> bool:
    return request.accept_mimetypes.best == "application/json"


def safe_next(target: str | None, default: str) -> str:
    """Only a relative path on this host: no scheme, no host, no backslash tricks."""
    if not target or len(target) > 2000:
        return default
    if not target.startswith("/") or target.startswith("//") or "\\" in target:
        return default
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or any(ord(c) < 32 for c in target):
        return default
    return target
