"""The annual evaluation (考评) and complaints: thin views over annual_review.service."""

from __future__ import annotations

import sqlalchemy as sa
from flask import Blueprint, abort, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from agri_insurance.access import roles_required, scoped_get_or_404, scoped_query
from agri_insurance.annual_review import exports, service
from agri_insurance.annual_review.forms import (
    ComplaintForm,
    ConsequencesForm,
    DecisionForm,
    DefenceForm,
    IndicatorForm,
    NewReviewForm,
    ReplyForm,
    RulesForm,
)
from agri_insurance.annual_review.models import AnnualReview, Complaint, ReviewIndicator, ReviewResult
from agri_insurance.extensions import db
from agri_insurance.forms_util import choices, commit_or_flash, flash_form_errors
from agri_insurance.reference.models import Insurer
from agri_insurance.roles import Role
from agri_insurance.spreadsheets import download, parse_number, xlsx_download
from agri_insurance.storage import send_stored

bp = Blueprint("annual_review", __name__, url_prefix="/annual-review")
CITY = (Role.ADMIN, Role.CITY_AGRI)
READERS = (Role.ADMIN, Role.CITY_AGRI, Role.COUNTY_AGRI, Role.INSURER)
PDF_MIMETYPE = "application/pdf"


def _review_or_404(year: int) -> AnnualReview:
    review = service.review_of(year)
    if review is None:
        abort(404)
    return review


@bp.get("/")
@roles_required(*READERS)
def index():
    form = NewReviewForm() if current_user.role in CITY else None
    return render_template("annual_review/index.html", reviews=service.reviews(), form=form,
                           actions=service.index_actions(current_user))


@bp.post("/new")
@roles_required(*CITY)
def new_review():
    form = NewReviewForm()
    if not form.validate_on_submit():
        flash_form_errors(form)
        return redirect(url_for(".index"))
    done = commit_or_flash(lambda: service.create_review(form.year.data, current_user), _("已新建考评方案"))
    return redirect(url_for(".review", year=form.year.data) if done else url_for(".index"))


@bp.get("/<int:year>")
@roles_required(*READERS)
def review(year: int):
    return _review_page(_review_or_404(year))


def _review_page(rev: AnnualReview, rules_form: RulesForm | None = None, indicator_form: IndicatorForm | None = None,
                 status: int = 200, consequences_form: ConsequencesForm | None = None):
    """The year's page; after a refused POST it is rendered again with the form as it was typed."""
    editable = service.may_edit_scheme(rev, current_user)
    rules_form = (rules_form or RulesForm(formdata=None, obj=rev)) if editable else None
    indicator_form = (indicator_form or IndicatorForm(formdata=None)) if editable else None
    consequences_form = (consequences_form or ConsequencesForm(formdata=None, obj=rev)) if editable else None
    results = service.results_of(rev, current_user)
    return render_template("annual_review/review.html", review=rev, results=results, rules_form=rules_form,
                           consequences_form=consequences_form,
                           indicator_form=indicator_form, problems=service.scheme_problems(rev),
                           finalise_problems=service.finalise_problems(rev) if "finalise" in (
                               actions := service.review_actions(rev, current_user)) else [],
                           actions=actions, total=service.total_weight(rev),
                           indicator_actions=lambda i: service.indicator_actions(i, current_user)), status


@bp.post("/<int:year>/rules")
@roles_required(*CITY)
def save_rules(year: int):
    rev = _review_or_404(year)
    form = RulesForm()
    if form.validate_on_submit() and commit_or_flash(lambda: service.save_rules(rev, form.data, current_user),
                                                     _("已保存"), form):
        return redirect(url_for(".review", year=year))
    return _review_page(_review_or_404(year), rules_form=form, status=400)


@bp.post("/<int:year>/consequences")
@roles_required(*CITY)
def save_consequences(year: int):
    rev = _review_or_404(year)
    form = ConsequencesForm()
    if form.validate_on_submit() and commit_or_flash(
            lambda: service.save_consequences(rev, form.data, current_user), _("已保存"), form):
        return redirect(url_for(".review", year=year))
    return _review_page(_review_or_404(year), consequences_form=form, status=400)


