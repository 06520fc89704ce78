"""Claim payout lists (理赔清单): import, matching to the underwriting lists, flags for the county bureau, and the
underwriters' measured service (loss ratio, settlement days) computed from the stored rows.

Matching, precisely: a payout row is matched to a row, with the same ID number, of an underwriting list stored for
a subsidy claim of the same insurer, county, product and year that was not returned (drafts count: the list is
the insurer's statement of whom it insured); the first such row (lowest list, then row number) is kept. A row
without one is an error naming the row: nothing of the file is stored. The farmer's cover is the sum insured of
all its matched rows (a farmer insured on two plots has two rows). A matched row whose name differs from the
underwriting row's is flagged "承保清单中无此姓名的农户" (the ID is listed, under another name).

The whole import runs in the caller's transaction (rows written while the file is read, COPY on PostgreSQL);
any error makes the caller roll back.
"""

from __future__ import annotations

from array import array
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from itertools import compress
from pathlib import Path

import sqlalchemy as sa
from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from agri_insurance import data_keys
from agri_insurance.actions import Action, Actions
from agri_insurance.audit import service as audit
from agri_insurance.clock import local_today, utcnow
from agri_insurance.db_types import to_fen
from agri_insurance.errors import require
from agri_insurance.extensions import db, lock_for_update
from agri_insurance.i18n import pick
from agri_insurance.list_files import (
    COPY_PART_ROWS,
    BatchWriter,
    CopyWriter,
    Findings,
    copy_escape,
    in_blocks,
    is_blank,
    map_header,
    open_list_meanwhile,
    reading_processes,
    uses_copy,
)
from agri_insurance.masking import mask_name
from agri_insurance.payouts import notices
from agri_insurance.payouts.models import PayoutFlag, PayoutFlagKind, PayoutList, PayoutRow, PayoutVillage
from agri_insurance.payouts.parsing import SCHEMA, PayoutRowValidator, PayoutValidRow
from agri_insurance.reference.models import Insurer, Product, Region, RegionLevel
from agri_insurance.roles import Role
from agri_insurance.subsidies.models import ClaimStatus, SubsidyClaim
from agri_insurance.underwriting.models import UnderwritingList, UnderwritingRow
from agri_insurance.underwriting.service import ListHasErrors, file_sha256

IMPORT_KIND = "payouts.import"  # the import job's kind
ALLOWED_SUFFIXES = (".xlsx", ".csv")
PAYMENT_DAYS = 10  # 《农业保险条例》第十六条: paid within 10 days of the agreement on the amount
ZERO = Decimal("0.00")
Progress = Callable[[int, str], None]
ROW_COLUMNS = ("list_id", "row_no", "name", "id_kind", "id_number", "id_hash", "insurer_id", "region_id", "product_id",
               "year", "uw_list_id", "uw_row_no",
               "loss_date", "reported_date", "survey_date", "agreed_amount", "agreed_date", "paid_amount",
               "paid_date", "settle_days", "pay_days", "bank_account")


def settlement_days_limit() -> int:
    return int(current_app.config.get("PAYOUT_SETTLEMENT_DAYS", 60))


# --- importing a list ----------------------------------------------------------------------------------------

def list_for(insurer_id: int, region_id: int, product_id: int, year: int, event: str) -> PayoutList | None:
    return db.session.scalar(sa.select(PayoutList).where(
        PayoutList.insurer_id == insurer_id, PayoutList.region_id == region_id, PayoutList.product_id == product_id,
        PayoutList.year == year, PayoutList.event == event))


# an arbitrary constant: the first key of the PostgreSQL advisory locks that queue imports of one loss event
_EVENT_LOCK = 0x50415954


def claim_the_event(insurer_id: int, region_id: int, product_id: int, year: int, event: str) -> None:
    """Hold the loss event's import until the transaction ends, or refuse in words while another import of the same
    event (the same insurer, county, product and year) is running: without it the second import met the first
    one's list at its unique constraint, or deleted the list the first was replacing, and failed as a technical
    error. PostgreSQL: a transaction-level advisory lock on the event, taken without waiting (an import may run for
    minutes; a job that waited would hold a worker). SQLite: its database-wide write lock already queues them."""
    if db.session.get_bind().dialect.name != "postgresql":
        return
    got = db.session.scalar(sa.text("SELECT pg_try_advisory_xact_lock(:kind, hashtext(:event))"), {
        "kind": _EVENT_LOCK, "event": f"{insurer_id}/{region_id}/{product_id}/{year}/{event}"})
    require(got, _("“%(event)s”的理赔清单正在由另一次上传导入，请等它完成后再上传（新上传的清单会替换它）",
                   event=event), "file")


def check_scope(data: dict, actor) -> None:
    """What the insurer chose before its file is read: a county, a product, a year and the loss event."""
    require(actor.role is Role.INSURER and actor.insurer_id is not None, _("只有承保机构可以上传理赔清单"))
    region = db.session.get(Region, data.get("region_id") or 0)
    require(region is not None and region.level is RegionLevel.COUNTY, _("请选择县（市、区）"), "region_id")
    require(db.session.get(Product, data.get("product_id") or 0) is not None, _("请选择险种"), "product_id")
    year = data.get("year")
    require(isinstance(year, int) and 2000 <= year <= local_today().year, _("年度不正确"), "year")
    event = (data.get("event") or "").strip()
    require(0 < len(event) <= 100, _("请填写灾害事故（如 2025年6月洪涝）"), "event")


