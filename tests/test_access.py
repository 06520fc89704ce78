"""Role × route table: who may open what. A new route without a row here fails the suite."""

import pytest
import sqlalchemy as sa

from agri_insurance.access import PUBLIC, declared_access
from agri_insurance.auth.models import Role, User
from tests.factories import county

A, CA, KA, INS, EXP, KF, CF = (Role.ADMIN, Role.CITY_AGRI, Role.COUNTY_AGRI, Role.INSURER, Role.EXPERT,
                           Role.COUNTY_FINANCE, Role.CITY_FINANCE)
SA, AU = Role.SECURITY_ADMIN, Role.AUDIT_ADMIN   # 三员分立: A is the system administrator
ALL = frozenset(Role)          # any account: its own pages (home, password, tokens)
WORK = ALL - {SA, AU}          # every role working with the business data
EDITORS = {A, CA}
SUBSIDY_OFFICIALS = {A, CA, CF, KA, KF}
SUBSIDY_READERS = SUBSIDY_OFFICIALS | {INS}
NOTICE_READERS = {A, CA, KA, INS}   # notices to farmers: not finance

# endpoint: (method, url template, roles allowed). {own_county}, {own_insurer}, {victim} are filled per role.
ROUTES = {
    "main.dashboard": ("GET", "/", ALL),
    "main.set_language": ("GET", "/lang/en?next=/", "public"),
    "main.healthz": ("GET", "/healthz", "public"),
    "auth.login": ("GET", "/login", "public"),
    "auth.logout": ("POST", "/logout", ALL),
    "auth.change_password": ("GET", "/account/password", ALL),
    "auth.api_tokens": ("GET", "/account/tokens", ALL),
    "auth.revoke_api_token": ("POST", "/account/tokens/{own_token}/revoke", ALL),
    "auth.users": ("GET", "/admin/users", {A, SA}),
    "auth.new_user": ("GET", "/admin/users/new", {A}),
    "auth.edit_user": ("GET", "/admin/users/{victim}/edit", {A}),
    "auth.user_role": ("GET", "/admin/users/{victim}/role", {SA}),
    "auth.security_settings": ("GET", "/admin/security", {SA}),
    "auth.unlock": ("POST", "/admin/users/{victim}/unlock", {SA}),
    "auth.toggle_active": ("POST", "/admin/users/{victim}/active", {SA}),
    "auth.reset_password": ("POST", "/admin/users/{victim}/password", {SA}),
    "reference.regions": ("GET", "/reference/regions", WORK),
    "reference.region_detail": ("GET", "/reference/regions/{own_county}", {A, CA, CF, KA, KF}),
    "reference.new_region": ("GET", "/reference/regions/new", EDITORS),
    "reference.edit_region": ("GET", "/reference/regions/{own_county}/edit", EDITORS),
    "reference.products": ("GET", "/reference/products", WORK),
    "reference.new_product": ("GET", "/reference/products/new", EDITORS),
    "reference.edit_product": ("GET", "/reference/products/1/edit", EDITORS),
    "reference.insurers": ("GET", "/reference/insurers", WORK),
    "reference.insurer_detail": ("GET", "/reference/insurers/{own_insurer}", WORK),
    "reference.new_insurer": ("GET", "/reference/insurers/new", EDITORS),
    "reference.edit_insurer": ("GET", "/reference/insurers/{own_insurer}/edit", EDITORS),
    "reference.schemes": ("GET", "/reference/schemes", WORK),
    "reference.new_scheme": ("GET", "/reference/schemes/new", EDITORS),
    "reference.edit_scheme": ("GET", "/reference/schemes/1/edit", EDITORS),
    "audit.entries": ("GET", "/audit/", {AU, CA}),
    "audit.export": ("GET", "/audit/export.xlsx", {AU}),
    "audit.data_views": ("GET", "/audit/personal-data-views", {AU}),
    "subsidies.claims": ("GET", "/subsidies/claims", SUBSIDY_READERS),
    "subsidies.new_claim": ("GET", "/subsidies/claims/new", {INS}),
    "subsidies.claim_detail": ("GET", "/subsidies/claims/{claim}", SUBSIDY_READERS),
    "subsidies.verification_sheet": ("GET", "/subsidies/claims/{claim}/verification-sheet", SUBSIDY_READERS),
    "subsidies.edit_claim": ("GET", "/subsidies/claims/{claim}/edit", {INS}),
    "subsidies.submit_claim": ("POST", "/subsidies/claims/{claim}/submit", {INS}),
    "subsidies.delete_claim": ("POST", "/subsidies/claims/{claim}/delete", {INS}),
    "subsidies.verify_claim": ("POST", "/subsidies/claims/{claim}/verify", {KA}),
    "subsidies.return_claim": ("POST", "/subsidies/claims/{claim}/return", {KA}),
    "subsidies.add_payment": ("POST", "/subsidies/claims/{claim}/payments", {KF, CF}),
    "subsidies.assignments": ("GET", "/subsidies/assignments", SUBSIDY_READERS),
    "subsidies.delete_assignment": ("POST", "/subsidies/assignments/{assignment}/delete", EDITORS),
    "subsidies.budgets": ("GET", "/subsidies/budgets", SUBSIDY_OFFICIALS),
    "subsidies.overdue": ("GET", "/subsidies/overdue", SUBSIDY_READERS),
    "subsidies.ledger": ("GET", "/subsidies/ledger", SUBSIDY_OFFICIALS),
    "subsidies.ledger_xlsx": ("GET", "/subsidies/ledger.xlsx", SUBSIDY_OFFICIALS),
    "subsidies.payment_list": ("GET", "/subsidies/payment-list", SUBSIDY_OFFICIALS),
    "subsidies.payment_list_xlsx": ("GET", "/subsidies/payment-list.xlsx", SUBSIDY_OFFICIALS),
    "subsidies.statement_xlsx": ("GET", "/subsidies/statement.xlsx?insurer_id={own_insurer}", {INS, A, CA, CF}),
    "subsidies.overview": ("GET", "/subsidies/overview", SUBSIDY_OFFICIALS),
    "subsidies.year_money": ("GET", "/subsidies/year-money", SUBSIDY_READERS),
    "subsidies.estimate_xlsx": ("GET", "/subsidies/estimate.xlsx", {A, CA, CF}),
    "subsidies.performance_xlsx": ("GET", "/subsidies/performance.xlsx", {A, CA, CF}),
    "subsidies.add_advance": ("POST", "/subsidies/advances", {KF, CF}),
    "subsidies.fund_allocations": ("GET", "/subsidies/funds", SUBSIDY_OFFICIALS),
    "subsidies.add_fund_allocation": ("POST", "/subsidies/funds", {KF, CF}),
    "subsidies.edit_advance": ("POST", "/subsidies/advances/{advance}", {KF, CF}),
    "subsidies.close_year": ("POST", "/subsidies/years/2025/close", {CF}),
    "subsidies.settlement_detail": ("GET", "/subsidies/settlements/{settlement}", SUBSIDY_READERS),
    "subsidies.confirm_settlement": ("POST", "/subsidies/settlements/{settlement}/confirm", {KF, CF, INS}),
    "subsidies.record_transfer": ("POST", "/subsidies/settlements/{settlement}/transfers", {KF, CF}),
    "subsidies.settlement_xlsx": ("GET", "/subsidies/settlements/{settlement}/statement.xlsx", SUBSIDY_READERS),
    "subsidies.settlement_pdf": ("GET", "/subsidies/settlements/{settlement}/statement.pdf", SUBSIDY_READERS),
    "tenders.rounds": ("GET", "/tenders/", WORK),
    "tenders.new_round": ("GET", "/tenders/new", {CA}),
    "tenders.round_detail": ("GET", "/tenders/{round}", WORK),
    "tenders.edit_round": ("GET", "/tenders/{round}/edit", {CA}),
    "tenders.publish": ("POST", "/tenders/{round}/publish", {CA}),
    "tenders.cancel": ("POST", "/tenders/{round}/cancel", {CA}),
    "tenders.new_exception": ("GET", "/tenders/{round}/exceptions/new", {CA}),
    "tenders.exception_document": ("GET", "/tenders/exceptions/{exception}/document", WORK),
    "tenders.delete_exception": ("POST", "/tenders/exceptions/{exception}/delete", {CA}),
    "tenders.new_lot": ("GET", "/tenders/{round}/lots/new", {CA}),
    "tenders.edit_lot": ("GET", "/tenders/lots/{lot}/edit", {CA}),
    "tenders.delete_lot": ("POST", "/tenders/lots/{lot}/delete", {CA}),
    "tenders.lots_template": ("GET", "/tenders/lots/template.xlsx", {CA}),
    "tenders.import_lots": ("GET", "/tenders/{round}/lots/import", {CA}),
    "tenders.lots_export": ("GET", "/tenders/{round}/lots.xlsx", WORK),
    "tenders.lot_design_assistant": ("GET", "/tenders/{round}/lot-design", {CA}),
    "tenders.previous_lots": ("GET", "/tenders/{round}/previous-lots", {CA}),
    "bids.my_bids": ("GET", "/bids/", {INS}),
    "bids.start": ("POST", "/bids/rounds/{round}/start", {INS}),
    "bids.bid_detail": ("GET", "/bids/{bid}", {INS, A, CA}),
    "bids.edit_bid": ("GET", "/bids/{bid}/edit", {INS}),
    "bids.submit": ("POST", "/bids/{bid}/submit", {INS}),
    "bids.withdraw": ("POST", "/bids/{bid}/withdraw", {INS}),
    "bids.receipt_pdf": ("GET", "/bids/receipts/{receipt}.pdf", {INS, A, CA}),
    "bids.verify": ("GET", "/bids/{bid}/verify", {INS, A, CA}),
    "bids.add_attachment": ("POST", "/bids/{bid}/attachments", {INS}),
    "bids.attachment": ("GET", "/bids/attachments/{attachment}", {INS, A, CA, EXP}),
    "bids.delete_attachment": ("POST", "/bids/attachments/{attachment}/delete", {INS}),
    "bids.bid_template": ("GET", "/bids/{bid}/template.xlsx", {INS}),
    "bids.import_bid": ("POST", "/bids/{bid}/import", {INS}),
    "bids.round_bids": ("GET", "/bids/rounds/{round}", {A, CA}),
    "bids.open_bids": ("POST", "/bids/rounds/{round}/open", {CA}),
    "bids.opening": ("GET", "/bids/rounds/{round}/opening", {A, CA, KA, INS}),
    "bids.opening_xlsx": ("GET", "/bids/rounds/{round}/opening.xlsx", {A, CA, KA, INS}),
    "bids.opening_pdf": ("GET", "/bids/rounds/{round}/opening.pdf", {A, CA, KA, INS}),
    "evaluation.rounds": ("GET", "/evaluation/", {A, CA, EXP, INS}),
    "evaluation.scheme": ("GET", "/evaluation/rounds/{round}/scheme", WORK),
    "evaluation.new_criterion": ("GET", "/evaluation/rounds/{round}/criteria/new", {CA}),
    "evaluation.edit_criterion": ("GET", "/evaluation/criteria/{criterion}/edit", {CA}),
    "evaluation.delete_criterion": ("POST", "/evaluation/criteria/{criterion}/delete", {CA}),
    "evaluation.reset_scheme": ("POST", "/evaluation/rounds/{round}/scheme/reset", {CA}),
    "evaluation.create_scheme": ("POST", "/evaluation/rounds/{round}/scheme", {CA}),
    "evaluation.start_evaluation": ("POST", "/evaluation/rounds/{round}/start", {CA}),
    "evaluation.edit_rules": ("GET", "/evaluation/rounds/{round}/rules", {CA}),
    "evaluation.panel": ("GET", "/evaluation/rounds/{round}", {A, CA}),
    "evaluation.check_eligibility": ("POST", "/evaluation/rounds/{round}/eligibility", {CA}),
    "evaluation.decide": ("POST", "/evaluation/checks/{check}/decision", {CA}),
    "evaluation.add_member": ("POST", "/evaluation/rounds/{round}/members", {CA}),
    "evaluation.remove_member": ("POST", "/evaluation/members/{member}/delete", {CA}),
    "evaluation.start_scoring": ("POST", "/evaluation/rounds/{round}/scoring", {CA}),
    "evaluation.close_panel": ("POST", "/evaluation/rounds/{round}/close", {CA}),
    "evaluation.ranking": ("GET", "/evaluation/rounds/{round}/ranking", {A, CA}),
    "evaluation.ranking_pdf": ("GET", "/evaluation/rounds/{round}/ranking.pdf", {A, CA}),
    "evaluation.summary_xlsx": ("GET", "/evaluation/rounds/{round}/summary.xlsx", {A, CA}),
    "evaluation.score_sheet_xlsx": ("GET", "/evaluation/members/{member}/sheet.xlsx", {A, CA, EXP}),
    "evaluation.expert_round": ("GET", "/evaluation/rounds/{round}/expert", {EXP}),
    "evaluation.declare": ("POST", "/evaluation/rounds/{round}/conflicts", {EXP}),
    "evaluation.score_bid": ("GET", "/evaluation/rounds/{round}/bids/{bid}/score", {EXP}),
    "evaluation.bid_sheet": ("GET", "/evaluation/rounds/{round}/bids/{bid}/bid.xlsx", {EXP}),
    "evaluation.submit": ("POST", "/evaluation/rounds/{round}/submit", {EXP}),
    "evaluation.my_result": ("GET", "/evaluation/rounds/{round}/result", {INS}),
    "underwriting.template": ("GET", "/underwriting/template.xlsx", SUBSIDY_READERS),
    "underwriting.list_detail": ("GET", "/underwriting/claims/{claim}", SUBSIDY_READERS),
    "underwriting.upload": ("POST", "/underwriting/claims/{claim}/upload", {INS}),
    "underwriting.new_claim_from_list": ("GET", "/underwriting/claims/new-from-list", {INS}),
    "underwriting.error_report": ("GET", "/underwriting/jobs/{import_job}/errors.xlsx", {INS, A, CA}),
    "underwriting.list_xlsx": ("GET", "/underwriting/claims/{claim}/list.xlsx", SUBSIDY_READERS),
    "underwriting.export_list": ("POST", "/underwriting/claims/{claim}/export", SUBSIDY_READERS),
    "underwriting.exported_list": ("GET", "/underwriting/exports/{export_job}.xlsx", SUBSIDY_READERS),
    "payouts.template": ("GET", "/payouts/template.xlsx", NOTICE_READERS),
    "payouts.lists": ("GET", "/payouts/", NOTICE_READERS),
    "payouts.upload": ("POST", "/payouts/upload", {INS}),
    "payouts.error_report": ("GET", "/payouts/jobs/{payout_import_job}/errors.xlsx", {INS, A, CA}),
    "payouts.list_detail": ("GET", "/payouts/lists/{payout_list}", NOTICE_READERS),
    "payouts.flags": ("GET", "/payouts/flags", {A, CA, KA}),
    "payouts.accept_flag": ("POST", "/payouts/flags/{payout_flag}/accept", {KA}),
    "payouts.service_overview": ("GET", "/payouts/service", SUBSIDY_READERS),
    "payouts.service_insurer": ("GET", "/payouts/service/insurers/{own_insurer}", SUBSIDY_READERS),
    "payouts.service_county": ("GET", "/payouts/service/counties/{own_county}", SUBSIDY_READERS),
    "payouts.service_xlsx": ("GET", "/payouts/service.xlsx", SUBSIDY_READERS),
    "payouts.set_notice_period": ("POST", "/payouts/lists/{payout_list}/notice-period", {INS}),
    "payouts.village_notice_pdf": (
        "GET", "/payouts/lists/{payout_list}/notices/village.pdf?township=饶丰镇&village=第1村", NOTICE_READERS),
    "payouts.notices_zip": ("GET", "/payouts/lists/{payout_list}/notices.zip", NOTICE_READERS),
    "payouts.notices_pdf": ("GET", "/payouts/lists/{payout_list}/notices.pdf", NOTICE_READERS),
    "payouts.upload_notice_photos": ("POST", "/payouts/lists/{payout_list}/notice-photos", {INS}),
    "payouts.delete_notice_photo": ("POST", "/payouts/notice-photos/{payout_photo}/delete", {INS}),
    "payouts.notice_photo": ("GET", "/payouts/notice-photos/{payout_photo}", NOTICE_READERS),
    "underwriting.notice_rules": ("GET", "/underwriting/notice-rules", NOTICE_READERS),
    "underwriting.save_notice_rules": ("POST", "/underwriting/notice-rules", EDITORS),
    "underwriting.set_notice_period": ("POST", "/underwriting/claims/{notice_claim}/notice-period", {INS}),
    "underwriting.upload_notice_photos": ("POST", "/underwriting/claims/{notice_claim}/notice-photos", {INS}),
    "underwriting.delete_notice_photo": ("POST", "/underwriting/notice-photos/{notice_photo}/delete", {INS}),
    "underwriting.notice_photo": ("GET", "/underwriting/notice-photos/{notice_photo}", NOTICE_READERS),
    "underwriting.village_notice_pdf": (
        "GET", "/underwriting/claims/{notice_claim}/notices/village.pdf?township=饶丰镇&village=第一村", NOTICE_READERS),
    "underwriting.notices_zip": ("GET", "/underwriting/claims/{notice_claim}/notices.zip", NOTICE_READERS),
    "underwriting.notices_pdf": ("GET", "/underwriting/claims/{notice_claim}/notices.pdf", NOTICE_READERS),
    "underwriting.export_notices": ("POST", "/underwriting/claims/{notice_claim}/notices/export?format=zip",
                                    NOTICE_READERS),
    "underwriting.exported_notices": ("GET", "/underwriting/notice-exports/{notice_export_job}", NOTICE_READERS),
    "jobs.jobs": ("GET", "/jobs", WORK),
    "jobs.job_detail": ("GET", "/jobs/{own_job}", WORK),
    "jobs.job_status": ("GET", "/jobs/{own_job}.json", WORK),
    "allocation.round_runs": ("GET", "/allocation/rounds/{round}", {A, CA}),
    "allocation.start_run": ("POST", "/allocation/rounds/{round}/runs", {CA}),
    "allocation.import_scenario": ("POST", "/allocation/rounds/{round}/import", {CA}),
    "allocation.set_capacity": ("POST", "/allocation/rounds/{round}/capacities", {CA}),
    "allocation.run_detail": ("GET", "/allocation/runs/{run}", {A, CA}),
    "allocation.whatif": ("POST", "/allocation/runs/{run}/whatif", {CA}),
    "allocation.compare": ("GET", "/allocation/compare?a={run}&b={run}", {A, CA}),
    "allocation.scenario_json": ("GET", "/allocation/runs/{run}/scenario.json", {A, CA}),
    "allocation.result_json": ("GET", "/allocation/runs/{run}/result.json", {A, CA}),
    "allocation.adopt": ("POST", "/allocation/runs/{run}/adopt", {CA}),
    "allocation.new_departure": ("GET", "/allocation/rounds/{round}/departures/new", {CA}),
    "allocation.departure_document": ("GET", "/allocation/departures/{departure}/document", WORK),
    "allocation.delete_departure": ("POST", "/allocation/departures/{departure}/delete", {CA}),
    "awards.rounds": ("GET", "/awards/", WORK),
    "awards.round_awards": ("GET", "/awards/rounds/{round}", WORK),
    "awards.publish": ("POST", "/awards/rounds/{round}/publish", {CA}),
    "awards.finalise": ("POST", "/awards/rounds/{round}/finalise", {CA}),
    "awards.public_list": ("GET", "/awards/public", "public"),
    "awards.public_notice": ("GET", "/awards/public/{award_round}", "public"),
    "awards.change_notice_pdf": ("GET", "/awards/public/{award_round}/changes/{award_change}.pdf", "public"),
    "awards.new_objection": ("GET", "/awards/rounds/{award_round}/objections/new", {INS}),
    "awards.answer_objection": ("POST", "/awards/objections/{objection}/answer", {CA}),
    "awards.objection_document": ("GET", "/awards/objections/{objection}/document", {INS, A, CA}),
    "awards.compare_previous": ("GET", "/awards/rounds/{award_round}/compare-previous", {A, CA}),
    "awards.terminate_award": ("GET", "/awards/awards/{award}/terminate", {CA}),
    "awards.award_change": ("GET", "/awards/changes/{award_change}", {A, CA}),
    "awards.install_change": ("POST", "/awards/changes/{award_change}/install", {CA}),
    "awards.rerun_change": ("POST", "/awards/changes/{award_change}/rerun", {CA}),
    "awards.change_document": ("GET", "/awards/changes/{award_change}/document", {A, CA}),
    "awards.notice_docx": ("GET", "/awards/rounds/{award_round}/notices/{award_notice}.docx", {INS, A, CA}),
    "awards.notice_pdf": ("GET", "/awards/rounds/{award_round}/notices/{award_notice}.pdf", {INS, A, CA}),
    "awards.notices_zip": ("GET", "/awards/rounds/{award_round}/notices.zip", {A, CA}),
    "awards.awards_xlsx": ("GET", "/awards/rounds/{award_round}/awards.xlsx", WORK),
    "awards.ocds_json": ("GET", "/awards/rounds/{round}/ocds.json", {A, CA}),
    "awards.holidays": ("GET", "/awards/holidays", {A}),
    "annual_review.index": ("GET", "/annual-review/", NOTICE_READERS),
    "annual_review.new_review": ("POST", "/annual-review/new", EDITORS),
    "annual_review.review": ("GET", "/annual-review/{review_year}", NOTICE_READERS),
    "annual_review.save_rules": ("POST", "/annual-review/{draft_year}/rules", EDITORS),
    "annual_review.save_consequences": ("POST", "/annual-review/{draft_year}/consequences", EDITORS),
    "annual_review.add_indicator": ("POST", "/annual-review/{draft_year}/indicators", EDITORS),
    "annual_review.delete_indicator": ("POST", "/annual-review/indicators/{review_indicator}/delete", EDITORS),
    "annual_review.open_review": ("POST", "/annual-review/{draft_year}/open", EDITORS),
    "annual_review.finalise": ("POST", "/annual-review/{review_year}/finalise", EDITORS),
    "annual_review.summary_xlsx": ("GET", "/annual-review/{review_year}/summary.xlsx", NOTICE_READERS),
    "annual_review.result": ("GET", "/annual-review/results/{review_result}", NOTICE_READERS),
    "annual_review.score": ("POST", "/annual-review/results/{review_result}/score", {KA}),
    "annual_review.reply": ("POST", "/annual-review/results/{review_result}/reply", {INS}),
    "annual_review.result_pdf": ("GET", "/annual-review/results/{review_result}/report.pdf", NOTICE_READERS),
    "annual_review.complaints": ("GET", "/annual-review/complaints", NOTICE_READERS),
    "annual_review.new_complaint": ("POST", "/annual-review/complaints/new", {KA}),
    "annual_review.complaint": ("GET", "/annual-review/complaints/{complaint}", NOTICE_READERS),
    "annual_review.answer_complaint": ("POST", "/annual-review/complaints/{complaint}/answer", {INS}),
    "annual_review.decide_complaint": ("POST", "/annual-review/complaints/{complaint}/decide", EDITORS),
    "annual_review.complaint_document": ("GET", "/annual-review/complaints/{complaint}/complaint", NOTICE_READERS),
    "awards.delete_holiday": ("POST", "/awards/holidays/{holiday}/delete", {A}),
}

