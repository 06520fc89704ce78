"""The payout list's notice to farmers (理赔公示, 《农业保险条例》第十条 and the 农业保险承保理赔管理办法): one A4
notice per village of the list, with its period; next to the underwriting list's 承保公示 (underwriting/notices.py),
on what the two share (agri_insurance.farmer_notices).

A payout row has no village of its own: it is the village of the underwriting row it was matched to (every stored
row has one). Who does what: the insurer of the list sets the period, prints the notices and uploads photos of them
posted in each village (and removes one uploaded by mistake); the county bureau of the list's county and the city
(and the administrator) read them, the photos as evidence; finance does not. A payout list has no verification
step, so its photos may change while the list stands: every upload and removal is in the list's audit log (the
file's name and SHA-256), so a photo removed stays on record. A new upload for the event is a new list, and a new
notice (the sheets posted show the old payouts): the period and photos go with the old list.
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
from agri_insurance.errors import DomainError, require
from agri_insurance.extensions import db, lock_for_update
from agri_insurance.farmer_notices import service as notices
from agri_insurance.farmer_notices.documents import Column, VillageSheet
from agri_insurance.farmer_notices.service import NoticeEvidence, NoticePeriod, Village, chinese_date
from agri_insurance.masking import mask_id, mask_name
from agri_insurance.payouts.models import (
    PayoutList,
    PayoutNotice,
    PayoutNoticePhoto,
    PayoutRow,
    PayoutVillage,
)
from agri_insurance.roles import Role
from agri_insurance.underwriting.models import UnderwritingRow

TOTAL_COLUMNS = (("agreed", _l("核定赔款（元）")), ("paid", _l("已付赔款（元）")))


def may_see(lst: PayoutList, user) -> bool:
    """The insurer of the list, the county bureau of its county, the city bureau and the administrator."""
    if user.role is Role.INSURER:
        return user.insurer_id == lst.insurer_id
    if user.role is Role.COUNTY_AGRI:
        return user.region_id == lst.region_id
    return user.role in (Role.ADMIN, Role.CITY_AGRI)


def may_post(lst: PayoutList, user) -> bool:
    return user.role is Role.INSURER and user.insurer_id == lst.insurer_id


def notice_of(lst: PayoutList) -> PayoutNotice | None:
    return db.session.get(PayoutNotice, lst.id)


def _placed(stmt, lst: PayoutList):
    """`stmt` over the list's rows joined to the underwriting rows they were matched to (their village)."""
    u = UnderwritingRow.__table__
    p = PayoutRow.__table__
    return stmt.select_from(p.join(u, sa.and_(u.c.list_id == p.c.uw_list_id, u.c.row_no == p.c.uw_row_no))).where(
        p.c.list_id == lst.id)


def villages_of(lst: PayoutList) -> list[Village]:
    """The list's villages (kept when it was stored: service.VillageSums): households paid, rows, agreed and paid totals,
    in character order (the same on every database)."""
    v = PayoutVillage
    result = db.session.execute(sa.select(v.township, v.village, v.households, v.rows, v.agreed, v.paid)
                                .where(v.list_id == lst.id))
    return sorted((Village(township, village, households, rows, {"agreed": _decimal(a), "paid": _decimal(d)})
                   for township, village, households, rows, a, d in result), key=lambda v: v.key)


def _decimal(value) -> Decimal:
    return value if isinstance(value, Decimal) else Decimal(str(value or 0)).quantize(Decimal("0.01"))


def photos_of(lst: PayoutList) -> list[PayoutNoticePhoto]:
    p = PayoutNoticePhoto
    return list(db.session.scalars(sa.select(p).where(p.list_id == lst.id).order_by(p.township, p.village, p.id)))


def photo_of(photo_id: int) -> PayoutNoticePhoto | None:
    return db.session.get(PayoutNoticePhoto, photo_id)


@dataclass
class PayoutNoticeState(NoticeEvidence):
    """The list's notice as its page shows it: period, villages with their photos, those without one."""

    list: PayoutList | None = None


def state_of(lst: PayoutList) -> PayoutNoticeState:
    notice = notice_of(lst)
    return PayoutNoticeState(notice.period if notice else None,
                             notices.villages_with_photos(villages_of(lst), photos_of(lst)), clock.local_today(),
                             list=lst)


# --- changing (the list's insurer) ---------------------------------------------------------------------------

def _lock_as_poster(lst: PayoutList, actor, refusal: str) -> None:
    """Only the list's insurer changes its notice (refused before anything is written). The list's row is locked,
    as replacing the list locks it before deleting its photos: a photo is not added to a list being replaced."""
    require(may_post(lst, actor), refusal)
    try:
        lock_for_update(lst)
    except sa.exc.InvalidRequestError as e:   # replaced or deleted while we waited for its lock
        raise DomainError(_("该理赔清单已被替换或删除，请重新打开清单")) from e


