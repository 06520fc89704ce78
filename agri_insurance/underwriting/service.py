"""Importing an underwriting list for a claim: validate every cell, store all rows or none, reconcile with the
claim, and cross-check for double insurance (measure 9) and quantities above the per-household limit.

The whole import runs in the caller's transaction: rows are written while the file is read (COPY on
PostgreSQL), and any error anywhere makes the caller roll back, so nothing of a bad file is kept.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from itertools import groupby
from operator import attrgetter
from pathlib import Path

import sqlalchemy as sa
from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from agri_insurance import data_keys
from agri_insurance.actions import Action, Actions
from agri_insurance.audit import service as audit
from agri_insurance.db_types import FEN
from agri_insurance.errors import DomainError, require
from agri_insurance.extensions import db, lock_for_update
from agri_insurance.jobs import service as jobs
from agri_insurance.jobs.models import Job, JobStatus
from agri_insurance.list_files import (
    BatchWriter,
    CopyWriter,
    copy_escape,
    copy_line,
    in_blocks,
    is_blank,
    open_list_meanwhile,
    reading_processes,
    uses_copy,
)
from agri_insurance.roles import Role
from agri_insurance.subsidies import service as subsidies
from agri_insurance.subsidies.models import ClaimStatus, SubsidyClaim
from agri_insurance.underwriting import notices, signals
from agri_insurance.underwriting.models import (
    FlagKind,
    UnderwritingFlag,
    UnderwritingList,
    UnderwritingRow,
    UnderwritingVillage,
)
from agri_insurance.underwriting.parsing import SCHEMA, Findings, RowValidator, ValidRow, map_header

ALLOWED_SUFFIXES = (".xlsx", ".csv")
IMPORT_KIND = "underwriting.import"  # the import job's kind; its subject_id is the claim's id
ZERO = Decimal("0.00")
Progress = Callable[[int, str], None]


class ListHasErrors(DomainError):
    """The file has errors: nothing is stored; `findings` lists them by row and column."""

    def __init__(self, findings: Findings) -> None:
        first = findings.errors[0]
        super().__init__(_("清单有 %(n)s 处错误，未导入任何数据。第一处：第%(row)s行“%(col)s”：%(msg)s",
                           n=findings.error_count, row=first.row, col=first.column, msg=first.message))
        self.findings = findings


@dataclass
class ImportOutcome:
    list: UnderwritingList
    normalised_cells: int
    reconciled: bool  # the list matched the claim when it was imported (pages reconcile afresh: see reconcile)


def rows_of(lst: UnderwritingList):
    """The list's rows in file order, streamed as plain rows (attribute access as on the model, without an ORM
    object per row: a list may hold a million)."""
    r = UnderwritingRow
    return db.session.execute(sa.select(r.row_no, r.name, r.id_number, r.township, r.village, r.quantity,
                                        r.sum_insured, r.premium, r.farmer_premium, r.bank_account)
                              .where(r.list_id == lst.id).order_by(r.row_no).execution_options(yield_per=5000))


def list_of(claim: SubsidyClaim) -> UnderwritingList | None:
    """The claim's current underwriting list, if one was imported."""
    return db.session.scalar(sa.select(UnderwritingList).where(UnderwritingList.claim_id == claim.id))


def import_pending(claim: SubsidyClaim) -> bool:
    """Whether an import job for the claim is queued or running: its list may be replaced any moment.

    A job whose process was killed (a worker or web process stopped mid-import) no longer counts, at once: it
    will never finish and stored nothing (jobs.is_orphaned, told by the job's heartbeat); a time limit would
    keep the claim blocked for an hour, or let a long import be overtaken."""
    unfinished = db.session.scalars(sa.select(Job).where(
        Job.kind == IMPORT_KIND, Job.subject_id == claim.id,
        Job.status.in_((JobStatus.QUEUED, JobStatus.RUNNING))))
    return any(not jobs.is_orphaned(job) for job in unfinished)