BID_READERS = {INS, A, CA}
# The JSON API (/api/v1): called with a bearer token of the role's demo user (tests/api/test_access_api.py runs
# it); "public" routes answer without one. Not pages: the browser tests (accessibility, reads-only) skip them.
API_ROUTES = {
    "api-docs.openapi_json": ("GET", "/api/v1/openapi.json", "public"),
    "api-docs.openapi_swagger_ui": ("GET", "/api/v1/docs", "public"),
    "api_reference.regions": ("GET", "/api/v1/reference/regions", WORK),
    "api_reference.region": ("GET", "/api/v1/reference/regions/{own_county}", {A, CA, CF, KA, KF}),
    "api_reference.products": ("GET", "/api/v1/reference/products", WORK),
    "api_reference.insurers": ("GET", "/api/v1/reference/insurers", WORK),
    "api_reference.insurer": ("GET", "/api/v1/reference/insurers/{own_insurer}", WORK),
    "api_tenders.rounds": ("GET", "/api/v1/tenders/rounds", "public"),
    "api_tenders.round_changes": ("GET", "/api/v1/tenders/rounds/changes", "public"),
    "api_tenders.round_detail": ("GET", "/api/v1/tenders/rounds/{award_round}", "public"),
    "api_tenders.lots": ("GET", "/api/v1/tenders/rounds/{award_round}/lots", "public"),
    "api_tenders.results": ("GET", "/api/v1/tenders/rounds/{award_round}/results", "public"),
    "api_tenders.ocds_package": ("GET", "/api/v1/tenders/rounds/{award_round}/ocds", {A, CA}),
    "api_awards.awards": ("GET", "/api/v1/awards", WORK),
    "api_awards.award": ("GET", "/api/v1/awards/{award}", WORK),
    "api_awards.backups": ("GET", "/api/v1/awards/backups", WORK),
    "api_bids.bids": ("GET", "/api/v1/bids", BID_READERS),
    "api_bids.bid": ("GET", "/api/v1/bids/{bid}", {INS, A, CA}),
    "api_subsidies.claims": ("GET", "/api/v1/subsidies/claims", SUBSIDY_READERS),
    "api_subsidies.claim_changes": ("GET", "/api/v1/subsidies/claims/changes", SUBSIDY_READERS),
    "api_subsidies.claim": ("GET", "/api/v1/subsidies/claims/{claim}", SUBSIDY_READERS),
    "api_subsidies.payments": ("GET", "/api/v1/subsidies/payments", SUBSIDY_READERS),
    "api_subsidies.payment_changes": ("GET", "/api/v1/subsidies/payments/changes", SUBSIDY_READERS),
    "api_subsidies.ledger": ("GET", "/api/v1/subsidies/ledger", SUBSIDY_OFFICIALS),
    "api_subsidies.budgets": ("GET", "/api/v1/subsidies/budgets", SUBSIDY_OFFICIALS),
    "api_subsidies.fund_allocations": ("GET", "/api/v1/subsidies/funds", SUBSIDY_OFFICIALS),
    "api_subsidies.advances": ("GET", "/api/v1/subsidies/advances", SUBSIDY_READERS),
    "api_subsidies.settlements": ("GET", "/api/v1/subsidies/settlements", SUBSIDY_READERS),
    "api_subsidies.create_claim": ("POST", "/api/v1/subsidies/claims", {INS}),
    "api_subsidies.create_claim_from_list": ("POST", "/api/v1/subsidies/claims/from-list", {INS}),
    "api_subsidies.return_claim": ("POST", "/api/v1/subsidies/claims/{claim}/return", {KA}),
    "api_subsidies.upload_list": ("POST", "/api/v1/subsidies/claims/{claim}/list", {INS}),
    "api_subsidies.submit_claim": ("POST", "/api/v1/subsidies/claims/{claim}/submit", {INS}),
    "api_subsidies.verify_claim": ("POST", "/api/v1/subsidies/claims/{claim}/verify", {KA}),
    "api_subsidies.add_payment": ("POST", "/api/v1/subsidies/claims/{claim}/payments", {KF, CF}),
    "api_jobs.job_list": ("GET", "/api/v1/jobs", WORK),
    "api_jobs.job": ("GET", "/api/v1/jobs/{own_job}", WORK),
}


