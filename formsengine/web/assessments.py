"""Assessments: start a draft, complete it section by section from a task list, check
answers, add professional judgement (raise only), finalise (locks), see the result, amend
with a reason (a new version; the old one is kept)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import Blueprint, abort, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import HiddenField, SelectField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import Length, ValidationError

from ..dates import date_text, time_text
from ..errors import LockedError, StaleEditError, StorageError, SubmissionError
from ..store import KEEP, caseviews
from ..wording import Headings, item_text
from . import access, formbuild, i18n, once, prefill, results
from .assessment_pages import assessment_data as _data
from .assessment_pages import headings, pack_in_language
from .assessment_pages import instrument as _instrument
from .assessment_pages import offer_levels as _offer_levels
from .assessment_pages import preview as _preview
from .assessment_pages import strip_problem as _strip
from .assessment_pages import takes_judgement as _takes_judgement
from .assessment_pages import wording_pack as _pack
from .db import get_engine
from .schedule import occasion_label, occasions_of

bp = Blueprint("assessments", __name__)

STALE = _l("Someone else changed this assessment since you opened it, so nothing you "
           "entered was saved. Their changes are kept. Your answers are shown below: check "
           "them and save again.")


class StartForm(FlaskForm):
    instrument = SelectField(_l("Assessment"))
    occasion = SelectField(_l("Occasion"))


class FinaliseForm(FlaskForm):
    revision = HiddenField()


class JudgementRules:
    """The rules of a professional judgement, shared by the check page and the amendment
    page (each words its fields and messages): a level from the list (only levels above
    the score-based one are offered), and a reason with a level and only with one."""

    reason_without_level = _l("Choose the level to raise the risk to, or delete the reason "
                              "if you are not raising it")
    level_without_reason = _l("Give the reason for raising the level")
    level: SelectField  # the fields of each form that uses these rules
    reason: TextAreaField

    def validate_level(self, field):
        if field.data not in {c.value for c in field.choices}:
            raise ValidationError(_("Choose a level from the list: professional judgement "
                                    "can only raise the level above the score-based one"))
        if not field.data and (self.reason.data or "").strip():
            raise ValidationError(str(self.reason_without_level))

    def validate_reason(self, field):
        if self.level.data and not (field.data or "").strip():
            raise ValidationError(str(self.level_without_reason))


class JudgementForm(JudgementRules, FinaliseForm):
    level = SelectField(_l("Raise the risk level to"), validate_choice=False, default="")
    reason = TextAreaField(_l("Reason for raising the level"),
                           description=_l("Required when you raise the level."),
                           validators=[Length(max=5000, message=_l(
                               "The reason must be 5000 characters or fewer"))])


def _draft_or_redirect(row):
    if row["status"] != "draft":
        flash(_("This assessment is finalised and locked. To change it, amend it."))
        return redirect(url_for("assessments.result", uid=row["uid"]))
    return None


def _so_far(inst, row, data):
    """The draft's result as stored at its last save, scored again only when the
    configuration, scorer or engine changed since."""
    if get_engine().is_current(inst, row.get("draft_result")):
        return row["draft_result"]
    return _preview(inst, data)


@bp.post("/cases/<uid>/assessments")
@access.roles_required(*access.CASE_ROLES)
def start(uid: str):
    case = access.case_or_404(uid)
    if case["status"] != "open":
        flash(_("This case is closed. Reopen it to start an assessment."))
        return redirect(url_for("cases.view", uid=uid))
    store = access.store()
    people = caseviews.case_people(store, case["id"])
    form = StartForm()
    engine = get_engine()
    latest = {i.id: i for i in engine.instruments if i.subject_role in {p["role"] for p in people}}
    form.instrument.choices = [SelectChoice(i.id, headings(i).title) for i in latest.values()]
    chosen = latest.get(form.instrument.data or "")
    offered = occasions_of(engine, chosen) if chosen else []
    form.occasion.choices = [SelectChoice(o.id, o.label) for o in offered]
    if not form.validate_on_submit() or chosen is None:
        if form.csrf_token.errors:
            flash(_("Choose an assessment and an occasion it is used at."))
            return redirect(url_for("cases.view", uid=uid))
        # the case page again, the problem at its field, both choices kept
        from .cases import start_refused

        if chosen is None:
            errors = {"instrument": _("Choose an assessment from the list")}
        else:
            errors = {"occasion": _("Choose an occasion at which %(title)s is used: %(list)s "
                                    "or %(last)s", title=headings(chosen).title,
                                    list=", ".join(o.label for o in offered[:-1]),
                                    last=offered[-1].label)}
        return start_refused(case, form.instrument.data, form.occasion.data, errors)
    person = next(p for p in people if p["role"] == chosen.subject_role)
    # the language the assessment is completed in is the person's (the header's switch):
    # a wording pack in that language when one is installed, else the organisation's choice
    language = i18n.chosen()
    pack = pack_in_language(chosen, language)
    # Nothing is filled in before the details page is opened (it offers today's date and
    # what earlier assessments recorded), so the task list does not call it complete.
    data: dict[str, Any] = {"instrument": chosen.id, "version": chosen.version, "answers": {},
                            "fields": {}, "wording": pack.ref if pack else "paraphrase"}
    inst, sub = engine.check(data)
    with store.write():
        sent = once.earlier(store)
        if sent:  # the same form sent again: one draft
            return redirect(sent)
        assessment_id = store.create_assessment(
            inst, sub, person_id=person["id"], occasion=form.occasion.data,
            assessor=g.user["display_name"], status="draft", case_id=case["id"],
            actor=g.user["username"], request_id=g.request_id, language=language)
        location = url_for("assessments.tasks",
                           uid=caseviews.assessment_uid(store, assessment_id))
        once.remember(store, location)
    return redirect(location)


@bp.get("/assessments/<uid>")
def tasks(uid: str):
    row, case = access.assessment_or_404(uid)
    if (moved := _draft_or_redirect(row)) is not None:
        return moved
    access.audit_view("assessment", row["id"])
    inst = _instrument(row)
    data = _data(row)
    pack = _pack(row)
    words = Headings(inst, pack)
    sections = []
    titles = {formbuild.DETAILS: _("Assessment details")}
    titles.update({s.id: words.section_title(s.id) for s in inst.sections})
    for sid in formbuild.section_ids(inst):
        sections.append({"id": sid, "title": titles[sid],
                         "status": formbuild.section_status(inst, sid, data)})
    return render_template("assessments/tasks.html", row=row, case=case, inst=inst,
                           words=words, sections=sections,
                           preview=results.result_view(inst, _so_far(inst, row, data), pack),
                           occasion=occasion_label(row["occasion"]))


@bp.route("/assessments/<uid>/sections/<section_id>", methods=["GET", "POST"])
def section(uid: str, section_id: str):
    row, case = access.assessment_or_404(uid)
    if (moved := _draft_or_redirect(row)) is not None:
        return moved
    inst = _instrument(row)
    order = formbuild.section_ids(inst)
    if section_id not in order:
        abort(404)
    pack = _pack(row)
    data = _data(row)
    form = formbuild.section_form(inst, section_id, pack)()
    group = formbuild.repeat_of(inst, section_id)
    # instances of the section's repeating group shown (an added one is not saved until
    # answered, so the page after "Add another" asks for one more than are saved)
    instances = 0
    remove = None
    if group is not None:
        if request.method == "POST":
            instances = formbuild.posted_instances(group, request.form)
            asked = (request.form.get("remove_instance") or "").strip()
            remove = int(asked) if asked.isdigit() and len(asked) <= 3 else None
        else:
            instances = formbuild.instances_shown(group, data, request.args.get("instances"))
    formbuild.pipe_labels(form, inst, _section_items(inst, section_id, instances), pack, data)
    # opened by "Change" on the check page: saving returns there (the only place offered)
    to_check = (request.args.get("back") or request.form.get("back")) == "check"
    errors: list[str] = []
    hidden_answered: list[str] = []
    status = 200
    page_items = _section_items(inst, section_id)
    # answers offered from the previous occasion: on the page only, until a person saves it
    offered, source = prefill.offers(inst, row, data, page_items)
    if request.method == "POST":
        named = set((request.form.get("carried") or "").split(","))
        offered = {k: v for k, v in offered.items() if k in named}
    if request.method == "GET":
        access.audit_view("assessment", row["id"])
        formbuild.fill(form, inst, section_id, data)
        prefill.offer(form, inst, offered)
        form.revision.data = str(row["revision"])
        if section_id == formbuild.DETAILS:
            _offer_details(form, inst, row, data)
    elif form.validate_on_submit():
        merged, after, dropped = formbuild.merge_section(form, inst, section_id, data,
                                                         request.form, remove)
        merged, carried, offered, declined = prefill.confirm(
            inst, row, data, merged, page_items, request.form.get("carried") or "",
            idle=bool(request.headers.get("X-Idle-Save")), shown=_page_shown(inst, data))
        if section_id == formbuild.DETAILS:
            declined = _decline_details(inst, row, merged)
        # answers the posted answers hide are never dropped unsaid: the page asks first
        # (a save sent by the idle timer has nobody to ask, and keeps what it can)
        if dropped and request.form.get("remove_hidden") != "yes" \
                and not request.headers.get("X-Idle-Save"):
            hidden_answered = dropped
            status = 400
        else:
            try:
                _inst, sub = get_engine().check(merged)
                revision = form.revision.data or ""
                # a revision that is no number the database can hold is a stale page's
                expected = (int(revision) if revision.isascii() and revision.isdigit()
                            and len(revision) <= 18 else -1)
                access.store().update_draft(
                    row["id"], sub, expected_revision=expected, actor=g.user["username"],
                    request_id=g.request_id,
                    previous=row["answers"] if expected == row["revision"] else None,
                    carried_forward=carried, declined_offers=declined)
            except SubmissionError as exc:
                errors, status = _place_problems(form, inst, exc.problems, uid), 400
            except StaleEditError:
                errors, status = [str(STALE)], 409
                form.revision.data = str(caseviews.assessment_revision(access.store(),
                                                                       row["id"]))
            except LockedError as exc:
                flash(str(exc))
                return redirect(url_for("assessments.result", uid=uid))
            else:
                added = group is not None and request.form.get("add_instance") == group.id
                if group is not None and (added or remove is not None):
                    # "Add another" and "Remove" save the page and show it again
                    wanted = min(instances + 1, group.maximum) if added else max(
                        instances - 1, 0)
                    anchor = (f"#instance-{group.id}-{wanted}" if added and wanted
                              else f"#repeat-{group.id}")
                    return redirect(url_for("assessments.section", uid=uid,
                                            section_id=section_id, instances=wanted,
                                            back="check" if to_check else None) + anchor)
                if section_id != formbuild.DETAILS:
                    asked = _section_items(inst, section_id, instances)
                    posted = request.form.get("shown")
                    seen = set(posted.split(",")) if posted is not None else (
                        formbuild.visible_items(inst, data["answers"],
                                                formbuild.typed_fields(inst, data["fields"])))
                    appeared = [i for i in asked if i in after and i not in seen
                                and i not in merged["answers"]]
                    if appeared:
                        flash(_("More questions are now shown in this section: answer them "
                                "or save again to continue."))
                        return redirect(url_for("assessments.section", uid=uid,
                                                section_id=section_id,
                                                back="check" if to_check else None)
                                        + "#main-content")
                if to_check:
                    return redirect(url_for("assessments.check", uid=uid))
                index = order.index(section_id)
                if index + 1 < len(order):
                    return redirect(url_for("assessments.section", uid=uid,
                                            section_id=order[index + 1]))
                return redirect(url_for("assessments.check", uid=uid))
    else:
        status = 400
    view = {**data, "answers": {**data["answers"], **offered}}
    shown = formbuild.visible_items(inst, view["answers"],
                                    formbuild.typed_fields(inst, data["fields"]))
    words = Headings(inst, pack)
    title = (_("Assessment details") if section_id == formbuild.DETAILS
             else words.section_title(section_id))
    description = (None if section_id == formbuild.DETAILS
                   else words.section_description(section_id))
    return render_template(
        "assessments/section.html", row=row, case=case, inst=inst, words=words, form=form,
        section_id=section_id, heading=title, number=order.index(section_id) + 1,
        to_check=to_check,
        total=len(order), description=description, shown=shown,
        problems=errors, formbuild=formbuild, item_ids=page_items,
        asked_items=_section_items(inst, section_id, instances),
        programs=formbuild.page_programs(inst, _section_items(inst, section_id, instances),
                                         view),
        repeat=group, instances=instances,
        offered=list(offered),
        carried=prefill.notices(inst, data, page_items, offered, source),
        hidden_answered=[item_text(inst, i, pack) for i in hidden_answered],
        calculated=_calculated(inst, row, data, pack).get(section_id)), status


def _page_shown(inst, data) -> set[str]:
    """The questions the posted page showed: its ``shown`` list, or (a page without one)
    those the stored answers show."""
    posted = request.form.get("shown")
    if posted is not None:
        return {i for i in posted.split(",") if i}
    return formbuild.visible_items(inst, data["answers"],
                                   formbuild.typed_fields(inst, data.get("fields", {})))


def _calculated(inst, row, data, pack) -> dict:
    """The section's calculated values from the answers saved so far (none to compute
    when the definition shows none)."""
    if not any(sec.get("calculated") for sec in inst.definition.get("sections", [])):
        return {}
    return results.calculated(inst, _so_far(inst, row, data), pack)


# Fields a new assessment takes from the case's latest finalised assessment.
CARRIED = ("last_marac_referral",)


def _offer_details(form, inst, row, data) -> None:
    """Fill what the details page can offer: today's date for the assessment and, for a
    field not yet recorded here, what the case's latest finalised assessment recorded
    (shown, editable, and said to be carried forward); nothing for a field a person has
    saved empty on purpose in this draft (``declined_fields``)."""
    given = data.get("fields", {})
    declined = set(data.get("declined_fields") or [])  # left empty on purpose: not again
    date_id = inst.assessment_date_field
    date_field = inst.fields.get(date_id)
    if date_field is not None and date_field.type == "date" and not given.get(date_id) \
            and date_id not in declined:
        getattr(form, formbuild.field_name(date_id)).data = dt.date.today().isoformat()
    for field_id in CARRIED:
        if field_id not in inst.fields or given.get(field_id) not in (None, "") \
                or field_id in declined:
            continue
        carried = access.store().carried_field(row["case_id"], field_id, row["id"])
        if carried is None:
            continue
        field = getattr(form, formbuild.field_name(field_id))
        field.data = str(carried["value"])
        field.description = (_("Carried forward from the assessment of %(day)s: check it.",
                                day=date_text(carried["assessment_date"])) + " "
                              + (field.description or ""))


def _offered_fields(inst) -> list[str]:
    """The fields the details page fills in when they are empty: the assessment's date
    (today) and those carried from the case's latest finalised assessment."""
    date_id = inst.assessment_date_field
    date_field = inst.fields.get(date_id)
    out = [date_id] if date_field is not None and date_field.type == "date" else []
    return out + [f for f in CARRIED if f in inst.fields]


