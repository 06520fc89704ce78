"""What underwriting does when another module announces something (agri_insurance.announcements).

A subsidy claim goes nowhere without its underwriting list (承保清单): subsidies announces its claim's life
(subsidies/signals.py) and underwriting does its part here, in the caller's transaction, refusing with a
DomainError where the list is not as the claim needs it.
"""

from __future__ import annotations

from flask import url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from agri_insurance.actions import PagePart
from agri_insurance.errors import require
from agri_insurance.i18n import join_sentences
from agri_insurance.subsidies import service as subsidies
from agri_insurance.subsidies.signals import (
    claim_actions,
    claim_list_actions,
    claim_page_parts,
    claim_scope_changing,
    claim_submitting,
    claim_verifying,
    draft_changing,
    draft_deleting,
)
from agri_insurance.underwriting import notices, service


@draft_changing.listen(order=10)
def _no_import_running(claim, actor, **_details) -> None:
    """An import replaces the claim's list when it finishes: the draft holds still until then."""
    require(not service.import_pending(claim), _("承保清单正在导入，请等导入完成后再操作"))


@claim_scope_changing.listen(order=10)
def _drop_list_of_the_old_scope(claim, actor, **_details) -> list:
    """A list for another county, product or year must not be submitted as this claim's: it goes now."""
    if service.remove_list(claim, actor, reason="claim_scope_changed") is None:
        return []
    return [_l("县（市、区）、险种或年度已修改，原承保清单已删除，请重新上传承保清单")]


@claim_submitting.listen(order=10)
def _require_a_matching_list(claim, actor, **_details) -> None:
    """A claim is submitted with its list, and the list adds up to the claim's figures as they are now."""
    underwriting_list = service.list_of(claim)
    require(underwriting_list is not None, _("请先上传承保清单"))
    problems = service.reconcile(claim, underwriting_list)
    require(not problems, _("承保清单与申请不一致：%(p)s", p=join_sentences(problems)))


@claim_verifying.listen(order=10)
def _require_flags_reviewed(claim, actor, reviewed: bool, **_details) -> list:
    """Rows the cross-checks flagged (double insurance, household limit) are looked at before verification; how
    many there were is recorded with it."""
    flags = service.flagged_rows(claim)
    require(flags == 0 or reviewed,
            _("承保清单有 %(n)s 处核查标记，请查看后勾选“已核查标记的行”再核验", n=flags), "flags_reviewed")
    return [("flags_reviewed", flags)]


@claim_verifying.listen(order=20)
def _require_notice_evidence(claim, actor, **_details) -> list:
    """Where the city requires it for the claim's product and year (notices.evidence_required), every village of
    the list has a photo of its posted notice (承保公示); what the notice had is recorded with the verification."""
    return notices.check_before_verification(claim, service.list_of(claim))


@draft_deleting.listen(order=10)
def _remove_the_list(claim, actor, **_details) -> None:
    service.remove_list(claim, actor, reason="claim_deleted")


@claim_actions.listen(order=10)
def _open_the_list(claim, user, **_details) -> list:
    """The claim's list, to upload or read; and a returned claim filed again from its corrected list."""
    actions = [service.open_list_action(claim, user)]
    if service.may_start_claim_from_list(user) and subsidies.may_file_again(claim, user):
        actions.append(service.file_again_from_list_action(claim))
    return actions


@claim_list_actions.listen(order=10)
def _new_claim_from_a_list(_sender, user, **_details) -> list:
    """An insurer may start a claim from its underwriting list: the claim's figures are the list's totals."""
    return [service.new_claim_from_list_action(user)] if service.may_start_claim_from_list(user) else []


@claim_page_parts.listen(order=10)
def _the_list_on_claim_pages(claim, user, page: str, **_details) -> list:
    """The claim page shows the list's summary and, to the verifier, what the cross-checks flagged; the claim's
    edit form warns that a change of county, product or year drops the list; the verification sheet shows the
    list the claim was verified with."""
    underwriting_list = service.list_of(claim)
    if page == "form":
        return [PagePart("scope-note", "underwriting/_claim_scope_note.html")] if underwriting_list else []
    if page == "sheet":
        return [PagePart("sheet", "underwriting/_claim_sheet_list.html", {
            "list": underwriting_list,
            "reconciled": underwriting_list is not None and not service.reconcile(claim, underwriting_list)})]
    parts = [PagePart("list", "underwriting/_claim_list_card.html", {
        "list": underwriting_list,
        "reconciled": underwriting_list is not None and not service.reconcile(claim, underwriting_list)})]
    if underwriting_list is not None and underwriting_list.flag_count:
        parts.append(PagePart("verify", "underwriting/_claim_verify_flags.html",
                              {"flags": underwriting_list.flag_count}))
    return parts


@claim_page_parts.listen(order=20)
def _the_notice_on_claim_pages(claim, user, page: str, **_details) -> list:
    """The list's notice to farmers (承保公示): on the claim page a card with the villages and their photos (for
    those who see notices: not finance) and, in the verification form, the villages still without a photo when
    the city requires them; on the verification sheet a summary."""
    if page not in ("detail", "sheet"):
        return []
    underwriting_list = service.list_of(claim)
    if underwriting_list is None:
        return []
    state = notices.state_of(claim, underwriting_list)
    if page == "sheet":
        return [PagePart("sheet", "underwriting/_claim_sheet_notices.html", {"state": state}, order=110)]
    if not notices.may_see(claim, user):
        return []
    parts = [PagePart("list", "underwriting/_claim_notices_card.html", {
        "state": state, "list_url": url_for("underwriting.list_detail", claim_id=claim.id, _anchor="notices"),
        "villages": {"villages": state.villages, "required": state.required, "columns": notices.TOTAL_COLUMNS,
                     "photo_url": notices.photo_url,
                     "pdf_url": lambda village: notices.village_pdf_url(claim, state, village),
                     "delete_action": lambda _photo: None, "posted_late": state.posted_late}}, order=110)]
    if state.blocks_verification:
        parts.append(PagePart("verify", "underwriting/_claim_verify_notices.html", {"state": state}, order=110))
    return parts