def test_every_route_has_a_row(app):
    endpoints = {rule.endpoint for rule in app.url_map.iter_rules() if rule.endpoint != "static"}
    missing = endpoints - set(ROUTES) - set(API_ROUTES)
    assert not missing, f"add these endpoints to the access table: {sorted(missing)}"
    assert not (set(ROUTES) | set(API_ROUTES)) - endpoints, "the table names endpoints that no longer exist"
    assert not set(ROUTES) & set(API_ROUTES)


def test_every_route_declares_its_access_rule(app):
    with app.test_request_context():
        undeclared = [ep for ep in ROUTES | API_ROUTES if declared_access(ep) is None]
    assert not undeclared
    # What the code declares agrees with the table (a change of rule shows up here as well).
    with app.test_request_context():
        for endpoint, (_method, _url, allowed) in (ROUTES | API_ROUTES).items():
            declared = declared_access(endpoint)
            if allowed == "public":
                assert declared == PUBLIC, endpoint
            elif allowed == ALL:
                assert declared == "any_user", endpoint
            else:
                assert declared == frozenset(allowed), endpoint


def fill_url(url: str, db, role=None) -> str:
    victim = db.session.scalar(sa.select(User.id).where(User.username == "expert"))
    insurer_id = db.session.scalar(sa.select(User.insurer_id).where(User.username == "insurer"))
    claim, assignment = _subsidy_objects(db)
    tender = _tender_objects(db)
    _expert_documents(db, url, role)
    if "{own_token}" in url:
        url = url.replace("{own_token}", str(_own_token(db, role)))
    return url.format(own_county=county().id, own_insurer=insurer_id, victim=victim, claim=claim,
                      assignment=assignment, own_job=_own_job(db, role), import_job=_failed_import(db),
                      export_job=_export_job(db, role, claim) if "{export_job}" in url else None,
                      **tender, **_award_objects(db, url), **_money_objects(db, url),
                      **_evaluation_objects(db, url), **_notice_objects(url, role), **_payout_objects(url),
                      **_annual_review_objects(url))