def latest_new_claim_import(user) -> Job | None:
    """`user`'s last import of a list meant to become a new claim, while it runs or after it failed; None once
    the last one succeeded (its claim's pages take over). Looked for among the user's recent imports."""
    recent = db.session.scalars(sa.select(Job).where(Job.kind == IMPORT_KIND, Job.created_by_id == user.id)
                                .order_by(Job.id.desc()).limit(20))
    job = next((j for j in recent if "new_claim" in (j.params or {})), None)
    return job if job is not None and job.status is not JobStatus.DONE else None


def flagged_rows(claim: SubsidyClaim) -> int:
    """How many rows of the claim's list the cross-checks flagged (0 without a list)."""
    underwriting_list = list_of(claim)
    return underwriting_list.flag_count if underwriting_list is not None else 0


def require_uploadable(claim: SubsidyClaim) -> None:
    """A list may be uploaded for a draft (the insurer's own work) with no import for it running: a second import
    at once would fail on the claim's one list."""
    require(subsidies.is_editable(claim), _("只有草稿状态的申请可以上传承保清单"))
    require(not import_pending(claim), _("承保清单正在导入，请等导入完成后再操作"))


# --- what a user may do with a claim's list --------------------------------------------------------------

def may_upload(claim: SubsidyClaim, user) -> bool:
    """The insurer that files the claim, while the claim is its draft."""
    return user.role is Role.INSURER and user.insurer_id == claim.insurer_id and subsidies.is_editable(claim)


def open_list_action(claim: SubsidyClaim, user) -> Action:
    """The claim page's way to its list: to upload it, or to read it."""
    label = _l("上传或查看清单") if may_upload(claim, user) else _l("查看清单")
    return Action("open-list", label, "underwriting.list_detail", {"claim_id": claim.id}, style="outline-primary",
                  element_id="open-list", order=70)


def list_actions(claim: SubsidyClaim, user, lst: UnderwritingList | None) -> Actions:
    """What `user` may do on the list page of `claim` (its current list `lst`): the template for everyone, an
    upload for the insurer's draft, the export of a list (a large one as a background job)."""
    params = {"claim_id": claim.id}
    actions = [Action("template", _l("下载清单模板"), "underwriting.template", params, element_id="template-download",
                      order=10)]
    if may_upload(claim, user):
        actions.append(Action("upload", _l("上传并校验"), "underwriting.upload", params, post=True, style="success",
                              order=20))
    if lst is not None and lst.rows > int(current_app.config["DIRECT_EXPORT_ROWS"]):
        actions.append(Action("export", _l("后台导出（%(n)s 行，证件号码已脱敏）", n=f"{lst.rows:,}"),
                              "underwriting.export_list", params, post=True, element_id="export-job", order=30))
    elif lst is not None:
        actions.append(Action("export", _l("导出清单（证件号码已脱敏）"), "underwriting.list_xlsx", params, order=30))
    return Actions(actions)


def may_start_claim_from_list(user) -> bool:
    """An insurer files claims; from a list as well as typed."""
    return user.role is Role.INSURER


def new_claim_from_list_action(user) -> Action:
    return Action("new-from-list", _l("从承保清单新建申请"), "underwriting.new_claim_from_list",
                  style="outline-success", element_id="new-claim-from-list", order=30)


def file_again_from_list_action(claim: SubsidyClaim) -> Action:
    """A returned claim filed again from its corrected list: the new claim form from a list, filled with the
    returned claim's county, product, year, period and rate."""
    return Action("file-again-from-list", _l("上传修改后的承保清单重新申报"), "underwriting.new_claim_from_list",
                  {"from_claim": claim.id}, style="outline-success", element_id="file-again-from-list", order=25)


def may_name_claim(other: SubsidyClaim, user) -> bool:
    """Whether a flag may name the other claim its farmer was found in: another insurer's draft is its own
    unfinished work, not named to anyone but the administrator (support)."""
    return not (subsidies.is_editable(other) and other.insurer_id != user.insurer_id and user.role is not Role.ADMIN)


