import json

import sqlalchemy as sa
from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user

from agri_insurance import clock, storage
from agri_insurance.access import ALL_ROLES, public, roles_required, scoped_get_or_404
from agri_insurance.allocation import service as allocation
from agri_insurance.awards import calendar, compare, exports, ocds, replacement, service
from agri_insurance.awards.forms import AnswerForm, HolidayForm, ObjectionForm, TerminateForm
from agri_insurance.awards.models import PUBLISHED_STATES, Award, AwardChange, Holiday, Objection
from agri_insurance.extensions import db
from agri_insurance.forms_util import commit_or_flash
from agri_insurance.paging import ListFilters, paginate
from agri_insurance.roles import Role
from agri_insurance.spreadsheets import download
from agri_insurance.tenders import lists as round_lists
from agri_insurance.tenders import service as tenders
from agri_insurance.tenders.models import RoundStatus, SelectionRound

bp = Blueprint("awards", __name__, url_prefix="/awards")
BUREAU = (Role.ADMIN, Role.CITY_AGRI)
MANAGERS = (Role.CITY_AGRI,)
NOTICE_READERS = (Role.ADMIN, Role.CITY_AGRI, Role.INSURER)


def _round(round_id: int) -> SelectionRound:
    return scoped_get_or_404(SelectionRound, round_id)


def _visible_result(rnd: SelectionRound) -> bool:
    return service.result_visible(rnd, current_user)


# --- pages --------------------------------------------------------------------------------------------

@bp.get("/")
@roles_required(*ALL_ROLES)
def rounds():
    filters = ListFilters()
    stmt = (sa.select(SelectionRound)
            .where(SelectionRound.id.in_(sa.select(Award.round_id)), SelectionRound.visible_to(current_user),
                   service.result_visible_clause(current_user), *round_lists.round_filter_clauses(filters))
            .order_by(*round_lists.NEWEST_FIRST))
    return render_template("awards/rounds.html", page=paginate(stmt, filters), filters=filters,
                           statuses=list(RoundStatus))


@bp.get("/rounds/<int:round_id>")
@roles_required(*ALL_ROLES)
def round_awards(round_id: int):
    return _round_page(_round(round_id))


def _round_page(rnd: SelectionRound, answering: int | None = None, answer_form: AnswerForm | None = None):
    """The round's result page; `answer_form`: a posted answer to objection `answering`, shown again with
    what was typed."""
    visible = _visible_result(rnd)
    notice = service.current_notice(rnd) if visible else None
    own_notice = None
    if current_user.role is Role.INSURER and service.result_final(rnd):
        own_notice = exports.notice_for(rnd, current_user.insurer.name) if current_user.insurer else None
    return render_template(
        "awards/round_awards.html", rnd=rnd, visible=visible, counties=service.by_county(rnd) if visible else [],
        notice=notice, notice_open=service.notice_is_open(notice),
        # the objector and the bureau see their objections whatever became of the result
        objections=service.objections_of(rnd, current_user),
        pending=service.pending_objections(rnd) if visible and current_user.role in BUREAU else 0,
        today=clock.local_today(),
        notices=exports.notices(rnd) if visible and current_user.role in BUREAU else [],
        own_notice=own_notice, actions=service.available_actions(rnd, current_user, notice),
        # an insurer learns where its notice will be once the result is final
        notice_hint=current_user.role is Role.INSURER and rnd.has_provisional_result,
        departures=service.departures_used(rnd) if visible else [], departure_text=service.departure_text,
        changes=replacement.changes_of(rnd) if visible else [], change_links=current_user.role in BUREAU,
        compare_previous=current_user.role in BUREAU and tenders.previous_term(rnd) is not None,
        award_actions=replacement.award_actions(rnd, current_user) if visible else {},
        answer_form=AnswerForm(formdata=None), answering=answering, posted_answer=answer_form)


@bp.post("/rounds/<int:round_id>/publish")
@roles_required(*MANAGERS)
def publish(round_id: int):
    rnd = _round(round_id)
    done = commit_or_flash(lambda: service.publish(rnd, current_user))
    if done:
        flash(_("中标结果已公示，公示期至%(end)s", end=done.value.ends_on.isoformat()), "success")
    return redirect(url_for(".round_awards", round_id=round_id))


@bp.post("/rounds/<int:round_id>/finalise")
@roles_required(*MANAGERS)
def finalise(round_id: int):
    rnd = _round(round_id)
    commit_or_flash(lambda: service.finalise(rnd, current_user), _("公示期满，已确定中标，可下载中标通知书"))
    return redirect(url_for(".round_awards", round_id=round_id))


# --- public page (no login) ---------------------------------------------------------------------------