def _annual_review_objects(url: str) -> dict:
    """An open evaluation with the demo insurer's scored result, a draft scheme and a complaint (created once per
    test, only for the annual evaluation URLs)."""
    if "/annual-review/" not in url or url.endswith(("/annual-review/", "/new", "/complaints")):
        return {}
    from tests.annual_review.factories import access_objects

    objects = access_objects()
    return {**objects, "review_indicator": objects["indicator"]}


def _payout_objects(url: str) -> dict:
    """A payout list of the demo insurer in the demo county with a flag and a photo of its posted notice, and a
    failed import of it (created once per test, only for the payout URLs)."""
    if not any(key in url for key in ("{payout_list}", "{payout_flag}", "{payout_import_job}", "{payout_photo}")):
        return {}
    from tests.payouts.factories import access_objects

    return access_objects()


def _money_objects(db, url: str) -> dict:
    """An advance of the open year and a settlement of the closed year 2025 (its county advance against nothing
    verified: a refund), both of the demo insurer in the demo county (created once per test, only for their URLs)."""
    if "{advance}" not in url and "{settlement}" not in url:
        return {}
    from tests.subsidies.factories import money_objects

    return money_objects()


def _own_token(db, role) -> int:
    """An API token of the logged-in role's demo user (admin's for anonymous requests)."""
    from agri_insurance.auth import service

    owner = db.session.scalar(sa.select(User).where(User.username == (role.value if role else "admin")))
    token, _secret = service.create_api_token(owner, f"access {len(service.tokens_of(owner))}", None)
    db.session.commit()
    return token.id


