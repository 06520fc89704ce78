"""Notices to farmers (承保公示): the village notices read back from their PDFs, the photos of them posted (real
images only), the city's rule that verification waits for them, and who sees what."""

import io
import tempfile
import zipfile
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import sqlalchemy as sa
from pypdf import PdfReader

from agri_insurance import clock
from agri_insurance.audit.models import AuditEntry
from agri_insurance.auth.models import Role
from agri_insurance.storage import StoredFile
from agri_insurance.subsidies.models import ClaimStatus, SubsidyClaim
from agri_insurance.underwriting import notices
from agri_insurance.underwriting.models import (
    UnderwritingNotice,
    UnderwritingNoticePhoto,
    UnderwritingNoticeRule,
)
from tests.factories import county, make_user, read_text
from tests.images import jpeg_bytes, png_bytes
from tests.subsidies.factories import OPINION, product, user
from tests.underwriting.factories import person_id
from tests.underwriting.notice_factories import (
    COOPERATIVE,
    VILLAGE_1,
    VILLAGE_2,
    VILLAGE_3,
    claim_with_list,
    cooperative_code,
    image_upload,
    notice_rows,
    post_notice,
)


def pdf_text(data: bytes) -> str:
    return "".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)


def set_period(client, claim, starts_on, days=5):
    return client.post(f"/underwriting/claims/{claim.id}/notice-period",
                       data={"starts_on": starts_on.isoformat(), "days": str(days)}, follow_redirects=True)


def upload_photos(client, claim, village, posted_on, files):
    import json

    return client.post(f"/underwriting/claims/{claim.id}/notice-photos", data={
        "village": json.dumps(list(village), ensure_ascii=False), "posted_on": posted_on.isoformat(),
        "photos": [(io.BytesIO(data), name) for data, name in files]},
        content_type="multipart/form-data", follow_redirects=True)


def village_pdf(client, claim, village):
    return client.get(f"/underwriting/claims/{claim.id}/notices/village.pdf",
                      query_string={"township": village[0], "village": village[1]})


def photo_count(db) -> int:
    return db.session.scalar(sa.select(sa.func.count(UnderwritingNoticePhoto.id)))


# --- the notices ---------------------------------------------------------------------------------------

def test_a_villages_notice_reads_back_with_masked_names_and_ids_and_its_totals(world, login, db):
    claim = claim_with_list()
    client = login("insurer")
    start = clock.local_today() - timedelta(days=1)
    assert "公示期已保存" in read_text(set_period(client, claim, start, days=7))

    response = village_pdf(client, claim, VILLAGE_1)
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    text = pdf_text(response.data)
    # heading: insurer, county, township, village, product, year
    for expected in ("2026年度水稻保险承保公示", claim.insurer.name, "鄱阳县", "饶丰镇", "第一村", "水稻", "2026年"):
        assert expected in text, expected
    # a person's name keeps its first and last character, a two-character name its surname; a cooperative's
    # registered name stays whole; ID numbers as every masked list shows them
    assert "张*华" in text and "李*" in text and COOPERATIVE.replace("合作社", "") in text.replace("\n", "")
    assert "张三华" not in text and "李四" not in text
    assert person_id(1)[:6] + "********" + person_id(1)[-4:] in text and person_id(1) not in text
    assert cooperative_code()[:6] + "********" + cooperative_code()[-4:] in text
    # only this village's farmers, and its totals: 3 households, 330 mu, 1,650.00 premium, 330.00 own share
    assert "王*六" not in text and "赵*" not in text
    assert "合计（3户）" in text and "330.00" in text and "1,650.00" in text
    assert "其中农户自缴 330.00 元，各级财政补贴 1,320.00 元" in text
    # the period as entered, and where to object: the county bureau's contact
    end = start + timedelta(days=6)
    assert f"公示期：{start.year}年{start.month}月{start.day}日至{end.year}年{end.month}月{end.day}日（共7天）" in text
    assert f"鄱阳县农业农村局反映（{county().bureau_contact}）" in text.replace("\n", "")


