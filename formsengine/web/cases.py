"""Cases: list (references only, never names), create, view, search by POST, and the due
and overdue views per practitioner and per team."""

from __future__ import annotations

import datetime as dt
import json
import secrets
from typing import TYPE_CHECKING

from flask import Blueprint, abort, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext, ngettext
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, RadioField, SelectField, SelectMultipleField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import AnyOf, InputRequired, Length, Optional, ValidationError
from wtforms.widgets import CheckboxInput, ListWidget

from ..dates import date_text
from ..errors import StorageError, UnknownInstrumentError
from ..store import CASE_CLOSE_REASONS, caseviews
from ..store.accounts import teams as all_teams
from . import access, assessment_pages, charts, once
from .dates import DatePartsField
from .db import get_engine
from .schedule import (
    DUE_SOON_DAYS,
    case_schedule,
    default_occasion,
    next_due,
    occasion_label,
    occasions_of,
)

if TYPE_CHECKING:
    from ..store import Store

bp = Blueprint("cases", __name__)

CASE_PAGE = 50
REF_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
ROLES = {"victim_survivor": _l("Victim-survivor"), "service_user": _l("Service user")}


class MultiCheckbox(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class CaseForm(FlaskForm):
    team = SelectField(_l("Team"), coerce=int)
    victim_survivor = BooleanField(_l("Victim-survivor"))
    vs_name = StringField(_l("Victim-survivor's initials (optional)"),
                          validators=[Optional(), Length(max=20)])
    service_user = BooleanField(_l("Service user (person using abuse)"))
    su_name = StringField(_l("Service user's initials (optional)"),
                          validators=[Optional(), Length(max=20)])
    opened_on = DatePartsField(_l("Date the case was opened"), validators=[InputRequired(
        _l("Enter the date the case was opened"))])
    instruments = MultiCheckbox(
        _l("Assessments this case follows"), validate_choice=False,
        description=_l("The case's schedule is their occasions, due from the date the case "
                       "was opened."))
    practitioner = SelectField(_l("Practitioner"), coerce=int)

    def validate_victim_survivor(self, field):
        if not field.data and not self.service_user.data:
            raise ValidationError(_("Select who the case is about"))

    def validate_instruments(self, field):
        roles = {r for r, ticked in (("victim_survivor", self.victim_survivor.data),
                                     ("service_user", self.service_user.data)) if ticked}
        _check_followed(field, roles)


def _check_followed(field, roles: set[str]) -> None:
    """Only instruments offered, each about someone on the case."""
    instruments = get_engine().instruments
    offered = {c.value for c in field.choices}
    for inst_id in field.data or []:
        if inst_id not in instruments:
            raise ValidationError(_("Choose assessments from the list"))
        inst = instruments.get(inst_id)
        if inst.subject_role not in roles:
            raise ValidationError(
                _("%(title)s is about a %(role)s, and this case has none: untick it, or add "
                  "them to the case", title=assessment_pages.headings(inst).title,
                  role=str(ROLES[inst.subject_role]).lower()))
    if any(v not in offered for v in field.data or []):
        raise ValidationError(_("Choose assessments from the list"))


class CloseForm(FlaskForm):
    reason = RadioField(_l("Why is the case being closed?"), validate_choice=False,
                        choices=[SelectChoice(k, _l(v)) for k, v in CASE_CLOSE_REASONS.items()],
                        validators=[InputRequired(_l("Choose why the case is being closed")),
                                    AnyOf(list(CASE_CLOSE_REASONS),
                                          _l("Choose one of the reasons shown"))])
    closed_on = DatePartsField(_l("Date the case was closed"), validators=[InputRequired(
        _l("Enter the date the case was closed"))])


class PersonForm(FlaskForm):
    role = SelectField(_l("Who to add"), choices=[SelectChoice(k, v) for k, v in ROLES.items()])
    initials = StringField(_l("Their initials (optional)"), validators=[Optional(), Length(
        max=20, message=_l("Initials must be 20 characters or fewer"))])


class RemovePersonForm(FlaskForm):
    who = SelectField(_l("Who to remove"), choices=[SelectChoice(k, v) for k, v in ROLES.items()])


class ScheduleForm(FlaskForm):
    instruments = MultiCheckbox(
        _l("Assessments this case follows"), validate_choice=False,
        description=_l("The case's schedule is their occasions, due from the date the case "
                       "was opened."))


class AssignForm(FlaskForm):
    practitioner = SelectField(_l("Practitioner for this case"), coerce=int)


class MoveForm(FlaskForm):
    team = SelectField(_l("Team to move the case to"), coerce=int)


class SearchForm(FlaskForm):
    reference = StringField(_l("Case reference or practitioner"), validators=[
        InputRequired(_l("Enter a case reference or a practitioner's name")), Length(max=64)])


def _latest(roles: set[str] | None = None) -> list:
    """The newest version of each installed instrument (about one of ``roles``)."""
    registry = get_engine().instruments
    latest: dict[str, object] = {}
    for inst in registry:
        if roles is None or inst.subject_role in roles:
            latest[inst.id] = registry.get(inst.id)  # a retired version only when no other
    return list(latest.values())


def _when(occasion) -> str:
    """An occasion's offset in words (``Occasion.when``) in the page's language."""
    if occasion.due is None:
        return _("when needed")
    unit, n = occasion.due
    if n == 0:
        return _("at opening")
    if unit == "weeks":
        return ngettext("%(num)s week after opening", "%(num)s weeks after opening", n)
    return ngettext("%(num)s month after opening", "%(num)s months after opening", n)


def when_text(engine, inst) -> str:
    """An instrument's scheduled occasions in words: "Intake at opening, Review 3 months
    after opening"."""
    parts = [f"{gettext(o.label)} {_when(o)}" for o in engine.occasions_for(inst)
             if o.due is not None]
    return ", ".join(parts) if parts else _("Used when needed: nothing is scheduled")


def _instrument_choices(field, roles: set[str] | None = None, keep=()) -> dict[str, str]:
    """Fill a field's choices with instruments (those about ``roles``, and any in ``keep``);
    returns the hint for each, its occasions and when they fall due."""
    engine = get_engine()
    insts = [i for i in _latest() if roles is None or i.subject_role in roles or i.id in keep]
    field.choices = [SelectChoice(i.id, assessment_pages.headings(i).title) for i in insts]
    return {i.id: when_text(engine, i) for i in insts}


def default_instrument() -> str | None:
    """The organisation's default instrument (a setting), if installed."""
    from .accounts import get_setting

    chosen = get_setting(access.store(), "default_instrument") or "dash-safelives"
    return chosen if chosen in get_engine().instruments else None


def _team_names() -> dict[int, str]:
    return {r["id"]: r["name"] for r in all_teams(access.store())}


def _new_ref(store: Store) -> str:
    for _attempt in range(20):
        ref = "C-" + "".join(secrets.choice(REF_ALPHABET) for _i in range(6))
        if not caseviews.case_ref_taken(store, ref):
            return ref
    raise RuntimeError("could not generate a unique case reference")


def _team_members(team_ids: list[int]) -> list[dict]:
    return caseviews.team_practitioners(access.store(), team_ids)


def _done(case_ids: list[int]) -> dict[int, set[tuple[str, str]]]:
    """Each case's schedule entries done: (instrument, occasion) with a final assessment."""
    return access.store().schedule_done(case_ids)


def _schedule(case: dict, done: set[tuple[str, str]], today: dt.date) -> list[dict]:
    return case_schedule(get_engine(), case, done, today,
                         lambda inst: assessment_pages.headings(inst).title)


@bp.get("/")
def index():
    if not access.can_see_cases():
        return redirect(url_for("research.index" if g.user["role"] == "researcher"
                                else "admin.index"))
    show = request.args.get("show", "open")
    show = show if show in ("open", "all", "mine") else "open"
    show_closed = show == "all"
    page = access.store().case_list(access.team_ids(), show=show, user_id=g.user["id"],
                                    after=request.args.get("after"),
                                    before=request.args.get("before"), limit=CASE_PAGE)
    rows = page["rows"]
    for r in rows:
        r["schedule"] = json.loads(r["schedule"])
        r["instruments"] = json.loads(r["instruments"])
    done = _done([r["id"] for r in rows])
    today = dt.date.today()
    for r in rows:
        r["next"] = next_due(_schedule(r, done[r["id"]], today)) if r["status"] == "open" \
            else None
    access.audit_view("case_list", None, "list")
    return render_template("cases/index.html", cases=rows, search=SearchForm(),
                           mine=g.user["id"], show_closed=show_closed, show=show,
                           more_after=page["more_after"], more_before=page["more_before"])


@bp.post("/cases/search")
def search():
    """Find a case by its reference (with or without the prefix, any letter case) or the
    cases of a practitioner. A POST, so that nothing typed is kept in an address."""
    form = SearchForm()
    if not access.can_see_cases():
        abort(403)
    if form.validate_on_submit():
        found, how = access.store().search_cases(access.team_ids(), form.reference.data)
        access.store().audit("search", actor=g.user["username"], object_type="case",
                             request_id=g.request_id, details={"found": len(found),
                                                               "by": how or "nothing"})
        if how == "reference" and len(found) == 1:
            return redirect(url_for("cases.view", uid=found[0]["uid"]))
        if found:
            return render_template("cases/search.html", cases=found, how=how,
                                   mine=g.user["id"], search=SearchForm())
        flash(_("No case of your teams has that reference or practitioner."))
    else:
        flash(_("Enter a case reference or a practitioner's name to search for."))
    return redirect(url_for("cases.index"))


@bp.route("/cases/new", methods=["GET", "POST"])
@access.roles_required(*access.CASE_ROLES)
def new():
    form = CaseForm()
    names = _team_names()
    form.team.choices = [SelectChoice(t, names[t]) for t in g.teams if t in names]
    hints = _instrument_choices(form.instruments)
    members = _team_members(g.teams)
    if g.user["role"] == "supervisor":
        form.practitioner.choices = [SelectChoice(m["id"], m["display_name"]) for m in members]
    else:
        form.practitioner.choices = [SelectChoice(g.user["id"], g.user["display_name"])]
    if request.method == "GET":
        form.opened_on.data = dt.date.today()
        form.practitioner.data = g.user["id"]
        form.instruments.data = [i for i in [default_instrument()] if i]
    if not form.team.choices:
        flash(_("You are not a member of any team yet: ask an administrator to add you."))
        return redirect(url_for("cases.index"))
    if form.validate_on_submit():
        store = access.store()
        member_ids = {m["id"] for m in _team_members([form.team.data])}
        if form.practitioner.data not in member_ids:
            form.practitioner.errors = [_("Choose a practitioner in the case's team")]
        else:
            with store.write():
                sent = once.earlier(store)
                if sent:  # the same form sent again: one case
                    return redirect(sent)
                ref = _new_ref(store)
                people = []
                for role, flag, name in (("victim_survivor", form.victim_survivor.data,
                                          form.vs_name.data),
                                         ("service_user", form.service_user.data,
                                          form.su_name.data)):
                    if flag:
                        pid = store.ensure_person(
                            "P-" + secrets.token_hex(6), role, actor=g.user["username"],
                            display_name=(name or "").strip() or None)
                        people.append((pid, role))
                case_id = store.create_case(
                    ref, team_id=form.team.data, instruments=form.instruments.data or [],
                    opened_on=form.opened_on.data.isoformat(), people=people,
                    actor=g.user["username"], request_id=g.request_id)
                caseviews.assign_case(store, case_id, form.practitioner.data)
                uid = caseviews.case_uid(store, case_id)
                once.remember(store, url_for("cases.view", uid=uid))
            flash(_("Case %(ref)s created.", ref=ref))
            return redirect(url_for("cases.view", uid=uid))
    errors = {k: v[0] for k, v in form.errors.items()}
    return render_template("cases/new.html", form=form, errors=errors, hints=hints), (
        400 if errors else 200)


def _by_instrument(schedule: list[dict]) -> list[dict]:
    """The schedule as one group per instrument (a narrow table each, readable on a phone),
    the instrument with the first occasion due first."""
    groups: dict[str, dict] = {}
    for s in schedule:
        groups.setdefault(s["instrument"], {"title": s["title"], "rows": []})["rows"].append(s)
    return list(groups.values())


def _level_so_far(engine, row) -> str | None:
    """A draft's level so far, when its stored result still holds (as on the task list)."""
    draft = json.loads(row["draft_result"] or "null")
    if not draft:
        return None
    try:
        inst = engine.instruments.get(row["instrument_id"], row["instrument_version"])
    except UnknownInstrumentError:
        return None
    return (draft.get("level") or {}).get("final") if engine.is_current(inst, draft) else None


@bp.get("/cases/<uid>")
def view(uid: str):
    return _case_page(access.case_or_404(uid))


def _case_page(case: dict, close_form: CloseForm | None = None,
               assign_form: AssignForm | None = None,
               schedule_form: ScheduleForm | None = None,
               person_form: PersonForm | None = None, move_form: MoveForm | None = None,
               remove_form: RemovePersonForm | None = None, start: dict | None = None,
               status: int = 200):
    """The case page; with forms of a refused change, their problems and what was typed
    (``start``: a refused start of an assessment, see ``start_refused``)."""
    store = access.store()
    access.audit_view("case", case["id"])
    people = caseviews.case_people(store, case["id"])
    assessments = caseviews.case_assessments(store, case["id"])
    engine = get_engine()
    for a in assessments:
        a["level_so_far"] = _level_so_far(engine, a)
    titles = assessment_pages.instrument_titles()
    done = _done([case["id"]])[case["id"]]
    schedule = _schedule(case, done, dt.date.today())
    if case["status"] == "closed":  # nothing is due or overdue on a closed case
        for s in schedule:
            if s["status"] != "done":
                s["status"] = "closed"
    roles = {p["role"] for p in people}
    latest = {i.id: i for i in _latest(roles)}
    start = _start_choices(engine, list(latest.values()), schedule, done, start)
    changes = [charts.instrument_history(store, case, p, inst)
               for inst in latest.values() for p in people if p["role"] == inst.subject_role]
    assigned = caseviews.case_practitioner(store, case["id"])
    team_name = caseviews.team_name(store, case["team_id"])
    if close_form is None and case["status"] == "open":
        close_form = CloseForm(formdata=None)
        close_form.closed_on.data = dt.date.today()
    missing = [r for r in ROLES if r not in {p["role"] for p in people}]
    if person_form is None and missing:
        person_form = PersonForm(formdata=None)
    if person_form is not None:
        person_form.role.choices = [SelectChoice(r, ROLES[r]) for r in missing] or \
            person_form.role.choices
    # someone recorded by mistake can be taken off while the case has another person and
    # nothing has been assessed about them here
    assessed = {a["person_id"] for a in assessments}
    removable = [p for p in people if p["id"] not in assessed] if len(people) > 1 else []
    if remove_form is None and removable:
        remove_form = RemovePersonForm(formdata=None)
    if remove_form is not None:
        remove_form.who.choices = [SelectChoice(p["role"], ROLES[p["role"]])
                                   for p in removable] or remove_form.who.choices
    if schedule_form is None:
        schedule_form = _schedule_form(case, roles, formdata=None)
        schedule_form.instruments.data = list(case["instruments"])
    if assign_form is None and g.user["role"] == "supervisor":
        assign_form = _assign_form(case, formdata=None)
        assign_form.practitioner.data = assigned["id"] if assigned else None
    if move_form is None and g.user["role"] == "supervisor":
        move_form = _move_form(case, formdata=None)
        if not move_form.team.choices:
            move_form = None  # a supervisor of this team only: nowhere to move it
    return render_template(
        "cases/view.html", case=case, people=people, assessments=assessments,
        titles=titles, schedule=schedule, schedule_groups=_by_instrument(schedule),
        instruments=list(latest.values()),
        changes=[c for c in changes if c["rows"]], roles=ROLES, occasion_label=occasion_label,
        assigned=assigned, team_name=team_name, close_form=close_form, assign_form=assign_form,
        schedule_form=schedule_form, person_form=person_form, move_form=move_form,
        remove_form=remove_form, start=start,
        schedule_hints=_instrument_choices(schedule_form.instruments, roles,
                                           keep=case["instruments"]),
        close_reasons=CASE_CLOSE_REASONS), status


@bp.post("/cases/<uid>/people")
@access.roles_required(*access.CASE_ROLES)
def add_person(uid: str):
    case = access.case_or_404(uid)
    form = PersonForm()
    store = access.store()
    if form.validate_on_submit():
        try:
            with store.write():  # the new person is rolled back if the case has one already
                person = store.ensure_person(
                    "P-" + secrets.token_hex(6), form.role.data, actor=g.user["username"],
                    display_name=(form.initials.data or "").strip() or None)
                store.add_case_person(case["id"], person, form.role.data,
                                      actor=g.user["username"], request_id=g.request_id)
        except StorageError:  # already there, or added by someone else meanwhile
            form.role.errors = [_("This case already has one: choose who is missing")]
        else:
            flash(_("%(who)s added to the case.", who=ROLES[form.role.data]))
            return redirect(url_for("cases.view", uid=uid))
    return _case_page(case, person_form=form, status=400)


@bp.post("/cases/<uid>/people/remove")
@access.roles_required(*access.CASE_ROLES)
def remove_person(uid: str):
    case = access.case_or_404(uid)
    form = RemovePersonForm()
    store = access.store()
    if form.validate_on_submit():
        try:
            store.remove_case_person(case["id"], form.who.data, actor=g.user["username"],
                                     request_id=g.request_id)
        except StorageError:  # not on the case (or removed meanwhile), assessed, the only one
            if caseviews.case_has_role(store, case["id"], form.who.data):
                form.who.errors = [_("Only someone with no assessments on this case can be "
                                     "removed, and a case keeps at least one person")]
            else:
                form.who.errors = [_("There is no %(who)s on this case (they may have been "
                                     "removed already)", who=str(ROLES[form.who.data]).lower())]
        else:
            flash(_("%(who)s removed from the case.", who=ROLES[form.who.data]))
            return redirect(url_for("cases.view", uid=uid))
    return _case_page(case, remove_form=form, status=400)


def _case_roles(case: dict) -> set[str]:
    return caseviews.case_roles(access.store(), case["id"])


def _schedule_form(case: dict, roles: set[str], **kw) -> ScheduleForm:
    form = ScheduleForm(**kw)
    _instrument_choices(form.instruments, roles, keep=case["instruments"])
    return form


@bp.post("/cases/<uid>/schedule")
@access.roles_required(*access.CASE_ROLES)
def schedule(uid: str):
    case = access.case_or_404(uid)
    roles = _case_roles(case)
    form = _schedule_form(case, roles)
    valid = form.validate_on_submit()
    if valid:
        try:
            _check_followed(form.instruments, roles)
        except ValidationError as exc:
            form.instruments.errors = [str(exc)]
            valid = False
    if not valid:
        if not form.instruments.errors:
            form.instruments.errors = [_("Choose assessments from the list")]
        return _case_page(case, schedule_form=form, status=400)
    chosen = [c.value for c in form.instruments.choices if c.value in form.instruments.data]
    access.store().set_case_instruments(case["id"], chosen, actor=g.user["username"],
                                        request_id=g.request_id)
    flash(_("The assessments this case follows were changed."))
    return redirect(url_for("cases.view", uid=uid))


def _start_choices(engine, insts: list, schedule: list[dict], done: set[tuple[str, str]],
                   refused: dict | None) -> dict:
    """The start form: per instrument its occasions (declared, and after a new incident)
    and the one to offer first (its next due); the instrument chosen first (that of the
    case's next entry due, else the organisation's default); or, after a refused start,
    what was chosen and the problems."""
    due = {(s["instrument"], s["occasion"]): s for s in schedule}
    groups = []
    for inst in insts:
        occasions = []
        for occ in occasions_of(engine, inst):
            entry = due.get((inst.id, occ.id))
            note = (_("done") if (inst.id, occ.id) in done else
                    _("due %(day)s", day=date_text(entry["due"])) if entry and entry["due"]
                    else None)
            occasions.append({"id": occ.id,
                              "label": gettext(occ.label) + (f" ({note})" if note else "")})
        groups.append({"inst": inst, "occasions": occasions,
                       "next": default_occasion(engine, inst, schedule, done)})
    if refused:
        instrument, occasion = refused["instrument"], refused["occasion"]
    else:  # the next entry due on the schedule, else the organisation's default instrument
        entry = next_due(schedule)
        default = entry["instrument"] if entry else default_instrument()
        first = next((g for g in groups if g["inst"].id == default), groups[0] if groups else None)
        instrument = first["inst"].id if first else None
        occasion = first["next"] if first else None
    # the one option shown as chosen: in the chosen instrument's group if it is there
    # (otherwise the first with that value: a refused pair keeps both choices)
    selected = next(((g["inst"].id, occasion) for g in groups if g["inst"].id == instrument
                     and any(o["id"] == occasion for o in g["occasions"])), None) or next(
        ((g["inst"].id, occasion) for g in groups
         if any(o["id"] == occasion for o in g["occasions"])), None)
    return {"groups": groups, "instrument": instrument, "selected": selected,
            "errors": (refused or {}).get("errors", {})}


def start_refused(case: dict, instrument: str | None, occasion: str | None,
                  errors: dict[str, str]):
    """The case page again after a refused start, with the problem at its field and both
    choices kept."""
    return _case_page(case, start={"instrument": instrument, "occasion": occasion,
                                   "errors": errors}, status=400)


def _assign_form(case: dict, **kw) -> AssignForm:
    form = AssignForm(**kw)
    form.practitioner.choices = [SelectChoice(m["id"], m["display_name"])
                                 for m in _team_members([case["team_id"]])]
    return form


@bp.post("/cases/<uid>/close")
@access.roles_required(*access.CASE_ROLES)
def close(uid: str):
    case = access.case_or_404(uid)
    if case["status"] != "open":
        flash(_("This case is already closed."))
        return redirect(url_for("cases.view", uid=uid))
    form = CloseForm()
    if form.validate_on_submit():
        day = form.closed_on.data
        opened = dt.date.fromisoformat(case["opened_on"]) if case["opened_on"] else None
        if day > dt.date.today():
            form.closed_on.errors.append(_("The date the case was closed must be today or "
                                           "in the past"))
        elif opened and day < opened:
            form.closed_on.errors.append(_("The date the case was closed must be on or after "
                                           "the date it was opened (%(day)s)",
                                           day=date_text(opened)))
        else:
            try:
                access.store().close_case(case["id"], closed_on=day.isoformat(),
                                          reason=form.reason.data, actor=g.user["username"],
                                          request_id=g.request_id)
            except StorageError:  # closed by someone else since this request read it
                flash(_("This case is already closed."))
            else:
                flash(_("Case %(ref)s closed. Its assessments are no longer shown as due.",
                        ref=case["ref"]))
            return redirect(url_for("cases.view", uid=uid))
    return _case_page(case, close_form=form, status=400)


@bp.post("/cases/<uid>/reopen")
@access.roles_required(*access.CASE_ROLES)
def reopen(uid: str):
    case = access.case_or_404(uid)
    if case["status"] == "closed":
        try:
            access.store().reopen_case(case["id"], actor=g.user["username"],
                                       request_id=g.request_id)
        except StorageError:  # reopened by someone else since this request read it
            pass
        flash(_("Case %(ref)s is open.", ref=case["ref"]))
    return redirect(url_for("cases.view", uid=uid))


@bp.post("/cases/<uid>/practitioner")
@access.roles_required("supervisor")
def assign(uid: str):
    case = access.case_or_404(uid)
    form = _assign_form(case)
    if not form.validate_on_submit():
        form.practitioner.errors = [_("Choose a practitioner in the case's team")]
        return _case_page(case, assign_form=form, status=400)
    store = access.store()
    with store.write():
        caseviews.assign_case(store, case["id"], form.practitioner.data)
        store.audit("assign", actor=g.user["username"], object_type="case",
                    object_id=case["id"], request_id=g.request_id,
                    details={"user_id": form.practitioner.data})
    name = next(c.label for c in form.practitioner.choices if c.value == form.practitioner.data)
    flash(_("Case %(ref)s is now assigned to %(name)s.", ref=case["ref"], name=name))
    return redirect(url_for("cases.view", uid=uid))


def _move_form(case: dict, **kw) -> MoveForm:
    """The supervisor's other teams: a case moves only between teams its mover belongs to,
    so nobody hands a record to a team they cannot see into."""
    form = MoveForm(**kw)
    names = _team_names()
    others = [t for t in g.teams if t != case["team_id"] and t in names]
    form.team.choices = [SelectChoice(t, names[t]) for t in sorted(others, key=names.__getitem__)]
    return form


@bp.post("/cases/<uid>/team")
@access.roles_required("supervisor")
def move(uid: str):
    case = access.case_or_404(uid)
    form = _move_form(case)
    if not form.validate_on_submit():
        form.team.errors = [_("Choose another of your teams")]
        return _case_page(case, move_form=form, status=400)
    store = access.store()
    try:
        with store.write():
            store.move_case(case["id"], form.team.data, actor=g.user["username"],
                            request_id=g.request_id)
            # the practitioner stays only if they are in the new team too
            dropped = store.drop_assignment_outside_team(case["id"], form.team.data)
    except StorageError:  # moved there by someone else since this request read it
        dropped = 0
    name = next(c.label for c in form.team.choices if c.value == form.team.data)
    flash(_("Case %(ref)s moved to %(team)s.", ref=case["ref"], team=name)
          + (" " + _("Its practitioner is not in that team: choose one.") if dropped else ""))
    return redirect(url_for("cases.view", uid=uid))


DUE_PAGE = 50


@bp.get("/due")
def due():
    """Schedule entries due within 14 days or overdue, earliest first, 50 a page; then the
    oldest assessments in progress. Read from the stored schedule a page at a time."""
    if not access.can_see_cases():
        abort(403)
    from ..store.lists import drafts_in_progress, due_entries
    engine = get_engine()
    scope = "team" if request.args.get("scope") == "team" else "mine"
    user_id = None if scope == "team" else g.user["id"]
    today = dt.date.today()
    page = due_entries(access.store(), access.team_ids(),
                       until=today + dt.timedelta(days=DUE_SOON_DAYS), user_id=user_id,
                       after=request.args.get("after"), before=request.args.get("before"),
                       limit=DUE_PAGE)
    titles = assessment_pages.instrument_titles()
    items = []
    for r in page["rows"]:
        # (an entry written while another installation's instruments were configured
        # names one this server may not have: shown by its id until the next rebuild)
        inst = engine.instruments.get(r["instrument_id"]) \
            if r["instrument_id"] in engine.instruments else None
        label = next((gettext(o.label) for o in engine.occasions_for(inst)
                      if o.id == r["occasion"]), None) if inst is not None else None
        label = label or occasion_label(r["occasion"])
        day = dt.date.fromisoformat(r["due"])
        title = titles.get(r["instrument_id"], r["instrument_id"])
        items.append({"case": r, "due": day, "label": f"{title}: {label}",
                      "status": "overdue" if day < today else "due"})
    drafts = drafts_in_progress(access.store(), access.team_ids(), user_id=user_id,
                                limit=DUE_PAGE)
    for d in drafts["rows"]:
        d["case"] = {"ref": d["ref"], "uid": d["case_uid"]}
        d["title"] = titles.get(d["instrument_id"], d["instrument_id"])
        d["occasion_label"] = occasion_label(d["occasion"])
    access.audit_view("due_list", None, "list")
    return render_template("cases/due.html", items=items, scope=scope, today=today,
                           drafts=drafts["rows"], drafts_total=drafts["total"],
                           next_page=page["next"], prev_page=page["prev"])


CASELOAD_SHOW = {"team": _l("All cases of your teams"), "mine": _l("My cases"),
                 "high": _l("High risk"), "marac": _l("MARAC criteria met")}
CASELOAD_SORT = {"reference": _l("Case reference"), "level": _l("Risk level, highest first"),
                 "last": _l("Last assessment, latest first")}
CASELOAD_PAGE = 50


def _labels(engine, row: dict) -> tuple[list[str], list[str]]:
    """The criteria and flags a case's latest assessment met, by their labels."""
    try:
        inst = engine.instruments.get(row["instrument_id"], row["instrument_version"])
    except UnknownInstrumentError:
        return [], []
    scoring = inst.scoring or {}
    words = assessment_pages.headings(inst)
    crit = {c["id"]: words.criterion(c["id"])["label"] for c in scoring.get("criteria", [])}
    flags = {f["id"]: words.flag(f["id"])["label"] for f in scoring.get("flags", [])}
    return ([crit.get(n, _("A criterion of this assessment")) for n in
             (row["criteria_met"] or "").split()],
            [flags.get(n, _("A flag of this assessment")) for n in (row["flags"] or "").split()])


@bp.get("/caseload")
def caseload():
    """The open cases of the user's teams with their latest risk: level, MARAC criteria,
    flags, last assessment, next due and practitioner, filtered and sorted by the store a
    page at a time."""
    if not access.can_see_cases():
        abort(403)
    show = request.args.get("show", "team")
    sort = request.args.get("sort", "reference")
    if show not in CASELOAD_SHOW or sort not in CASELOAD_SORT:
        abort(400)
    after, before = request.args.get("after"), request.args.get("before")
    page = access.store().caseload(access.team_ids(), user_id=g.user["id"], show=show,
                                   sort=sort, after=after, before=before,
                                   limit=CASELOAD_PAGE)
    rows = page["rows"]
    engine = get_engine()
    for r in rows:
        r["schedule"] = json.loads(r["schedule"])
        r["instruments"] = json.loads(r["instruments"])
    done = _done([r["id"] for r in rows])
    today = dt.date.today()
    for r in rows:
        r["next"] = next_due(_schedule(r, done[r["id"]], today))
        r["criteria_labels"], r["flag_labels"] = _labels(engine, r) if r["aid"] else ([], [])
    access.audit_view("caseload", None, "list")
    return render_template("cases/caseload.html", rows=rows, show=show, sort=sort,
                           shows=CASELOAD_SHOW, sorts=CASELOAD_SORT, mine=g.user["id"],
                           more_after=page["more_after"], more_before=page["more_before"])