def _notice_objects(url: str, role) -> dict:
    """A submitted claim whose list has a notice period and a posting photo, and a finished notice job (created
    once per test, only for the notice URLs)."""
    if not any(key in url for key in ("{notice_claim}", "{notice_photo}", "{notice_export_job}")):
        return {}
    from tests.underwriting.notice_factories import access_objects

    return access_objects(role, with_job="{notice_export_job}" in url)


def _expert_documents(db, url: str, role) -> None:
    """An expert reads the documents of a bid it may score: for the expert, the first round (once opened) goes
    into scoring with the expert on its panel, declared (only for the bid document URLs)."""
    if role is not EXP or not ("{attachment}" in url or url.endswith("/bid.xlsx")):
        return
    from tests.evaluation.factories import let_the_expert_read

    let_the_expert_read()


def _evaluation_objects(db, url: str) -> dict:
    """The demo expert on the first round's panel, a criterion of its scheme and (once its bids are opened) an
    eligibility check flagged for common control (created once per test, only for evaluation URLs)."""
    if "/evaluation/" not in url:
        return {}
    from tests.evaluation.factories import access_objects

    return access_objects()


def _award_objects(db, url: str) -> dict:
    """An allocation run of the first round, and a finalised round with awards, a notice of the demo insurer,
    an objection, the rule departure its result rests on and a holiday (created once per test, only for the URLs
    that need them)."""
    if not any(key in url for key in ("{run}", "{award_round}", "{award_notice}", "{objection}", "{holiday}",
                                      "{departure}", "{award}", "{award_change}")):
        return {}
    from tests.awards.factories import access_objects

    return access_objects()


