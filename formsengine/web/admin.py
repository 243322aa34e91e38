"""Administration: teams, accounts (create, disable, reset password, role), organisation
settings. Administrators manage accounts without reading case content."""

from __future__ import annotations

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    IntegerField,
    SelectField,
    SelectMultipleField,
    StringField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import (
    AnyOf,
    InputRequired,
    Length,
    NumberRange,
    Optional,
    ValidationError,
)
from wtforms.widgets import CheckboxInput, ListWidget

from ..store import accounts as account_rows
from . import access, accounts
from .dates import DatePartsField
from .db import get_engine
from .params import int_arg
from .schema import ROLES

bp = Blueprint("admin", __name__, url_prefix="/admin")

# The roles by name, in the page's language.
ROLE_LABELS = {"practitioner": _l("Practitioner"), "supervisor": _l("Supervisor"),
               "administrator": _l("Administrator"), "researcher": _l("Researcher")}


class TeamCheckboxes(SelectMultipleField):
    """Teams as checkboxes; anything but the teams offered gets one plain message."""
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()
    MESSAGE = _l("Choose teams from the list")

    def __init__(self, label=None, **kw):
        super().__init__(label, coerce=int, **kw)

    def process_formdata(self, valuelist):
        try:
            super().process_formdata(valuelist)
        except ValueError:  # not a number
            raise ValueError(self.MESSAGE) from None

    def pre_validate(self, form):
        offered = {c.value for c in self.choices}
        if any(v not in offered for v in self.data or []):
            raise ValidationError(self.MESSAGE)


class AuditFilterForm(FlaskForm):
    actor = StringField(_l("Username"), validators=[Optional(), Length(
        max=100, message=_l("A username is 100 characters or fewer"))])
    action = StringField(_l("Action"), description=_l(
        "As the trail records it, for example: view, update, lock, login_failed"),
        validators=[Optional(), Length(max=50, message=_l("An action is 50 characters or fewer"))])
    record = StringField(_l("Case reference"), description=_l(
        "The case and its assessments, for example C-7KQ2MX"), validators=[Optional(), Length(
            max=32, message=_l("A case reference is 32 characters or fewer"))])
    since = DatePartsField(_l("From"), validators=[Optional()])
    until = DatePartsField(_l("To"), validators=[Optional()])

    def validate_until(self, field):
        if field.data and self.since.data and field.data < self.since.data:
            raise ValidationError(_("The date to must be the same as or after the date from"))


AUDIT_PAGE = 50


class TeamForm(FlaskForm):
    name = StringField(_l("Team name"), validators=[
        InputRequired(_l("Enter a team name")),
        Length(max=100, message=_l("A team name must be 100 characters or fewer"))])


class UserForm(FlaskForm):
    username = StringField(_l("Username"), validators=[
        InputRequired(_l("Enter a username")),
        Length(max=64, message=_l("A username must be 64 characters or fewer"))])
    display_name = StringField(_l("Name shown to colleagues"), validators=[
        Optional(), Length(max=100, message=_l("A name must be 100 characters or fewer"))])
    role = SelectField(_l("Role"), choices=[SelectChoice(r, ROLE_LABELS[r]) for r in ROLES],
                       validate_choice=False,
                       validators=[AnyOf(ROLES, message=_l("Choose a role from the list"))])
    teams = TeamCheckboxes(_l("Teams"))


class ActionForm(FlaskForm):
    pass


class RoleForm(FlaskForm):
    role = SelectField(_l("Role"), choices=[SelectChoice(r, ROLE_LABELS[r]) for r in ROLES])


class TeamsForm(FlaskForm):
    teams = TeamCheckboxes(_l("Teams"),
                            description=_l("Cases belong to teams: the account sees the cases "
                                           "of the teams ticked here."))


class SessionsField(IntegerField):
    MESSAGE = _l("Enter a number of sessions from 0 to 20")

    def process_formdata(self, valuelist):
        try:
            super().process_formdata(valuelist)
        except ValueError:  # not a whole number
            raise ValueError(self.MESSAGE) from None