def remove_list(claim: SubsidyClaim, actor, reason: str) -> UnderwritingList | None:
    """Delete the claim's list (rows, flags) in the caller's transaction and audit it; `reason` says why
    (e.g. "claim_deleted"). Returns the removed list, or None when the claim had none. Caller commits."""
    old = _remove_current_list(claim, actor)
    if old is not None:
        audit.record(actor, "underwriting_list.removed", claim,
                     _l("删除承保清单：%(filename)s（%(rows)s 行）", filename=old.filename, rows=old.rows),
                     reason=reason, filename=old.filename, sha256=old.sha256, rows=old.rows)
    return old


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def import_list(claim: SubsidyClaim, path: Path, filename: str, actor, progress: Progress | None = None,
                total_bytes: int | None = None) -> ImportOutcome:
    """Validate and store `path` as the claim's list, replacing the previous one. Caller commits or rolls back."""
    progress = progress or (lambda _pct, _msg: None)
    outcome = _store_list(claim, path, filename, actor, progress, total_bytes)
    _record_import(claim, outcome, filename, actor)
    progress(100, _("导入完成"))
    return outcome


def import_new_claim(data: dict, path: Path, filename: str, actor, progress: Progress | None = None,
                     total_bytes: int | None = None) -> ImportOutcome:
    """A new draft claim whose figures are the totals of its underwriting list (从承保清单新建申请): the insurer
    chose the county, product, year, period and rate (`data`); the list is read and checked exactly as an upload
    for a typed claim, and the claim takes its quantity, sum insured, premium, farmer premium, households and rows
    (sums of the rows' fen amounts: no further rounding), then every rule of a claim is checked on them and its
    shares computed as for any claim. All in the caller's transaction: the claim and its list, or neither.
    Returns the outcome; its list's claim is the new claim."""
    progress = progress or (lambda _pct, _msg: None)
    claim = subsidies.start_claim_from_list(data, actor.insurer, actor)
    outcome = _store_list(claim, path, filename, actor, progress, total_bytes)
    lst = outcome.list
    subsidies.complete_claim_from_list(claim, {
        "quantity": lst.total_quantity, "sum_insured": lst.total_sum_insured, "total_premium": lst.total_premium,
        "farmer_premium": lst.total_farmer_premium, "households": lst.households, "list_rows": lst.rows}, actor)
    outcome.reconciled = not reconcile(claim, lst)
    _record_import(claim, outcome, filename, actor)
    progress(100, _("导入完成"))
    return outcome


def _record_import(claim: SubsidyClaim, outcome: ImportOutcome, filename: str, actor) -> None:
    lst = outcome.list
    audit.record(actor, "underwriting_list.imported", claim,
                 _l("上传承保清单：%(rows)s 行，%(households)s 户，标记 %(flags)s 处",
                   rows=lst.rows, households=lst.households, flags=lst.flag_count),
                 filename=filename, sha256=lst.sha256, rows=lst.rows, reconciled=outcome.reconciled)