def _failed_import(db) -> int:
    """A failed list import of the demo insurer, with its error report on disk (created once per test)."""
    from flask import current_app

    from agri_insurance.clock import utcnow
    from agri_insurance.jobs.models import Job, JobStatus
    from agri_insurance.underwriting.exports import write_error_report
    from agri_insurance.underwriting.jobs import IMPORT_KIND, report_path
    from agri_insurance.underwriting.parsing import Findings

    job = db.session.scalar(sa.select(Job).where(Job.kind == IMPORT_KIND))
    if job is None:
        job = Job(kind=IMPORT_KIND, status=JobStatus.FAILED, progress=0, message="", params={"claim_id": 0},
                  error="x", finished_at=utcnow(), created_by_id=db.session.scalar(sa.select(User.id).where(User.username == "insurer")))
        db.session.add(job)
        db.session.commit()
        findings = Findings()
        findings.add(2, "证件号码", "不能为空")
        write_error_report(findings, report_path(job.id))
    assert current_app.config["UPLOAD_DIR"]
    return job.id


def _export_job(db, role, claim_id: int) -> int:
    """A finished export of the claim's list by the logged-in role's demo user (admin's for anonymous requests),
    with its file."""
    from agri_insurance.clock import utcnow
    from agri_insurance.jobs.models import Job, JobStatus
    from agri_insurance.underwriting.jobs import EXPORT_KIND, export_path

    owner = db.session.scalar(sa.select(User).where(User.username == (role.value if role else "admin")))
    job = Job(kind=EXPORT_KIND, status=JobStatus.DONE, progress=100, message="", params={"claim_id": claim_id},
              result={"filename": "清单.xlsx"}, finished_at=utcnow(), created_by_id=owner.id)
    db.session.add(job)
    db.session.commit()
    export_path(job.id).parent.mkdir(parents=True, exist_ok=True)
    from openpyxl import Workbook

    Workbook().save(export_path(job.id))
    return job.id


