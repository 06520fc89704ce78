"""A claim whose underwriting list spans three villages (a person with a three-character name, one with two, a
cooperative), its notice period and photos: for the notice tests, the access table and the browser journey."""

from __future__ import annotations

import io
import tempfile
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

from werkzeug.datastructures import FileStorage

from agri_insurance import clock
from agri_insurance.extensions import db
from agri_insurance.reference.codes import credit_code_check_char
from agri_insurance.underwriting import notices, service
from tests.images import jpeg_bytes, png_bytes
from tests.subsidies.factories import user
from tests.underwriting.factories import person_id, write_csv

COOPERATIVE = "鄱阳县丰收水稻种植专业合作社"
VILLAGE_1 = ("饶丰镇", "第一村")
VILLAGE_2 = ("饶丰镇", "第二村")
VILLAGE_3 = ("油墩街镇", "第二村")   # the same village name in another township: another village


def cooperative_code() -> str:
    first17 = "93361128MA35ABCD0"
    return first17 + credit_code_check_char(first17)


def _row(name, id_number, village, quantity, premium, farmer) -> list:
    premium = Decimal(premium)
    return [name, id_number, village[0], village[1], "水稻", quantity, "亩", str(premium * 20), str(premium), farmer, None]


def notice_rows() -> list[list]:
    """Five rows in three villages: 第一村 has 张三华, 李四 and the cooperative."""
    return [
        _row("张三华", person_id(1), VILLAGE_1, "10.00", "50.00", "10.00"),
        _row("李四", person_id(2), VILLAGE_1, "20.00", "100.00", "20.00"),
        _row(COOPERATIVE, cooperative_code(), VILLAGE_1, "300.00", "1500.00", "300.00"),
        _row("王五六", person_id(3), VILLAGE_2, "15.50", "77.50", "15.50"),
        _row("赵七", person_id(4), VILLAGE_3, "8.00", "40.00", "8.00"),
    ]


def claim_with_list(data: list[list] | None = None, submitted: bool = False, period="2026年第一季度"):
    """A draft claim of the demo insurer with `data` (notice_rows()) imported as its list; submitted if asked."""
    from agri_insurance.subsidies import service as subsidies
    from tests.underwriting.conftest import claim_for

    data = data or notice_rows()
    claim = claim_for(data, period=period)
    actor = user("insurer")
    with tempfile.TemporaryDirectory() as folder:
        service.import_list(claim, write_csv(Path(folder) / "list.csv", data), "list.csv", actor)
    if submitted:
        subsidies.submit_claim(claim, actor)
    db.session.commit()
    return claim


def image_upload(data: bytes, name: str) -> FileStorage:
    return FileStorage(io.BytesIO(data), filename=name)


def post_notice(claim, villages=(VILLAGE_1, VILLAGE_2, VILLAGE_3), starts_on: date | None = None, days: int = 5):
    """The insurer's period (from three days ago unless said) and one photo per village in `villages`, posted on
    the period's first day (a PNG, and a JPEG for the first)."""
    actor = user("insurer")
    lst = service.list_of(claim)
    starts_on = starts_on or clock.local_today() - timedelta(days=3)
    notices.set_period(claim, lst, starts_on, days, actor)
    for n, key in enumerate(villages):
        files = [image_upload(png_bytes(), f"村{n}.png")]
        if n == 0:
            files.append(image_upload(jpeg_bytes(), f"村{n}.jpg"))
        notices.add_photos(claim, lst, key, starts_on, files, actor)
    db.session.commit()
    return lst


ACCESS_PERIOD = "2026年（公示）"


def access_objects(role, with_job: bool) -> dict:
    """For the access table: a submitted claim of the demo insurer whose list has a notice period and a photo
    (made once per test; a photo deleted by an earlier request is put back), and, if asked, a finished notice
    job of the role's demo user (admin's for anonymous requests) with its file."""
    import sqlalchemy as sa

    from agri_insurance.subsidies.models import SubsidyClaim
    from agri_insurance.underwriting.models import UnderwritingNoticePhoto

    claim = db.session.scalar(sa.select(SubsidyClaim).where(SubsidyClaim.period == ACCESS_PERIOD))
    if claim is None:
        claim = claim_with_list(submitted=True, period=ACCESS_PERIOD)
        post_notice(claim, villages=())
    lst = service.list_of(claim)
    photo = db.session.scalar(sa.select(UnderwritingNoticePhoto.id).where(UnderwritingNoticePhoto.list_id == lst.id))
    if photo is None:
        photo = notices.add_photos(claim, lst, VILLAGE_1, notices.notice_of(lst).starts_on,
                                   [image_upload(png_bytes(), "张贴.png")], user("insurer"))[0].id
        db.session.commit()
    return {"notice_claim": claim.id, "notice_photo": photo,
            "notice_export_job": _notice_job(role, claim) if with_job else None}


def _notice_job(role, claim) -> int:
    from agri_insurance.jobs.models import Job, JobStatus
    from agri_insurance.underwriting.jobs import NOTICES_KIND, notices_path

    owner = user(role.value if role else "admin")
    job = Job(kind=NOTICES_KIND, status=JobStatus.DONE, progress=100, message="",
              params={"claim_id": claim.id, "format": "zip"}, result={"filename": "公示.zip", "format": "zip"},
              finished_at=clock.utcnow(), created_by_id=owner.id)
    db.session.add(job)
    db.session.commit()
    path = notices_path(job.id, "zip")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"PK\x05\x06" + b"\x00" * 18)   # an empty zip
    return job.id
