"""Amend a finalised assessment: every question on one page, the professional judgement
(added, changed or removed; raise only), a required reason, and a new final version stored
by ``store.amend`` (the old version is kept as superseded; the audit row says how the
judgement changed)."""

from __future__ import annotations

from flask import flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import SelectField, TextAreaField
from wtforms.validators import Length

from ..errors import StaleEditError, StorageError, SubmissionError
from ..store.caseviews import assessment_uid
from ..wording import Headings, item_text
from . import access, formbuild, results
from .assessment_pages import (
    assessment_data,
    instrument,
    offer_levels,
    preview,
    strip_problem,
    takes_judgement,
    wording_pack,
)
from .assessments import JudgementRules, bp
from .db import get_engine


class AmendJudgementForm(JudgementRules, FlaskForm):
    """The judgement part of the amendment page (the page's CSRF token is checked for the
    whole request)."""

    class Meta:
        csrf = False

    reason_without_level = _l("Choose the level to raise the risk to, or delete the reason "
                              "for the professional judgement")
    level_without_reason = _l("Give the reason for the professional judgement")

    level = SelectField(_l("Professional judgement: raise the risk level to"),
                        validate_choice=False, default="")
    reason = TextAreaField(_l("Reason for the professional judgement"),
                           description=_l("Required when you raise the level."),
                           validators=[Length(max=5000, message=_l(
                               "The reason for the professional judgement must be 5000 "
                               "characters or fewer"))])


def _judgement_form(inst, row, formdata=None):
    if not takes_judgement(inst):
        return None
    form = AmendJudgementForm(formdata=formdata, prefix="judgement")
    offer_levels(form, inst, row["result"],
                 none=_("No professional judgement (use the score-based level)"),
                 pack=wording_pack(row))
    if formdata is None and row["judgement"]:
        form.level.data = row["judgement"].get("level") or ""
        form.reason.data = row["judgement"].get("reason") or ""
    return form


def _judgement(form, old):
    """The judgement the form asks for (None: none); who made it stays recorded when it is
    unchanged."""
    if form is None:
        return old
    if not form.level.data:
        return None
    new = {"level": form.level.data, "reason": form.reason.data.strip(),
           "by": g.user["display_name"]}
    if old and (old.get("level"), old.get("reason")) == (new["level"], new["reason"]):
        new["by"] = old.get("by") or new["by"]
    return new


def _raises(inst, judgement, merged, pack=None):
    """A problem when the amended answers already give the judged level or a higher one."""
    if not judgement:
        return None
    computed = ((preview(inst, merged) or {}).get("level") or {}).get("computed")
    order = inst.scoring["level"]["order"]
    if computed in order and order.index(judgement["level"]) <= order.index(computed):
        return _("The amended answers give a score-based level of %(level)s: professional "
                 "judgement can only raise the level above it, so choose a higher level or "
                 "none", level=results.band_label(inst, computed, pack))
    return None