def test_all_villages_as_a_zip_of_pdfs_and_as_one_pdf(world, login, db):
    claim = claim_with_list()
    client = login("insurer")
    set_period(client, claim, clock.local_today())

    archive = zipfile.ZipFile(io.BytesIO(client.get(f"/underwriting/claims/{claim.id}/notices.zip").data))
    assert sorted(archive.namelist()) == ["油墩街镇第二村_承保公示.pdf", "饶丰镇第一村_承保公示.pdf",
                                          "饶丰镇第二村_承保公示.pdf"]
    assert "赵*" in pdf_text(archive.read("油墩街镇第二村_承保公示.pdf"))
    assert "合计（1户）" in pdf_text(archive.read("饶丰镇第二村_承保公示.pdf"))

    reader = PdfReader(io.BytesIO(client.get(f"/underwriting/claims/{claim.id}/notices.pdf").data))
    pages = [page.extract_text() for page in reader.pages]
    assert len(pages) == 3   # each village starts on a page of its own, its name at the foot of the page
    footers = {village: [n for n, text in enumerate(pages) if f"鄱阳县{village}　2026年度水稻保险承保公示" in text]
               for village in ("饶丰镇第一村", "饶丰镇第二村", "油墩街镇第二村")}
    assert sorted(footers.values()) == [[0], [1], [2]]


def test_no_notice_to_print_before_the_period_is_set_and_a_period_shorter_than_five_days_is_refused(
        world, login, db):
    claim = claim_with_list()
    client = login("insurer")
    response = village_pdf(client, claim, VILLAGE_1)
    assert response.status_code == 302
    assert "尚未填写公示期" in read_text(client.get(f"/underwriting/claims/{claim.id}"))

    page = read_text(set_period(client, claim, clock.local_today(), days=3))
    assert "公示天数" in page and db.session.scalar(sa.select(sa.func.count()).select_from(UnderwritingNotice)) == 0
    assert village_pdf(client, claim, ("饶丰镇", "没有这个村")).status_code == 302   # still no period


def test_a_large_list_writes_its_notices_in_a_background_job(world, login, db, app):
    from agri_insurance.jobs import service as jobs

    claim = claim_with_list()
    client = login("insurer")
    set_period(client, claim, clock.local_today())
    app.config["DIRECT_NOTICE_ROWS"] = 4   # the list has 5 rows
    try:
        assert client.get(f"/underwriting/claims/{claim.id}/notices.zip").status_code == 302
        assert "后台生成" in read_text(client.get(f"/underwriting/claims/{claim.id}"))
        response = client.post(f"/underwriting/claims/{claim.id}/notices/export?format=zip")
        job = jobs.wait(int(response.location.rsplit("/", 1)[1]), timeout=30)
    finally:
        app.config["DIRECT_NOTICE_ROWS"] = 5000
    assert job.status.value == "done", job.error
    download = client.get(job.result["redirect"])
    assert len(zipfile.ZipFile(io.BytesIO(download.data)).namelist()) == 3
    assert login("county_agri").get(job.result["redirect"]).status_code == 404   # the job is the insurer's


# --- the photos ----------------------------------------------------------------------------------------

def test_photos_of_the_posted_notice_must_be_real_images(world, login, db):
    claim = claim_with_list()
    client = login("insurer")
    start = clock.local_today() - timedelta(days=2)
    set_period(client, claim, start)

    page = read_text(upload_photos(client, claim, VILLAGE_1, start, [(png_bytes(), "张贴.png"),
                                                                      (jpeg_bytes(640, 480), "近景.jpg")]))
    assert "张贴照片已上传" in page
    photos = db.session.scalars(sa.select(UnderwritingNoticePhoto).order_by(UnderwritingNoticePhoto.id)).all()
    assert [(p.file.content_type, p.width, p.height) for p in photos] == [("image/png", 320, 240),
                                                                          ("image/jpeg", 640, 480)]
    shown = client.get(f"/underwriting/notice-photos/{photos[1].id}")
    assert shown.data == jpeg_bytes(640, 480) and shown.mimetype == "image/jpeg"
    assert shown.headers["Content-Disposition"].startswith("inline")

    # A file named .jpg that is not an image, one cut short, one too small: refused, and with them the real photo
    # uploaded at the same time (all or none)
    pdf = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF"
    for files, message in (([(png_bytes(), "好的.png"), (pdf, "假的.jpg")], "假的.jpg：只接受 JPEG 或 PNG 图片"),
                           ([(png_bytes()[:-30], "半张.png")], "半张.png：图片文件不完整或已损坏"),
                           ([(jpeg_bytes()[:-200], "半张.jpg")], "半张.jpg：图片文件不完整或已损坏"),
                           ([(png_bytes(100, 100), "太小.png")], "太小.png：图片太小（100×100 像素）")):
        assert message in read_text(upload_photos(client, claim, VILLAGE_2, start, files))
    assert photo_count(db) == 2
    assert db.session.scalar(sa.select(sa.func.count(StoredFile.id))) == 2

    # posted on a day outside the period, or in the future: refused
    for day in (start - timedelta(days=1), clock.local_today() + timedelta(days=1)):
        page = read_text(upload_photos(client, claim, VILLAGE_2, day, [(png_bytes(), "a.png")]))
        assert "张贴日期" in page and photo_count(db) == 2

    entries = db.session.scalars(sa.select(AuditEntry).where(
        AuditEntry.action == "underwriting_notice.photos_added")).all()
    assert len(entries) == 1 and entries[0].object_id == str(claim.id)
    assert [f["name"] for f in entries[0].details["files"]] == ["张贴.png", "近景.jpg"]