def _store_list(claim: SubsidyClaim, path: Path, filename: str, actor, progress: Progress,
                total_bytes: int | None) -> ImportOutcome:
    """Read, check and store the file as the claim's list (replacing the previous one), cross-check its rows;
    ListHasErrors (nothing to keep) or DomainError otherwise. Not audited: the callers record it."""
    require(subsidies.is_editable(claim), _("只有草稿状态的申请可以上传承保清单"))
    require(Path(filename).suffix.lower() in ALLOWED_SUFFIXES, _("请上传 xlsx 或 csv 文件"), "file")

    def replace() -> UnderwritingList:
        _remove_current_list(claim, actor)
        underwriting_list = UnderwritingList(
            claim_id=claim.id, filename=filename[:255], sha256=file_sha256(path), rows=0, households=0,
            total_quantity=ZERO, total_sum_insured=ZERO, total_premium=ZERO, total_farmer_premium=ZERO,
            flag_count=0, uploaded_by_id=actor.id)
        db.session.add(underwriting_list)
        db.session.flush()
        return underwriting_list

    findings = Findings()
    # the archive check (zip bombs) inflates the sheet in a thread while the old list is deleted
    data, underwriting_list = open_list_meanwhile(path, filename, SCHEMA, replace)
    positions = map_header(list(data.header), findings, data.header_row)
    if positions is None:
        raise ListHasErrors(findings)
    product = claim.product
    validator = RowValidator(positions, {product.name, product.code, product.name_en}, product.unit, findings)
    copy = uses_copy()
    reader = _BlockReader(validator, _CopyLines(underwriting_list.id, claim) if copy else None)
    parts = in_blocks(data, reader.read, reading_processes(data) if copy else 1)
    writer = _row_writer(underwriting_list.id, claim)
    try:
        count, totals, people, villages = _read_rows(parts, writer, findings, progress, total_bytes, filename)
    except BaseException:
        writer.abort()  # leave the connection usable so the caller can roll back
        raise
    finally:
        parts.close()
    writer.close()
    # Reading a large file takes a while (it runs as a job): the claim may have been submitted or moved to
    # another county, product or year meanwhile. Lock its row and look again before the list becomes its
    # list; submit_claim takes the same lock first, so it either waits for this list or this import fails.
    scope = (claim.region_id, claim.product_id, claim.year)
    lock_for_update(claim)
    require(subsidies.is_editable(claim) and (claim.region_id, claim.product_id, claim.year) == scope,
            _("导入期间申请已被提交或修改，清单未导入，请重新上传"))
    villages.store(underwriting_list.id)
    progress(82, _("正在比对重复投保"))

    people, repeated = people
    underwriting_list.rows = count
    underwriting_list.households = len(people)
    underwriting_list.total_quantity = totals["quantity"]
    underwriting_list.total_sum_insured = totals["sum_insured"]
    underwriting_list.total_premium = totals["premium"]
    underwriting_list.total_farmer_premium = totals["farmer_premium"]
    reconciled = not reconcile(claim, underwriting_list)
    underwriting_list.flag_count = cross_check(underwriting_list, claim, people, repeated)
    db.session.flush()
    return ImportOutcome(underwriting_list, findings.normalised_cells, reconciled)


@dataclass
class _Block:
    """What a block of the file gave (`_BlockReader.read`): its rows counted, its findings, and for its stored rows
    their COPY lines (PostgreSQL) or the rows themselves, the sums, and (ID number, row number, quantity)."""

    count: int
    findings: Findings
    stored: list
    totals: tuple[Decimal, Decimal, Decimal, Decimal]
    people: list[tuple[str, int, Decimal, int]]  # (ID number, row number, quantity, its village in `villages`)
    villages: list[tuple[str, str]]  # the block's (township, village), in order of appearance
    village_sums: list[list]  # for each: [rows, quantity, premium, farmer premium]


class _BlockReader:
    """Checks and seals the rows of a block, without the database (it may run in a reading process of its own:
    list_files.in_blocks)."""

    def __init__(self, validator: RowValidator, lines: _CopyLines | None) -> None:
        self.validator = validator
        self.lines = lines

    def read(self, block: list[tuple[int, list]]) -> _Block:
        findings = self.validator.findings = Findings()
        validate = self.validator.validate
        line = self.lines.line if self.lines is not None else None
        quantity = sum_insured = premium = farmer_premium = ZERO
        count = 0
        stored: list = []
        people: list[tuple[str, int, Decimal, int]] = []
        numbers: dict[tuple[str, str], int] = {}
        village_sums: list[list] = []
        for row_no, cells in block:
            if is_blank(cells):
                continue
            valid = validate(row_no, cells)
            count += 1
            if valid is None or findings.error_count:
                continue  # keep validating to report every error, but store nothing more
            stored.append(line(valid) if line is not None else valid)
            quantity += valid.quantity
            sum_insured += valid.sum_insured
            premium += valid.premium
            farmer_premium += valid.farmer_premium
            place = (valid.township, valid.village)
            number = numbers.get(place)
            if number is None:
                number = numbers[place] = len(village_sums)
                village_sums.append([1, valid.quantity, valid.premium, valid.farmer_premium])
            else:
                sums = village_sums[number]
                sums[0] += 1
                sums[1] += valid.quantity
                sums[2] += valid.premium
                sums[3] += valid.farmer_premium
            people.append((valid.id_number, row_no, valid.quantity, number))
        return _Block(count, findings, stored, (quantity, sum_insured, premium, farmer_premium), people,
                      list(numbers), village_sums)


