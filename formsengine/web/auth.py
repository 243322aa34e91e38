"""Sign in (password, then TOTP when the user has it), sign out, change password, set up
two-factor sign-in, extend the session, health check."""

from __future__ import annotations

import html
import math
import secrets
import time

import pyotp
import segno
from flask import (
    Blueprint,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from flask_wtf import FlaskForm
from markupsafe import Markup
from werkzeug.wrappers import Response as BaseResponse
from wtforms import PasswordField, StringField
from wtforms.validators import InputRequired, Length

from ..store import accounts as account_rows
from . import accounts
from .db import get_store
from .sessions import clear_session, safe_next

bp = Blueprint("auth", __name__)

WRONG = _l("Enter a correct username and password")
DEVICE_COOKIE = "fe_device"
PENDING_SECONDS = 300


class LoginForm(FlaskForm):
    username = StringField(_l("Username"), validators=[InputRequired(_l("Enter your username")),
                                                    Length(max=64, message=WRONG)])
    password = PasswordField(_l("Password"), validators=[InputRequired(_l("Enter your password")),
                                                      Length(max=accounts.MAX_PASSWORD,
                                                             message=WRONG)])


class CodeForm(FlaskForm):
    code = StringField(_l("Code from your authenticator app"),
                       validators=[InputRequired(_l("Enter the 6-digit code")),
                                   Length(min=6, max=8, message=_l("Enter the 6-digit code"))])


class ReplaceCodeForm(CodeForm):
    """Setting two-factor sign-in up again (a new phone) also takes the password, so that a
    session left open is not enough to move the second factor to another device."""
    current = PasswordField(_l("Your password"),
                            validators=[InputRequired(_l("Enter your password"))])


class PasswordForm(FlaskForm):
    current = PasswordField(_l("Current password"),
                            validators=[InputRequired(_l("Enter your current password"))])
    new = PasswordField(_l("New password"), validators=[InputRequired(_l("Enter a new password"))])
    confirm = PasswordField(_l("Confirm new password"),
                            validators=[InputRequired(_l("Enter the new password again"))])


def _store():
    return get_store()


def _params() -> dict:
    return current_app.config["PASSWORD_HASH"]


def _audit(action: str, actor: str, **details) -> None:
    user = g.get("user")
    _store().audit(action, actor=actor, object_type="user",
                   object_id=user["id"] if user else details.pop("user_id", None),
                   request_id=g.request_id, details=details or None)


# -- per-account slowing of failed attempts ----------------------------------------------
def _account(username: str) -> str:
    secret = current_app.secret_key
    assert secret, "the application is always created with a secret key"
    return accounts.account_key(secret, username)


def _device(key: str) -> str | None:
    """The device pool of this browser for the account: a browser the account has signed in
    from before (its device cookie) keeps its own count, so that failures of someone who
    only names the account do not slow the person at their own computer."""
    return accounts.known_device(_store(), key, request.cookies.get(DEVICE_COOKIE))


def _wait(key: str, device: str | None) -> float:
    cfg = current_app.config
    return accounts.sign_in_wait(_store(), key, device, free=cfg["LOGIN_FAILURES_PER_USER"],
                                 base=cfg["LOGIN_DELAY_BASE"], cap=cfg["LOGIN_DELAY_MAX"],
                                 window=cfg["LOGIN_FAILURE_WINDOW"])


def _wait_text(seconds: float) -> str:
    if seconds <= 60:
        wait = ngettext("%(num)s second", "%(num)s seconds", max(1, math.ceil(seconds)))
    else:
        wait = ngettext("%(num)s minute", "%(num)s minutes", math.ceil(seconds / 60))
    return _("Too many failed attempts for this account. Wait %(wait)s and try again",
             wait=wait)


def _failed(key: str, device: str | None, *, audit: bool = True) -> None:
    """A wrong password or code: counted for the account's pool; audited without anything
    of what was typed."""
    accounts.record_sign_in(_store(), key, False, device,
                            keep=max(86400, current_app.config["LOGIN_FAILURE_WINDOW"]))
    if audit:
        _store().audit("login_failed", actor="anonymous", request_id=g.request_id,
                       details={"throttled": False})


def _refused_while_waiting(key: str, wait: float) -> str:
    """An attempt refused unchecked while the account waits: not counted, audited once a
    minute per account."""
    from .throttle import once_a_minute

    if once_a_minute("account", key):
        _store().audit("login_failed", actor="anonymous", request_id=g.request_id,
                       details={"throttled": True})
    return _wait_text(wait)


def _signed_in(user: dict, nxt: str, key: str, device: str | None):
    """Complete a sign-in; the pool's count starts again and this browser becomes known to
    the account (its device cookie)."""
    store, cfg = _store(), current_app.config
    token = request.cookies.get(DEVICE_COOKIE) or secrets.token_urlsafe(24)
    accounts.record_sign_in(store, key, True, accounts.device_hash(token),
                            keep=max(86400, cfg["LOGIN_FAILURE_WINDOW"]))
    if device is None:  # also a success of the pool it failed in
        accounts.record_sign_in(store, key, True, None,
                                keep=max(86400, cfg["LOGIN_FAILURE_WINDOW"]))
    accounts.remember_device(store, key, token[:100])
    response = _complete(user, nxt)
    _limit_sessions(user)
    response.set_cookie(DEVICE_COOKIE, token[:100], max_age=accounts.DEVICE_DAYS * 86400,
                        httponly=True, samesite="Lax", secure=cfg["SESSION_COOKIE_SECURE"])
    return response


def _limit_sessions(user: dict) -> None:
    """Where the organisation limits sessions per account, a sign-in ends the oldest ones
    beyond the limit (the one just started stays)."""
    store = _store()
    limit = accounts.get_setting(store, "max_sessions")
    if limit:
        ended = accounts.end_sessions(store, user["id"], keep=int(limit))
        if ended:
            store.audit("session_limit", actor=user["username"], object_type="user",
                        object_id=user["id"], request_id=g.request_id,
                        details={"ended": ended, "limit": limit})


@bp.post("/account/sign-out-everywhere")
def sign_out_everywhere():
    """End every session of the signed-in user, this one included (a phone lost, a
    computer left signed in somewhere)."""
    user, store = g.user, _store()
    ended = accounts.end_sessions(store, user["id"])
    store.audit("logout", actor=user["username"], object_type="user", object_id=user["id"],
                request_id=g.request_id, details={"everywhere": True, "sessions": ended})
    clear_session()
    return redirect(url_for("auth.signed_out"))


@bp.get("/health")
def health():
    """For a load balancer or monitor: 200 while this process can read the database, 503
    (with a short reason, nothing else) when it cannot."""
    from ..store.health import database_problem

    try:
        problem = database_problem(_store(), current_app.config.get("DATABASE"))
    except Exception as exc:  # opening the connection failed
        problem = f"the database does not answer ({type(exc).__name__})"
    if problem:
        return {"status": "unavailable", "database": problem}, 503
    return {"status": "ok", "database": "ok"}


@bp.route("/sign-in", methods=["GET", "POST"], endpoint="login")
def login():
    if g.get("user"):
        return redirect(url_for("cases.index"))
    form = LoginForm()
    error = None
    if form.validate_on_submit():
        store = _store()
        username = form.username.data.strip()
        key = _account(username)
        device = _device(key)
        wait = _wait(key, device)
        user = None if wait else accounts.check_password(store, username, form.password.data,
                                                         _params())
        if wait:
            error = _refused_while_waiting(key, wait)
        elif user is None:
            _failed(key, device)
            error = WRONG
        else:
            nxt = safe_next(request.args.get("next"), url_for("cases.index"))
            if user["totp_secret"]:
                # the password alone is no success: the pool's count goes on until the code
                clear_session()
                session["pending"] = {"user": user["id"], "at": time.time(), "next": nxt}
                return redirect(url_for("auth.totp"))
            return _signed_in(user, nxt, key, device)
    elif request.method == "POST":
        error = next(iter(form.errors.values()))[0]
    status = 200 if error is None else 400
    return render_template("auth/login.html", form=form, error=error), status


def _complete(user: dict, nxt: str):
    store = _store()
    clear_session()
    _session_id, token = accounts.start_session(
        store, user["id"], idle=current_app.config["IDLE_TIMEOUT"],
        absolute=current_app.config["ABSOLUTE_TIMEOUT"])
    session["sid"] = token
    store.audit("login", actor=user["username"], object_type="user", object_id=user["id"],
                request_id=g.request_id)
    return redirect(nxt)


@bp.route("/sign-in/code", methods=["GET", "POST"])
def totp():
    pending = session.get("pending")
    if not pending or time.time() - pending["at"] > PENDING_SECONDS:
        session.pop("pending", None)
        return redirect(url_for("auth.login"))
    form = CodeForm()
    error = None
    if form.validate_on_submit():
        store = _store()
        user = accounts.get_user(store, pending["user"])
        key = _account(user["username"]) if user else None
        device = _device(key) if key else None
        wait = _wait(key, device) if key else 0
        if key and wait:
            error = _refused_while_waiting(key, wait)
            return render_template("auth/totp.html", form=form, error=error), 400
        step = _matching_step(user["totp_secret"], form.code.data.strip()) if user else None
        if user and key and not user["disabled"] and step is not None and step > (
                user["totp_last_step"] or 0):
            with store.write():
                account_rows.set_totp_last_step(store, user["id"], step)
            return _signed_in(user, pending["next"], key, device)
        if key:  # wrong codes count with wrong passwords, per account
            _failed(key, device, audit=False)
        store.audit("login_failed", actor="anonymous", object_type="user",
                    object_id=pending["user"], request_id=g.request_id,
                    details={"stage": "totp"})
        error = "The code is not right or was already used. Enter the current code"
    elif request.method == "POST":
        error = next(iter(form.errors.values()))[0]
    return render_template("auth/totp.html", form=form, error=error), 200 if not error else 400


def _matching_step(secret: str, code: str) -> int | None:
    if not secret or not code.isdigit():
        return None
    otp = pyotp.TOTP(secret)
    now = time.time()
    for offset in (0, -30, 30):
        if otp.verify(code, for_time=now + offset):
            return int((now + offset) // otp.interval)
    return None


@bp.post("/sign-out")
def logout():
    user = g.get("user")
    if user:
        accounts.end_session(_store(), user["session_id"])
        _store().audit("logout", actor=user["username"], object_type="user",
                       object_id=user["id"], request_id=g.request_id)
    clear_session()
    return redirect(url_for("auth.signed_out"))


@bp.get("/signed-out")
def signed_out():
    return render_template("auth/signed_out.html")


@bp.post("/session/extend")
def extend():
    accounts.touch_session(_store(), g.user["session_id"])
    if request.accept_mimetypes.best == "application/json":
        return {"extended": True, "idle_timeout": current_app.config["IDLE_TIMEOUT"],
                "remaining": current_app.config["IDLE_TIMEOUT"]}
    flash(_("You are still signed in."))
    return redirect(safe_next(request.form.get("next"), url_for("cases.index")))


@bp.get("/session/status")
def session_status():
    """How many seconds the session has left if nothing else happens. Asking does not
    count as activity (see ``sessions``); an ended session answers 401."""
    return {"remaining": g.idle_left}


# Clear-Site-Data on leaving: no page of the service can come back from the cache or the
# back-forward cache, and the cookie is gone as well as its server-side session.
CLEAR_SITE_DATA = '"cache", "cookies", "storage"'


@bp.route("/exit", methods=["GET", "POST"])
def quick_exit():
    """"Exit this page": ends the session and leaves for the organisation's exit address.

    The button is a link here (GOV.UK's Exit this page component navigates to its link),
    so the GET ends the session too: that works without script and whatever happens to the
    script's POST. Ending one's own session is what signing out does; it changes no
    record, and the SameSite=Lax cookie is not sent with another site's images or frames,
    so no other page can end it from the side. The page's script also POSTs here (CSRF
    token, as a beacon) the moment the button or Shift three times is pressed."""
    user = g.get("user")
    if user:
        accounts.end_session(_store(), user["session_id"])
        _store().audit("logout", actor=user["username"], object_type="user",
                       object_id=user["id"], request_id=g.request_id,
                       details={"how": "exit this page"})
    session.clear()
    response: BaseResponse
    if request.method == "POST":
        response = current_app.response_class(status=204)
    else:
        response = redirect(accounts.get_setting(_store(), "exit_url"), code=303)
    response.headers["Clear-Site-Data"] = CLEAR_SITE_DATA
    return response


def _recheck_password(password: str, wrong: str) -> str | None:
    """None when the signed-in user's password is right, else what to say. Wrong answers
    count towards the same per-account limit as failed sign-ins (and are audited), so that
    a session left open is no way to guess the password."""
    store, user = _store(), g.user
    key = _account(user["username"])
    device = _device(key)
    wait = _wait(key, device)
    if wait:
        return _wait_text(wait)
    if accounts.check_password(store, user["username"], password, _params()) is None:
        _failed(key, device, audit=False)
        store.audit("password_check_failed", actor=user["username"], object_type="user",
                    object_id=user["id"], request_id=g.request_id)
        return wrong
    return None


@bp.route("/account/password", methods=["GET", "POST"])
def change_password():
    form = PasswordForm()
    errors: dict[str, str] = {}
    if form.validate_on_submit():
        store = _store()
        user = g.user
        problem = _recheck_password(form.current.data, _("Your current password is not right"))
        if problem:
            errors["current"] = problem
        elif form.new.data != form.confirm.data:
            errors["confirm"] = _("The new passwords do not match")
        elif form.new.data == form.current.data:
            errors["new"] = _("Choose a password different from the current one")
        else:
            problem = accounts.password_problem(form.new.data, user["username"])
            if problem:
                errors["new"] = problem
            else:
                accounts.set_password(store, user["id"], form.new.data, params=_params(),
                                      actor=user["username"], request_id=g.request_id,
                                      keep_session=user["session_id"])
                flash(_("Your password has been changed. Other sessions have been signed out."))
                return redirect(url_for("cases.index"))
    elif request.method == "POST":
        errors = {k: v[0] for k, v in form.errors.items()}
    return render_template("auth/password.html", form=form, errors=errors), (
        400 if errors else 200)


@bp.route("/account/two-factor", methods=["GET", "POST"])
def totp_setup():
    replacing = bool(g.user["totp_secret"])
    form = ReplaceCodeForm() if replacing else CodeForm()
    secret = _setup_secret()
    error, error_field = None, "code"
    if form.validate_on_submit():
        step = _matching_step(secret, form.code.data.strip())
        problem = replacing and _recheck_password(form.current.data,
                                                  _("Your password is not right"))
        if problem:
            error, error_field = problem, "current"
        elif step is None:
            error = _("The code is not right. Check the key and enter the current code")
        else:
            store = _store()
            with store.write():
                account_rows.set_totp(store, g.user["id"], secret, step)
                store.audit("totp_enabled", actor=g.user["username"], object_type="user",
                            object_id=g.user["id"], request_id=g.request_id)
            accounts.set_pending_totp(store, g.user["session_id"], None)
            flash(_("Two-factor sign-in is on for your account."))
            return redirect(url_for("cases.index"))
    elif request.method == "POST":
        error_field, messages = next(iter(form.errors.items()))
        error = messages[0]
    uri = pyotp.TOTP(secret).provisioning_uri(name=g.user["username"],
                                              issuer_name="formsengine")
    return render_template("auth/totp_setup.html", form=form, error=error, secret=secret,
                           uri=uri, qr=qr_svg(uri), replacing=replacing,
                           error_field=error_field), 400 if error else 200


def _setup_secret() -> str:
    """The key being set up: made once per session and kept server-side with it."""
    store, session_id = _store(), g.user["session_id"]
    secret = accounts.pending_totp(store, session_id)
    if not secret:
        secret = pyotp.random_base32()
        accounts.set_pending_totp(store, session_id, secret)
    return secret


def qr_svg(text: str) -> Markup:
    """A QR code of ``text`` as an SVG element to put in the page (drawn on the server: no
    script, no image request, nothing sent elsewhere). Dark on white with the standard
    quiet zone, so that phone cameras read it in any colour scheme."""
    svg = segno.make(text, error="m").svg_inline(
        scale=4, dark="#0b0c0c", light="#ffffff", svgclass="app-qr", lineclass=None)
    # its own markup, none of the text: safe to put in the page as it is
    label = html.escape(_("QR code of the set-up key"), quote=True)
    return Markup(svg.replace(  # nosec B704 (the label is escaped)
        "<svg ", f'<svg role="img" aria-label="{label}" ', 1))