def _decline_details(inst, row, merged) -> dict | None:
    """A saved details page's offered fields left empty (today's date, or a value carried
    from an earlier assessment that the page filled in): remembered in ``merged`` as
    declined, so that the page does not fill them in again. Returns the audit details of
    those declined by this save (None when none)."""
    declined = list(merged.get("declined_fields") or [])
    newly = []
    for field_id in _offered_fields(inst):
        if merged["fields"].get(field_id) not in (None, "") or field_id in declined:
            continue
        if field_id in CARRIED and access.store().carried_field(
                row["case_id"], field_id, row["id"]) is None:
            continue  # nothing was offered
        newly.append(field_id)
    if newly:
        merged["declined_fields"] = declined + newly
    return {"fields": newly} if newly else None


def _section_items(inst, section_id, instances: int = 0):
    """The section's own items, then those of the first ``instances`` instances of its
    repeating group."""
    if section_id == formbuild.DETAILS:
        return []
    section = next(s for s in inst.sections if s.id == section_id)
    out = list(section.item_ids)
    if section.repeat is not None and instances:
        out += formbuild.repeat_item_ids(section.repeat, instances)
    return out


@bp.route("/assessments/<uid>/check", methods=["GET"])
def check(uid: str):
    row, case = access.assessment_or_404(uid)
    if (moved := _draft_or_redirect(row)) is not None:
        return moved
    return _check_page(row, case)


