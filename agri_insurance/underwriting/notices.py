"""The underwriting list's notice to farmers (承保公示, 《农业保险条例》第十条): one A4 notice per village of the list,
its period, photos of it posted in each village, and the city's rule (per product and year) that a claim is
verified only when every village of its list has one.

Built on agri_insurance.farmer_notices (what a payout list's notice shares with this one). Who does what:
- the insurer of the list sets the period, prints the notices and uploads the photos, until the claim is verified
  (after that they are what the verification saw: they stay as they are);
- the county bureau of the claim's county and the city (and the administrator) read them; finance does not.
A new list is a new notice: replacing or deleting the list deletes its notice and photos (the sheets posted show
the old figures).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

import sqlalchemy as sa
from flask import current_app, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from agri_insurance import clock
from agri_insurance.actions import Action, Actions
from agri_insurance.audit import service as audit
from agri_insurance.errors import require
from agri_insurance.extensions import db, lock_for_update
from agri_insurance.farmer_notices import service as notices
from agri_insurance.farmer_notices.documents import Column, VillageSheet
from agri_insurance.farmer_notices.service import NoticePeriod, Village, chinese_date
from agri_insurance.masking import mask_id, mask_name
from agri_insurance.reference.models import Product
from agri_insurance.roles import Role
from agri_insurance.subsidies import service as subsidies
from agri_insurance.subsidies.models import ClaimStatus, SubsidyClaim
from agri_insurance.underwriting.models import (
    UnderwritingList,
    UnderwritingNotice,
    UnderwritingNoticePhoto,
    UnderwritingNoticeRule,
    UnderwritingRow,
    UnderwritingVillage,
)

NOTICE_READERS = (Role.ADMIN, Role.CITY_AGRI, Role.COUNTY_AGRI, Role.INSURER)
RULE_EDITORS = (Role.ADMIN, Role.CITY_AGRI)
TOTAL_COLUMNS = (("quantity", _l("承保数量")), ("premium", _l("保费（元）")), ("farmer_premium", _l("农户自缴保费（元）")))


# --- who may do what --------------------------------------------------------------------------------------

def may_see(claim: SubsidyClaim, user) -> bool:
    """The insurer of the list, the county bureau of the claim's county, the city bureau and the administrator."""
    if user.role is Role.INSURER:
        return user.insurer_id == claim.insurer_id
    if user.role is Role.COUNTY_AGRI:
        return user.region_id == claim.region_id
    return user.role in (Role.ADMIN, Role.CITY_AGRI)


def is_open(claim: SubsidyClaim) -> bool:
    """The notice may still change while the claim is a draft or waits for verification."""
    return subsidies.is_editable(claim) or subsidies.may_move(claim, ClaimStatus.VERIFIED)


def may_post(claim: SubsidyClaim, user) -> bool:
    return user.role is Role.INSURER and user.insurer_id == claim.insurer_id and is_open(claim)


def may_edit_rules(user) -> bool:
    return user.role in RULE_EDITORS


# --- reading ---------------------------------------------------------------------------------------------

def notice_of(lst: UnderwritingList) -> UnderwritingNotice | None:
    return db.session.get(UnderwritingNotice, lst.id)


def photos_of(lst: UnderwritingList) -> list[UnderwritingNoticePhoto]:
    p = UnderwritingNoticePhoto
    return list(db.session.scalars(sa.select(p).where(p.list_id == lst.id).order_by(p.township, p.village, p.id)))


def villages_of(lst: UnderwritingList) -> list[Village]:
    """The list's villages, with households, rows and totals (kept when it was stored: service.Villages), by township
    and village (in character order, the same on every database)."""
    v = UnderwritingVillage
    result = db.session.execute(sa.select(v.township, v.village, v.households, v.rows, v.quantity, v.premium,
                                          v.farmer_premium).where(v.list_id == lst.id))
    return sorted((Village(township, village, households, rows,
                           {"quantity": _decimal(q), "premium": _decimal(p), "farmer_premium": _decimal(f)})
                   for township, village, households, rows, q, p, f in result), key=lambda v: v.key)


def _decimal(value) -> Decimal:
    """A sum as the database returns it (a float on SQLite), as the Decimal its fen amounts add up to."""
    return value if isinstance(value, Decimal) else Decimal(str(value or 0)).quantize(Decimal("0.01"))


def evidence_required(product_id: int, year: int) -> bool:
    """Whether the city requires photos of the notice in every village before a claim is verified."""
    return bool(db.session.scalar(sa.select(UnderwritingNoticeRule.evidence_required).where(
        UnderwritingNoticeRule.product_id == product_id, UnderwritingNoticeRule.year == year)))