def set_period(lst: PayoutList, starts_on: date | None, days: int | None, actor) -> PayoutNotice:
    """The period the insurer's notices state (from `starts_on`, `days` calendar days); the photos already
    uploaded must have been posted within it. Caller commits."""
    _lock_as_poster(lst, actor, _("只有该清单的承保机构可以填写理赔公示期"))
    period = notices.check_period(starts_on, days, clock.local_today())
    notices.check_photos_within(period, photos_of(lst))
    notice = notice_of(lst)
    previous = notice.period if notice else None
    if notice is None:
        notice = PayoutNotice(list_id=lst.id, starts_on=period.starts_on, days=period.days, set_by_id=actor.id)
        db.session.add(notice)
    else:
        notice.starts_on, notice.days, notice.set_by_id, notice.set_at = (period.starts_on, period.days, actor.id,
                                                                           clock.utcnow())
    db.session.flush()
    audit.record(actor, "payout_notice.period_set", lst,
                 _l("理赔公示期：%(start)s 至 %(end)s（%(days)s 天）", start=period.starts_on.isoformat(),
                    end=period.ends_on.isoformat(), days=period.days),
                 starts_on=period.starts_on, days=period.days,
                 previous={"starts_on": previous.starts_on, "days": previous.days} if previous else None)
    return notice


def add_photos(lst: PayoutList, key: tuple[str, str] | None, posted_on: date | None, files,
               actor) -> list[PayoutNoticePhoto]:
    """Photos of the notice posted in one village of the list (each a real PNG or JPEG of at most 10 MB, posted
    within the period). All or none. Caller commits."""
    _lock_as_poster(lst, actor, _("只有该清单的承保机构可以上传理赔公示张贴照片"))
    notice = notice_of(lst)
    photos = notices.add_photos(lambda **columns: PayoutNoticePhoto(list_id=lst.id, **columns), villages_of(lst),
                                key, posted_on, files, notice.period if notice else None, clock.local_today(), actor)
    township, village = key
    audit.record(actor, "payout_notice.photos_added", lst,
                 _l("上传理赔公示张贴照片：%(village)s，%(n)s 张，张贴于 %(day)s",
                    village=notices.village_label(township, village), n=len(photos), day=posted_on.isoformat()),
                 township=township, village=village, posted_on=posted_on,
                 files=[notices.photo_record(p) for p in photos])
    return photos


def remove_photo(lst: PayoutList, photo: PayoutNoticePhoto, actor) -> None:
    """Remove a photo of `lst` uploaded by mistake; the audit entry keeps its name and SHA-256. Caller commits."""
    _lock_as_poster(lst, actor, _("只有该清单的承保机构可以删除理赔公示张贴照片"))
    audit.record(actor, "payout_notice.photo_removed", lst,
                 _l("删除理赔公示张贴照片：%(village)s，%(name)s",
                    village=notices.village_label(photo.township, photo.village), name=photo.file.original_name),
                 township=photo.township, village=photo.village, posted_on=photo.posted_on,
                 file=notices.photo_record(photo))
    notices.remove_photo(photo)


def drop_notice(lst: PayoutList) -> tuple[bool, int]:
    """Delete the list's notice and photos (the list is going; SQLite enforces no cascade): whether it had a
    period, and how many photos went. Caller audits."""
    removed = notices.remove_photos(photos_of(lst))
    had_period = db.session.execute(sa.delete(PayoutNotice).where(PayoutNotice.list_id == lst.id)).rowcount > 0
    return had_period, removed


# --- what the page offers -------------------------------------------------------------------------------------

def notice_actions(lst: PayoutList, user, state: PayoutNoticeState) -> Actions:
    """The insurer's period and photo forms; the notices of all villages (one PDF, or a zip of one PDF each) once
    the period is set."""
    params = {"list_id": lst.id}
    period = state.period
    actions = []
    if may_post(lst, user):
        actions.append(Action("notice-period", _l("保存公示期"), "payouts.set_notice_period", params, post=True,
                              style="primary", element_id="save-notice-period", order=10))
        actions.append(Action("notice-photos", _l("上传张贴照片"), "payouts.upload_notice_photos", params,
                              post=True, style="success", element_id="upload-notice-photos", order=20,
                              disabled=period is None))
    if period is not None and lst.rows <= direct_rows():
        actions.append(Action("notices-zip", _l("各村公示（zip，每村一个PDF）"), "payouts.notices_zip", params,
                              element_id="notices-zip", order=30))
        actions.append(Action("notices-pdf", _l("各村公示（合并为一个PDF）"), "payouts.notices_pdf", params,
                              element_id="notices-pdf", order=40))
    return Actions(actions)


def direct_rows() -> int:
    """Up to how many rows the notices are written while the user waits (a larger list: one village at a time)."""
    return int(current_app.config["DIRECT_NOTICE_ROWS"])


def village_pdf_url(lst: PayoutList, period: NoticePeriod | None, village: Village) -> str | None:
    if period is None:
        return None
    return url_for("payouts.village_notice_pdf", list_id=lst.id, township=village.township, village=village.village)