def _place_problems(form, inst, problems, uid: str) -> list:
    """The engine's refusal of a saved page: a problem with one of the page's questions
    (for example a date before another date it must follow) goes to that question, so that
    it is shown there and linked from the summary; one with a question of another page (a
    date that the changed date now puts out of range) is linked to that question on its
    page; the others are listed as they are."""
    left: list = []
    for problem in problems:
        text = _strip(problem)
        kind, _, rest = text.partition(" ")
        name, _, message = rest.partition(": ")
        target = (formbuild.answer_name(name) if kind == "item" and name in inst.items
                  else formbuild.field_name(name) if kind == "field" and name in inst.fields
                  else None)
        if target and target in form and message:
            form[target].errors = [*form[target].errors, message[0].upper() + message[1:]]
        elif target and message:
            where = inst.items[name].section if kind == "item" else formbuild.DETAILS
            href = url_for("assessments.section", uid=uid, section_id=where)
            left.append((f"{href}#{target}", message[0].upper() + message[1:]))
        else:
            left.append(text)
    return left


def _unanswered(inst, row, data) -> list[tuple[str, str]]:
    """What finalising needs and the assessment lacks (required fields, the items of
    ``required_to_finalise`` that are asked), each as (link to the question on its page,
    message), in the order of the form."""
    from ..instruments import instance_label
    from ..submission import missing_required_items

    fields = formbuild.typed_fields(inst, data.get("fields", {}))
    answers = formbuild.typed_answers(inst, data["answers"])
    out = []
    pack = _pack(row)
    words = Headings(inst, pack)
    for f in inst.fields.values():
        if f.required and f.id not in fields:
            href = url_for("assessments.section", uid=row["uid"],
                           section_id=formbuild.DETAILS, back="check")
            label = words.field(f.id)["label"]
            out.append((f"{href}#{formbuild.field_name(f.id)}",
                        _("Enter \u201c%(label)s\u201d before finalising the assessment",
                          label=label)))
    missing = set(missing_required_items(inst, answers, fields))
    for item in inst.items.values():
        if item.id in missing:
            href = url_for("assessments.section", uid=row["uid"], section_id=item.section,
                           back="check")
            label = instance_label(item, item_text(inst, item.id, pack)["label"])
            if any(o.missing for o in item.options):
                text = _("Answer \u201c%(label)s\u201d before finalising the assessment "
                         "(\u2018not known\u2019 is an answer)", label=label)
            else:
                text = _("Answer \u201c%(label)s\u201d before finalising the assessment",
                         label=label)
            out.append((f"{href}#{formbuild.answer_name(item.id)}", text))
    for group in inst.repeats.values():  # fewer instances given than the group's min
        given = group.count(answers)
        if given < group.minimum:
            href = url_for("assessments.section", uid=row["uid"], section_id=group.section,
                           back="check")
            out.append((f"{href}#repeat-{group.id}",
                        _("Answer the questions of %(group)s %(number)d before finalising "
                          "the assessment (the form needs at least %(minimum)d)",
                          group=words.repeat(group)["label"].lower(), number=given + 1,
                          minimum=group.minimum)))
    return out