@bp.get("/public")
@public
def public_list():
    stmt = (sa.select(SelectionRound).where(SelectionRound.status.in_(PUBLISHED_STATES))
            .order_by(SelectionRound.term_start_year.desc(), SelectionRound.id.desc()))
    return render_template("awards/public_list.html", rounds=db.session.scalars(stmt).all())


@bp.get("/public/<int:round_id>")
@public
def public_notice(round_id: int):
    rnd = db.session.get(SelectionRound, round_id)
    if rnd is None or rnd.status not in PUBLISHED_STATES:
        abort(404)
    notice = service.current_notice(rnd)
    return render_template("awards/public_notice.html", rnd=rnd, counties=service.by_county(rnd), notice=notice,
                           notice_open=service.notice_is_open(notice), issuing_body=exports.issuing_body(),
                           objection_deadline=service.objection_deadline(notice),
                           departures=service.departures_used(rnd), departure_text=service.departure_text,
                           changes=replacement.changes_of(rnd),
                           login_url=url_for("auth.login", next=url_for(".round_awards", round_id=rnd.id)))


@bp.get("/public/<int:round_id>/changes/<int:change_id>.pdf")
@public
def change_notice_pdf(round_id: int, change_id: int):
    """The public notice (中标变更公告) of a mid-term change of a published round's award."""
    rnd = db.session.get(SelectionRound, round_id)
    change = db.session.get(AwardChange, change_id)
    if rnd is None or rnd.status not in PUBLISHED_STATES or change is None or change.round_id != rnd.id:
        abort(404)
    return download(exports.change_notice_pdf(change), exports.change_notice_filename(change), "application/pdf")


# --- objections ---------------------------------------------------------------------------------------

@bp.route("/rounds/<int:round_id>/objections/new", methods=["GET", "POST"])
@roles_required(Role.INSURER)
def new_objection(round_id: int):
    rnd = _round(round_id)
    form = ObjectionForm()
    if form.validate_on_submit() and commit_or_flash(
            lambda: service.file_objection(rnd, current_user.insurer_id, form.subject.data, form.body.data,
                                           storage.save_pdf(form.document.data, current_user), current_user),
            _("质疑已提交，市农业农村局将书面答复"), form):
        return redirect(url_for(".round_awards", round_id=round_id))
    notice = service.current_notice(rnd) if rnd.status in PUBLISHED_STATES else None
    return render_template("awards/objection_form.html", rnd=rnd, form=form, notice=notice,
                           notice_open=service.notice_is_open(notice))


@bp.post("/objections/<int:objection_id>/answer")
@roles_required(*MANAGERS)
def answer_objection(objection_id: int):
    objection = scoped_get_or_404(Objection, objection_id)
    form = AnswerForm()
    if not form.validate_on_submit():
        flash(_("请选择答复结论并填写答复内容"), "danger")
        return _round_page(_round(objection.round_id), objection.id, form), 400
    upheld = form.decision.data == "upheld"
    if not commit_or_flash(lambda: service.answer_objection(objection, upheld, form.answer.data, current_user),
                           _("质疑成立：本轮已退回评审，请重新确定分配方案") if upheld else _("质疑已答复")):
        return _round_page(_round(objection.round_id), objection.id, form), 400
    return redirect(url_for(".round_awards", round_id=objection.round_id))


@bp.get("/objections/<int:objection_id>/document")
@roles_required(*NOTICE_READERS)
def objection_document(objection_id: int):
    objection = scoped_get_or_404(Objection, objection_id)
    return storage.send_stored(objection.document)


# --- mid-term termination and replacement (终止 / 替补) -------------------------------------------------------

@bp.route("/awards/<int:award_id>/terminate", methods=["GET", "POST"])
@roles_required(*MANAGERS)
def terminate_award(award_id: int):
    award = scoped_get_or_404(Award, award_id)
    backups = replacement.backup_candidates(award)
    form = TerminateForm(backups, insurer_id=award.insurer_id)
    if form.validate_on_submit():
        done = commit_or_flash(lambda: replacement.terminate(
            award, reason=form.reason.data, doc_no=form.doc_no.data,
            document=storage.save_pdf(form.document.data, current_user), effective_on=form.effective_on.data,
            method=form.method.data, backup_insurer_id=form.backup_insurer_id.data, actor=current_user,
            insurer_id=form.insurer_id.data),
            _("中标已终止"), form)
        if done:
            return redirect(url_for(".award_change", change_id=done.value.id))
    return render_template("awards/terminate.html", award=award, form=form, backups=backups,
                           actions=replacement.available_actions(award, current_user))


@bp.get("/changes/<int:change_id>")
@roles_required(*BUREAU)
def award_change(change_id: int):
    change = scoped_get_or_404(AwardChange, change_id)
    run = change.run
    return render_template("awards/change.html", change=change, run=run,
                           run_view=allocation.result_view(run) if run is not None and run.ok else None,
                           actions=replacement.change_actions(change, current_user))


