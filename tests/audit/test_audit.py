import pytest
import sqlalchemy as sa

from agri_insurance.audit import service as audit
from agri_insurance.audit.models import AuditEntry, AuditLogIsAppendOnly
from agri_insurance.auth.models import User
from tests.factories import read_text


def test_audit_entries_cannot_be_changed_or_deleted(demo, db):
    entry = db.session.scalar(sa.select(AuditEntry).limit(1))
    entry.summary = "tampered"
    with pytest.raises(AuditLogIsAppendOnly):
        db.session.flush()
    db.session.rollback()
    db.session.delete(db.session.scalar(sa.select(AuditEntry).limit(1)))
    with pytest.raises(AuditLogIsAppendOnly):
        db.session.flush()
    db.session.rollback()


def test_record_keeps_actor_name_and_json_details(demo, db):
    from decimal import Decimal

    user = db.session.scalar(sa.select(User).where(User.username == "city_agri"))
    entry = audit.record(user, "test.action", user, "测试", amount=Decimal("12.30"))
    db.session.commit()
    assert entry.actor_name == "city_agri" and entry.details == {"amount": "12.30"}


def test_audit_page_filters_by_action(login):
    client = login("city_agri")
    page = read_text(client.get("/audit/?action=user.login"))
    assert "user.login" in page and "subsidy_scheme.created" not in page
    page = read_text(client.get("/audit/?object_type=SubsidyScheme"))
    assert "subsidy_scheme.created" in page and "user.login" not in page
    page = read_text(client.get("/audit/?actor=nobody-at-all"))
    assert "没有符合条件的记录" in page
    # objects are named in the reader's language, not by their model names
    page = read_text(client.get("/audit/?object_type=SubsidyScheme"))
    assert '<option value="SubsidyScheme" selected>补贴方案</option>' in page and "补贴方案 #" in page
    client.get("/lang/en")
    assert "Subsidy scheme #" in read_text(client.get("/audit/?object_type=SubsidyScheme"))


def test_a_summary_is_shown_in_each_readers_language_and_stored_in_chinese(login, db):
    from flask_babel import force_locale
    from flask_babel import lazy_gettext as _l

    from agri_insurance.subsidies.models import LEVEL_LABELS, ShareLevel

    user = db.session.scalar(sa.select(User).where(User.username == "city_agri"))
    with force_locale("en"):  # the actor reads English: the entry is still stored in Chinese, its label too
        entry = audit.record(user, "test.language", user, _l("确认拨付 %(level)s %(amount)s 元",
                                                             level=LEVEL_LABELS[ShareLevel.COUNTY], amount="7,750.00"))
        db.session.commit()
        assert entry.display_summary == "Payment confirmed: County ¥7,750.00"
    assert entry.summary == "确认拨付 县级财政 7,750.00 元"
    client = login("city_agri")
    assert "确认拨付 县级财政 7,750.00 元" in read_text(client.get("/audit/?action=test.language"))
    client.get("/lang/en")
    assert "Payment confirmed: County ¥7,750.00" in read_text(client.get("/audit/?action=test.language"))


def test_entries_written_as_plain_text_are_shown_as_written(demo, db):
    user = db.session.scalar(sa.select(User).where(User.username == "city_agri"))
    entry = audit.record(user, "test.plain", user, "纯文本摘要")
    db.session.commit()
    assert entry.summary_message is None and entry.display_summary == "纯文本摘要"


def test_a_password_change_names_the_user_not_the_request_proxy(login, db):
    client = login("expert")
    response = client.post("/account/password", data={
        "current_password": "demo1234", "new_password": "Mine2026x", "confirm": "Mine2026x"})
    assert response.status_code == 302
    expert = db.session.scalar(sa.select(User).where(User.username == "expert"))
    entry = db.session.scalar(sa.select(AuditEntry).where(AuditEntry.action == "user.password_changed"))
    assert (entry.object_type, entry.object_id) == ("User", str(expert.id))
    page = read_text(login("audit_admin").get("/audit/?action=user.password_changed"))
    assert f"用户 #{expert.id}" in page and "LocalProxy" not in page


