"""Browser journey: the city bureau terminates an award mid-term (reason, decision number, its PDF, effective today)
and the county's first backup underwriter takes the lot; from that day the backup's subsidy claim for the lot's
county and product is accepted and the old underwriter's is refused, in words.

The demo's finalised round is built through the services (its term starts next year); the old underwriter drafted a
claim with its underwriting list before the termination, the backup drafts one after it."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from playwright.sync_api import expect

from agri_insurance.auth.models import User
from agri_insurance.awards import replacement
from agri_insurance.clock import local_today
from agri_insurance.extensions import db as _db
from tests.awards.test_replacement import LOT, award_of, finalised  # noqa: F401
from tests.awards.test_replacement_concurrency import _old_draft
from tests.e2e.conftest import log_in
from tests.tenders.factories import PDF_BYTES

pytestmark = pytest.mark.browser


def _username(insurer_id: int) -> str:
    return _db.session.scalar(sa.select(User.username).where(User.insurer_id == insurer_id).order_by(User.id))


def test_award_terminated_backup_installed_new_claim_accepted_old_refused(page, finalised):  # noqa: F811
    rnd = finalised
    award = award_of(LOT)
    old_claim, _award_id = _old_draft(award)
    old_user = _username(award.insurer_id)
    backup = replacement.backup_candidates(award)[0].insurer

    log_in(page, "city_agri")
    page.goto(f"/awards/rounds/{rnd.id}")
    page.locator("#award-table tr", has_text=LOT).get_by_role("link", name="终止中标").click()
    expect(page.get_by_role("heading", name=f"终止中标 · {LOT}", exact=False)).to_be_visible()
    page.get_by_label("终止理由").fill("严重违规经营，虚构承保标的")
    page.get_by_label("终止决定文号").fill("饶农字〔2027〕8号")
    page.get_by_label("终止决定文件（PDF）").set_input_files(
        {"name": "终止决定.pdf", "mimeType": "application/pdf", "buffer": PDF_BYTES})
    page.get_by_label("终止生效日期").fill(local_today().isoformat())
    page.get_by_label("由后备机构替补").check()
    page.get_by_label("后备机构", exact=True).select_option(str(backup.id))
    page.click("#terminate-submit")
    expect(page.locator("#new-insurer")).to_have_text(backup.name)
    page.get_by_role("link", name=rnd.name).click()
    expect(page.locator("#award-changes")).to_contain_text(backup.name)

    # the backup drafts its claim now that it underwrites the lot, and submits it
    _db.session.expire_all()
    backup_award = award_of(LOT)
    assert backup_award.insurer_id == backup.id
    new_claim, _ = _old_draft(backup_award)
    page.context.clear_cookies()
    log_in(page, _username(backup.id))
    page.goto(f"/subsidies/claims/{new_claim}")
    page.click("#submit-claim")
    expect(page.get_by_text("已提交，等待县农业农村局核验")).to_be_visible()

    # the old underwriter's draft, made before the termination, is refused from the effective date on
    page.context.clear_cookies()
    log_in(page, old_user)
    page.goto(f"/subsidies/claims/{old_claim}")
    page.click("#submit-claim")
    expect(page.get_by_text("中标已变更", exact=False)).to_be_visible()