@dataclass
class NoticeState(notices.NoticeEvidence):
    """A list's notice as the pages show it, with its claim and whether the city requires the photos."""

    claim: SubsidyClaim | None = None
    list: UnderwritingList | None = None
    required: bool = False

    @property
    def blocks_verification(self) -> bool:
        return self.required and not self.complete


def state_of(claim: SubsidyClaim, lst: UnderwritingList) -> NoticeState:
    notice = notice_of(lst)
    villages = notices.villages_with_photos(villages_of(lst), photos_of(lst))
    return NoticeState(notice.period if notice else None, villages, clock.local_today(), claim=claim, list=lst,
                       required=evidence_required(claim.product_id, claim.year))


def photo_of(photo_id: int) -> UnderwritingNoticePhoto | None:
    return db.session.get(UnderwritingNoticePhoto, photo_id)


def claim_of_photo(photo: UnderwritingNoticePhoto) -> int:
    return db.session.scalar(sa.select(UnderwritingList.claim_id).where(UnderwritingList.id == photo.list_id))


# --- changing --------------------------------------------------------------------------------------------

def _lock_open(claim: SubsidyClaim) -> None:
    """The claim's row lock, as verification takes it first: a photo is not removed while the county verifies
    with it, and verification sees the photos as they are once a change is committed."""
    lock_for_update(claim)
    require(is_open(claim), _("申请已核验或已退回，承保公示不能再修改"))


def set_period(claim: SubsidyClaim, lst: UnderwritingList, starts_on: date | None, days: int | None,
               actor) -> UnderwritingNotice:
    """The period the insurer's notices state (from `starts_on`, `days` calendar days). Caller commits."""
    _lock_open(claim)
    period = notices.check_period(starts_on, days, clock.local_today())
    notices.check_photos_within(period, photos_of(lst))
    notice = notice_of(lst)
    previous = notice.period if notice else None
    if notice is None:
        notice = UnderwritingNotice(list_id=lst.id, starts_on=period.starts_on, days=period.days,
                                    set_by_id=actor.id)
        db.session.add(notice)
    else:
        notice.starts_on, notice.days, notice.set_by_id, notice.set_at = (period.starts_on, period.days,
                                                                           actor.id, clock.utcnow())
    db.session.flush()
    audit.record(actor, "underwriting_notice.period_set", claim,
                 _l("承保公示期：%(start)s 至 %(end)s（%(days)s 天）", start=period.starts_on.isoformat(),
                    end=period.ends_on.isoformat(), days=period.days),
                 starts_on=period.starts_on, days=period.days,
                 previous={"starts_on": previous.starts_on, "days": previous.days} if previous else None)
    return notice


def add_photos(claim: SubsidyClaim, lst: UnderwritingList, key: tuple[str, str] | None, posted_on: date | None,
               files, actor) -> list[UnderwritingNoticePhoto]:
    """Photos of the notice posted in one village. All or none. Caller commits."""
    _lock_open(claim)
    notice = notice_of(lst)
    photos = notices.add_photos(lambda **columns: UnderwritingNoticePhoto(list_id=lst.id, **columns),
                                villages_of(lst), key, posted_on, files, notice.period if notice else None,
                                clock.local_today(), actor)
    township, village = key
    audit.record(actor, "underwriting_notice.photos_added", claim,
                 _l("上传承保公示张贴照片：%(village)s，%(n)s 张，张贴于 %(day)s",
                    village=notices.village_label(township, village), n=len(photos), day=posted_on.isoformat()),
                 township=township, village=village, posted_on=posted_on,
                 files=[notices.photo_record(p) for p in photos])
    return photos


def remove_photo(claim: SubsidyClaim, photo: UnderwritingNoticePhoto, actor) -> None:
    _lock_open(claim)
    audit.record(actor, "underwriting_notice.photo_removed", claim,
                 _l("删除承保公示张贴照片：%(village)s，%(name)s",
                    village=notices.village_label(photo.township, photo.village), name=photo.file.original_name),
                 township=photo.township, village=photo.village, posted_on=photo.posted_on,
                 file=notices.photo_record(photo))
    notices.remove_photo(photo)


def drop_notice(lst: UnderwritingList) -> int:
    """Delete the list's notice and photos (the list is going); returns how many photos went. Caller audits."""
    removed = notices.remove_photos(photos_of(lst))
    db.session.execute(sa.delete(UnderwritingNotice).where(UnderwritingNotice.list_id == lst.id))
    return removed


# --- verification ------------------------------------------------------------------------------------------