@bp.route("/assessments/<uid>/amend", methods=["GET", "POST"])
@access.roles_required(*access.CASE_ROLES)
def amend(uid: str):
    row, case = access.assessment_or_404(uid)
    if row["status"] != "final":
        flash(_("Only the current final version of an assessment can be amended."))
        return redirect(url_for("assessments.tasks", uid=uid))
    inst = instrument(row)
    data = assessment_data(row)
    pack = wording_pack(row)
    form = formbuild.whole_form(inst, pack)()
    judgement = _judgement_form(inst, row, request.form if request.method == "POST" else None)
    # the instances of each repeating group the page shows (as the section pages do)
    instances = {g.id: formbuild.instances_shown(g, data) for g in inst.repeats.values()}
    posted = _posted_instances(inst) if request.method == "POST" else {}
    instances.update(posted)
    added, removed = _instance_buttons(inst, posted)
    formbuild.pipe_labels(form, inst, _asked(inst, instances), pack, data)
    problems: list[str] = []
    hidden_answered: list[str] = []
    status = 200
    if request.method == "GET":
        access.audit_view("assessment", row["id"])
        for sid in formbuild.section_ids(inst):
            formbuild.fill(form, inst, sid, data)
    elif form.validate_on_submit() & (judgement is None or judgement.validate()):
        merged = data
        dropped: list[str] = []
        for sid in formbuild.section_ids(inst):
            group = formbuild.repeat_of(inst, sid)
            # a group's instances take the posted values when the page said how many it
            # showed; a post without that number (a script's) keeps them as saved
            shown_group = group is not None and group.id in posted
            merged, _shown, hidden = formbuild.merge_section(
                form, inst, sid, merged, request.form if shown_group else None,
                removed[1] if shown_group and removed and removed[0] == group.id else None)
            dropped += [i for i in hidden if i not in dropped]
        merged.pop("judgement", None)
        chosen = _judgement(judgement, row["judgement"])
        if chosen:
            merged["judgement"] = chosen
        if dropped and request.form.get("remove_hidden") != "yes":
            hidden_answered = dropped  # asked about, never dropped unsaid
            status = 400
        elif added or removed:
            # "Add another" and "Remove" show the page again with the answers as typed
            # (and the later instances moved up); nothing is saved until the amendment is
            if added:
                instances[added] = min(instances[added] + 1, inst.repeats[added].maximum)
            elif removed:
                instances[removed[0]] = max(instances[removed[0]] - 1, 0)
            reason = form.reason.data
            form = formbuild.whole_form(inst, pack)(formdata=None)
            for sid in formbuild.section_ids(inst):
                formbuild.fill(form, inst, sid, merged)
            form.reason.data = reason
            formbuild.pipe_labels(form, inst, _asked(inst, instances), pack, merged)
            data = merged
        elif judgement is not None and (
                problem := _raises(inst, chosen, merged, wording_pack(row))) is not None:
            judgement.level.errors = [problem]
            status = 400
        else:
            try:
                _inst, sub = get_engine().check(merged)
                new_id = access.store().amend(row["id"], sub, reason=form.reason.data,
                                              actor=g.user["username"],
                                              request_id=g.request_id)
            except SubmissionError as exc:
                problems, status = [strip_problem(p) for p in exc.problems], 400
            except (StaleEditError, StorageError) as exc:
                problems, status = [str(exc)], 409
            else:
                new_uid = assessment_uid(access.store(), new_id)
                flash(_("The assessment was amended. The earlier version is kept."))
                return redirect(url_for("assessments.result", uid=new_uid))
    else:
        status = 400
    shown = formbuild.visible_items(inst, data["answers"],
                                    formbuild.typed_fields(inst, data["fields"]))
    return render_template("assessments/amend.html", row=row, case=case, inst=inst,
                           words=Headings(inst, wording_pack(row)), form=form,
                           judgement=judgement, shown=shown, problems=problems,
                           formbuild=formbuild, instances=instances,
                           programs=formbuild.page_programs(inst, _asked(inst, instances),
                                                            data),
                           hidden_answered=[item_text(inst, i, wording_pack(row))
                                            for i in hidden_answered]), status


def _asked(inst, instances: dict[str, int]) -> list[str]:
    """The items the amendment page shows: every section's own, and those of the
    instances shown of each repeating group."""
    out = []
    for section in inst.sections:
        out += list(section.item_ids)
        if section.repeat is not None:
            out += formbuild.repeat_item_ids(section.repeat, instances[section.repeat.id])
    return out


def _posted_instances(inst) -> dict[str, int]:
    """The number of instances of each repeating group the posted page showed (only the
    groups whose number was posted)."""
    return {g.id: formbuild.posted_instances(g, request.form) for g in inst.repeats.values()
            if formbuild.instances_name(g.id) in request.form}


def _instance_buttons(inst, posted: dict[str, int]) -> tuple[str | None, tuple[str, int] | None]:
    """The group whose "Add another" button was pressed, and the (group, instance) whose
    "Remove" button was; None for each when it was not (the page's main button saves)."""
    asked = (request.form.get("add_instance") or "").strip()
    added = asked if asked in posted and posted[asked] < inst.repeats[asked].maximum else None
    group, _sep, number = (request.form.get("remove_instance") or "").strip().partition(":")
    removed = None
    if group in posted and number.isdigit() and len(number) <= 3 \
            and 1 <= int(number) <= posted[group]:
        removed = (group, int(number))
    return added, removed