def _check_page(row, case, form=None, status: int = 200, problems=(), changed=False,
                unanswered=()):
    """The check-your-answers page: the answers as stored now, and one form that carries
    their revision, the professional judgement and the buttons that finalise or save it.
    With a refused form: its problems and what was typed."""
    access.audit_view("assessment", row["id"])
    inst = _instrument(row)
    data = _data(row)
    pack = _pack(row)
    preview = _preview(inst, data)
    if form is None:
        form = _check_form(inst, preview, pack=pack)
        if "level" in form and row["judgement"]:
            form.level.data = row["judgement"].get("level") or ""
            form.reason.data = row["judgement"].get("reason") or ""
    else:
        _offer_levels(form, inst, preview, pack=pack)
    form.revision.data = str(row["revision"])  # the answers this page shows
    saved = row["judgement"]
    return render_template(
        "assessments/check.html", row=row, case=case, inst=inst, words=Headings(inst, pack),
        summary=results.answer_summary(inst, data, pack), preview=preview, form=form,
        problems=list(problems), changed=changed, unanswered=list(unanswered),
        calculated=results.calculated(inst, preview, pack),
        stranded=saved if saved and "level" in form and saved.get("level") not in {
            c.value for c in form.level.choices} else None,
        stranded_label=results.band_label(inst, saved.get("level"), pack) if saved else None,
        view=results.result_view(inst, preview, pack) if preview else None), status