def _read_rows(parts, writer, findings: Findings, progress: Progress, total_bytes, filename):
    """Store the valid rows of every block of the file (`_BlockReader`), in the file's order, until the first error.

    Returns (count, totals, people) where people maps an ID number to its first row and quantity, and keeps,
    for people listed more than once, all their rows and their total quantity (for the in-list checks).
    """
    totals = {"quantity": ZERO, "sum_insured": ZERO, "premium": ZERO, "farmer_premium": ZERO}
    people: dict[str, tuple[int, Decimal, int]] = {}  # id → (first row, its quantity, its village's number)
    repeated: dict[str, list] = {}  # id → [total quantity, row_no, row_no, …]
    villages = Villages()
    count = 0
    copy = isinstance(writer, CopyWriter)
    for part in parts:
        findings.absorb(part.findings)
        count += part.count
        if findings.error_count:
            continue  # keep reading to report every error, but store nothing more
        if copy:
            writer.add_lines(len(part.stored), "".join(part.stored))
        else:
            for valid in part.stored:
                writer.add(valid)
        for key, value in zip(("quantity", "sum_insured", "premium", "farmer_premium"), part.totals, strict=True):
            totals[key] += value
        places = villages.absorb(part.villages, part.village_sums)
        households = villages.households
        for id_number, row_no, quantity, number in part.people:
            first = people.get(id_number)
            if first is None:
                place = places[number]
                people[id_number] = (row_no, quantity, place)
                households[place] += 1
            else:
                villages.seen_again(id_number, first[2], places[number])
                group = repeated.get(id_number)
                if group is None:
                    repeated[id_number] = [first[1] + quantity, first[0], row_no]
                else:
                    group[0] += quantity
                    group.append(row_no)
        progress(min(80, 5 + count * 75 // max(1, _estimate_rows(total_bytes, filename))),
                 _("已检查 %(n)s 行", n=f"{count:,}"))
    if count == 0:
        findings.add(2, "", _("清单没有数据行"))
    if findings.error_count:
        raise ListHasErrors(findings)
    return count, totals, (people, repeated), villages


class Villages:
    """The list's villages as its blocks are read (`_Block.villages`): rows and sums, and households (the people
    listed in the village: a person listed in two villages is a household of each), stored once the rows are."""

    def __init__(self) -> None:
        self.numbers: dict[tuple[str, str], int] = {}
        self.sums: list[list] = []
        self.households: list[int] = []
        self.places_of_repeated: dict[str, set[int]] = {}  # a person listed again → the villages counted

    def absorb(self, villages: list[tuple[str, str]], sums: list[list]) -> list[int]:
        """Add a block's sums; the list's number of each of the block's villages."""
        places = []
        for place, block_sums in zip(villages, sums, strict=True):
            number = self.numbers.get(place)
            if number is None:
                number = self.numbers[place] = len(self.sums)
                self.sums.append(block_sums)
                self.households.append(0)
            else:
                mine = self.sums[number]
                for i, value in enumerate(block_sums):
                    mine[i] += value
            places.append(number)
        return places

    def seen_again(self, id_number: str, first_place: int, place: int) -> None:
        """A person listed before (first in village `first_place`) is listed again in village `place`: a
        household there too unless already counted there."""
        places = self.places_of_repeated.get(id_number)
        if places is None:
            places = self.places_of_repeated[id_number] = {first_place}
        if place not in places:
            places.add(place)
            self.households[place] += 1

    def store(self, list_id: int) -> None:
        values = []
        for (township, village), n in self.numbers.items():
            rows, quantity, premium, farmer_premium = self.sums[n]
            values.append({"list_id": list_id, "township": township, "village": village,
                           "households": self.households[n], "rows": rows, "quantity": quantity, "premium": premium,
                           "farmer_premium": farmer_premium})
        if values:
            db.session.execute(sa.insert(UnderwritingVillage), values)


def _estimate_rows(total_bytes: int | None, filename: str) -> int:
    if not total_bytes:
        return 100_000
    per_row = 40 if filename.lower().endswith(".xlsx") else 120
    return max(1, total_bytes // per_row)


def _remove_current_list(claim: SubsidyClaim, actor) -> UnderwritingList | None:
    old = list_of(claim)
    if old is None:
        return None
    # its notice to farmers showed its figures: a new list is noticed anew (SQLite enforces no cascade)
    had_notice = notices.notice_of(old) is not None
    photos = notices.drop_notice(old)
    if had_notice or photos:
        audit.record(actor, "underwriting_notice.dropped", claim,
                     _l("承保清单已替换或删除，其承保公示（含张贴照片 %(n)s 张）随之删除，请按新清单重新公示", n=photos),
                     list_sha256=old.sha256, photos=photos)
    # The flags this list placed on other claims' lists (their farmers insured here too) go with it, so those
    # lists are counted again: their "核查标记 N 处" must not count flags that no longer exist.
    others = db.session.scalars(sa.select(UnderwritingFlag.list_id).distinct().where(
        UnderwritingFlag.other_list_id == old.id, UnderwritingFlag.list_id != old.id)).all()
    db.session.execute(sa.delete(UnderwritingFlag).where(
        sa.or_(UnderwritingFlag.list_id == old.id, UnderwritingFlag.other_list_id == old.id)))
    db.session.execute(sa.delete(UnderwritingVillage).where(UnderwritingVillage.list_id == old.id))
    signals.list_removing.send(old, actor=actor)
    db.session.execute(sa.delete(UnderwritingRow).where(UnderwritingRow.list_id == old.id))
    db.session.delete(old)
    db.session.flush()
    _recount_flags(others)
    return old


# --- storing rows -------------------------------------------------------------------------------------

ROW_COLUMNS = ("list_id", "row_no", "name", "id_kind", "id_number", "id_hash", "township", "village", "product_id",
               "year", "insurer_id", "quantity", "sum_insured", "premium", "farmer_premium", "bank_account")


class _BatchWriter(BatchWriter):
    """Portable: executemany in batches (SQLite and anything else)."""

    def __init__(self, list_id: int, claim: SubsidyClaim) -> None:
        super().__init__(UnderwritingRow.__table__)
        self.fixed = (claim.product_id, claim.year, claim.insurer_id)
        self.list_id = list_id
        self.keys = data_keys.keys()

    def add(self, r: ValidRow) -> None:
        # the columns' Encrypted type seals the ID number and the account on the way in
        super().add({
            "list_id": self.list_id, "row_no": r.row_no, "name": r.name, "id_kind": r.id_kind,
            "id_number": r.id_number, "id_hash": self.keys.hash(r.id_number), "township": r.township,
            "village": r.village, "product_id": self.fixed[0],
            "year": self.fixed[1], "insurer_id": self.fixed[2], "quantity": r.quantity, "sum_insured": r.sum_insured,
            "premium": r.premium, "farmer_premium": r.farmer_premium, "bank_account": r.bank_account})


class _CopyLines:
    """PostgreSQL: a row's line of COPY text, formatted by hand (a million rows: no generic formatting per value)."""

    def __init__(self, list_id: int, claim: SubsidyClaim) -> None:
        self.prefix = f"{list_id}\t"
        self.fixed = f"\t{claim.product_id}\t{claim.year}\t{claim.insurer_id}\t"
        self.keys = data_keys.keys()

    def line(self, r: ValidRow) -> str:
        # Text format: tabs and backslashes in free text are escaped; \N is NULL. The ID number and the account are
        # sealed here, where the parsed row becomes the stored line (base64 and hex: nothing to escape).
        keys = self.keys
        return (
            f"{self.prefix}{r.row_no}\t{_escape(r.name)}\t{r.id_kind}\t{keys.encrypt(r.id_number)}\t"
            f"{keys.hash(r.id_number)}\t{_escape(r.township)}\t"
            f"{_escape(r.village)}{self.fixed}{r.quantity}\t{r.sum_insured}\t{r.premium}\t{r.farmer_premium}\t"
            f"{keys.encrypt(r.bank_account) if r.bank_account else chr(92) + 'N'}\n")


_escape = copy_escape


def _row_writer(list_id: int, claim: SubsidyClaim) -> CopyWriter | _BatchWriter:
    if uses_copy():
        return CopyWriter("underwriting_rows", ROW_COLUMNS)
    return _BatchWriter(list_id, claim)


# --- reconciliation and cross-checks -------------------------------------------------------------------------

def reconcile(claim: SubsidyClaim, lst: UnderwritingList) -> list[str]:
    """What differs between the list and the claim (within a fen for money and quantities)."""
    problems = []
    for label, listed, claimed in (
        (_("承保数量"), lst.total_quantity, claim.quantity),
        (_("保险金额"), lst.total_sum_insured, claim.sum_insured),
        (_("保费"), lst.total_premium, claim.total_premium),
        (_("农户自缴保费"), lst.total_farmer_premium, claim.farmer_premium),
    ):
        if abs(listed - claimed) > FEN:
            problems.append(_("%(what)s：清单合计 %(listed)s，申请填报 %(claimed)s", what=label,
                              listed=f"{listed:,.2f}", claimed=f"{claimed:,.2f}"))
    if lst.households != claim.households:
        problems.append(_("承保户数：清单 %(listed)s 户，申请填报 %(claimed)s 户", listed=lst.households,
                          claimed=claim.households))
    if lst.rows != claim.list_rows:
        problems.append(_("清单行数：清单 %(listed)s 行，申请填报 %(claimed)s 行", listed=lst.rows,
                          claimed=claim.list_rows))
    return problems


def cross_check(lst: UnderwritingList, claim: SubsidyClaim, people: dict, repeated: dict) -> int:
    """Flag rows insured twice (in the list, in the insurer's other claims, by other insurers) and households
    above the product's limit. Flags go on both sides of a duplicate. Returns this list's flag count.

    The in-list checks use what the reader collected; the city-wide check is one grouped pass over the
    product's and year's rows on the covering person index, then a look-up of the few people it finds.
    """
    flags: list[dict] = []

    def flag(list_id, row_no, kind, other=None, detail=None):
        flags.append({"list_id": list_id, "row_no": row_no, "kind": kind.value, "other_list_id": other,
                      "detail": detail})

    for rows_of_person in repeated.values():
        for row_no in rows_of_person[1:]:
            flag(lst.id, row_no, FlagKind.DUPLICATE_IN_LIST)
    limit = claim.product.household_limit
    if limit is not None:
        detail = _("每户上限 %(limit)s %(unit)s", limit=f"{limit:f}", unit=claim.product.unit)
        for id_number, (row_no, quantity, _place) in people.items():
            group = repeated.get(id_number)
            if group is None and quantity > limit:
                flag(lst.id, row_no, FlagKind.OVER_HOUSEHOLD_MAX, detail=detail)
            elif group is not None and group[0] > limit:
                for other_row in group[1:]:
                    flag(lst.id, other_row, FlagKind.OVER_HOUSEHOLD_MAX, detail=detail)

    rows = UnderwritingRow.__table__
    returned = sa.select(UnderwritingList.id).join(SubsidyClaim).where(SubsidyClaim.status == ClaimStatus.RETURNED)
    mine = sa.func.max(sa.case((rows.c.list_id == lst.id, 1), else_=0))
    shared = db.session.scalars(
        sa.select(rows.c.id_hash)
        .where(rows.c.product_id == claim.product_id, rows.c.year == claim.year, rows.c.list_id.not_in(returned))
        .group_by(rows.c.id_hash)
        # in more than one list: min ≠ max, which the server may sum up by hashing (count(DISTINCT …) makes it
        # sort the product's and year's rows by person: 2.7 s of a million against 1.6 s)
        .having(sa.func.min(rows.c.list_id) != sa.func.max(rows.c.list_id), mine == 1)).all()
    found = _rows_of_people(shared, claim, returned)
    touched: set[int] = set()
    for _id_hash, person in groupby(found, key=attrgetter("id_hash")):
        hits = list(person)
        my_rows = [h for h in hits if h.list_id == lst.id]
        for other in (h for h in hits if h.list_id != lst.id):
            kind = (FlagKind.DUPLICATE_SAME_INSURER if other.insurer_id == claim.insurer_id
                    else FlagKind.DUPLICATE_OTHER_INSURER)
            flag(other.list_id, other.row_no, kind, lst.id)
            touched.add(other.list_id)
            for mine_row in my_rows:
                flag(lst.id, mine_row.row_no, kind, other.list_id)
    _store_flags(flags)
    _recount_flags([lst.id, *touched])
    return db.session.scalar(sa.select(UnderwritingList.flag_count).where(UnderwritingList.id == lst.id))


FLAG_COLUMNS = ("list_id", "row_no", "kind", "other_list_id", "detail")


def _store_flags(flags: list[dict]) -> None:
    """COPY on PostgreSQL (a list of 100,000 farmers all insured again elsewhere places 200,000 flags: 20 s as an
    INSERT of many rows), an INSERT elsewhere."""
    if not flags:
        return
    if not uses_copy():
        db.session.execute(sa.insert(UnderwritingFlag), flags)
        return
    writer = CopyWriter("underwriting_flags", FLAG_COLUMNS)
    try:
        for f in flags:
            writer.add_line(copy_line([f[column] for column in FLAG_COLUMNS]))
    except BaseException:
        writer.abort()
        raise
    writer.close()


def _rows_of_people(id_hashes: list[str], claim: SubsidyClaim, returned: sa.Select):
    """The product's and year's rows (not of a returned claim) of the people with these hashes, in person order.

    PostgreSQL: one statement, the hashes as an array (unnest), a look-up on the person index for each (LATERAL)
    whatever the planner believes: the rows just imported have no statistics yet. The people were looked up 5,000
    at a time with IN (…) before, which from the sixth look-up the driver prepares and the server runs on a generic
    plan comparing each row with the 5,000 values one by one (40 s a look-up; 400 s for a list of 100,000 farmers
    insured again in the same insurer's other claim). SQLite: IN (…) 5,000 at a time, as a statement of its own."""
    rows = UnderwritingRow.__table__
    columns = (rows.c.id_hash, rows.c.list_id, rows.c.row_no, rows.c.insurer_id)
    scope = (rows.c.product_id == claim.product_id, rows.c.year == claim.year, rows.c.list_id.not_in(returned))
    if db.session.get_bind().dialect.name == "postgresql":
        people = sa.func.unnest(sa.literal(id_hashes, sa.ARRAY(sa.String))).table_valued("id_hash") \
            .render_derived(name="people")
        # LATERAL: the person's rows looked up for each person in turn, a plan the missing statistics cannot turn
        # into a join of every row with every person
        hit = sa.select(*columns).where(*scope, rows.c.id_hash == people.c.id_hash).lateral("hit")
        yield from db.session.execute(
            sa.select(hit).select_from(people.join(hit, sa.true())).order_by(hit.c.id_hash))
        return
    for start in range(0, len(id_hashes), 5000):
        yield from db.session.execute(sa.select(*columns).where(
            *scope, rows.c.id_hash.in_(id_hashes[start:start + 5000])).order_by(rows.c.id_hash))


def _recount_flags(list_ids) -> None:
    for list_id in list_ids:
        db.session.execute(sa.update(UnderwritingList).where(UnderwritingList.id == list_id).values(
            flag_count=sa.select(sa.func.count(UnderwritingFlag.id)).where(
                UnderwritingFlag.list_id == list_id).scalar_subquery()))