@bp.post("/changes/<int:change_id>/install")
@roles_required(*MANAGERS)
def install_change(change_id: int):
    change = scoped_get_or_404(AwardChange, change_id)
    commit_or_flash(lambda: replacement.install_from_run(change, current_user), _("替补机构已确定"))
    return redirect(url_for(".award_change", change_id=change_id))


@bp.post("/changes/<int:change_id>/rerun")
@roles_required(*MANAGERS)
def rerun_change(change_id: int):
    change = scoped_get_or_404(AwardChange, change_id)
    commit_or_flash(lambda: replacement.rerun(change, current_user), _("已开始重新计算替补方案"))
    return redirect(url_for(".award_change", change_id=change_id))


@bp.get("/changes/<int:change_id>/document")
@roles_required(*BUREAU)
def change_document(change_id: int):
    change = scoped_get_or_404(AwardChange, change_id)
    return storage.send_stored(change.document)


@bp.get("/rounds/<int:round_id>/compare-previous")
@roles_required(*BUREAU)
def compare_previous(round_id: int):
    """The round's result or proposed allocation beside the previous term's, per county."""
    rnd = _round(round_id)
    return render_template("awards/compare_previous.html", rnd=rnd, comparison=compare.compare_with_previous(rnd))


# --- downloads ----------------------------------------------------------------------------------------

def _notice_or_404(rnd: SelectionRound, ref: str):
    if not _visible_result(rnd) or not service.awards_of(rnd):  # no awards (e.g. reopened): no notices at all
        abort(404)
    notice = next((n for n in exports.notices(rnd) if n.ref == ref), None)
    if notice is None:
        abort(404)
    if current_user.role is Role.INSURER:
        # An insurer gets its own notice only, and only once the result is final.
        own = current_user.insurer.name if current_user.insurer else None
        if notice.insurer_name != own or not service.result_final(rnd):
            abort(404)
    return notice


@bp.get("/rounds/<int:round_id>/notices/<ref>.docx")
@roles_required(*NOTICE_READERS)
def notice_docx(round_id: int, ref: str):
    notice = _notice_or_404(_round(round_id), ref)
    return download(exports.notice_docx(notice), f"{notice.filename_stem}.docx", exports.DOCX_MIMETYPE)


@bp.get("/rounds/<int:round_id>/notices/<ref>.pdf")
@roles_required(*NOTICE_READERS)
def notice_pdf(round_id: int, ref: str):
    notice = _notice_or_404(_round(round_id), ref)
    return download(exports.notice_pdf(notice), f"{notice.filename_stem}.pdf", "application/pdf")


@bp.get("/rounds/<int:round_id>/notices.zip")
@roles_required(*BUREAU)
def notices_zip(round_id: int):
    rnd = _round(round_id)
    if not service.awards_of(rnd):
        flash(_("本轮还没有中标结果"), "warning")
        return redirect(url_for(".round_awards", round_id=round_id))
    return download(exports.notices_zip(rnd), f"{rnd.name}_通知书.zip", exports.ZIP_MIMETYPE)


@bp.get("/rounds/<int:round_id>/awards.xlsx")
@roles_required(*ALL_ROLES)
def awards_xlsx(round_id: int):
    rnd = _round(round_id)
    if not _visible_result(rnd):
        abort(404)
    return download(exports.award_list_xlsx(rnd), f"{rnd.name}_中标结果.xlsx")


@bp.get("/rounds/<int:round_id>/ocds.json")
@roles_required(*BUREAU)
def ocds_json(round_id: int):
    rnd = _round(round_id)
    package = ocds.release_package(rnd)
    data = json.dumps(package, ensure_ascii=False, indent=2).encode()
    return download(data, f"ocds-{rnd.id}.json", "application/json")


# --- holidays -------------------------------------------------------------------------------------------

@bp.route("/holidays", methods=["GET", "POST"])
@roles_required(Role.ADMIN)
def holidays():
    form = HolidayForm()
    if form.validate_on_submit():
        done = commit_or_flash(lambda: calendar.add_holiday(form.day.data, form.name.data, current_user),
                               _("节假日已添加"), form)
        if done:
            return redirect(url_for(".holidays"))
    rows = db.session.scalars(sa.select(Holiday).order_by(Holiday.day.desc())).all()
    return render_template("awards/holidays.html", form=form, holidays=rows)


@bp.post("/holidays/<int:holiday_id>/delete")
@roles_required(Role.ADMIN)
def delete_holiday(holiday_id: int):
    holiday = db.session.get(Holiday, holiday_id) or abort(404)
    calendar.delete_holiday(holiday, current_user)
    db.session.commit()
    flash(_("节假日已删除"), "success")
    return redirect(url_for(".holidays"))