def _own_job(db, role) -> int | None:
    """A finished job of the logged-in role's demo user (admin's for anonymous requests)."""
    from tests.jobs.factories import job_of

    return job_of(role.value if role else "admin").id


def _tender_objects(db) -> dict[str, int | None]:
    """A round whose bids were opened, with the demo insurer's submitted bid (created once per test)."""
    from agri_insurance.bids.models import Bid, BidAttachment, BidReceipt
    from agri_insurance.tenders.models import CountyException, Lot, SelectionRound

    if db.session.scalar(sa.select(SelectionRound.id)) is None:
        from tests.tenders.factories import make_exception, make_opened_round_with_bid

        rnd, _bid = make_opened_round_with_bid()
        make_exception(rnd)
    first = lambda model: db.session.scalar(sa.select(model.id).order_by(model.id))  # noqa: E731
    return {"round": first(SelectionRound), "lot": first(Lot), "bid": first(Bid), "receipt": first(BidReceipt),
            "attachment": first(BidAttachment), "exception": first(CountyException)}


def _subsidy_objects(db) -> tuple[int, int]:
    """A submitted claim of the demo insurer in the demo county (created once per test)."""
    from agri_insurance.subsidies.models import SubsidyClaim, UnderwritingAssignment

    # the first claim made (the submitted one below, unless another fixture made one first): by id, not by where
    # the database happened to store it (the per-test wipe deletes rows, so new rows may fill old rows' space)
    claim = db.session.scalar(sa.select(SubsidyClaim.id).order_by(SubsidyClaim.id).limit(1))
    if claim is None:
        from tests.subsidies.factories import assign, make_claim

        assign()
        claim = make_claim(status="submitted").id
    return claim, db.session.scalar(sa.select(UnderwritingAssignment.id).order_by(UnderwritingAssignment.id).limit(1))


