"""A read-only or full upload directory: the user reads why in words, and nothing is saved (no row, no job, no
partial file), on every upload that writes a file: bid attachments, exception documents, underwriting lists."""

from __future__ import annotations

import errno
import io
import os
import tempfile
from pathlib import Path

import pytest
import sqlalchemy as sa

from agri_insurance import storage
from agri_insurance.bids.models import Bid
from agri_insurance.jobs.models import Job
from agri_insurance.storage import StoredFile
from agri_insurance.tenders.models import CountyException
from tests.factories import read_text
from tests.tenders.factories import PDF_BYTES, make_bid, make_round, region
from tests.underwriting.conftest import small_list, world  # noqa: F401 - fixtures of the list upload

CANNOT_WRITE = "服务器暂时无法保存上传的文件（存储空间已满或不可写），未保存任何内容"


@pytest.fixture
def unwritable(app, tmp_path):
    """UPLOAD_DIR where no directory can be made (below a regular file: refused even to root, as a read-only
    mount refuses)."""
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("x")
    original = app.config["UPLOAD_DIR"]
    app.config["UPLOAD_DIR"] = str(blocker / "uploads")
    yield
    app.config["UPLOAD_DIR"] = original


@pytest.fixture
def disk_full(app, tmp_path, monkeypatch):
    """UPLOAD_DIR on a disk that fills up while the file is written."""
    original = app.config["UPLOAD_DIR"]
    app.config["UPLOAD_DIR"] = str(tmp_path / "uploads")
    real_fdopen = os.fdopen

    class Full(io.RawIOBase):
        def __init__(self, fd):
            self.inner = real_fdopen(fd, "wb")

        def writable(self):
            return True

        def write(self, data):
            self.inner.write(bytes(data)[:10])
            raise OSError(errno.ENOSPC, "No space left on device")

        def close(self):
            self.inner.close()
            super().close()

    monkeypatch.setattr(storage.os, "fdopen", lambda fd, mode="r", *a, **k: Full(fd))
    yield tmp_path / "uploads"
    app.config["UPLOAD_DIR"] = original


def _files(folder: Path) -> list[Path]:
    return [p for p in folder.rglob("*") if p.is_file()]


def test_a_bid_attachment_on_a_read_only_upload_directory(demo, db, login, unwritable):
    from datetime import timedelta

    from agri_insurance.clock import utcnow

    rnd = make_round(deadline=utcnow() + timedelta(days=3), publish=True)
    bid = make_bid(rnd, submit=False, attachment=False)
    client = login("insurer")
    response = client.post(f"/bids/{bid.id}/attachments", data={
        "title": "偿付能力报告", "document": (io.BytesIO(PDF_BYTES), "report.pdf")},
        content_type="multipart/form-data", follow_redirects=True)
    assert response.status_code == 200 and CANNOT_WRITE in read_text(response)
    db.session.expire_all()
    assert not db.session.get(Bid, bid.id).attachments
    assert db.session.scalar(sa.select(sa.func.count(StoredFile.id))) == 0


def test_an_exception_document_on_a_full_disk(demo, db, login, disk_full):
    rnd = make_round()
    response = login("city_agri").post(f"/tenders/{rnd.id}/exceptions/new", data={
        "region_id": region("361128").id, "max_insurers": 4, "approval_doc_no": "赣农险组〔2025〕7号",
        "approval_date": "2025-02-01", "document": (io.BytesIO(PDF_BYTES), "批复.pdf")},
        content_type="multipart/form-data")
    assert response.status_code == 400 and CANNOT_WRITE in read_text(response)
    assert db.session.scalar(sa.select(sa.func.count(CountyException.id))) == 0
    assert db.session.scalar(sa.select(sa.func.count(StoredFile.id))) == 0
    assert _files(disk_full) == []  # the part written before the disk filled is gone


@pytest.mark.parametrize("trouble", ["unwritable", "disk_full"])
@pytest.mark.usefixtures("world")
def test_an_underwriting_list_upload_on_a_read_only_or_full_upload_directory(trouble, request, db, login):
    from tests.underwriting.conftest import claim_for
    from tests.underwriting.factories import write_csv

    folder = request.getfixturevalue(trouble)
    data = request.getfixturevalue("small_list")
    claim = claim_for(data)
    with tempfile.TemporaryDirectory() as scratch:
        path = write_csv(Path(scratch) / "f.csv", data)
        with path.open("rb") as fh:
            response = login("insurer").post(f"/underwriting/claims/{claim.id}/upload",
                                             data={"file": (fh, "清单.csv")}, content_type="multipart/form-data",
                                             follow_redirects=True)
    assert response.status_code == 200 and CANNOT_WRITE in read_text(response)
    assert db.session.scalar(sa.select(sa.func.count(Job.id))) == 0
    if folder is not None:
        assert _files(folder) == []


@pytest.mark.parametrize("trouble", ["unwritable", "disk_full"])
def test_a_payout_list_upload_on_a_read_only_or_full_upload_directory(trouble, request, demo, db, login):
    from agri_insurance.payouts.models import PayoutList
    from tests.factories import county
    from tests.subsidies.factories import assign, product

    folder = request.getfixturevalue(trouble)
    assign()
    db.session.commit()
    response = login("insurer").post("/payouts/upload", data={
        "region_id": county().id, "product_id": product("rice").id, "year": 2026, "event": "2026年6月洪涝",
        "file": (io.BytesIO("姓名,证件号码\n".encode()), "理赔清单.csv")}, content_type="multipart/form-data",
        follow_redirects=True)
    assert response.status_code == 200 and CANNOT_WRITE in read_text(response)
    assert db.session.scalar(sa.select(sa.func.count(Job.id))) == 0
    assert db.session.scalar(sa.select(sa.func.count(PayoutList.id))) == 0
    if folder is not None:
        assert _files(folder) == []