def test_record_takes_the_object_behind_a_proxy(app, demo, db):
    from flask_login import current_user, login_user

    user = db.session.scalar(sa.select(User).where(User.username == "city_agri"))
    with app.test_request_context("/"):
        login_user(user)
        entry = audit.record(current_user, "test.proxy", current_user, "代理")
        assert (entry.object_type, entry.object_id, entry.actor_id) == ("User", str(user.id), user.id)


def test_entries_an_older_version_stored_under_the_proxys_name_read_as_users(login, db):
    expert = db.session.scalar(sa.select(User).where(User.username == "expert"))
    db.session.add(AuditEntry(actor_id=expert.id, actor_name="expert", action="user.password_changed",
                              object_type="LocalProxy", object_id=str(expert.id), summary="修改密码：expert",
                              details={}))
    db.session.commit()
    client = login("audit_admin")
    page = read_text(client.get("/audit/?object_type=User"))
    assert f"用户 #{expert.id}" in page and "LocalProxy" not in page and "修改密码：expert" in page
    # the filter lists the object type once, under its name
    assert page.count('<option value="User"') == 1 and 'value="LocalProxy"' not in page


def _actor_cell(page: str, action: str) -> str:
    """The actor cell of the audit page's first row of `action`."""
    row = page[:page.index(f"<code>{action}</code>")].rsplit("<tr>", 1)[1]
    return row.split('audit-actor">', 1)[1].split("</td>", 1)[0]


def test_the_audit_log_names_the_person_and_unit_and_still_finds_login_names(login, db):
    from tests.subsidies.factories import assign, make_claim

    assign()
    make_claim("verified")        # submitted by the insurer's user, verified by the county bureau's
    client = login("city_agri")
    cell = _actor_cell(read_text(client.get("/audit/?action=claim.verified")), "claim.verified")
    assert "鄱阳县农业农村局 李股长" in cell and "县农业农村局 · 鄱阳县" in cell and "county_agri" in cell
    cell = _actor_cell(read_text(client.get("/audit/?action=claim.submitted")), "claim.submitted")
    assert "赣鄱财险 张经理" in cell and "承保机构 · 赣鄱财产保险股份有限公司上饶中心支公司" in cell
    # found by login name, by the person's name and by the unit
    for actor in ("county_agri", "李股长", "鄱阳县"):
        assert "claim.verified" in read_text(client.get(f"/audit/?actor={actor}&action=claim.")), actor
    assert "claim.verified" not in read_text(client.get("/audit/?actor=张经理&action=claim."))
    client.get("/lang/en")
    cell = _actor_cell(read_text(client.get("/audit/?action=claim.verified")), "claim.verified")
    assert "County agriculture bureau · 鄱阳县" in cell


def test_timelines_name_the_person_and_unit(login, db):
    from tests.subsidies.factories import assign, make_claim

    assign()
    claim = make_claim("verified")
    timeline = read_text(login("county_finance").get(f"/subsidies/claims/{claim.id}")).split('id="timeline"')[1]
    assert "赣鄱财险 张经理（承保机构 · 赣鄱财产保险股份有限公司上饶中心支公司）" in timeline
    assert "鄱阳县农业农村局 李股长（县农业农村局 · 鄱阳县）" in timeline
    assert "county_agri" not in timeline
    # the home page's latest entries too
    assert "鄱阳县农业农村局 李股长（县农业农村局 · 鄱阳县）" in read_text(login("city_agri").get("/"))


def test_older_entries_name_the_user_of_their_login_name_and_a_sealed_bidder_stays_unnamed(login, db):
    from datetime import timedelta

    from agri_insurance.clock import utcnow
    from tests.tenders.factories import make_bid, make_round

    county_user = db.session.scalar(sa.select(User).where(User.username == "county_agri"))
    insurer_user = db.session.scalar(sa.select(User).where(User.username == "insurer"))
    # written before names were copied: the login name only
    db.session.add(AuditEntry(actor_id=county_user.id, actor_name="county_agri", action="test.older",
                              object_type="User", object_id=str(county_user.id), summary="旧记录", details={}))
    db.session.add(AuditEntry(actor_id=insurer_user.id, actor_name="sealed-bidder", action="test.older_sealed",
                              object_type="Bid", object_id="1", summary="旧的密封记录", details={}))
    db.session.commit()
    make_bid(make_round(deadline=utcnow() + timedelta(days=3), publish=True))
    client = login("city_agri")
    cell = _actor_cell(read_text(client.get("/audit/?action=test.older")), "test.older")
    assert "鄱阳县农业农村局 李股长" in cell and "县农业农村局 · 鄱阳县" in cell
    for action in ("test.older_sealed", "bid.submitted"):
        page = read_text(client.get(f"/audit/?action={action}"))
        cell = _actor_cell(page, action)
        assert "sealed-bidder" in cell
        assert "张经理" not in page and "赣鄱财产保险" not in page, action


