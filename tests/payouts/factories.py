"""Payout list files for tests: farmers insured in a stored underwriting list, their payouts, xlsx and csv writers."""

from __future__ import annotations

import csv
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import sqlalchemy as sa
from openpyxl import Workbook

from agri_insurance.extensions import db
from agri_insurance.payouts import service
from agri_insurance.payouts.parsing import COLUMNS
from agri_insurance.subsidies.models import ClaimStatus
from agri_insurance.underwriting import service as underwriting
from tests.factories import county
from tests.images import png_bytes
from tests.subsidies.factories import assign, product, user
from tests.underwriting.factories import rows as uw_rows
from tests.underwriting.factories import write_csv as write_uw_csv
from tests.underwriting.notice_factories import image_upload

HEADERS = [header for _key, header in COLUMNS]
REPORTED = date(2026, 3, 1)


def insured(tmp_path: Path, count: int = 10, insurer_username: str = "insurer", status=ClaimStatus.SUBMITTED,
            start: int = 0, townships: tuple[str, ...] = ()):
    """A rice claim of 2026 in the demo county with its underwriting list of `count` farmers (each premium 50.00,
    sum insured 1,000.00), put in `status` directly (the premium counts once the claim is submitted); the farmers
    in 饶丰镇, or in turn in `townships`. Returns the list's rows as written."""
    from tests.underwriting.conftest import claim_for

    data = uw_rows(count, start=start)
    for n, row in enumerate(data if townships else ()):
        row[2] = townships[n % len(townships)]
    claim = claim_for(data, insurer_username=insurer_username, period=f"p{start}-{insurer_username}")
    path = write_uw_csv(tmp_path / f"uw-{start}-{insurer_username}.csv", data)
    underwriting.import_list(claim, path, path.name, user(insurer_username))
    claim.status = status
    if status is ClaimStatus.RETURNED:
        claim.returned_reason = "清单有误"
    db.session.commit()
    return data


def payout(farmer: list, settle: int, pay: int | None, paid: str | None = "50.00", agreed: str = "50.00",
           name: str | None = None) -> list:
    """A payout row for an underwriting row `farmer`: reported on REPORTED, paid `settle` days later and `pay`
    days after the agreement (pay None: agreed `settle` days after the report, not paid)."""
    if pay is None:
        agreed_on, paid_on, paid = REPORTED + timedelta(days=settle), None, None
    else:
        paid_on = REPORTED + timedelta(days=settle)
        agreed_on = paid_on - timedelta(days=pay)
    return [name or farmer[0], farmer[1], REPORTED - timedelta(days=1), REPORTED, REPORTED + timedelta(days=1),
            agreed, agreed_on, paid, paid_on, "6222021234567890123"]


def write_xlsx(path: Path, data: list[list], headers=HEADERS, before: list[list] | None = None,
               notes_sheet: bool = False) -> Path:
    wb = Workbook()
    ws = wb.active
    if notes_sheet:   # an instructions sheet in front of the data sheet
        ws.title = "填写说明"
        ws.append(["请按模板填写"])
        ws = wb.create_sheet("理赔清单")
    for row in before or []:
        ws.append(row)
    ws.append(headers)
    for row in data:
        ws.append(row)
    wb.save(path)
    return path


def write_csv(path: Path, data: list[list], headers=HEADERS, encoding="utf-8") -> Path:
    with path.open("w", newline="", encoding=encoding) as fh:
        writer = csv.writer(fh)
        writer.writerow(headers)
        writer.writerows([["" if c is None else c.isoformat() if isinstance(c, date) else c for c in row]
                          for row in data])
    return path


def scope(event: str = "2026年6月洪涝", year: int = 2026) -> dict:
    return {"region_id": county().id, "product_id": product("rice").id, "year": year, "event": event}


def import_file(path: Path, insurer_username: str = "insurer", **kwargs):
    lst = service.import_payouts(scope(**kwargs), path, path.name, user(insurer_username))
    db.session.commit()
    return lst


def access_objects() -> dict:
    """A payout list of the demo insurer with a flag, and a failed import with its error report (once per test)."""
    import tempfile

    from flask import current_app

    from agri_insurance.clock import utcnow
    from agri_insurance.jobs.models import Job, JobStatus
    from agri_insurance.list_files import Findings
    from agri_insurance.payouts.jobs import IMPORT_KIND, report_path
    from agri_insurance.payouts.models import PayoutFlag, PayoutList
    from agri_insurance.underwriting.exports import write_error_report

    lst = db.session.scalar(sa.select(PayoutList).where(PayoutList.event == "access"))
    if lst is None:
        from agri_insurance.subsidies.models import UnderwritingAssignment

        if db.session.scalar(sa.select(UnderwritingAssignment.id).limit(1)) is None:
            assign()
        folder = Path(tempfile.mkdtemp(dir=current_app.config["UPLOAD_DIR"] if Path(
            current_app.config["UPLOAD_DIR"]).exists() else None))
        data = insured(folder, count=3, start=900)
        lst = import_file(write_csv(folder / "p.csv", [payout(data[0], 10, 2), payout(data[1], 30, 20)]),
                          event="access")
        from agri_insurance.payouts import notices

        notices.set_period(lst, REPORTED + timedelta(days=40), 7, user("insurer"))
        owner = user("insurer")
        job = Job(kind=IMPORT_KIND, status=JobStatus.FAILED, progress=0, message="", params={}, error="x",
                  finished_at=utcnow(), created_by_id=owner.id)
        db.session.add(job)
        db.session.commit()
        findings = Findings()
        findings.add(2, "证件号码", "不能为空")
        write_error_report(findings, report_path(job.id))
    flag = db.session.scalar(sa.select(PayoutFlag.id).where(PayoutFlag.list_id == lst.id).order_by(PayoutFlag.id))
    job = db.session.scalar(sa.select(Job.id).where(Job.kind == IMPORT_KIND).order_by(Job.id))
    return {"payout_list": lst.id, "payout_flag": flag, "payout_import_job": job, "payout_photo": _photo_of(lst)}


def _photo_of(lst) -> int:
    """A photo of the list's notice posted in its first village (put back if an earlier request deleted it)."""
    from agri_insurance.payouts import notices
    from agri_insurance.payouts.models import PayoutNoticePhoto

    photo = db.session.scalar(sa.select(PayoutNoticePhoto.id).where(PayoutNoticePhoto.list_id == lst.id))
    if photo is None:
        village = notices.villages_of(lst)[0]
        photo = notices.add_photos(lst, village.key, notices.notice_of(lst).starts_on,
                                   [image_upload(png_bytes(), "张贴.png")], user("insurer"))[0].id
        db.session.commit()
    return photo


def money(text: str) -> Decimal:
    return Decimal(text)