@bp.post("/<int:year>/indicators")
@roles_required(*CITY)
def add_indicator(year: int):
    rev = _review_or_404(year)
    form = IndicatorForm()
    if form.validate_on_submit() and commit_or_flash(lambda: service.add_indicator(rev, form.data, current_user),
                                                     _("已新增指标"), form):
        return redirect(url_for(".review", year=year))
    return _review_page(_review_or_404(year), indicator_form=form, status=400)


@bp.post("/indicators/<int:indicator_id>/delete")
@roles_required(*CITY)
def delete_indicator(indicator_id: int):
    indicator = db.get_or_404(ReviewIndicator, indicator_id)
    year = indicator.review.year
    commit_or_flash(lambda: service.delete_indicator(indicator, current_user), _("已删除指标"))
    return redirect(url_for(".review", year=year))


@bp.post("/<int:year>/open")
@roles_required(*CITY)
def open_review(year: int):
    rev = _review_or_404(year)
    commit_or_flash(lambda: service.open_review(rev, current_user), _("考评已开始，各县农业农村局可以评分"))
    return redirect(url_for(".review", year=year))


@bp.post("/<int:year>/finalise")
@roles_required(*CITY)
def finalise(year: int):
    rev = _review_or_404(year)
    commit_or_flash(lambda: service.finalise_review(rev, current_user), _("考评已定稿"))
    return redirect(url_for(".review", year=year))


@bp.get("/<int:year>/summary.xlsx")
@roles_required(*READERS)
def summary_xlsx(year: int):
    rev = _review_or_404(year)
    if "summary" not in service.review_actions(rev, current_user):
        abort(404)
    return xlsx_download(exports.summary_workbook(rev, service.results_of(rev, current_user)),
                         _("%(year)s年度承保机构考评汇总.xlsx", year=year))


@bp.get("/results/<int:result_id>")
@roles_required(*READERS)
def result(result_id: int):
    res = scoped_get_or_404(ReviewResult, result_id)
    return _result_page(res, {})


def _result_page(res: ReviewResult, problems: dict, status: int = 200, reply_form: ReplyForm | None = None):
    scores = {s.indicator_id: s for s in res.scores}
    if reply_form is None and service.may_reply(res, current_user):
        reply_form = ReplyForm()
    return render_template("annual_review/result.html", result=res, scores=scores, problems=problems,
                           may_score=service.may_score(res, current_user), reply_form=reply_form,
                           actions=service.result_actions(res, current_user), form_values=request.form), status


@bp.post("/results/<int:result_id>/score")
@roles_required(Role.COUNTY_AGRI)
def score(result_id: int):
    res = scoped_get_or_404(ReviewResult, result_id)
    points = {}
    for indicator in res.review.indicators:
        if indicator.qualitative:
            raw = request.form.get(f"points-{indicator.id}", "")
            points[indicator.id] = (parse_number(raw), request.form.get(f"comment-{indicator.id}"))
    problems: dict[str, str] = {}
    if commit_or_flash(lambda: service.score_result(res, points, current_user), _("评分已提交"), problems=problems):
        return redirect(url_for(".result", result_id=result_id))
    return _result_page(db.session.get(ReviewResult, result_id), problems, 400)


@bp.post("/results/<int:result_id>/reply")
@roles_required(Role.INSURER)
def reply(result_id: int):
    res = scoped_get_or_404(ReviewResult, result_id)
    form = ReplyForm()
    if form.validate_on_submit() and commit_or_flash(
            lambda: service.reply_to_result(res, form.reply.data, current_user), _("意见已提交"), form):
        return redirect(url_for(".result", result_id=result_id))
    # refused: the page again with the reply as typed and the reason beside it, not an emptied form
    res = db.session.get(ReviewResult, result_id)
    return _result_page(res, {}, 400, reply_form=form if service.may_reply(res, current_user) else None)