def test_the_database_refuses_to_change_or_delete_an_entry(demo, db):
    """A trigger on both databases: a statement written by hand (or by a bug) cannot rewrite the log."""
    entry_id = db.session.scalar(sa.select(AuditEntry.id).limit(1))
    for statement in ("UPDATE audit_entries SET summary = 'tampered' WHERE id = :id",
                      "DELETE FROM audit_entries WHERE id = :id"):
        # (a delete: refused within the retention, tests/audit/test_retention.py)
        with pytest.raises((sa.exc.DBAPIError, sa.exc.IntegrityError), match="never updated|retention"):
            with db.engine.begin() as conn:
                conn.execute(sa.text(statement), {"id": entry_id})
    assert db.session.scalar(sa.select(AuditEntry.summary).where(AuditEntry.id == entry_id)) != "tampered"


def test_every_kind_of_record_the_code_audits_is_offered_by_the_audit_pages_filter(app):   # app: every model mapped
    """The filter's kinds come from OBJECT_TYPE_LABELS (not a DISTINCT over the whole log): every object passed to
    audit.record, named by the variable the code passes, is of a class labelled there."""
    import ast
    import pathlib

    from agri_insurance.audit.models import OBJECT_TYPE_LABELS
    from agri_insurance.extensions import db

    classes = {mapper.class_.__name__ for mapper in db.Model.registry.mappers}
    by_variable = {"rnd": "SelectionRound", "run": "AllocationRun", "departure": "RuleDeparture", "token": "ApiToken",
                   "user": "User", "holiday": "Holiday", "notice": "PublicNotice", "objection": "Objection",
                   "bid": "Bid", "check": "EligibilityCheck", "criterion": "Criterion", "member": "PanelMember",
                   "panel": "EvaluationPanel", "scheme": "ScoringScheme", "flag.list": "PayoutList",
                   "payout_list": "PayoutList", "advance": "Advance", "assignment": "UnderwritingAssignment",
                   "budget": "Budget", "claim": "SubsidyClaim", "settlement": "Settlement",
                   "exception": "CountyException", "item": "SelectionRound", "lot": "Lot",
                   "rule": "UnderwritingNoticeRule", "obj": "SubsidyScheme", "job": "Job", "None": None,
                   "allocation": "FundAllocation", "review": "AnnualReview", "result": "ReviewResult",
                   "complaint": "Complaint", "change": "AwardChange", "lst": "PayoutList"}
    root = pathlib.Path(__file__).parents[2] / "agri_insurance"
    for path in root.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "record" \
                    and len(node.args) >= 3 and isinstance(node.func.value, ast.Name) \
                    and node.func.value.id == "audit":
                variable = ast.unparse(node.args[2])
                assert variable in by_variable, f"{path}: audit.record(..., {variable}): name its class in this test"
                kind = by_variable[variable]
                assert kind is None or (kind in classes and kind in OBJECT_TYPE_LABELS), (path, variable, kind)


def test_the_audit_page_counts_no_further_than_its_bound(login, monkeypatch):
    from agri_insurance.audit import views

    client = login("city_agri")
    assert "超过" not in read_text(client.get("/audit/"))
    monkeypatch.setattr(views, "COUNTED_ENTRIES", 3)
    page = read_text(client.get("/audit/?action=user."))
    assert "超过 3 条，显示第 1–" in page
    assert "超过 3 条" in read_text(client.get("/audit/?page=1"))