def import_payouts(data: dict, path: Path, filename: str, actor, progress: Progress | None = None,
                   total_bytes: int | None = None) -> PayoutList:
    """Validate `path`, match every row to the underwriting lists and store it as the insurer's payout list for
    the county, product, year and loss event of `data` (replacing the one before). ListHasErrors (every error
    with its row and column) or DomainError otherwise; the caller commits or rolls back.

    Matching and the flags of a row happen while the file is read: the scope's underwriting rows are loaded once
    (`policies_of`, while the file's archive is checked), each valid row looked up by its ID number's keyed hash,
    its match written into its stored line and its flags worded at once (`RowFlags`); the flags are stored after
    the rows (COPY on PostgreSQL). Only "paid twice" across the scope's other lists is a statement over stored rows
    (`flag_paid_twice_across`)."""
    progress = progress or (lambda _pct, _msg: None)
    check_scope(data, actor)
    require(Path(filename).suffix.lower() in ALLOWED_SUFFIXES, _("请上传 xlsx 或 csv 文件"), "file")
    event = data["event"].strip()
    scope = {"insurer_id": actor.insurer_id, "region_id": data["region_id"], "product_id": data["product_id"],
             "year": data["year"]}
    claim_the_event(**scope, event=event)

    def replace_and_load() -> tuple[PayoutList, Policies]:
        old = list_for(**scope, event=event)
        if old is not None:
            remove_list(old, actor, "replaced")
        payout_list = PayoutList(**scope, event=event, filename=filename[:255], sha256=file_sha256(path), rows=0,
                                 total_agreed=ZERO, total_paid=ZERO, flag_count=0, uploaded_by_id=actor.id)
        db.session.add(payout_list)
        db.session.flush()
        return payout_list, policies_of(payout_list)

    findings = Findings()
    progress(2, _("正在与承保清单比对"))
    # the archive check inflates the sheet (zlib lets go of the GIL) while the database replaces the event's old
    # list and sends the farmers to match against
    found, (payout_list, policies) = open_list_meanwhile(path, filename, SCHEMA, replace_and_load)
    positions = map_header(SCHEMA, list(found.header), findings, found.header_row)
    if positions is None:
        raise ListHasErrors(findings)
    validator = PayoutRowValidator(positions, data["year"], local_today(), findings)
    flagger = RowFlags(local_today(), settlement_days_limit())
    copy = uses_copy()
    reader = _BlockReader(validator, flagger, policies, data_keys.keys(), _fixed(payout_list), copy)
    parts = in_blocks(found, reader.read, reading_processes(found) if copy else 1)
    writer = _writer(payout_list)
    count, agreed, paid = 0, ZERO, ZERO
    unmatched: list[int] = []
    flags: list[tuple[int, str, str]] = []
    villages = VillageSums(policies)
    flags_sent = 0  # (COPY) the flags sent with the rows, while the file is read
    try:
        for part in parts:
            findings.absorb(part.findings)
            count += part.count
            unmatched.extend(part.unmatched)
            if findings.error_count or unmatched:
                continue  # keep reading to report every error, but store nothing more
            if copy:
                writer.add_lines(len(part.stored), "".join(part.stored))
            else:
                for values in part.stored:
                    writer.add(values)
            flags.extend(part.flags)
            flagger.paid_twice(flags, part.matched, policies)
            if copy and len(flags) - flags_sent >= COPY_PART_ROWS:
                flags_sent = _send_flags(writer, payout_list, flags, flags_sent)
            villages.absorb(part.villages)
            agreed += part.agreed
            paid += part.paid
            progress(min(70, 5 + count * 65 // max(1, (total_bytes or 500_000) // 60)),
                     _("已检查 %(n)s 行", n=f"{count:,}"))
        if copy and not findings.error_count and not unmatched:
            flags_sent = _send_flags(writer, payout_list, flags, flags_sent)
    except BaseException:
        writer.abort()  # leave the connection usable so the caller can roll back
        raise
    finally:
        parts.close()
    writer.close()
    if count == 0:
        findings.add(found.header_row + 1, "", _("清单没有数据行"))
    if findings.error_count:
        raise ListHasErrors(findings)
    for row_no in unmatched:
        findings.add(row_no, SCHEMA.header_text("id_number"), _(
            "第%(row)s行：该农户不在本机构本县本险种%(year)s年度的承保清单中（按证件号码比对）",
            row=row_no, year=data["year"]))
    if findings.error_count:
        raise ListHasErrors(findings)

    progress(85, _("正在标记需关注的赔付"))
    villages.store(payout_list)
    payout_list.rows = count
    payout_list.total_agreed = agreed
    payout_list.total_paid = paid
    if not copy:
        store_flags(payout_list, flags)
    flag_paid_twice_across(payout_list)
    payout_list.flag_count = db.session.scalar(sa.select(sa.func.count()).where(PayoutFlag.list_id == payout_list.id))
    db.session.flush()
    audit.record(actor, "payout_list.imported", payout_list,
                 _l("上传理赔清单：%(event)s，%(rows)s 行，已付赔款 %(paid)s 元，标记 %(flags)s 处",
                    event=event, rows=count, paid=f"{paid:,.2f}", flags=payout_list.flag_count),
                 filename=filename, sha256=payout_list.sha256, rows=count)
    progress(100, _("导入完成"))
    return payout_list


@dataclass
class _Block:
    """What a block of the file gave (`_BlockReader.read`): its rows counted, its findings and unmatched rows, and
    for its stored rows their COPY lines (PostgreSQL) or values, flags (but "paid twice in this list", which
    depends on the blocks before: `RowFlags.paid_twice`), (row number, farmer) and amounts."""

    count: int
    findings: Findings
    unmatched: list[int]
    stored: list
    flags: list[tuple[int, str, str]]
    matched: list[tuple[int, int]]
    agreed: Decimal
    paid: Decimal
    villages: dict[int, list]  # village number (Policies.village_of): [rows, agreed, paid]


class _BlockReader:
    """Checks, matches, flags and seals the rows of a block, without the database (it may run in a reading
    process of its own: list_files.in_blocks)."""

    def __init__(self, validator: PayoutRowValidator, flagger: RowFlags, policies: Policies, keys, fixed: tuple,
                 copy: bool) -> None:
        self.validator = validator
        self.flagger = flagger
        self.policies = policies
        self.keys = keys
        self.fixed = fixed
        self.copy = copy

    def read(self, block: list[tuple[int, list]]) -> _Block:
        findings = self.validator.findings = Findings()
        validate, flag, find, hash_id = self.validator.validate, self.flagger.add, self.policies.find, self.keys.hash
        policies, fixed = self.policies, self.fixed
        line = self.line if self.copy else None
        count, agreed, paid = 0, ZERO, ZERO
        unmatched: list[int] = []
        stored: list = []
        flags: list[tuple[int, str, str]] = []
        matched: list[tuple[int, int]] = []
        villages: dict[int, list] = {}  # village number: [rows, agreed, paid]
        village_of = policies.village_of
        for row_no, cells in block:
            if is_blank(cells):
                continue
            valid = validate(row_no, cells)
            count += 1
            if valid is None or findings.error_count:
                continue  # keep validating to report every error, but store nothing more
            id_hash = hash_id(valid.id_number)
            farmer = find(id_hash)
            if farmer is None or unmatched:
                if farmer is None:
                    unmatched.append(row_no)
                continue  # reported when the file has no other error
            flag(flags, valid, policies, farmer)
            matched.append((row_no, farmer))
            uw_list_id, uw_row_no = policies.list_ids[farmer], policies.row_nos[farmer]
            stored.append(line(valid, id_hash, uw_list_id, uw_row_no) if line is not None
                          else dict(zip(ROW_COLUMNS, _values(fixed, valid, id_hash, uw_list_id, uw_row_no),
                                        strict=True)))
            agreed += valid.agreed_amount
            paid += valid.paid_amount or ZERO
            sums = villages.get(village_of[farmer])
            if sums is None:
                villages[village_of[farmer]] = [1, valid.agreed_amount, valid.paid_amount or ZERO]
            else:
                sums[0] += 1
                sums[1] += valid.agreed_amount
                sums[2] += valid.paid_amount or ZERO
        return _Block(count, findings, unmatched, stored, flags, matched, agreed, paid, villages)

    def line(self, r: PayoutValidRow, id_hash: str, uw_list_id: int, uw_row_no: int) -> str:
        # one f-string per row (the generic copy_line's per-value type tests were a sixth of the import's time);
        # the text cells are escaped, the rest are numbers and dates
        # the ID number and the account are sealed here, where the parsed row becomes the stored line
        list_id, insurer_id, region_id, product_id, year = self.fixed
        paid = r.paid_date
        keys = self.keys
        return (
            f"{list_id}\t{r.row_no}\t{copy_escape(r.name)}\t{r.id_kind}\t{keys.encrypt(r.id_number)}\t"
            f"{id_hash}\t{insurer_id}\t"
            f"{region_id}\t{product_id}\t{year}\t{uw_list_id}\t{uw_row_no}\t{r.loss_date.isoformat()}\t"
            f"{r.reported_date.isoformat()}\t"
            f"{r.survey_date.isoformat()}\t{r.agreed_amount}\t{r.agreed_date.isoformat()}\t"
            + (f"{r.paid_amount}\t{paid.isoformat()}\t{(paid - r.reported_date).days}\t"
               f"{(paid - r.agreed_date).days}\t" if paid is not None else "\\N\t\\N\t\\N\t\\N\t")
            + (f"{keys.encrypt(r.bank_account)}\n" if r.bank_account else "\\N\n"))


def _fixed(lst: PayoutList) -> tuple:
    return lst.id, lst.insurer_id, lst.region_id, lst.product_id, lst.year


def _values(fixed: tuple, r: PayoutValidRow, id_hash: str, uw_list_id: int, uw_row_no: int) -> tuple:
    list_id, insurer_id, region_id, product_id, year = fixed
    return (list_id, r.row_no, r.name, r.id_kind, r.id_number, id_hash, insurer_id, region_id, product_id, year,
            uw_list_id, uw_row_no, r.loss_date,
            r.reported_date, r.survey_date, r.agreed_amount, r.agreed_date, r.paid_amount, r.paid_date,
            r.settle_days, r.pay_days, r.bank_account)


def _writer(payout_list: PayoutList) -> CopyWriter | BatchWriter:
    # the columns' Encrypted type seals the ID number and the account on the way in (BatchWriter)
    if uses_copy():
        return CopyWriter("payout_rows", ROW_COLUMNS, then=("payout_flags", FLAG_COLUMNS))
    return BatchWriter(PayoutRow.__table__)


# --- matching and flags -----------------------------------------------------------------------------------------

def _underwriting_of(payout_list: PayoutList, *columns) -> sa.Select:
    """`columns` of the underwriting rows a row of the list may be matched to: same insurer, county, product and
    year, of a claim not returned."""
    u = UnderwritingRow.__table__
    return (sa.select(*columns)
            .select_from(u.join(UnderwritingList, UnderwritingList.id == u.c.list_id)
                         .join(SubsidyClaim, SubsidyClaim.id == UnderwritingList.claim_id))
            .where(u.c.product_id == payout_list.product_id, u.c.year == payout_list.year,
                   u.c.insurer_id == payout_list.insurer_id, SubsidyClaim.region_id == payout_list.region_id,
                   SubsidyClaim.status != ClaimStatus.RETURNED))


PLACE_SEPARATOR = "\x1f"  # between a township and a village in one string (a control character no name holds)


class Policies:
    """The farmers a payout list's rows may be matched to, each found by its ID number's keyed hash: its first
    underwriting row (lowest list, then row), the name on that row, its cover in fen (the sum insured of all its
    rows: a farmer insured on two plots has two rows), and its first row in the payout list being read (0: none
    yet). Kept compact, in arrays beside one dict (a million farmers are held beside calamine's sheet)."""

    def __init__(self, hashes: list[bytes], list_ids: list[int], row_nos: list[int], names: list[str],
                 cover_fen: list[int], places: list[str]) -> None:
        self.index: dict[bytes, int] = dict(zip(hashes, range(len(names)), strict=True))
        self.list_ids, self.row_nos, self.cover_fen = array("q", list_ids), array("q", row_nos), array("q", cover_fen)
        self.names = names
        self.first_rows = array("q", [0]) * len(names)
        # the village of each farmer's first row (what its payouts are noticed under), numbered: `villages[n]` is
        # (township, village) of number n; `places` are "township\x1fvillage", one a farmer
        numbers: dict[str, int] = {}
        self.village_of = array("l", [numbers.setdefault(place, len(numbers)) for place in places])
        self.villages: list[tuple[str, str]] = [tuple(place.split(PLACE_SEPARATOR, 1)) for place in numbers]

    def find(self, id_hash: str) -> int | None:
        return self.index.get(bytes.fromhex(id_hash))


def policies_of(payout_list: PayoutList) -> Policies:
    """The farmers of the underwriting lists the list's rows may be matched to: one query, one farmer a row (its
    first row numbered 1 by a window, its cover summed by another); on PostgreSQL aggregated into five arrays in
    one row, which the driver parses without a Python object per row (a row at a time took 2.5 s of 100,000)."""
    u = UnderwritingRow.__table__
    postgres = db.session.get_bind().dialect.name == "postgresql"
    # the hashes are hex: sorted byte by byte (COLLATE "C"), not by the database's language rules (half the sort)
    farmer = u.c.id_hash.collate("C") if postgres else u.c.id_hash
    ranked = _underwriting_of(
        payout_list, u.c.id_hash, u.c.list_id, u.c.row_no, u.c.name,
        sa.func.row_number().over(partition_by=farmer, order_by=(u.c.list_id, u.c.row_no)).label("rank"),
        sa.func.sum(u.c.sum_insured).over(partition_by=farmer).label("covered"),
        (u.c.township + PLACE_SEPARATOR + u.c.village).label("place")).subquery("ranked")
    if postgres:
        # the aggregates of one query read its rows in one order, so the arrays line up
        hashes, list_ids, row_nos, names, cover_fen, places = db.session.execute(sa.select(
            sa.func.array_agg(sa.func.decode(ranked.c.id_hash, "hex")), sa.func.array_agg(ranked.c.list_id),
            sa.func.array_agg(ranked.c.row_no), sa.func.array_agg(ranked.c.name),
            sa.func.array_agg(sa.cast(ranked.c.covered * 100, sa.BigInteger)), sa.func.array_agg(ranked.c.place))
            .where(ranked.c.rank == 1)).one()
        if hashes is None:
            return Policies([], [], [], [], [], [])
        return Policies(hashes, list_ids, row_nos, names, cover_fen, places)
    rows = db.session.execute(sa.select(ranked.c.id_hash, ranked.c.list_id, ranked.c.row_no, ranked.c.name,
                                        ranked.c.covered, ranked.c.place).where(ranked.c.rank == 1)).all()
    return Policies([bytes.fromhex(r.id_hash) for r in rows], [r.list_id for r in rows], [r.row_no for r in rows],
                    [r.name for r in rows], [int(r.covered.scaleb(2)) for r in rows], [r.place for r in rows])


class VillageSums:
    """The list's villages as its blocks are read (`_Block.villages`), stored once the rows are (PayoutVillage):
    a payout row's village is its farmer's first underwriting row's; its households are the farmers paid in it."""

    def __init__(self, policies: Policies) -> None:
        self.policies = policies
        self.sums: dict[int, list] = {}

    def absorb(self, villages: dict[int, list]) -> None:
        for number, (rows, agreed, paid) in villages.items():
            sums = self.sums.get(number)
            if sums is None:
                self.sums[number] = [rows, agreed, paid]
            else:
                sums[0] += rows
                sums[1] += agreed
                sums[2] += paid

    def store(self, payout_list: PayoutList) -> None:
        policies = self.policies
        # the farmers with a row in the list (RowFlags.paid_twice kept their first), counted by village in C
        households = Counter(compress(policies.village_of, policies.first_rows))
        values = [{"list_id": payout_list.id, "township": policies.villages[number][0],
                   "village": policies.villages[number][1], "households": households[number], "rows": rows,
                   "agreed": agreed, "paid": paid} for number, (rows, agreed, paid) in self.sums.items()]
        if values:
            db.session.execute(sa.insert(PayoutVillage), values)


class RowFlags:
    """The flags of one matched payout row, worded (what the county bureau reads): a payout above the farmer's sum
    insured, the ID listed under another name, paid more than 10 days after the agreement (or unpaid past them),
    settled more than the settlement limit after the report (or unpaid past it), and the farmer paid before in
    this list. In this order for a row; the translated templates are looked up once per import."""

    def __init__(self, today: date, slow: int) -> None:
        self.today = today
        self.slow = slow
        self.over = _("赔款 %(paid)s 元，保险金额 %(cover)s 元")
        self.other_name = _("承保清单中该证件号码的姓名为“%(name)s”")
        self.paid_late = _("协议后第 %(n)s 天支付")
        self.unpaid_late = _("协议已 %(n)s 天，尚未支付")
        self.slow_paid = _("报案后第 %(n)s 天支付（超过 %(limit)s 天）")
        self.slow_unpaid = _("报案已 %(n)s 天，尚未支付（超过 %(limit)s 天）")
        self.twice = _("与第 %(row)s 行为同一农户、同一事故")

    def add(self, flags: list[tuple[int, str, str]], r: PayoutValidRow, policies: Policies, farmer: int) -> None:
        """Append (row number, kind, detail) for each flag of `r`, matched to the farmer `farmer` of `policies`,
        but "paid twice in this list" (`paid_twice`)."""
        row_no = r.row_no
        paid_or_agreed = r.agreed_amount if r.paid_amount is None or r.paid_amount <= r.agreed_amount \
            else r.paid_amount
        cover_fen = policies.cover_fen[farmer]
        if paid_or_agreed.scaleb(2) > cover_fen:
            flags.append((row_no, OVER_SUM_INSURED, (self.over % {
                "paid": f"{paid_or_agreed:,.2f}", "cover": f"{Decimal(cover_fen).scaleb(-2):,.2f}"})[:200]))
        listed_name = policies.names[farmer]
        if r.name != listed_name:
            flags.append((row_no, NAME_NOT_IN_LIST, (self.other_name % {"name": mask_name(listed_name)})[:200]))
        paid = r.paid_date
        if paid is not None:
            pay_days = (paid - r.agreed_date).days
            if pay_days > PAYMENT_DAYS:
                flags.append((row_no, PAID_LATE, (self.paid_late % {"n": pay_days})[:200]))
            settle_days = (paid - r.reported_date).days
            if settle_days > self.slow:
                flags.append((row_no, SLOW_SETTLEMENT, (self.slow_paid % {"n": settle_days, "limit": self.slow}
                                                        )[:200]))
        else:
            waited = (self.today - r.agreed_date).days
            if waited > PAYMENT_DAYS:
                flags.append((row_no, PAID_LATE, (self.unpaid_late % {"n": waited})[:200]))
            waited = (self.today - r.reported_date).days
            if waited > self.slow:
                flags.append((row_no, SLOW_SETTLEMENT, (self.slow_unpaid % {"n": waited, "limit": self.slow}
                                                        )[:200]))

    def paid_twice(self, flags: list[tuple[int, str, str]], matched: list[tuple[int, int]],
                   policies: Policies) -> None:
        """Append the "paid twice in this list" flag of each (row number, farmer) of `matched` whose farmer has a
        row before it in the list (its first row is kept in `policies`); called with the blocks in the file's
        order, after the block's other flags (so a row's flags keep their order)."""
        first_rows = policies.first_rows
        for row_no, farmer in matched:
            first_row = first_rows[farmer]
            if not first_row:
                first_rows[farmer] = row_no
            else:
                flags.append((row_no, PAID_TWICE, (self.twice % {"row": first_row})[:200]))


OVER_SUM_INSURED = PayoutFlagKind.OVER_SUM_INSURED.value
NAME_NOT_IN_LIST = PayoutFlagKind.NAME_NOT_IN_LIST.value
PAID_LATE = PayoutFlagKind.PAID_LATE.value
SLOW_SETTLEMENT = PayoutFlagKind.SLOW_SETTLEMENT.value
PAID_TWICE = PayoutFlagKind.PAID_TWICE.value
FLAG_COLUMNS = ("list_id", "row_no", "kind", "detail")


def _send_flags(writer: CopyWriter, payout_list: PayoutList, flags: list[tuple[int, str, str]], sent: int) -> int:
    """(PostgreSQL) The flags after the first `sent` handed to the rows' COPY writer, which stores them after the
    rows handed over before (their foreign key finds them), in the rows' order; how many are sent now."""
    prefix = f"{payout_list.id}\t"
    writer.add_lines(len(flags) - sent, "".join(f"{prefix}{row_no}\t{kind}\t{copy_escape(detail)}\n"
                                                for row_no, kind, detail in flags[sent:]), then=True)
    return len(flags)


def store_flags(payout_list: PayoutList, flags: list[tuple[int, str, str]]) -> None:
    """Store the flags worded while the rows were read, in the rows' order (SQLite: on PostgreSQL they are sent
    with the rows, `_send_flags`)."""
    if not flags:
        return
    db.session.execute(sa.insert(PayoutFlag.__table__), [
        {"list_id": payout_list.id, "row_no": row_no, "kind": kind, "detail": detail}
        for row_no, kind, detail in flags])


def _detail(template: str, *values) -> sa.ColumnElement:
    """A flag's detail built in SQL: `template` (translated, with {0}, {1}… where `values` go) as concatenation."""
    parts = template.split("{")
    expression = sa.literal(parts[0], sa.String)
    for part in parts[1:]:
        index, rest = part.split("}", 1)
        expression = expression + sa.cast(values[int(index)], sa.String) + sa.literal(rest, sa.String)
    return sa.func.substr(expression, 1, 200)


def flag_paid_twice_across(payout_list: PayoutList) -> None:
    """Flag the list's rows whose farmer was already paid for the same loss in another stored list of the same
    insurer, county, product and year: the same ID number and the same loss date (one event uploaded under two
    names, or split into two lists; a list is unique per event name, so the name alone never meets another list).
    One INSERT … SELECT over a window function (sorted once, nothing per row)."""
    p = PayoutRow.__table__
    columns = FLAG_COLUMNS
    kind = sa.literal(PAID_TWICE)
    # the first row (lowest list, then row) of every farmer and loss date among the scope's other lists
    others = (sa.select(p.c.id_hash, p.c.loss_date, p.c.list_id, p.c.row_no,
                        sa.func.row_number().over(partition_by=(p.c.id_hash, p.c.loss_date),
                                                  order_by=(p.c.list_id, p.c.row_no)).label("rank"))
              .where(p.c.insurer_id == payout_list.insurer_id, p.c.region_id == payout_list.region_id,
                     p.c.product_id == payout_list.product_id, p.c.year == payout_list.year,
                     p.c.list_id != payout_list.id).subquery("others"))
    other_list = sa.alias(PayoutList.__table__, "other_list")
    across = (sa.select(p.c.list_id, p.c.row_no, kind,
                        _detail(_("与理赔清单“%(event)s”第 %(row)s 行为同一农户、同一出险日期", event="{0}", row="{1}"),
                                other_list.c.event, others.c.row_no))
              .select_from(p.join(others, sa.and_(others.c.id_hash == p.c.id_hash,
                                                  others.c.loss_date == p.c.loss_date, others.c.rank == 1))
                           .join(other_list, other_list.c.id == others.c.list_id))
              .where(p.c.list_id == payout_list.id))
    db.session.execute(sa.insert(PayoutFlag.__table__).from_select(columns, across))


def unmatch_underwriting_list(underwriting_list_id: int) -> None:
    """An underwriting list is being deleted: the payout rows matched to its rows keep their payout and lose the
    match (their village, what a farmer was insured for), as a row matched to nothing stored. The reference has no
    foreign key (migration 0044): its check on each payout row stored was a sixth of a million-row import."""
    db.session.execute(sa.update(PayoutRow).where(PayoutRow.uw_list_id == underwriting_list_id)
                       .values(uw_list_id=None, uw_row_no=None))


def remove_list(payout_list: PayoutList, actor, reason: str) -> None:
    """Delete the list with its rows and flags (reviews included) and its notice to farmers (period and photos),
    audited; `reason` says why. The list's row is locked first, so a photo being added waits and is then refused."""
    lock_for_update(payout_list)
    audit.record(actor, "payout_list.removed", payout_list,
                 _l("删除理赔清单：%(event)s（%(rows)s 行）", event=payout_list.event, rows=payout_list.rows),
                 reason=reason, filename=payout_list.filename, sha256=payout_list.sha256, rows=payout_list.rows)
    # its notice showed its payouts: a new list is noticed anew (SQLite enforces no cascade)
    had_period, photos = notices.drop_notice(payout_list)
    if had_period or photos:
        audit.record(actor, "payout_notice.dropped", payout_list,
                     _l("理赔清单已替换或删除，其理赔公示（含张贴照片 %(n)s 张）随之删除，请按新清单重新公示", n=photos),
                     list_sha256=payout_list.sha256, photos=photos)
    db.session.execute(sa.delete(PayoutFlag).where(PayoutFlag.list_id == payout_list.id))
    db.session.execute(sa.delete(PayoutVillage).where(PayoutVillage.list_id == payout_list.id))
    db.session.execute(sa.delete(PayoutRow).where(PayoutRow.list_id == payout_list.id))
    db.session.delete(payout_list)
    db.session.flush()


# --- the county's review of a flag ------------------------------------------------------------------------------

def may_review(flag: PayoutFlag, user) -> bool:
    return user.role is Role.COUNTY_AGRI and user.region_id == flag.list.region_id and not flag.reviewed


def accept_flag(flag: PayoutFlag, actor, comment: str) -> None:
    """The county bureau has looked at the flagged row and accepts it, saying why. A conditional UPDATE, so two
    reviews at once do not both land."""
    require(actor.role is Role.COUNTY_AGRI and actor.region_id == flag.list.region_id,
            _("只有本县农业农村局可以审核标记"))
    comment = (comment or "").strip()
    require(comment, _("请填写审核意见"), "comment")
    require(len(comment) <= 500, _("审核意见最多500字"), "comment")
    done = db.session.execute(sa.update(PayoutFlag).where(PayoutFlag.id == flag.id, PayoutFlag.reviewed_at.is_(None))
                              .values(comment=comment, reviewed_by_id=actor.id, reviewed_at=utcnow()))
    require(done.rowcount == 1, _("该标记已审核"))
    db.session.refresh(flag)
    audit.record(actor, "payout_flag.accepted", flag.list,
                 _l("审核理赔清单标记（第%(row)s行，%(kind)s）：%(comment)s", row=flag.row_no, kind=flag.kind.label,
                    comment=comment), flag_id=flag.id, row_no=flag.row_no, kind=flag.kind.value)


def flags_waiting(user) -> int:
    """Flags of the user's county not yet reviewed (the county bureau's to-do)."""
    if user.role is not Role.COUNTY_AGRI:
        return 0
    return db.session.scalar(sa.select(sa.func.count(PayoutFlag.id)).join(PayoutFlag.list).where(
        PayoutList.region_id == user.region_id, PayoutFlag.reviewed_at.is_(None))) or 0


# --- what a user may do -----------------------------------------------------------------------------------------

def may_upload(user) -> bool:
    return user.role is Role.INSURER


def sees_rows(user) -> bool:
    """Finance sees the measured figures only, never a farmer's row."""
    return user.role in (Role.ADMIN, Role.CITY_AGRI, Role.COUNTY_AGRI, Role.INSURER)


def lists_actions(user) -> Actions:
    actions = [Action("template", _l("下载理赔清单模板"), "payouts.template", element_id="payout-template", order=10),
               Action("service", _l("理赔服务指标"), "payouts.service_overview", style="outline-secondary", order=40)]
    if user.role is Role.COUNTY_AGRI:
        actions.append(Action("flags", _l("待审核标记"), "payouts.flags", style="outline-warning", order=30))
    return Actions(actions)


# --- measured service ---------------------------------------------------------------------------------------------

@dataclass
class MeasuredService:
    """An underwriter's measured claims service in one county, product and year, each figure with the number of
    rows it rests on (None when it rests on none)."""

    insurer_id: int
    region_id: int
    product_id: int
    year: int
    payout_rows: int = 0          # rows of its payout lists: the flagged share rests on them
    paid_rows: int = 0            # of which paid: the settlement figures rest on them
    claims_paid: Decimal = ZERO
    premium: Decimal = ZERO
    premium_rows: int = 0         # underwriting rows the premium rests on
    flagged_rows: int = 0
    paid_within_10: int = 0
    settle_median: float | None = None   # days from report to payment (rounded to 0.01 day: the two databases'
    settle_p90: float | None = None      # interpolations differ in the last bits)

    @property
    def loss_ratio(self) -> Decimal | None:
        """Claims paid / premium (four decimals), None without premium."""
        if not self.premium:
            return None
        return (self.claims_paid / self.premium).quantize(Decimal("0.0001"))

    @property
    def within_10_share(self) -> Decimal | None:
        return _share(self.paid_within_10, self.paid_rows)

    @property
    def flagged_share(self) -> Decimal | None:
        return _share(self.flagged_rows, self.payout_rows)

    @property
    def key(self) -> tuple[int, int, int, int]:
        return self.insurer_id, self.region_id, self.product_id, self.year


def _share(part: int, whole: int) -> Decimal | None:
    return (Decimal(part) / Decimal(whole)).quantize(Decimal("0.0001")) if whole else None


def measured_service(insurer_id: int, region_ids: Iterable[int] | None = None,
                     years: Iterable[int] | None = None) -> list[MeasuredService]:
    """An underwriter's measured figures per county, product and year, for the counties `region_ids` and
    `years` (None: all). What the annual evaluation and the evaluation pages call."""
    return measured(insurer_ids=[insurer_id], region_ids=region_ids, years=years)


def measured(insurer_ids: Iterable[int] | None = None, region_ids: Iterable[int] | None = None,
             years: Iterable[int] | None = None) -> list[MeasuredService]:
    """The measured figures per insurer, county, product and year, computed in SQL from the stored rows (payout
    rows; premium from the underwriting rows of claims the insurer submitted, not returned); ordered by year, county,
    insurer, product. Three queries, whatever the number of groups (on SQLite a fourth for the percentiles)."""
    p = PayoutRow.__table__
    insurer_ids = None if insurer_ids is None else list(insurer_ids)
    region_ids = None if region_ids is None else list(region_ids)
    years = None if years is None else list(years)

    def limit(stmt, insurer, region, year):
        if insurer_ids is not None:
            stmt = stmt.where(insurer.in_(insurer_ids))
        if region_ids is not None:
            stmt = stmt.where(region.in_(region_ids))
        if years is not None:
            stmt = stmt.where(year.in_(years))
        return stmt

    flagged = sa.exists().where(PayoutFlag.list_id == p.c.list_id, PayoutFlag.row_no == p.c.row_no)
    keys = (p.c.insurer_id, p.c.region_id, p.c.product_id, p.c.year)
    paid = p.c.paid_date.is_not(None)
    columns = [*keys, sa.func.count().label("rows"), sa.func.count(p.c.paid_date).label("paid_rows"),
               sa.func.coalesce(sa.func.sum(p.c.paid_amount), 0).label("claims_paid"),
               sa.func.sum(sa.case((flagged, 1), else_=0)).label("flagged"),
               sa.func.sum(sa.case((sa.and_(paid, p.c.pay_days <= PAYMENT_DAYS), 1), else_=0)).label("within")]
    postgres = db.session.get_bind().dialect.name == "postgresql"
    if postgres:
        columns += [sa.func.percentile_cont(0.5).within_group(p.c.settle_days).label("median"),
                    sa.func.percentile_cont(0.9).within_group(p.c.settle_days).label("p90")]
    figures: dict[tuple, MeasuredService] = {}
    for r in db.session.execute(limit(sa.select(*columns), p.c.insurer_id, p.c.region_id, p.c.year)
                                .group_by(*keys)):
        m = MeasuredService(r.insurer_id, r.region_id, r.product_id, r.year, payout_rows=r.rows,
                            paid_rows=r.paid_rows, claims_paid=Decimal(r.claims_paid).quantize(Decimal("0.01")),
                            flagged_rows=int(r.flagged or 0), paid_within_10=int(r.within or 0))
        if postgres:
            m.settle_median = None if r.median is None else round(float(r.median), 2)
            m.settle_p90 = None if r.p90 is None else round(float(r.p90), 2)
        figures[m.key] = m
    if not postgres:
        _percentiles_in_python(figures, limit)

    u = UnderwritingRow.__table__
    premium = (sa.select(u.c.insurer_id, SubsidyClaim.region_id, u.c.product_id, u.c.year,
                         sa.func.sum(u.c.premium).label("premium"), sa.func.count().label("rows"))
               .select_from(u.join(UnderwritingList, UnderwritingList.id == u.c.list_id)
                            .join(SubsidyClaim, SubsidyClaim.id == UnderwritingList.claim_id))
               .where(SubsidyClaim.status.not_in((ClaimStatus.DRAFT, ClaimStatus.RETURNED)))
               .group_by(u.c.insurer_id, SubsidyClaim.region_id, u.c.product_id, u.c.year))
    for r in db.session.execute(limit(premium, u.c.insurer_id, SubsidyClaim.region_id, u.c.year)):
        key = (r.insurer_id, r.region_id, r.product_id, r.year)
        m = figures.setdefault(key, MeasuredService(*key))
        m.premium = Decimal(r.premium).quantize(Decimal("0.01"))
        m.premium_rows = r.rows
    return sorted(figures.values(), key=lambda m: (m.year, m.region_id, m.insurer_id, m.product_id))


def _percentiles_in_python(figures: dict, limit) -> None:
    """SQLite has no percentile_cont: one query of the settlement days, ordered by group, and the same linear
    interpolation PostgreSQL does."""
    p = PayoutRow.__table__
    keys = (p.c.insurer_id, p.c.region_id, p.c.product_id, p.c.year)
    stmt = limit(sa.select(*keys, p.c.settle_days).where(p.c.settle_days.is_not(None)),
                 p.c.insurer_id, p.c.region_id, p.c.year).order_by(*keys, p.c.settle_days)
    current, values = None, []

    def close():
        if current in figures and values:
            figures[current].settle_median = round(percentile_cont(values, 0.5), 2)
            figures[current].settle_p90 = round(percentile_cont(values, 0.9), 2)

    for r in db.session.execute(stmt):
        key = (r.insurer_id, r.region_id, r.product_id, r.year)
        if key != current:
            close()
            current, values = key, []
        values.append(r.settle_days)
    close()


def percentile_cont(ordered: list[int], fraction: float) -> float:
    """PostgreSQL's percentile_cont over sorted values: linear interpolation between the two nearest ranks."""
    if len(ordered) == 1:
        return float(ordered[0])
    position = fraction * (len(ordered) - 1)
    lower = int(position)
    upper = min(lower + 1, len(ordered) - 1)
    return float(ordered[lower] + (ordered[upper] - ordered[lower]) * (position - lower))


def measured_for(user, year: int | None = None, insurer_id: int | None = None,
                 region_id: int | None = None) -> list[MeasuredService]:
    """The measured figures `user` may see: an insurer its own, a county bureau (agriculture or finance) its county's,
    the city all; narrowed to `year`, an insurer and a county when given."""
    insurer_ids = [insurer_id] if insurer_id else None
    region_ids = [region_id] if region_id else None
    if user.role is Role.INSURER:
        insurer_ids = [user.insurer_id]
    elif user.role.needs_county:
        region_ids = [user.region_id]
    return measured(insurer_ids=insurer_ids, region_ids=region_ids, years=[year] if year else None)


def names() -> tuple[dict[int, str], dict[int, str], dict[int, str]]:
    """Insurer, county and product names by id, for the measured pages and export (three small reference tables)."""
    insurers = dict(db.session.execute(sa.select(Insurer.id, Insurer.short_name)).all())
    # counties and products in the reader's language (their English names), insurers as they name themselves
    regions = {id_: pick(name, name_en) for id_, name, name_en in
               db.session.execute(sa.select(Region.id, Region.name, Region.name_en))}
    products = {id_: pick(name, name_en) for id_, name, name_en in
                db.session.execute(sa.select(Product.id, Product.name, Product.name_en))}
    return insurers, regions, products



# --- declared versus measured (the evaluation page of a new round) ------------------------------------------------

@dataclass
class Settlement:
    """An underwriter's measured settlement over some years, all counties and products together: the mean days from
    report to payment and the share (%) paid within 10 days of the agreement, over its paid rows."""

    insurer_id: int
    paid_rows: int
    avg_days: Decimal | None
    on_time_pct: Decimal | None


def settlement_by_insurer(insurer_ids: Iterable[int], years: Iterable[int]) -> dict[int, Settlement]:
    """{insurer id: Settlement} for the insurers with paid rows in `years`; one grouped query."""
    p = PayoutRow.__table__
    paid = p.c.paid_date.is_not(None)
    rows = db.session.execute(
        sa.select(p.c.insurer_id, sa.func.count().label("paid"), sa.func.avg(p.c.settle_days).label("days"),
                  sa.func.sum(sa.case((p.c.pay_days <= PAYMENT_DAYS, 1), else_=0)).label("within"))
        .where(paid, p.c.insurer_id.in_(list(insurer_ids)), p.c.year.in_(list(years))).group_by(p.c.insurer_id))
    hundredth = Decimal("0.01")
    return {r.insurer_id: Settlement(r.insurer_id, r.paid, Decimal(str(r.days)).quantize(hundredth),
                                     (Decimal(int(r.within)) * 100 / r.paid).quantize(hundredth))
            for r in rows}


@dataclass
class DeclaredVersusMeasured:
    """One bidder's declared settlement figures beside the measured ones; a difference is `worse` when the
    measurement is slower (more days) or less punctual (a lower share) than declared."""

    insurer_name: str
    declared_days: Decimal | None
    declared_pct: Decimal | None
    measured: Settlement | None

    @property
    def days_difference(self) -> Decimal | None:
        if self.declared_days is None or self.measured is None:
            return None
        return self.measured.avg_days - self.declared_days

    @property
    def pct_difference(self) -> Decimal | None:
        if self.declared_pct is None or self.measured is None:
            return None
        return self.measured.on_time_pct - self.declared_pct

    @property
    def days_worse(self) -> bool:
        return (self.days_difference or 0) > 0

    @property
    def pct_worse(self) -> bool:
        return (self.pct_difference or 0) < 0


def declared_versus_measured(bids, term_start_year: int, term_years: int = 3) -> list[DeclaredVersusMeasured]:
    """For each bid (its insurer and declared avg_settlement_days, on_time_settlement_pct), the measured figures of
    the term before `term_start_year` (the `term_years` years before it), across the city's counties."""
    years = range(term_start_year - term_years, term_start_year)
    measured = settlement_by_insurer({b.insurer_id for b in bids}, years)
    return [DeclaredVersusMeasured(b.insurer.name, b.avg_settlement_days, b.on_time_settlement_pct,
                                   measured.get(b.insurer_id)) for b in bids]


# --- loss history for the lot design assistant (tenders) ----------------------------------------------------------

def loss_history(region_id: int, years: Iterable[int], by_township: bool = False
                 ) -> list[tuple[int, Decimal, Decimal, int, str | None]]:
    """(product id, premium, claims paid, years with premium, township) of the county over `years`: premium from
    the underwriting rows of claims submitted and not returned (as the measured loss ratio counts it), claims from
    the payout rows; township None for the whole county. With `by_township`, one tuple per township of a product,
    a claim counting in the township of the underwriting row it was matched to; a product with a claim no longer
    placed (its underwriting row replaced since) stays whole, so that no claim is left out. Two or three grouped
    queries."""
    years = list(years)
    u = UnderwritingRow.__table__
    p = PayoutRow.__table__
    paid = sa.func.coalesce(sa.func.sum(p.c.paid_amount), 0)
    payouts = sa.and_(p.c.region_id == region_id, p.c.year.in_(years))

    def premium_by(*keys):
        return db.session.execute(
            sa.select(*keys, sa.func.sum(u.c.premium), sa.func.count(sa.distinct(u.c.year)))
            .select_from(u.join(UnderwritingList, UnderwritingList.id == u.c.list_id)
                         .join(SubsidyClaim, SubsidyClaim.id == UnderwritingList.claim_id))
            .where(SubsidyClaim.status.not_in((ClaimStatus.DRAFT, ClaimStatus.RETURNED)),
                   SubsidyClaim.region_id == region_id, u.c.year.in_(years))
            .group_by(*keys)).all()

    if not by_township:
        claims = {product_id: _fen(amount) for product_id, amount in db.session.execute(
            sa.select(p.c.product_id, paid).where(payouts).group_by(p.c.product_id))}
        return [(product_id, _fen(total), claims.get(product_id, ZERO), int(count), None)
                for product_id, total, count in premium_by(u.c.product_id)]

    claims: dict[tuple[int, str | None], Decimal] = {}
    per_product: dict[int, Decimal] = {}
    unplaced = set()
    for product_id, township, amount in db.session.execute(
            sa.select(p.c.product_id, u.c.township, paid)
            .select_from(p.outerjoin(u, sa.and_(u.c.list_id == p.c.uw_list_id, u.c.row_no == p.c.uw_row_no)))
            .where(payouts).group_by(p.c.product_id, u.c.township)):
        claims[(product_id, township)] = _fen(amount)
        per_product[product_id] = per_product.get(product_id, ZERO) + _fen(amount)
        if township is None and amount:
            unplaced.add(product_id)
    kept_whole = [(product_id, _fen(total), per_product.get(product_id, ZERO), int(count), None)
                  for product_id, total, count in (premium_by(u.c.product_id) if unplaced else ())
                  if product_id in unplaced]
    return kept_whole + [(product_id, _fen(total), claims.get((product_id, township), ZERO), int(count), township)
                         for product_id, township, total, count in premium_by(u.c.product_id, u.c.township)
                         if product_id not in unplaced]


def _fen(value) -> Decimal:
    """A sum as the database returns it (a float on SQLite), to the fen."""
    return to_fen(Decimal(str(value or 0)))