class SettingsForm(FlaskForm):
    require_totp = BooleanField(_l("Require two-factor sign-in (TOTP) for everyone"))
    max_sessions = SessionsField(
        _l("Sessions one account may have at once"),
        description=_l("A sign-in beyond it ends the account's oldest session. 0 for no limit."),
        validators=[Optional(), NumberRange(0, 20, SessionsField.MESSAGE)])
    exit_url = StringField(_l("Where “Exit this page” goes"), validators=[
        InputRequired(_l("Enter the address of a neutral website")),
        Length(max=300, message=_l("The address must be 300 characters or fewer"))])

    default_instrument = SelectField(
        _l("Assessment chosen first"), validate_choice=False,
        description=_l("Ticked on a new case, and chosen first when starting an assessment on "
                       "a case with nothing due."))

    def validate_exit_url(self, field):
        if not field.data.strip().startswith("https://"):
            raise ValidationError(_("The exit address must start with https://"))

    def validate_default_instrument(self, field):
        if field.data and field.data not in {c.value for c in field.choices}:
            raise ValidationError(_("Choose the assessment chosen first from the list"))


def _settings_form(**kw) -> SettingsForm:
    form = SettingsForm(**kw)
    latest = {i.id: i.title for i in get_engine().instruments}
    form.default_instrument.choices = [SelectChoice(k, v) for k, v in latest.items()]
    return form


def _admin():
    if g.user["role"] != "administrator":
        access.audit_denial("admin", None)
        abort(403)


bp.before_request(_admin)


def _store():
    return access.store()


def _teams():
    return account_rows.teams(_store())


def _team_choices() -> list[SelectChoice]:
    return [SelectChoice(t["id"], t["name"]) for t in _teams()]


def _user_form(**kw) -> UserForm:
    form = UserForm(**kw)
    form.teams.choices = _team_choices()
    return form


@bp.get("/")
def index():
    return _index()


def _index(user_form: UserForm | None = None, team_form: TeamForm | None = None,
           settings: SettingsForm | None = None, status: int = 200):
    """The administration page; with the form of a refused change, its problems and what
    was typed."""
    store = _store()
    users = account_rows.users_for_admin(store)
    names = {t["id"]: t["name"] for t in _teams()}
    for u in users:
        u["teams"] = [names[t] for t in accounts.user_teams(store, u["id"]) if t in names]
    if settings is None:
        settings = _settings_form(formdata=None)
        settings.default_instrument.data = accounts.get_setting(store, "default_instrument")
        settings.require_totp.data = bool(accounts.get_setting(store, "require_totp"))
        settings.exit_url.data = accounts.get_setting(store, "exit_url")
        settings.max_sessions.data = accounts.get_setting(store, "max_sessions")
    access.audit_view("user_list", None, "list")
    return render_template("admin/index.html", users=users, teams=_teams(),
                           role_labels=ROLE_LABELS,
                           team_form=team_form or TeamForm(formdata=None),
                           user_form=user_form or _user_form(formdata=None),
                           settings=settings, action=ActionForm(), role_form=RoleForm(),
                           wording_choices=_wording_choices(),
                           wording=accounts.get_setting(store, "wording") or {}), status


def _wording_choices() -> list[tuple]:
    """(instrument, its installed wording packs) for every instrument that has one."""
    engine = get_engine()
    latest = {i.id: i for i in engine.instruments}
    out = []
    for inst in sorted(latest.values(), key=lambda i: i.title):
        packs = [p for p in engine.wording if p.instrument == inst.id]
        if packs:
            out.append((inst, packs))
    return out


@bp.post("/wording")
def wording():
    """Which wording new assessments show, per instrument (the paraphrase, or a licensed
    wording pack); assessments already started keep the wording they recorded."""
    store = _store()
    current = accounts.get_setting(store, "wording") or {}
    changes = []
    for inst, packs in _wording_choices():
        ref = request.form.get(f"wording-{inst.id}", "")
        if ref not in {"", *(p.ref for p in packs)}:  # checked before anything is saved
            flash(_("Choose one of the wordings offered for %(title)s. Nothing was changed.",
                    title=inst.title))
            return redirect(url_for("admin.index"))
        if ref != current.get(inst.id, ""):
            changes.append((inst.id, ref))
    for inst_id, ref in changes:
        accounts.set_wording(store, get_engine(), inst_id, ref or None,
                             actor=g.user["username"], request_id=g.request_id)
    flash(_("Question wording saved. Assessments started from now on use it."))
    return redirect(url_for("admin.index"))