def check_before_verification(claim: SubsidyClaim, lst: UnderwritingList | None) -> list[tuple[str, object]]:
    """Where the city requires it for the claim's product and year, every village of the list has a photo of its
    posted notice; otherwise DomainError naming the villages without one. Returns what the verification's audit
    entry records of the notice."""
    if lst is None:
        return []
    state = state_of(claim, lst)
    require(not state.blocks_verification,
            _("%(year)s年%(product)s须上传各村承保公示张贴照片后方可核验，尚无照片的村：%(villages)s",
              year=claim.year, product=claim.product.label, villages=state.missing_text))
    return [("notice_evidence_required", state.required), ("notice_villages", len(state.villages)),
            ("notice_villages_with_photos", state.with_photos)]


# --- the city's rule per product and year ------------------------------------------------------------------

def rules_for_year(year: int) -> tuple[list[Product], dict[int, UnderwritingNoticeRule]]:
    """The active products and, by product id, the rules set for `year`."""
    products = db.session.scalars(sa.select(Product).where(Product.active)
                                  .order_by(Product.category, Product.code)).all()
    rules = {r.product_id: r for r in db.session.scalars(
        sa.select(UnderwritingNoticeRule).where(UnderwritingNoticeRule.year == year))}
    return list(products), rules


def save_rules(year: int | None, required_ids: set[int], actor) -> int:
    """Set, for `year`, which active products require the notice's photos before verification (those in
    `required_ids`; the others not). Audits each change; returns how many changed. Caller commits."""
    require(year is not None and 2000 <= year <= 2100, _("年度应在 2000 至 2100 之间"), "year")
    products, rules = rules_for_year(year)
    unknown = required_ids - {p.id for p in products}
    require(not unknown, _("险种不存在或已停用"), "required")
    changed = 0
    for product in products:
        wanted = product.id in required_ids
        rule = rules.get(product.id)
        if (rule.evidence_required if rule else False) == wanted:
            continue
        if rule is None:
            rule = UnderwritingNoticeRule(product_id=product.id, year=year)
            db.session.add(rule)
        rule.evidence_required, rule.updated_by_id, rule.updated_at = wanted, actor.id, clock.utcnow()
        db.session.flush()
        summary = (_l("%(year)s年%(product)s：核验前须上传各村承保公示张贴照片", year=year, product=product.name)
                   if wanted else _l("%(year)s年%(product)s：核验前不再要求承保公示张贴照片", year=year,
                                     product=product.name))
        audit.record(actor, "underwriting_notice_rule.changed", rule, summary, product_id=product.id, year=year,
                     evidence_required=wanted)
        changed += 1
    return changed


# --- what the pages offer ------------------------------------------------------------------------------------

def direct_rows() -> int:
    return int(current_app.config["DIRECT_NOTICE_ROWS"])


def notice_actions(claim: SubsidyClaim, user, state: NoticeState) -> Actions:
    """The notice section's actions for `user`: the insurer's period and photo forms while the claim is open; the
    notices of all villages (zip, one PDF), written by a background job for a large list."""
    params = {"claim_id": claim.id}
    actions = []
    if may_post(claim, user):
        actions.append(Action("notice-period", _l("保存公示期"), "underwriting.set_notice_period", params, post=True,
                              style="primary", element_id="save-notice-period", order=10))
        actions.append(Action("notice-photos", _l("上传张贴照片"), "underwriting.upload_notice_photos", params,
                              post=True, style="success", element_id="upload-notice-photos", order=20,
                              disabled=state.period is None))
    if state.period is not None:
        large = state.list.rows > direct_rows()
        for fmt, label, order in (("zip", _l("各村公示（zip，每村一个PDF）"), 30),
                                  ("pdf", _l("各村公示（合并为一个PDF）"), 40)):
            if large:
                actions.append(Action(f"notices-{fmt}", _l("后台生成：%(what)s", what=label),
                                      "underwriting.export_notices", {**params, "format": fmt}, post=True,
                                      element_id=f"notices-{fmt}", order=order))
            else:
                actions.append(Action(f"notices-{fmt}", label, f"underwriting.notices_{fmt}", params,
                                      element_id=f"notices-{fmt}", order=order))
    return Actions(actions)


def village_pdf_url(claim: SubsidyClaim, state: NoticeState, village: Village) -> str | None:
    if state.period is None:
        return None
    return url_for("underwriting.village_notice_pdf", claim_id=claim.id, township=village.township,
                   village=village.village)


def photo_url(photo: UnderwritingNoticePhoto) -> str:
    return url_for("underwriting.notice_photo", photo_id=photo.id)


def delete_photo_action(claim: SubsidyClaim, user, photo: UnderwritingNoticePhoto) -> Action | None:
    if not may_post(claim, user):
        return None
    return Action("delete-photo", _l("删除"), "underwriting.delete_notice_photo", {"photo_id": photo.id}, post=True,
                  style="outline-danger", confirm=_l("删除这张照片？"), css_class="delete-notice-photo")


