"""Photos of the payout list's notice posted in the villages (理赔公示张贴照片): the list's insurer uploads them, real
PNG or JPEG only, and removes one uploaded by mistake; the county bureau of the list's county and the city see them
on the list page as evidence; nobody else changes them; every change is audited; a new list for the event drops
the old notice with its photos."""

import io
import json
from datetime import date, timedelta

import pytest
import sqlalchemy as sa

from agri_insurance.audit.models import AuditEntry
from agri_insurance.auth.models import Role
from agri_insurance.errors import DomainError
from agri_insurance.payouts import notices
from agri_insurance.payouts.models import PayoutList, PayoutNotice, PayoutNoticePhoto
from agri_insurance.storage import StoredFile
from tests.factories import county, make_insurer, make_user, read_text
from tests.images import jpeg_bytes, png_bytes
from tests.payouts.factories import import_file, insured, payout, write_csv
from tests.subsidies.factories import user
from tests.underwriting.notice_factories import image_upload

START = date(2026, 4, 20)             # the notice period: 20 to 26 April 2026
VILLAGE_0, VILLAGE_1 = ("饶丰镇", "第0村"), ("饶丰镇", "第1村")
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF"


@pytest.fixture
def lst(world, tmp_path):
    """A payout list of the demo insurer paying 农户0, 农户1 and 农户2 (villages 第0村, 第1村, 第2村 of 饶丰镇), its
    notice period set."""
    farmers = insured(tmp_path, count=3)
    payout_list = import_file(write_csv(tmp_path / "p.csv", [payout(f, 10, 1) for f in farmers]))
    notices.set_period(payout_list, START, 7, user("insurer"))
    world.session.commit()
    return payout_list


def upload(client, lst, village, files, posted_on=START):
    return client.post(f"/payouts/lists/{lst.id}/notice-photos", data={
        "village": json.dumps(list(village), ensure_ascii=False), "posted_on": posted_on.isoformat(),
        "photos": [(io.BytesIO(data), name) for data, name in files]},
        content_type="multipart/form-data", follow_redirects=True)


def photo_count(db) -> int:
    return db.session.scalar(sa.select(sa.func.count(PayoutNoticePhoto.id)))


def file_count(db) -> int:
    return db.session.scalar(sa.select(sa.func.count(StoredFile.id)))


def entries(db, action: str) -> list[AuditEntry]:
    return db.session.scalars(sa.select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.id)).all()


# --- the insurer posts ---------------------------------------------------------------------------------------

def test_the_insurer_uploads_photos_of_a_village_and_sees_which_villages_lack_one(lst, login, db):
    insurer = login("insurer")
    page = read_text(insurer.get(f"/payouts/lists/{lst.id}"))
    assert "3 个村，0 个村已上传张贴照片" in page and page.count("no-photo") == 3
    assert 'id="notice-photo-form"' in page

    page = read_text(upload(insurer, lst, VILLAGE_1, [(png_bytes(), "张贴.png"), (jpeg_bytes(640, 480), "近景.jpg")]))
    assert "张贴照片已上传" in page and "3 个村，1 个村已上传张贴照片" in page
    assert page.count("no-photo") == 2 and page.count("notice-thumb") == 2 and page.count("delete-notice-photo") == 2
    photos = db.session.scalars(sa.select(PayoutNoticePhoto).order_by(PayoutNoticePhoto.id)).all()
    assert [(p.list_id, p.village_key, p.posted_on, p.file.content_type, p.width, p.height) for p in photos] == [
        (lst.id, VILLAGE_1, START, "image/png", 320, 240), (lst.id, VILLAGE_1, START, "image/jpeg", 640, 480)]
    shown = insurer.get(f"/payouts/notice-photos/{photos[1].id}")
    assert shown.data == jpeg_bytes(640, 480) and shown.mimetype == "image/jpeg"
    assert shown.headers["Content-Disposition"].startswith("inline")

    [entry] = entries(db, "payout_notice.photos_added")
    assert entry.object_type == "PayoutList" and entry.object_id == str(lst.id)
    assert entry.summary == "上传理赔公示张贴照片：饶丰镇第1村，2 张，张贴于 2026-04-20"
    assert [(f["name"], f["sha256"]) for f in entry.details["files"]] == [
        ("张贴.png", photos[0].file.sha256), ("近景.jpg", photos[1].file.sha256)]