@pytest.mark.parametrize("role", list(Role), ids=lambda r: r.value)
def test_each_role_gets_exactly_what_the_table_allows(role, login, db):
    client = login(role.value)
    # POSTs last: they may change state (e.g. deactivate the victim).
    ordered = sorted(ROUTES.items(), key=lambda kv: kv[1][0] == "POST")
    for endpoint, (method, url, allowed) in ordered:
        if endpoint == "auth.logout":
            continue  # would end this client's session; covered by the login tests
        response = client.open(fill_url(url, db, role), method=method)
        if allowed == "public" or role in allowed:
            # a POST without its form may be refused as bad input (400, the form shown again): not forbidden
            ok = (200, 302, 400) if method == "POST" else (200, 302)
            assert response.status_code in ok, f"{role.value} {method} {url}: {response.status_code}"
            if response.status_code == 302:
                assert "/login" not in response.location, f"{role.value} bounced to login from {url}"
        else:
            assert response.status_code == 403, f"{role.value} {method} {url}: {response.status_code}"


def test_anonymous_users_are_sent_to_the_login_page(client, demo, db):
    for _endpoint, (method, url, allowed) in ROUTES.items():
        response = client.open(fill_url(url, db), method=method)
        if allowed == "public":
            assert response.status_code in (200, 302)
        else:
            assert response.status_code == 302 and "/login" in response.location, url


def test_county_user_cannot_open_another_countys_page_by_changing_the_id(login, db):
    for username in ("county_agri", "county_finance"):
        client = login(username)
        assert client.get(f"/reference/regions/{county('361128').id}").status_code == 200
        response = client.get(f"/reference/regions/{county('361130').id}")
        assert response.status_code == 404
        assert "婺源县" not in response.get_data(as_text=True)


def test_insurer_user_cannot_open_another_insurers_page(login, db):
    from agri_insurance.reference.models import Insurer

    client = login("insurer")
    own = db.session.scalar(sa.select(User.insurer_id).where(User.username == "insurer"))
    other = db.session.scalar(sa.select(Insurer).where(Insurer.id != own))
    assert client.get(f"/reference/insurers/{own}").status_code == 200
    response = client.get(f"/reference/insurers/{other.id}")
    assert response.status_code == 404 and other.credit_code not in response.get_data(as_text=True)


def test_unknown_page_is_a_styled_404(login):
    response = login("expert").get("/no/such/page")
    assert response.status_code == 404 and "页面不存在" in response.get_data(as_text=True)


def test_numbers_too_large_for_the_database_are_not_found_rather_than_an_error(login, db):
    huge = "99999999999999999999"
    client = login("city_agri")
    for url in (f"/subsidies/claims/{huge}", f"/tenders/{huge}", f"/awards/rounds/{huge}"):
        assert client.get(url).status_code == 404, url
    for url in (f"/subsidies/ledger?year={huge}", f"/subsidies/overview?year={huge}",
                f"/subsidies/ledger?region_id={huge}", f"/reference/schemes?year={huge}", f"/audit/?page={huge}",
                f"/allocation/compare?a={huge}&b=1"):
        assert client.get(url).status_code in (200, 404), url
