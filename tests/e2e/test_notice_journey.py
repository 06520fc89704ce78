"""The underwriting list's notice to farmers (承保公示): the city requires photos of it before verification, the
insurer enters the period, downloads a village's notice and reads it back, the county's verification is refused
while villages have no photo, the insurer uploads real photos, the county sees them and verifies."""

import io
from datetime import timedelta

import pytest
from playwright.sync_api import expect
from pypdf import PdfReader

from agri_insurance import clock
from tests.e2e.conftest import log_in
from tests.images import jpeg_bytes, png_bytes
from tests.subsidies.factories import assign

pytestmark = pytest.mark.browser
OPINION = "经核验，承保清单与申请一致，各村已公示，同意拨付。"


def shown(page, text: str) -> bool:
    """The text appears (after the form posted before it has been answered)."""
    page.get_by_text(text).first.wait_for()
    return True


@pytest.fixture
def draft_with_list(demo, db):
    from tests.underwriting.notice_factories import claim_with_list

    assign()
    db.session.commit()
    return claim_with_list()


def test_notice_printed_posted_and_seen_before_verification(page, browser, live_server, draft_with_list, tmp_path):
    claim = draft_with_list
    claim_url = f"/subsidies/claims/{claim.id}"

    city = browser.new_context(base_url=live_server).new_page()
    log_in(city, "city_agri")
    city.click("nav >> text=保费补贴")   # the menu leads there
    city.click("text=承保公示要求")
    city.select_option("#notice-rules-year select", "2026")
    city.click("#notice-rules-year button")
    city.check("tr[data-product=rice] input[name=required]")
    city.click("#save-notice-rules")
    assert shown(city, "已保存")
    assert city.locator("tr[data-product=rice] input[name=required]").is_checked()

    # The insurer states the period and prints a village's notice: names and IDs masked, the village's totals.
    log_in(page, "insurer")
    page.goto(claim_url)
    page.click("#open-list")
    expect(page.locator("#notice-required")).to_be_visible()
    start = clock.local_today() - timedelta(days=2)
    page.fill("#starts_on", start.isoformat())
    page.fill("#days", "5")
    page.click("#save-notice-period")
    assert shown(page, "公示期已保存")
    with page.expect_download() as info:
        page.click('tr[data-village="饶丰镇第一村"] .village-pdf')
    text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(open(info.value.path(), "rb").read())).pages)
    assert "张*华" in text and "李*" in text and "张三华" not in text and "合计（3户）" in text
    assert info.value.suggested_filename == "鄱阳县饶丰镇第一村承保公示.pdf"
    page.goto(claim_url)
    page.click("#submit-claim")
    assert shown(page, "已提交，等待县农业农村局核验")

    # The county bureau cannot verify while villages have no photo of the posted notice.
    county = browser.new_context(base_url=live_server).new_page()
    log_in(county, "county_agri")
    county.goto(claim_url)
    assert "3 个村，0 个村已上传张贴照片" in county.locator("#notice-card").inner_text()
    county.fill("#opinion", OPINION)
    county.click("#verify-claim")
    assert shown(county, "2026年水稻须上传各村承保公示张贴照片后方可核验，尚无照片的村：油墩街镇第二村、饶丰镇第一村、饶丰镇第二村")
    assert county.locator("#verification").count() == 0

    # The insurer uploads photos, village by village; a file that is not an image is refused.
    (tmp_path / "假照片.jpg").write_bytes(b"not a photo at all")
    (tmp_path / "张贴.png").write_bytes(png_bytes())
    (tmp_path / "近景.jpg").write_bytes(jpeg_bytes(640, 480))
    page.goto(f"/underwriting/claims/{claim.id}")
    page.select_option("#village", label="饶丰镇第一村")
    page.fill("#posted_on", start.isoformat())
    page.set_input_files("#photos", [str(tmp_path / "假照片.jpg")])
    page.click("#upload-notice-photos")
    assert shown(page, "假照片.jpg：只接受 JPEG 或 PNG 图片")
    for done, (village, files) in enumerate((("饶丰镇第一村", ["张贴.png", "近景.jpg"]), ("饶丰镇第二村", ["张贴.png"]),
                                             ("油墩街镇第二村", ["近景.jpg"])), start=1):
        page.select_option("#village", label=village)
        page.fill("#posted_on", start.isoformat())
        page.set_input_files("#photos", [str(tmp_path / name) for name in files])
        page.click("#upload-notice-photos")
        assert shown(page, f"3 个村，{done} 个村已上传张贴照片")
    assert page.locator('tr[data-village="饶丰镇第一村"] img.notice-thumb').count() == 2

    # The county sees the photos (the browser shows them: they are real images) and verifies.
    county.goto(claim_url)
    thumbs = county.locator("#notice-card img.notice-thumb")
    assert thumbs.count() == 4
    county.wait_for_function("[...document.querySelectorAll('#notice-card img.notice-thumb')]"
                             ".every(img => img.complete && img.naturalWidth > 0)")
    county.fill("#opinion", OPINION)
    county.click("#verify-claim")
    assert shown(county, "核验通过，拨付期限为")
    assert "3 个村，3 个村已上传张贴照片" in county.locator("#notice-card").inner_text()