def _check_form(inst, preview, formdata=None, pack=None):
    """The check page's form: a judgement form when the instrument takes one."""
    cls = JudgementForm if _takes_judgement(inst) else FinaliseForm
    form = cls(formdata=formdata)
    _offer_levels(form, inst, preview, pack=pack)
    return form


def _posted_revision(form) -> int:
    text = form.revision.data or ""
    return int(text) if text.isdigit() and len(text) < 12 else -1


@bp.post("/assessments/<uid>/finalise")
def finalise(uid: str):
    """Finalise (or, with the other button, only save the judgement) at the revision the
    check page showed. Whatever judgement is typed is finalised with the assessment or
    refused on the page with what was typed kept; answers saved by someone else since the
    page was opened refuse it, and the page shows them."""
    row, case = access.assessment_or_404(uid)
    if (moved := _draft_or_redirect(row)) is not None:
        return moved
    inst = _instrument(row)
    form = _check_form(inst, _preview(inst, _data(row)), formdata=request.form,
                       pack=_pack(row))
    if _posted_revision(form) != row["revision"]:
        return _changed(row, case, form)
    if not form.validate_on_submit():
        return _check_page(row, case, form=form, status=400)
    judgement = None
    if "level" in form and form.level.data:
        judgement = {"level": form.level.data, "reason": form.reason.data.strip(),
                     "by": g.user["display_name"]}
        if row["judgement"] and (row["judgement"].get("level"), row["judgement"].get(
                "reason")) == (judgement["level"], judgement["reason"]):
            judgement["by"] = row["judgement"].get("by") or judgement["by"]
    store = access.store()
    try:
        if request.form.get("action") == "save":
            if "level" not in form:
                abort(404)
            data = _data(row)
            data.pop("judgement", None)
            if judgement:
                data["judgement"] = judgement
            _inst, sub = get_engine().check(data)
            store.update_draft(row["id"], sub, expected_revision=row["revision"],
                               actor=g.user["username"], request_id=g.request_id,
                               previous=row["answers"], judgement_before=row["judgement"])
            flash(_("Professional judgement saved. The assessment is not finalised yet.")
                  if judgement else _("No professional judgement is saved. The assessment "
                                      "is not finalised yet."))
            return redirect(url_for("assessments.check", uid=uid))
        unanswered = _unanswered(inst, row, _data(row))
        if unanswered:  # saving a draft is never blocked; finalising waits for these
            return _check_page(row, case, form=form, status=400, unanswered=unanswered)
        store.finalise(row["id"], expected_revision=row["revision"], actor=g.user["username"],
                       request_id=g.request_id,
                       judgement=judgement if "level" in form else KEEP)
    except StaleEditError:
        row, case = access.assessment_or_404(uid)
        if (moved := _draft_or_redirect(row)) is not None:
            return moved
        return _changed(row, case, form)
    except LockedError:
        return redirect(url_for("assessments.result", uid=uid))
    except (StorageError, SubmissionError) as exc:
        problems = exc.problems if isinstance(exc, SubmissionError) else [str(exc)]
        return _check_page(row, case, form=form, status=400,
                           problems=[_strip(p) for p in problems])
    return redirect(url_for("assessments.result", uid=uid))


