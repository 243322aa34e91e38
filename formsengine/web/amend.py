"""Amend a finalised assessment: every question on one page, a required reason, and a new
final version stored by ``store.amend`` (the old version is kept as superseded)."""

from __future__ import annotations

from flask import flash, g, redirect, render_template, request, url_for

from ..errors import StaleEditError, StorageError, SubmissionError
from . import access, formbuild
from .assessments import _data, _engine, _instrument, _known_for_conditions, _pack, _strip, bp


@bp.route("/assessments/<uid>/amend", methods=["GET", "POST"])
@access.roles_required(*access.CASE_ROLES)
def amend(uid: str):
    row, case = access.assessment_or_404(uid)
    if row["status"] != "final":
        flash("Only the current final version of an assessment can be amended.")
        return redirect(url_for("assessments.tasks", uid=uid))
    inst = _instrument(row)
    data = _data(row)
    form = formbuild.whole_form(inst, _pack(row))()
    problems: list[str] = []
    status = 200
    if request.method == "GET":
        access.audit_view("assessment", row["id"])
        for sid in formbuild.section_ids(inst):
            formbuild.fill(form, inst, sid, data)
    elif form.validate_on_submit():
        merged = data
        for sid in formbuild.section_ids(inst):
            merged = formbuild.merge(form, inst, sid, merged)
        try:
            _inst, sub = _engine().check(merged)
            new_id = access.store().amend(row["id"], sub, reason=form.reason.data,
                                          actor=g.user["username"], request_id=g.request_id)
        except SubmissionError as exc:
            problems, status = [_strip(p) for p in exc.problems], 400
        except (StaleEditError, StorageError) as exc:
            problems, status = [str(exc)], 409
        else:
            new_uid = access.store().one("SELECT uid FROM assessments WHERE id = ?",
                                         [new_id])["uid"]
            flash("The assessment was amended. The earlier version is kept.")
            return redirect(url_for("assessments.result", uid=new_uid))
    else:
        status = 400
    shown = formbuild.visible_items(inst, data["answers"],
                                    formbuild.typed_fields(inst, data["fields"]))
    return render_template("assessments/amend.html", row=row, case=case, inst=inst, form=form,
                           shown=shown, problems=problems, formbuild=formbuild,
                           known=_known_for_conditions(inst, data)), status