@bp.post("/teams")
def create_team():
    form = TeamForm()
    if not form.validate_on_submit():
        return _index(team_form=form, status=400)
    _store().ensure_team(form.name.data.strip(), actor=g.user["username"])
    flash(_("Team saved."))
    return redirect(url_for("admin.index"))


@bp.post("/users")
def create_user():
    form = _user_form()
    if not form.validate_on_submit():
        return _index(user_form=form, status=400)
    password = accounts.generate_password(form.username.data.strip())
    try:
        accounts.create_user(
            _store(), form.username.data.strip(), role=form.role.data, password=password,
            params=current_app.config["PASSWORD_HASH"],
            display_name=(form.display_name.data or "").strip() or None,
            teams=form.teams.data, actor=g.user["username"], request_id=g.request_id)
    except accounts.AccountError as exc:  # the username's form or it is taken
        form.username.errors = [str(exc)]
        return _index(user_form=form, status=400)
    return render_template("admin/password.html", username=form.username.data.strip(),
                           password=password)


def _user_or_404(uid: str) -> dict:
    user = account_rows.user_by_uid(_store(), uid[:64])
    if user is None:
        abort(404)
    return user


def _confirm(user: dict, what: str):
    """The confirmation page of an action on an account: what it does, and a button that
    sends it again with ``confirmed``."""
    return render_template("admin/confirm.html", user=user, what=what)


def _confirmed() -> bool:
    return request.method == "POST" and request.form.get("confirmed") == "yes"


@bp.route("/users/<uid>/disable", methods=["GET", "POST"])
def disable(uid: str):
    """Disabling asks first (a page saying what it does); enabling does not."""
    user = _user_or_404(uid)
    if request.method == "POST" and not ActionForm().validate_on_submit():
        abort(400)
    if user["id"] == g.user["id"]:
        flash(_("You cannot disable your own account."))
        return redirect(url_for("admin.index"))
    if not user["disabled"] and not _confirmed():
        return _confirm(user, "disable")
    if request.method == "GET":
        return redirect(url_for("admin.index"))
    accounts.set_disabled(_store(), user["id"], not user["disabled"],
                          actor=g.user["username"], request_id=g.request_id)
    if user["disabled"]:
        flash(_("%(user)s is enabled.", user=user["username"]))
    else:
        flash(_("%(user)s is disabled and signed out.", user=user["username"]))
    return redirect(url_for("admin.index"))


@bp.route("/users/<uid>/reset-password", methods=["GET", "POST"])
def reset_password(uid: str):
    user = _user_or_404(uid)
    if request.method == "POST" and not ActionForm().validate_on_submit():
        abort(400)
    if not _confirmed():
        return _confirm(user, "reset")
    password = accounts.generate_password(user["username"])
    accounts.set_password(_store(), user["id"], password,
                          params=current_app.config["PASSWORD_HASH"], must_change=True,
                          actor=g.user["username"], request_id=g.request_id)
    return render_template("admin/password.html", username=user["username"], password=password)


@bp.post("/users/<uid>/two-factor-off")
def two_factor_off(uid: str):
    user = _user_or_404(uid)
    if not ActionForm().validate_on_submit():
        abort(400)
    if user["totp_secret"]:
        accounts.turn_off_totp(_store(), user["id"], actor=g.user["username"],
                               request_id=g.request_id)
    flash(_("Two-factor sign-in is off for %(user)s, who must sign in again (and set it up "
            "again where the organisation requires it).", user=user["username"]))
    return redirect(url_for("admin.index"))


OWN = _l("You cannot change your own role or teams: another administrator must make the "
         "change, so that no one gives themselves access to case records.")


def _own_account(user: dict, change: str) -> bool:
    """True (and the attempt audited as a denial) when ``user`` is the administrator
    signed in: their own role and teams are changed by another administrator."""
    if user["id"] != g.user["id"]:
        return False
    access.audit_denial("user", user["uid"], {"change": f"own {change}"})
    return True