def test_a_file_that_is_not_a_real_image_is_refused_in_words_and_nothing_is_stored(lst, login, db):
    insurer = login("insurer")
    for files, message in (([(png_bytes(), "好的.png"), (PDF, "假的.jpg")], "假的.jpg：只接受 JPEG 或 PNG 图片"),
                           ([(png_bytes()[:-30], "半张.png")], "半张.png：图片文件不完整或已损坏"),
                           ([(png_bytes(100, 100), "太小.png")], "太小.png：图片太小（100×100 像素）")):
        assert message in read_text(upload(insurer, lst, VILLAGE_0, files))
    # posted before the period, in the future, or in a village that is not the list's: refused
    for village, day, message in ((VILLAGE_0, START - timedelta(days=1), "张贴日期应在公示期内"),
                                  (VILLAGE_0, date(2099, 1, 1), "张贴日期不能晚于今天"),
                                  (("饶丰镇", "第8村"), START, "请选择清单中的村")):
        assert message in read_text(upload(insurer, lst, village, [(png_bytes(), "a.png")], posted_on=day))
    assert photo_count(db) == 0 and file_count(db) == 0
    assert entries(db, "payout_notice.photos_added") == []


def test_no_photo_before_the_period_is_set(world, login, db, tmp_path):
    farmers = insured(tmp_path, count=1)
    payout_list = import_file(write_csv(tmp_path / "p.csv", [payout(farmers[0], 10, 1)]))
    insurer = login("insurer")
    page = read_text(insurer.get(f"/payouts/lists/{payout_list.id}"))
    assert "请先填写公示期，再上传张贴照片" in page and 'id="upload-notice-photos" disabled' in page
    assert "请先填写公示期，再上传张贴照片" in read_text(upload(insurer, payout_list, VILLAGE_0,
                                                        [(png_bytes(), "a.png")]))
    assert photo_count(db) == 0 and file_count(db) == 0


def test_the_insurer_removes_a_photo_and_the_removal_is_audited(lst, login, db):
    insurer = login("insurer")
    upload(insurer, lst, VILLAGE_0, [(png_bytes(), "错的村.png")])
    upload(insurer, lst, VILLAGE_1, [(png_bytes(), "第1村.png")])
    wrong = db.session.scalar(sa.select(PayoutNoticePhoto).where(PayoutNoticePhoto.village == "第0村"))
    sha256 = wrong.file.sha256
    page = read_text(insurer.post(f"/payouts/notice-photos/{wrong.id}/delete", follow_redirects=True))
    assert "照片已删除" in page and "3 个村，1 个村已上传张贴照片" in page
    assert photo_count(db) == 1 and file_count(db) == 1
    [entry] = entries(db, "payout_notice.photo_removed")
    assert entry.object_id == str(lst.id) and entry.summary == "删除理赔公示张贴照片：饶丰镇第0村，错的村.png"
    assert entry.details["file"]["sha256"] == sha256 and entry.details["village"] == "第0村"


def test_a_new_period_must_still_hold_the_photos_posted(lst, login, db):
    insurer = login("insurer")
    upload(insurer, lst, VILLAGE_0, [(png_bytes(), "a.png")])
    page = read_text(insurer.post(f"/payouts/lists/{lst.id}/notice-period",
                                  data={"starts_on": (START + timedelta(days=1)).isoformat(), "days": "7"},
                                  follow_redirects=True))
    assert "饶丰镇第0村 的张贴日期不在新的公示期内" in page
    assert notices.notice_of(lst).starts_on == START


# --- nobody else changes them -------------------------------------------------------------------------------