def rules_actions(user) -> Actions:
    if not may_edit_rules(user):
        return Actions()
    return Actions([Action("save-rules", _l("保存"), "underwriting.save_notice_rules", post=True, style="success",
                           element_id="save-notice-rules")])


# --- the notices ---------------------------------------------------------------------------------------------

def _money(value: Decimal) -> str:
    return f"{value:,.2f}"


def _product_title(product) -> str:
    return product.name if product.name.endswith("保险") else f"{product.name}保险"


def _closing(claim: SubsidyClaim, period: NoticePeriod, village: Village) -> list[str]:
    county, insurer = claim.region, claim.insurer
    totals = village.totals
    subsidy = totals["premium"] - totals["farmer_premium"]
    lines = [f"本村共 {village.households} 户参保，保费合计 {_money(totals['premium'])} 元，其中农户自缴 "
             f"{_money(totals['farmer_premium'])} 元，各级财政补贴 {_money(subsidy)} 元。",
             f"公示期：{period.document_text}。"]
    bureau = f"{county.name}农业农村局"
    where = f"{bureau}反映（{county.bureau_contact}）" if county.bureau_contact else f"{bureau}反映"
    ask = "、".join(part for part in (f"联系人：{insurer.contact_person}" if insurer.contact_person else "",
                                       f"电话：{insurer.contact_phone}" if insurer.contact_phone else "") if part)
    lines.append(f"对公示内容有异议的，请在公示期内向{where}；也可向{insurer.name}咨询" + (f"（{ask}）" if ask else "")
                 + "。")
    return lines


def village_sheets(claim: SubsidyClaim, lst: UnderwritingList, period: NoticePeriod,
                   only: tuple[str, str] | None = None) -> Iterator[VillageSheet]:
    """The notice of each village of the list (or of the village `only`), its rows in file order, streamed from
    one query: names and ID numbers masked (agri_insurance.masking), amounts as the list holds them."""
    r = UnderwritingRow
    stmt = (sa.select(r.township, r.village, r.name, r.id_kind, r.id_number, r.quantity, r.premium,
                      r.farmer_premium).where(r.list_id == lst.id)
            .order_by(r.township, r.village, r.row_no).execution_options(yield_per=5000))
    if only is not None:
        stmt = stmt.where(r.township == only[0], r.village == only[1])
    product, county, year = claim.product, claim.region, claim.year
    title = f"{year}年度{_product_title(product)}承保公示"
    columns = [Column("序号", 12, True), Column("被保险人", 38), Column("证件号码", 40),
               Column(f"承保数量（{product.unit}）", 28, True), Column("保费（元）", 28, True),
               Column("其中农户自缴（元）", 28, True)]
    for (township, village_name), group in itertools.groupby(db.session.execute(stmt),
                                                             key=lambda row: (row.township, row.village)):
        rows, people = [], set()
        quantity = premium = farmer = Decimal("0")
        for n, row in enumerate(group, start=1):
            rows.append([str(n), mask_name(row.name, organisation=row.id_kind == "O"), mask_id(row.id_number),
                         _money(row.quantity), _money(row.premium), _money(row.farmer_premium)])
            people.add(row.id_number)
            quantity, premium, farmer = quantity + row.quantity, premium + row.premium, farmer + row.farmer_premium
        village = Village(township, village_name, len(people), len(rows),
                          {"quantity": quantity, "premium": premium, "farmer_premium": farmer})
        yield VillageSheet(
            title=title,
            heading=[("保险机构", claim.insurer.name), ("险种", product.name), ("县（市、区）", county.name),
                     ("年度", f"{year}年"), ("乡镇", township), ("村", village_name)],
            intro=f"根据《农业保险条例》第十条和《农业保险承保理赔管理办法》的规定，现将本村{year}年度"
                  f"{_product_title(product)}承保情况公示如下（被保险人姓名、证件号码已作部分隐藏）。",
            columns=columns, rows=rows,
            totals=[f"合计（{len(people)}户）", "", "", _money(quantity), _money(premium), _money(farmer)],
            totals_span=3,
            closing=_closing(claim, period, village),
            signature=[claim.insurer.name, chinese_date(period.starts_on)],
            filename=f"{township}{village_name}_承保公示.pdf",
            footer=f"{county.name}{township}{village_name}　{title}")


def files_title(claim: SubsidyClaim) -> str:
    """The name of a file holding all the list's notices."""
    return f"{claim.region.name}{claim.year}年度{_product_title(claim.product)}承保公示_{claim.insurer.short_name}"