def test_the_insurer_removes_a_photo_until_the_claim_is_verified(world, login, db):
    claim = claim_with_list(submitted=True)
    post_notice(claim)
    client = login("insurer")
    first = db.session.scalar(sa.select(UnderwritingNoticePhoto.id).order_by(UnderwritingNoticePhoto.id))
    page = read_text(client.get(f"/underwriting/claims/{claim.id}"))
    assert page.count("delete-notice-photo") == 4 and 'id="notice-photo-form"' in page
    assert "照片已删除" in read_text(client.post(f"/underwriting/notice-photos/{first}/delete",
                                               follow_redirects=True))
    assert photo_count(db) == 3

    login("county_agri").post(f"/subsidies/claims/{claim.id}/verify", data={"opinion": OPINION})
    db.session.expire_all()
    assert db.session.get(SubsidyClaim, claim.id).status is ClaimStatus.VERIFIED
    page = read_text(client.get(f"/underwriting/claims/{claim.id}"))
    assert "delete-notice-photo" not in page and 'id="notice-photo-form"' not in page
    other = db.session.scalar(sa.select(UnderwritingNoticePhoto.id).order_by(UnderwritingNoticePhoto.id))
    assert "不能再修改" in read_text(client.post(f"/underwriting/notice-photos/{other}/delete",
                                              follow_redirects=True))
    assert "不能再修改" in read_text(set_period(client, claim, clock.local_today()))
    assert photo_count(db) == 3


def test_a_new_period_must_still_hold_the_photos_posted(world, login, db):
    claim = claim_with_list()
    post_notice(claim, villages=(VILLAGE_1,))
    page = read_text(set_period(login("insurer"), claim, clock.local_today()))   # starts after they were posted
    assert "饶丰镇第一村 的张贴日期不在新的公示期内" in page
    assert notices.notice_of(claim.underwriting_list).starts_on == clock.local_today() - timedelta(days=3)


def test_a_new_list_is_noticed_anew(world, login, db):
    from tests.underwriting.test_views import upload

    claim = claim_with_list()
    post_notice(claim)
    assert photo_count(db) == 4
    job = upload(login("insurer"), claim.id, notice_rows())
    assert job.status.value == "done"
    assert photo_count(db) == 0 and db.session.scalar(sa.select(sa.func.count()).select_from(UnderwritingNotice)) == 0
    entry = db.session.scalar(sa.select(AuditEntry).where(AuditEntry.action == "underwriting_notice.dropped"))
    assert entry.details["photos"] == 4 and entry.object_id == str(claim.id)


def test_a_lists_villages_are_summed_when_it_is_stored_and_go_with_it(world, db):
    """The villages the notice shows are kept by the import (households are distinct ID numbers), replaced with
    the list and deleted with it."""
    from agri_insurance.underwriting import service
    from agri_insurance.underwriting.models import UnderwritingVillage
    from tests.underwriting.factories import write_csv

    claim = claim_with_list(notice_rows() + [notice_rows()[1]])   # 李四 listed twice: one household, two rows
    villages = {v.key: v for v in notices.villages_of(service.list_of(claim))}
    assert list(villages) == sorted([VILLAGE_1, VILLAGE_2, VILLAGE_3])
    first = villages[VILLAGE_1]
    assert (first.households, first.rows) == (3, 4)
    assert first.totals == {"quantity": Decimal("350.00"), "premium": Decimal("1750.00"),
                            "farmer_premium": Decimal("350.00")}
    assert (villages[VILLAGE_3].households, villages[VILLAGE_3].totals["premium"]) == (1, Decimal("40.00"))

    with tempfile.TemporaryDirectory() as folder:   # a new list: its own villages only
        service.import_list(claim, write_csv(Path(folder) / "list.csv", notice_rows()[3:4]), "list.csv",
                            user("insurer"))
    assert [(v.key, v.households) for v in notices.villages_of(service.list_of(claim))] == [(VILLAGE_2, 1)]
    service.remove_list(claim, user("insurer"), "test")
    db.session.commit()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(UnderwritingVillage)) == 0