@bp.post("/users/<uid>/role")
def change_role(uid: str):
    user = _user_or_404(uid)
    form = RoleForm()
    if not form.validate_on_submit():
        abort(400)
    if _own_account(user, "role"):
        flash(str(OWN))
        return redirect(url_for("admin.index"))
    store = _store()
    with store.write():
        account_rows.set_role(store, user["id"], form.role.data)
        account_rows.delete_user_sessions(store, user["id"])
        store.audit("role_change", actor=g.user["username"], object_type="user",
                    object_id=user["id"], request_id=g.request_id,
                    details={"from": user["role"], "to": form.role.data})
    flash(_("Role changed. The user must sign in again."))
    return redirect(url_for("admin.index"))


@bp.route("/users/<uid>/teams", methods=["GET", "POST"])
def user_teams(uid: str):
    user = _user_or_404(uid)
    store = _store()
    form = TeamsForm()
    form.teams.choices = _team_choices()
    if request.method == "GET":
        access.audit_view("user", user["id"])
        form.teams.data = accounts.user_teams(store, user["id"])
    elif _own_account(user, "teams"):
        form.teams.errors = [str(OWN)]
        return render_template("admin/teams.html", user=user, form=form), 403
    elif form.validate_on_submit():
        try:
            unassigned = accounts.set_teams(store, user["id"], form.teams.data or [],
                                            actor=g.user["username"], request_id=g.request_id)
        except accounts.AccountError:  # a team removed since the page was read
            form.teams.errors = [str(TeamCheckboxes.MESSAGE)]
        else:
            if unassigned:
                flash(ngettext(
                    "Teams of %(user)s changed. They were unassigned from %(num)s case of a "
                    "team they left: a supervisor can assign someone else.",
                    "Teams of %(user)s changed. They were unassigned from %(num)s cases of "
                    "teams they left: a supervisor can assign someone else.",
                    unassigned, user=user["username"]))
            else:
                flash(_("Teams of %(user)s changed.", user=user["username"]))
            return redirect(url_for("admin.index"))
    return render_template("admin/teams.html", user=user, form=form), (
        400 if form.teams.errors else 200)


@bp.post("/settings")
def settings():
    form = _settings_form()
    if not form.validate_on_submit():
        return _index(settings=form, status=400)
    url = form.exit_url.data.strip()
    store = _store()
    accounts.set_setting(store, "require_totp", bool(form.require_totp.data),
                         actor=g.user["username"], request_id=g.request_id)
    accounts.set_setting(store, "exit_url", url, actor=g.user["username"],
                         request_id=g.request_id)
    sessions = form.max_sessions.data or 0
    if sessions != accounts.get_setting(store, "max_sessions"):
        accounts.set_setting(store, "max_sessions", sessions, actor=g.user["username"],
                             request_id=g.request_id)
    if form.default_instrument.data:  # (not sent: unchanged)
        accounts.set_setting(store, "default_instrument", form.default_instrument.data,
                             actor=g.user["username"], request_id=g.request_id)
    flash(_("Settings saved."))
    return redirect(url_for("admin.index"))