def test_another_insurer_and_the_county_cannot_post_nor_remove_and_nothing_is_stored(lst, login, db):
    other = make_user("other_insurer", Role.INSURER, insurer=make_insurer())
    db.session.commit()
    for actor in (other, user("county_agri"), user("city_agri")):
        with pytest.raises(DomainError, match="只有该清单的承保机构可以上传理赔公示张贴照片"):
            notices.add_photos(lst, VILLAGE_0, START, [image_upload(png_bytes(), "a.png")], actor)
        db.session.rollback()
    assert photo_count(db) == 0 and file_count(db) == 0

    # through the pages: another insurer does not find the list, the bureaus may not post
    assert upload(login("other_insurer"), lst, VILLAGE_0, [(png_bytes(), "a.png")]).status_code == 404
    assert upload(login("county_agri"), lst, VILLAGE_0, [(png_bytes(), "a.png")]).status_code == 403
    assert photo_count(db) == 0 and file_count(db) == 0

    photo = notices.add_photos(lst, VILLAGE_0, START, [image_upload(png_bytes(), "a.png")], user("insurer"))[0]
    db.session.commit()
    for actor in (other, user("county_agri")):
        with pytest.raises(DomainError, match="只有该清单的承保机构可以删除理赔公示张贴照片"):
            notices.remove_photo(lst, photo, actor)
        db.session.rollback()
    assert login("other_insurer").post(f"/payouts/notice-photos/{photo.id}/delete").status_code == 404
    assert login("county_agri").post(f"/payouts/notice-photos/{photo.id}/delete").status_code == 403
    assert photo_count(db) == 1 and entries(db, "payout_notice.photo_removed") == []


# --- the bureaus read them -----------------------------------------------------------------------------------

def test_the_county_and_the_city_see_the_photos_as_evidence_finance_and_others_do_not(lst, login, db):
    notices.add_photos(lst, VILLAGE_1, START, [image_upload(png_bytes(), "张贴.png")], user("insurer"))
    db.session.commit()
    photo = db.session.scalar(sa.select(PayoutNoticePhoto.id))
    for role in ("county_agri", "city_agri", "admin"):
        client = login(role)
        page = read_text(client.get(f"/payouts/lists/{lst.id}"))
        assert "3 个村，1 个村已上传张贴照片" in page and page.count("notice-thumb") == 1, role
        assert page.count("no-photo") == 2, role
        assert "delete-notice-photo" not in page and 'id="notice-photo-form"' not in page, role
        assert 'id="notice-period-form"' not in page, role
        shown = client.get(f"/payouts/notice-photos/{photo}")
        assert shown.status_code == 200 and shown.data == png_bytes(), role
    for role in ("county_finance", "city_finance"):
        assert login(role).get(f"/payouts/notice-photos/{photo}").status_code == 403, role
    make_user("wuyuan_agri", Role.COUNTY_AGRI, region=county("361130"))
    make_user("other_insurer", Role.INSURER, insurer=make_insurer())
    db.session.commit()
    for username in ("wuyuan_agri", "other_insurer"):
        assert login(username).get(f"/payouts/notice-photos/{photo}").status_code == 404, username


# --- a new list is noticed anew --------------------------------------------------------------------------------

def test_a_new_upload_of_the_event_drops_the_old_notice_and_its_photos(lst, login, db, tmp_path):
    notices.add_photos(lst, VILLAGE_0, START, [image_upload(png_bytes(), "a.png"),
                                               image_upload(jpeg_bytes(), "b.jpg")], user("insurer"))
    notices.add_photos(lst, VILLAGE_1, START, [image_upload(png_bytes(), "c.png")], user("insurer"))
    db.session.commit()
    old_id = lst.id
    assert photo_count(db) == 3 and file_count(db) == 3

    farmers = insured(tmp_path, count=2, start=20)
    new = import_file(write_csv(tmp_path / "again.csv", [payout(f, 10, 1) for f in farmers]))
    # (SQLite may give the new list the old one's id: a photo left behind would then show on the new list)
    assert db.session.scalars(sa.select(PayoutList.filename)).all() == ["again.csv"]
    assert photo_count(db) == 0 and file_count(db) == 0
    assert db.session.scalar(sa.select(sa.func.count()).select_from(PayoutNotice)) == 0
    [entry] = entries(db, "payout_notice.dropped")
    assert entry.object_id == str(old_id) and entry.details["photos"] == 3
    assert "其理赔公示（含张贴照片 3 张）随之删除" in entry.summary
    page = read_text(login("insurer").get(f"/payouts/lists/{new.id}"))
    assert "尚未填写公示期" in page and "notice-thumb" not in page