def test_the_villages_kept_are_the_stored_rows_grouped(world, db):
    """The sums made while the file is read are what grouping the stored rows by township and village gives: a
    person listed twice in one village is one household there, a person listed in two villages one in each."""
    from agri_insurance.underwriting import service
    from agri_insurance.underwriting.models import UnderwritingRow
    from tests.underwriting.factories import rows

    data = rows(40)
    data[30][1] = data[3][1]                               # the person of 第3村 again in 第3村 (row 32)
    data[31][1] = data[4][1]                               # the person of 第4村 again in 第4村 (row 33)
    data[32][1], data[32][3] = data[4][1], "第8村"          # and in 第8村
    data[33][2] = "油墩街镇"                                # another township
    claim = claim_with_list(data)
    r = UnderwritingRow
    grouped = db.session.execute(
        sa.select(r.township, r.village, sa.func.count(sa.distinct(r.id_hash)), sa.func.count(), sa.func.sum(r.quantity),
                  sa.func.sum(r.premium), sa.func.sum(r.farmer_premium))
        .where(r.list_id == service.list_of(claim).id).group_by(r.township, r.village)).all()
    expected = sorted((t, v, h, n, *(Decimal(str(x)).quantize(Decimal("0.01")) for x in sums))
                      for t, v, h, n, *sums in grouped)
    kept = sorted((*v.key, v.households, v.rows, v.totals["quantity"], v.totals["premium"],
                   v.totals["farmer_premium"]) for v in notices.villages_of(service.list_of(claim)))
    assert kept == expected and len(kept) == 10
    assert sum(v[2] for v in kept) == 38   # 37 people, the one of 第4村 counted in 第8村 too


# --- verification ----------------------------------------------------------------------------------------

def require_photos(login, year=2026):
    response = login("city_agri").post("/underwriting/notice-rules",
                                       data={"year": str(year), "required": [str(product("rice").id)]})
    assert response.status_code == 302


def test_verification_waits_for_a_photo_from_every_village_when_the_city_requires_them(world, login, db):
    claim = claim_with_list(submitted=True)
    post_notice(claim, villages=(VILLAGE_1,))
    require_photos(login)
    county_agri = login("county_agri")

    page = read_text(county_agri.get(f"/subsidies/claims/{claim.id}"))
    assert 'id="notice-card"' in page and "3 个村，1 个村已上传张贴照片" in page
    assert 'id="notice-blocks-verification"' in page and "油墩街镇第二村、饶丰镇第二村" in page
    assert page.count('class="notice-thumb"') == 2   # the first village's two photos, shown to the verifier

    response = county_agri.post(f"/subsidies/claims/{claim.id}/verify", data={"opinion": OPINION})
    page = read_text(response)
    assert response.status_code == 400
    assert "须上传各村承保公示张贴照片后方可核验，尚无照片的村：油墩街镇第二村、饶丰镇第二村" in page
    db.session.expire_all()
    assert db.session.get(SubsidyClaim, claim.id).status is ClaimStatus.SUBMITTED

    lst = claim.underwriting_list
    for key in (VILLAGE_2, VILLAGE_3):
        notices.add_photos(claim, lst, key, clock.local_today() - timedelta(days=3),
                           [image_upload(png_bytes(), "p.png")], user("insurer"))
    db.session.commit()
    response = county_agri.post(f"/subsidies/claims/{claim.id}/verify", data={"opinion": OPINION},
                                follow_redirects=True)
    assert "核验通过" in read_text(response)
    entry = db.session.scalar(sa.select(AuditEntry).where(AuditEntry.action == "claim.verified"))
    assert entry.details["notice_evidence_required"] is True and entry.details["notice_villages_with_photos"] == 3