@bp.get("/results/<int:result_id>/report.pdf")
@roles_required(*READERS)
def result_pdf(result_id: int):
    res = scoped_get_or_404(ReviewResult, result_id)
    if "report" not in service.result_actions(res, current_user):
        abort(404)
    name = _("%(year)s年度考评报告-%(insurer)s-%(county)s.pdf", year=res.review.year, insurer=res.insurer.short_name,
             county=res.region.name)
    return download(exports.result_pdf(res), name, PDF_MIMETYPE)


# --- complaints ---------------------------------------------------------------------------------------------------

def _complaint_form() -> ComplaintForm:
    form = ComplaintForm()
    form.insurer_id.choices = choices([(i.id, i.name) for i in db.session.scalars(
        sa.select(Insurer).where(Insurer.active.is_(True)).order_by(Insurer.name))])
    return form


def _complaints_page(form: ComplaintForm | None, status: int = 200):
    rows = list(db.session.scalars(scoped_query(Complaint).order_by(Complaint.filed_at.desc(), Complaint.id.desc())))
    return render_template("annual_review/complaints.html", complaints=rows, form=form), status


@bp.get("/complaints")
@roles_required(*READERS)
def complaints():
    return _complaints_page(_complaint_form() if current_user.role is Role.COUNTY_AGRI else None)


@bp.post("/complaints/new")
@roles_required(Role.COUNTY_AGRI)
def new_complaint():
    """On a refusal the page comes back with what was typed (and the error beside its field), not emptied."""
    form = _complaint_form()
    if form.validate_on_submit():
        done = commit_or_flash(lambda: service.file_complaint(form.data, form.document.data or None, current_user),
                               _("投诉已登记，已通知承保机构申辩"), form)
        if done:
            return redirect(url_for(".complaint", complaint_id=done.value.id))
    return _complaints_page(form, 400)


@bp.get("/complaints/<int:complaint_id>")
@roles_required(*READERS)
def complaint(complaint_id: int):
    return _complaint_page(scoped_get_or_404(Complaint, complaint_id))


def _complaint_page(c: Complaint, status: int = 200, defence_form: DefenceForm | None = None,
                    decision_form: DecisionForm | None = None):
    """The complaint; after a refusal, with the refused form as it was typed (if the user may still send it)."""
    may_answer, may_decide = service.may_answer(c, current_user), service.may_decide(c, current_user)
    return render_template("annual_review/complaint.html", complaint=c,
                           defence_form=(defence_form or DefenceForm()) if may_answer else None,
                           decision_form=(decision_form or DecisionForm()) if may_decide else None,
                           actions=service.complaint_actions(c, current_user)), status


@bp.post("/complaints/<int:complaint_id>/answer")
@roles_required(Role.INSURER)
def answer_complaint(complaint_id: int):
    c = scoped_get_or_404(Complaint, complaint_id)
    form = DefenceForm()
    if form.validate_on_submit() and commit_or_flash(
            lambda: service.answer_complaint(c, form.defence.data, form.document.data or None, current_user),
            _("申辩已提交"), form):
        return redirect(url_for(".complaint", complaint_id=complaint_id))
    return _complaint_page(db.session.get(Complaint, complaint_id), 400, defence_form=form)


@bp.post("/complaints/<int:complaint_id>/decide")
@roles_required(*CITY)
def decide_complaint(complaint_id: int):
    c = scoped_get_or_404(Complaint, complaint_id)
    form = DecisionForm()
    if form.validate_on_submit() and commit_or_flash(
            lambda: service.decide_complaint(c, form.decision.data == "upheld", form.note.data, current_user),
            _("已决定"), form):
        return redirect(url_for(".complaint", complaint_id=complaint_id))
    return _complaint_page(db.session.get(Complaint, complaint_id), 400, decision_form=form)


@bp.get("/complaints/<int:complaint_id>/<any(complaint, defence):which>")
@roles_required(*READERS)
def complaint_document(complaint_id: int, which: str):
    c = scoped_get_or_404(Complaint, complaint_id)
    stored = c.document if which == "complaint" else c.defence_document
    if stored is None:
        abort(404)
    return send_stored(stored)