@bp.route("/audit", methods=["GET", "POST"])
def audit_log():
    """The audit trail, newest first: who did what to which record, and when. Records are
    named by their references (never internal ids or people's names); filtering is by
    POST, so usernames and references stay out of addresses."""
    form = AuditFilterForm()
    filters: dict = {}
    filtered = False
    if form.validate_on_submit():
        filtered = True
        filters = {"actor": (form.actor.data or "").strip() or None,
                   "action": (form.action.data or "").strip() or None,
                   "case_ref": (form.record.data or "").strip() or None,
                   "since": form.since.data.isoformat() if form.since.data else None,
                   "until": form.until.data.isoformat() if form.until.data else None}
    # where the page starts: after audit row ``before`` and view log row ``views_before``
    # (the two tables are merged by time; each goes on after its last row shown)
    start: dict[str, int | None] = {"before": None, "views_before": None}
    for name in start:
        if request.method == "GET":
            start[name] = int_arg(name)
        elif filtered and request.form.get(name):  # "Older entries" of a filtered page
            raw = request.form[name]
            if not raw.isdigit() or len(raw) > 18:
                abort(400)
            start[name] = int(raw)
    rows = _store().audit_entries(**filters, **start, limit=AUDIT_PAGE + 1)
    if rows is None:
        form.record.errors = [_("No case has that reference")]
        rows = []
    more = len(rows) > AUDIT_PAGE and not form.errors  # one row past the page: older exist
    rows = rows[:AUDIT_PAGE]
    older = _store().audit_page_after(rows, **start) if more else None
    names = _store().audit_record_names(rows)
    for r in rows:
        r["record"] = _record_text(r, names)
        r["detail_rows"] = _detail_rows(r["details"])
    access.audit_view("audit", None, "list")
    return render_template("admin/audit.html", rows=rows, form=form,
                           older=older,
                           filtered=filtered), (400 if form.errors else 200)


# What an audit row's record is, in the page's language; a kind not listed here (one a
# plugin records) is shown as the trail names it.
RECORD_KINDS = {
    "case": _l("Case"), "assessment": _l("Assessment"), "assessments": _l("Assessments"),
    "person": _l("Person"), "person_history": _l("Change over time of a person"),
    "user": _l("Account"), "user_list": _l("List of accounts"), "team": _l("Team"),
    "setting": _l("Setting"), "role": _l("Role"), "schedule": _l("Schedule"),
    "admin": _l("Administration"), "audit": _l("Audit trail"), "view_log": _l("Log of views"),
    "case_list": _l("List of cases"), "caseload": _l("Caseload"),
    "due_list": _l("Due and overdue assessments"), "research_summary": _l("Research data"),
    "research_export": _l("Research export"), "final_counts": _l("Counts of final assessments"),
    "paired_comparison": _l("Paired comparison"),
}


def _record_text(row: dict, names: dict) -> str:
    """An audit row's record in words, by its references."""
    from .schedule import occasion_label

    kind, key = row["object_type"], row["object_id"]
    if not kind:
        return ""
    words = str(RECORD_KINDS.get(kind, kind.replace("_", " ").capitalize()))
    if key is None:
        return words
    found = names.get((kind, str(key)))
    if found is None:
        return _("%(record)s (since removed)", record=words) \
            if kind in ("case", "assessment", "person") else words
    if kind != "assessment":
        return f"{words} {found['ref']}"
    try:
        inst = get_engine().instruments.get(found["instrument_id"])
        title = inst.title
    except Exception:  # an instrument no longer installed: its id is what is known
        inst, title = None, found["instrument_id"]
    values = {"ref": found["ref"], "title": title,
              "occasion": occasion_label(found["occasion"], inst),
              "version": found["version_no"]}
    if found["ref"] and found["version_no"] > 1:
        return _("Assessment of case %(ref)s: %(title)s, %(occasion)s, version %(version)s",
                 **values)
    if found["ref"]:
        return _("Assessment of case %(ref)s: %(title)s, %(occasion)s", **values)
    if found["version_no"] > 1:
        return _("Assessment of no case: %(title)s, %(occasion)s, version %(version)s",
                 **values)
    return _("Assessment of no case: %(title)s, %(occasion)s", **values)


def _detail_rows(details: str | None) -> list[tuple[str, str]]:
    """An audit row's details as (key, value) rows in words; text that is not a JSON
    object is shown as it is. The keys are the names the trail records them by."""
    import json

    try:
        data = json.loads(details or "{}")
    except ValueError:
        return [(_("Details"), details or "")]
    if not isinstance(data, dict):
        return [(_("Details"), str(data))]

    def text(value) -> str:
        if isinstance(value, bool):
            return _("Yes") if value else _("No")
        if value is None:
            return _("None")
        if isinstance(value, list):
            return ", ".join(text(v) for v in value) or _("None")
        if isinstance(value, dict):
            return "; ".join(f"{k.replace('_', ' ')}: {text(v)}" for k, v in value.items())
        return str(value)

    return [(k.replace("_", " ").capitalize(), text(v)) for k, v in data.items()]