def photo_url(photo: PayoutNoticePhoto) -> str:
    return url_for("payouts.notice_photo", photo_id=photo.id)


def delete_photo_action(lst: PayoutList, user, photo: PayoutNoticePhoto) -> Action | None:
    if not may_post(lst, user):
        return None
    return Action("delete-photo", _l("删除"), "payouts.delete_notice_photo", {"photo_id": photo.id}, post=True,
                  style="outline-danger", confirm=_l("删除这张照片？"), css_class="delete-notice-photo")


# --- the notices -------------------------------------------------------------------------------------------------

def _money(value: Decimal) -> str:
    return f"{value:,.2f}"


def _product_title(product) -> str:
    return product.name if product.name.endswith("保险") else f"{product.name}保险"


def _closing(lst: PayoutList, period: NoticePeriod, households: int, agreed: Decimal, paid: Decimal) -> list[str]:
    county, insurer = lst.region, lst.insurer
    lines = [f"本村共 {households} 户获得赔款，核定赔款合计 {_money(agreed)} 元，已支付 {_money(paid)} 元；"
             f"赔款直接支付到农户本人账户。",
             f"公示期：{period.document_text}。"]
    bureau = f"{county.name}农业农村局"
    where = f"{bureau}反映（{county.bureau_contact}）" if county.bureau_contact else f"{bureau}反映"
    ask = "、".join(part for part in (f"联系人：{insurer.contact_person}" if insurer.contact_person else "",
                                       f"电话：{insurer.contact_phone}" if insurer.contact_phone else "") if part)
    lines.append(f"对公示内容有异议的，请在公示期内向{where}；也可向{insurer.name}咨询" + (f"（{ask}）" if ask else "")
                 + "。")
    return lines


def village_sheets(lst: PayoutList, period: NoticePeriod, only: tuple[str, str] | None = None
                   ) -> Iterator[VillageSheet]:
    """The notice of each village of the list (or of the village `only`), its rows in file order, streamed from one
    query: names and ID numbers masked (agri_insurance.masking), amounts as the list holds them."""
    u, p = UnderwritingRow.__table__, PayoutRow.__table__
    stmt = _placed(sa.select(u.c.township, u.c.village, p.c.name, p.c.id_kind, p.c.id_number, p.c.loss_date,
                             p.c.agreed_amount, p.c.paid_amount, p.c.paid_date), lst)
    if only is not None:
        stmt = stmt.where(u.c.township == only[0], u.c.village == only[1])
    stmt = stmt.order_by(u.c.township, u.c.village, p.c.row_no).execution_options(yield_per=5000)
    product, county, year = lst.product, lst.region, lst.year
    title = f"{year}年度{_product_title(product)}理赔公示"
    columns = [Column("序号", 12, True), Column("被保险人", 34), Column("证件号码", 40), Column("出险日期", 22),
               Column("核定赔款（元）", 24, True), Column("已付赔款（元）", 24, True), Column("支付日期", 22)]
    for (township, village_name), group in itertools.groupby(db.session.execute(stmt),
                                                             key=lambda row: (row.township, row.village)):
        rows, people = [], set()
        agreed = paid = Decimal("0")
        for n, row in enumerate(group, start=1):
            rows.append([str(n), mask_name(row.name, organisation=row.id_kind == "O"), mask_id(row.id_number),
                         row.loss_date.isoformat(), _money(row.agreed_amount),
                         "" if row.paid_amount is None else _money(row.paid_amount),
                         "" if row.paid_date is None else row.paid_date.isoformat()])
            people.add(row.id_number)
            agreed, paid = agreed + row.agreed_amount, paid + (row.paid_amount or 0)
        yield VillageSheet(
            title=title,
            heading=[("保险机构", lst.insurer.name), ("险种", product.name), ("县（市、区）", county.name),
                     ("灾害事故", lst.event), ("乡镇", township), ("村", village_name)],
            intro=f"根据《农业保险条例》第十条和《农业保险承保理赔管理办法》的规定，现将本村{year}年度"
                  f"{_product_title(product)}“{lst.event}”理赔情况公示如下（被保险人姓名、证件号码已作部分隐藏）。",
            columns=columns, rows=rows,
            totals=[f"合计（{len(people)}户）", "", "", "", _money(agreed), _money(paid), ""],
            totals_span=4,
            closing=_closing(lst, period, len(people), agreed, paid),
            signature=[lst.insurer.name, chinese_date(period.starts_on)],
            filename=f"{township}{village_name}_理赔公示.pdf",
            footer=f"{county.name}{township}{village_name}　{title}")


def files_title(lst: PayoutList) -> str:
    """The name of a file holding all the list's notices."""
    return f"{lst.region.name}{lst.year}年度{_product_title(lst.product)}理赔公示_{lst.event}_{lst.insurer.short_name}"