CHANGED = _l("These answers changed since you checked them, so nothing was finalised or "
             "saved. The answers as they are now are shown below: check them again.")


def _changed(row, case, form):
    """Refuse a finalise or judgement made on answers other than the stored ones: the page
    again, with the answers as they are now, what was typed in the judgement kept."""
    return _check_page(row, case, form=form, status=409, problems=[str(CHANGED)], changed=True)


@bp.get("/assessments/<uid>/result")
def result(uid: str):
    row, case = access.assessment_or_404(uid)
    if row["status"] == "draft":
        return redirect(url_for("assessments.tasks", uid=uid))
    access.audit_view("assessment", row["id"])
    inst = _instrument(row)
    newer = caseviews.amendment_uid(access.store(), row["id"])
    offers = get_engine().offers_for(inst, row["answers"]) if row["status"] == "final" else []
    pack = _pack(row)
    return render_template(
        "assessments/result.html", row=row, case=case, inst=inst, words=Headings(inst, pack),
        offers=offers,
        view=results.result_view(inst, row["result"], pack),
        summary=results.answer_summary(inst, _data(row), pack), newer=newer,
        occasion=occasion_label(row["occasion"]), finalised=time_text(row["finalised_at"]))


from . import amend  # noqa: E402, F401  (registers the amend routes on bp)