def test_without_the_citys_rule_a_claim_is_verified_without_photos(world, login, db):
    claim = claim_with_list(submitted=True)
    require_photos(login, year=2027)   # another year's rule does not apply
    response = login("county_agri").post(f"/subsidies/claims/{claim.id}/verify", data={"opinion": OPINION},
                                         follow_redirects=True)
    assert "核验通过" in read_text(response)
    entry = db.session.scalar(sa.select(AuditEntry).where(AuditEntry.action == "claim.verified"))
    assert entry.details["notice_evidence_required"] is False and entry.details["notice_villages_with_photos"] == 0


def test_the_citys_rule_page(world, login, db):
    rice = product("rice")
    page = read_text(login("insurer").get("/underwriting/notice-rules?year=2026"))
    assert f'id="required-{rice.id}"' in page and "disabled" in page and 'id="save-notice-rules"' not in page
    assert login("county_agri").post("/underwriting/notice-rules",
                                     data={"year": "2026", "required": [str(rice.id)]}).status_code == 403

    require_photos(login)
    require_photos(login)   # saved again unchanged: nothing to record
    rule = db.session.scalar(sa.select(UnderwritingNoticeRule))
    assert (rule.product_id, rule.year, rule.evidence_required) == (rice.id, 2026, True)
    page = read_text(login("city_agri").get("/underwriting/notice-rules?year=2026"))
    assert f'value="{rice.id}" id="required-{rice.id}" checked' in page
    login("city_agri").post("/underwriting/notice-rules", data={"year": "2026"})   # none ticked: off again
    db.session.expire_all()
    assert db.session.get(UnderwritingNoticeRule, rule.id).evidence_required is False
    actions = db.session.scalars(sa.select(AuditEntry.summary).where(
        AuditEntry.action == "underwriting_notice_rule.changed").order_by(AuditEntry.id)).all()
    assert actions == ["2026年水稻：核验前须上传各村承保公示张贴照片", "2026年水稻：核验前不再要求承保公示张贴照片"]


# --- who sees what ---------------------------------------------------------------------------------------

def test_the_insurer_the_county_and_the_city_see_the_notice_finance_does_not(world, login, db):
    claim = claim_with_list(submitted=True)
    post_notice(claim)
    photo = db.session.scalar(sa.select(UnderwritingNoticePhoto.id))
    urls = (f"/underwriting/notice-photos/{photo}", f"/underwriting/claims/{claim.id}/notices.pdf",
            f"/underwriting/claims/{claim.id}/notices/village.pdf?township=饶丰镇&village=第一村")
    for role in ("insurer", "county_agri", "city_agri", "admin"):
        client = login(role)
        assert [client.get(url).status_code for url in urls] == [200, 200, 200], role
        assert 'id="notice-villages"' in read_text(client.get(f"/underwriting/claims/{claim.id}")), role
    for role in ("county_finance", "city_finance"):
        client = login(role)
        assert [client.get(url).status_code for url in urls] == [403, 403, 403], role
        assert 'id="notices"' not in read_text(client.get(f"/underwriting/claims/{claim.id}")), role
        assert 'id="notice-card"' not in read_text(client.get(f"/subsidies/claims/{claim.id}")), role

    # another county's bureau, another insurer: not found
    make_user("wuyuan_agri", Role.COUNTY_AGRI, region=county("361130"))
    from tests.factories import make_insurer

    make_user("other_insurer", Role.INSURER, insurer=make_insurer())
    db.session.commit()
    for username in ("wuyuan_agri", "other_insurer"):
        assert [login(username).get(url).status_code for url in urls] == [404, 404, 404], username
        assert login(username).post(f"/underwriting/notice-photos/{photo}/delete").status_code in (403, 404)
    assert photo_count(db) == 4


def test_a_drafts_notice_is_the_insurers_own_until_submitted(world, login, db):
    claim = claim_with_list()
    post_notice(claim, villages=(VILLAGE_1,))
    photo = db.session.scalar(sa.select(UnderwritingNoticePhoto.id))
    assert login("insurer").get(f"/underwriting/notice-photos/{photo}").status_code == 200
    for role in ("county_agri", "city_agri"):
        assert login(role).get(f"/underwriting/notice-photos/{photo}").status_code == 404, role


def test_the_verification_sheet_summarises_the_notice(world, login, db):
    claim = claim_with_list(submitted=True)
    post_notice(claim, villages=(VILLAGE_1, VILLAGE_2))
    page = read_text(login("county_finance").get(f"/subsidies/claims/{claim.id}/verification-sheet"))
    assert 'id="sheet-notices"' in page and "3 个村，2 个村已上传张贴照片" in page and "未要求张贴照片" in page
