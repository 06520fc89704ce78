"""A selection from a fresh installation to its final notices, every step through the pages as its user takes it.

The database holds only what a production install has: the migrations and `flask create-admin`. The administrator
creates the people (the city bureau, two experts, three insurers' staff); the city bureau the insurers, two of them
under one parent company (common control), and a round whose rules cap any insurer's market share at 50 %, with
one lot typed into the form and three imported from the lot template. Three insurers bid: two through the form, one
through the bid template (xlsx), each with a PDF attached. The clock passes the opening time; the bureau opens the
bids, decides the common-control pair on the panel page (one admitted, one excluded), assigns the experts and
starts the scoring; the experts read the bids' PDFs from their scoring pages and score; the bureau closes the
panel and reads the ranking. The allocation finds no allocation under the 50 % cap (鄱阳县's first lot alone is
half the round's premium and every county needs both eligible insurers), so the bureau records the collective
decision raising it to 60 % (document number, minutes as PDF), runs a what-if under it, adopts and publishes. A
bidder objects and the objection is upheld: the round goes back to evaluation and its awards go. The bureau
adopts and publishes again; a second objection is answered as not upheld; after the notice period (the clock
moves again) the result is finalised and the notices are numbered: the award notice read with python-docx and
pypdf, the OCDS export validated against the committed schema. Each person's home page shows the to-do line (and
the menu badge) while the work waits for them, and not once it is done.

The arithmetic: lots PY-1 3,000,000, PY-2 1,000,000 (鄱阳县), WY-1 1,500,000, WY-2 500,000 (婺源县), 6,000,000
in all. With two eligible insurers and two insurers required in each county, each insurer holds one lot in each
county; whoever holds PY-1 holds at least 3,500,000 (58.3 %): no allocation meets 50 %. Under 60 % only the
allocations giving PY-1's holder WY-2 remain, and the better-scored insurer takes PY-1 and WY-2.
"""

from __future__ import annotations

import io
import json
import re
from datetime import UTC, datetime, time, timedelta

import pytest
import time_machine
from docx import Document
from openpyxl import load_workbook
from playwright.sync_api import expect
from pypdf import PdfReader

from agri_insurance import clock
from agri_insurance.awards.ocds import validation_errors
from agri_insurance.pdf import build_pdf, paragraph
from tests.e2e.conftest import log_in
from tests.e2e.test_claim_from_empty_database import (  # noqa: F401  (fixtures used by name)
    ADMIN,
    ADMIN_PASSWORD,
    INITIAL_PASSWORD,
    Users,
    credit_code,
    fresh_install,
    home,
    see,
    submit,
    todo_ids,
)
from tests.e2e.test_claim_from_empty_database import users as users  # noqa: F401  (the fixture, by name)

pytestmark = pytest.mark.browser

GROUP = "鄱湖保险集团股份有限公司"          # the parent of two bidders: common control
INSURERS = (  # full name, short name, parent company, credit code's first 17, username, own password
    ("鄱湖财产保险股份有限公司上饶中心支公司", "鄱湖财险", GROUP, "91361100MA35PH0X1", "pohu_ins", "Pohu2026bid"),
    ("饶州财产保险股份有限公司上饶中心支公司", "饶州财险", GROUP, "91361100MA35RQ0X2", "raozhou_ins", "Raoz2026bid"),
    ("信江农业保险股份有限公司上饶分公司", "信江农险", "信江农业保险股份有限公司", "91361100MA35XJ0X3", "xinjiang_ins",
     "Xinj2026bid"),
)
EXPERTS = (("zhuanjia_chen", "评审专家 陈教授", "Chen2026score"), ("zhuanjia_lin", "评审专家 林研究员", "Lin2026score"))
ROUND_NAME = "2027–2029年度上饶市政策性农业保险承保机构遴选"
CONTACT = "市农业农村局计划财务科 0793-8221234"
FORM_LOT = ("鄱阳县", "PY-1", "鄱阳县水稻标段", ("水稻",), "3000000", "66.5")
XLSX_LOTS = (("鄱阳县", "PY-2", "鄱阳县油菜花生标段", ("油菜", "花生"), 1000000, 52.0),
             ("婺源县", "WY-1", "婺源县种植业标段", ("水稻", "油菜"), 1500000, 58.0),
             ("婺源县", "WY-2", "婺源县林业标段", ("商品林",), 500000, 35.4))
DEPARTURE_DOC = "饶农局党组会〔2026〕12号"
UPHELD = ("对婺源县标段评审的质疑", "评审未计入本公司婺源县新设的乡镇服务站，请予复核。")
REJECTED = ("对鄱阳县标段分配结果的质疑", "本公司认为鄱阳县水稻标段应由本公司承保。")


def pdf_file(tmp_path, name: str, text: str):
    path = tmp_path / name
    path.write_bytes(build_pdf([paragraph(text)], title=name))
    return path


def option_value(page, select: str, text: str) -> str:
    """The value of the option of `select` whose label contains `text` (labels add codes or categories)."""
    return page.locator(f"{select} option", has_text=text).first.get_attribute("value")


def badge(page, endpoint: str) -> str | None:
    item = page.locator(f"#nav-badge-{endpoint.replace('.', '-')}")
    return item.evaluate("b => b.firstChild.textContent.trim()") if item.count() else None


def menu(page, group: str, item: str) -> None:
    """Open a page from the navigation (the group's own toggle: "遴选" is also part of other items' names)."""
    page.locator("nav .dropdown-toggle", has_text=re.compile(f"^{group}")).click()
    with page.expect_navigation():
        page.locator("nav .dropdown-menu.show a", has_text=item).first.click()


def local_input(moment: datetime) -> str:
    return clock.to_local(moment).strftime("%Y-%m-%dT%H:%M")


# --- the people and the insurers -------------------------------------------------------------------------------

def create_user(admin, username: str, name: str, role: str, insurer: str | None = None) -> None:
    menu(admin, "系统管理", "用户管理")
    admin.click("text=新建用户")
    admin.fill("#username", username)
    admin.fill("#display_name", name)
    admin.select_option("#role", role)
    if insurer:
        admin.select_option("#insurer_id", label=insurer)
    admin.fill("#password", INITIAL_PASSWORD)
    submit(admin, "main form button[type=submit]")
    see(admin, "用户已创建")


def add_insurer(city, name: str, short: str, parent: str, code17: str) -> None:
    menu(city, "基础数据", "承保机构")
    city.click("text=新增")
    city.fill("#name", name)
    city.fill("#short_name", short)
    city.fill("#credit_code", credit_code(code17))
    city.fill("#parent_company", parent)
    city.fill("#contact_person", "联系人")
    city.fill("#contact_phone", "0793-8201234")
    submit(city, "main form button[type=submit]")
    see(city, "已保存")


# --- the round --------------------------------------------------------------------------------------------------

def lots_file(city, tmp_path):
    """The lot template as the bureau downloads it, filled with three lots."""
    with city.expect_download() as download:
        city.click("#lots-template")
    workbook = load_workbook(io.BytesIO(download.value.path().read_bytes()))
    sheet = workbook["标段"]
    headers = [c.value for c in sheet[1]]
    for row, (county, code, name, products, premium, loss) in enumerate(XLSX_LOTS, start=2):
        values = {"县（市、区）": county, "标段编号": code, "标段名称": name, "预计年保费（元）": premium,
                  "历史赔付率（%）": loss, **{f"险种{i}": p for i, p in enumerate(products, start=1)}}
        for header, value in values.items():
            sheet.cell(row, headers.index(header) + 1, value)
    path = tmp_path / "标段.xlsx"
    workbook.save(path)
    return path


def create_round(city, tmp_path, deadline: datetime) -> str:
    """The round by form, one lot by form and three by xlsx, published; returns the round page's URL."""
    menu(city, "遴选", "遴选轮次")
    city.click("text=新建遴选轮次")
    city.fill("#name", ROUND_NAME)
    city.fill("#term_start_year", "2027")
    city.fill("#bid_deadline", local_input(deadline))
    city.fill("#opening_time", local_input(deadline + timedelta(hours=1)))
    city.fill("#market_share_cap_pct", "50")
    city.fill("#contact", CONTACT)
    submit(city, "main form button[type=submit]")
    see(city, ROUND_NAME)
    round_url = city.url
    expect(city.locator("#round-status")).to_have_text("草稿")

    county, code, name, products, premium, loss = FORM_LOT
    city.click("text=新增标段")
    city.select_option("#region_id", value=option_value(city, "#region_id", county))
    city.fill("#code", code)
    city.fill("#name", name)
    for product in products:
        city.locator("#product_ids li", has_text=product).first.locator("input").check()
    city.fill("#expected_premium", premium)
    city.fill("#loss_ratio_pct", loss)
    submit(city, "main form button[type=submit]")
    expect(city.locator("#lots tbody tr")).to_have_count(1)

    city.click("text=从 xlsx 导入")
    city.set_input_files("#file", str(lots_file(city, tmp_path)))
    submit(city, "main form button[type=submit]")
    expect(city.locator("#lots tbody tr")).to_have_count(4)
    lots = city.locator("#lots").inner_text()
    assert "PY-2" in lots and "花生" in lots and "500,000.00" in lots
    limits = city.locator("#county-limits").inner_text()
    assert "鄱阳县" in limits and "婺源县" in limits

    round_id = round_url.rstrip("/").rsplit("/", 1)[1]
    assert "草稿，待发布" in todo_line(city, f"todo-round-{round_id}")   # a draft waits for the bureau
    assert badge(city, "tenders.rounds") == "1"
    follow(city, f"todo-round-{round_id}")
    submit(city, "#publish-button")
    expect(city.locator("#round-status")).to_have_text("投标中")
    return round_url


def start_bid(insurer) -> None:
    menu(insurer, "遴选", "本机构投标")
    row = insurer.locator("#open-rounds tr", has_text=ROUND_NAME)
    with insurer.expect_navigation():
        row.get_by_role("button", name="编制投标文件").click()
    insurer.wait_for_url("**/edit")


BID_FIELDS = (("avg_settlement_days", "15.5"), ("on_time_settlement_pct", "98"), ("complaints_per_10k", "0.2"),
              ("premium_income_y1", "61000000"), ("premium_income_y2", "65000000"),
              ("premium_income_y3", "70000000"), ("reinsurance_arrangement", "与再保险公司签订成数分保合同"),
              ("catastrophe_reserve", "12000000"), ("comprehensive_solvency_pct", "245"),
              ("core_solvency_pct", "190"))


def bid_by_form(insurer, parent: str, stations: tuple[int, int]) -> None:
    """Every lot, both counties' set-up, the data sheet typed in."""
    start_bid(insurer)
    for box in insurer.locator("input[name=lot_ids]").all():
        box.check()
    for index, count in enumerate(stations):            # 鄱阳县 (361128) then 婺源县 (361130)
        insurer.check(f"input[name='county_setups-{index}-has_county_branch']")
        insurer.fill(f"input[name='county_setups-{index}-township_stations']", str(count))
        insurer.fill(f"input[name='county_setups-{index}-agri_staff']", str(count * 3))
    for name, value in BID_FIELDS:
        insurer.fill(f"#{name}", value)
    insurer.select_option("#service_rating", "A")
    insurer.select_option("#risk_rating", "A")
    insurer.fill("#parent_company", parent)
    insurer.fill("#control_declaration", f"本公司的控股股东为{parent}。")
    insurer.fill("input[name='innovations-0-name']", "水稻完全成本保险")
    insurer.fill("input[name='innovations-0-filed_on']", "2024-03-15")
    submit(insurer, "#save-bid")
    expect(insurer.locator("#bid-lots li")).to_have_count(4)


def bid_by_xlsx(insurer, tmp_path, parent: str) -> None:
    """The bid template downloaded from the (empty) bid's page, filled with openpyxl and uploaded."""
    start_bid(insurer)
    insurer.goto(insurer.url.removesuffix("/edit"))
    with insurer.expect_download() as download:
        insurer.click("#bid-template")
    workbook = load_workbook(io.BytesIO(download.value.path().read_bytes()))
    info = workbook["投标信息"]
    values = {**dict(BID_FIELDS), "service_rating": "AA", "risk_rating": "A", "parent_company": parent,
              "control_declaration": "本公司与本轮其他投标人不存在控股、管理等关联关系。",
              "avg_settlement_days": "12", "on_time_settlement_pct": "99.5"}
    for row in range(2, info.max_row + 1):
        key = info.cell(row, 1).value
        if key in values:
            info.cell(row, 3, values[key])
    for row in range(2, workbook["投标标段"].max_row + 1):
        workbook["投标标段"].cell(row, 4, "是")
    setup = workbook["机构设置"]
    for row in range(2, setup.max_row + 1):
        setup.cell(row, 2, "是")
        setup.cell(row, 3, 15)
        setup.cell(row, 4, 40)
    workbook["创新产品"].append(["油菜价格指数保险", datetime(2023, 5, 8)])
    path = tmp_path / "投标文件.xlsx"
    workbook.save(path)
    insurer.set_input_files("form[action$='/import'] input[type=file]", str(path))
    submit(insurer, "form[action$='/import'] button")
    see(insurer, "已从 xlsx 导入投标文件")
    expect(insurer.locator("#bid-lots li")).to_have_count(4)


def attach_and_submit(insurer, tmp_path, title: str) -> None:
    if not insurer.url.rstrip("/").split("/")[-1].isdigit():      # from the edit page to the bid's page
        insurer.goto(insurer.url.removesuffix("/edit"))
    path = pdf_file(tmp_path, f"{title}.pdf", f"{title}（测试用）")
    insurer.fill("form[action$='/attachments'] input[name=title]", title)
    insurer.set_input_files("form[action$='/attachments'] input[type=file]", str(path))
    submit(insurer, "form[action$='/attachments'] button")
    expect(insurer.locator("#attachments")).to_contain_text(title)
    submit(insurer, "#submit-bid")
    expect(insurer.locator("#bid-status")).to_have_text("已提交")


def test_a_selection_from_a_fresh_install_to_its_final_notices(users: Users, tmp_path):
    admin = users.open(ADMIN)
    log_in(admin, ADMIN, ADMIN_PASSWORD)
    create_user(admin, "shi_nongye", "上饶市农业农村局 周科长", "city_agri")
    for username, name, _password in EXPERTS:
        create_user(admin, username, name, "expert")
    city = users.first_login("shi_nongye", "Zhou2026city")
    for name, short, parent, code17, _username, _password in INSURERS:
        add_insurer(city, name, short, parent, code17)
    for name, short, _parent, _code, username, _password in INSURERS:
        create_user(admin, username, f"{short} 业务经理", "insurer", insurer=name)
    insurers = [users.first_login(username, password) for *_rest, username, password in INSURERS]
    experts = [users.first_login(username, password) for username, _name, password in EXPERTS]

    # The city bureau creates the round (a draft waits on its home page until it is published).
    deadline = clock.to_utc(datetime.combine(clock.local_today() + timedelta(days=3), time(17, 0)))
    round_url = create_round(city, tmp_path, deadline)
    round_id = round_url.rstrip("/").rsplit("/", 1)[1]
    home(city)
    assert f"todo-round-{round_id}" not in todo_ids(city)       # open for bids: nothing for the bureau to do

    # Three insurers bid: two by the form, one by the xlsx template; each attaches its licence as a PDF.
    pohu, raozhou, xinjiang = insurers
    bid_by_form(pohu, GROUP, (12, 8))
    attach_and_submit(pohu, tmp_path, "鄱湖财险营业执照")
    bid_by_form(raozhou, GROUP, (6, 5))
    attach_and_submit(raozhou, tmp_path, "饶州财险营业执照")
    bid_by_xlsx(xinjiang, tmp_path, "信江农业保险股份有限公司")
    attach_and_submit(xinjiang, tmp_path, "信江农险营业执照")

    for insurer in insurers:
        home(insurer)
        expect(insurer.locator("#todo-empty")).to_be_visible()

    # The opening time passes. The bureau finds the round waiting to be opened, opens it and starts the evaluation.
    opening = deadline + timedelta(hours=1, minutes=5)
    with time_machine.travel(opening.replace(tzinfo=UTC)):
        run_the_evaluation(city, experts, insurers, round_id)
        notice_ends = allocate_past_the_cap_and_publish(city, insurers, round_id, tmp_path)
    with time_machine.travel(datetime.combine(notice_ends + timedelta(days=1), time(2, 0)).replace(tzinfo=UTC)):
        finalise_and_issue(city, insurers, round_id)


def todo_line(page, todo_id: str) -> str:
    home(page)
    return page.locator(f"#{todo_id}").inner_text()


def open_todo(page, todo_id: str) -> None:
    home(page)
    follow(page, todo_id)


def follow(page, todo_id: str) -> None:
    """On the home page just read, follow a to-do line to where its work is done."""
    with page.expect_navigation():
        page.click(f"#{todo_id} a")


def run_the_evaluation(city, experts, insurers, round_id: str) -> None:
    todo = f"todo-round-{round_id}"
    assert "开标时间已到，待开标" in todo_line(city, todo)
    assert badge(city, "tenders.rounds") == "1"
    follow(city, todo)
    expect(city.locator("#round-status")).to_have_text("已截标")
    submit(city, "#open-bids-button")
    record = city.locator("#opening-record").inner_text()
    assert all(name in record for name, *_rest in INSURERS)
    assert "已开标，待进入评审" in todo_line(city, todo)
    follow(city, todo)
    submit(city, "button:has-text('进入评审')")
    assert "待进行资格审查" in todo_line(city, todo)
    assert badge(city, "evaluation.rounds") == "1" and badge(city, "tenders.rounds") is None

    # Eligibility: the two bidders under one parent are flagged; the bureau admits one and excludes the other.
    follow(city, todo)
    submit(city, "#check-eligibility")
    assert "2 家同一控制的投标人待决定是否参加评审" in todo_line(city, todo)
    follow(city, todo)
    for (name, *_rest), label, note in ((INSURERS[0], "准予参加评审", "鄱湖财险在本市经营时间较长，准予参加"),
                                        (INSURERS[1], "不予参加评审", "与鄱湖财险同属一个集团，同一控制下只允许一家参加")):
        row = city.locator("#eligibility tbody tr", has_text=name)
        row.locator("select[name=decision]").select_option(label=label)
        row.locator("input[name=note]").fill(note)
        with city.expect_navigation():
            row.get_by_role("button", name="记录决定").click()
        expect(city.locator("#eligibility tbody tr", has_text=name)).to_contain_text(label)
    assert "待指派评审专家" in todo_line(city, todo)
    follow(city, todo)
    for _username, expert_name, _password in EXPERTS:
        city.select_option("#add-member select", label=city.locator("#add-member select option",
                                                                     has_text=expert_name).inner_text())
        submit(city, "#add-member button")
    assert "资格审查已完成，待开始专家评分" in todo_line(city, todo)
    follow(city, todo)
    submit(city, "#start-scoring")
    expect(city.locator("#panel-status")).to_have_text("专家评分")
    home(city)
    assert todo not in todo_ids(city)             # the experts' turn

    # Each expert declares no conflict, reads each bid's PDF from its scoring page and scores it.
    points = {INSURERS[0][0]: "2", INSURERS[2][0]: "4"}
    for expert in experts:
        assert "请先声明是否存在利益冲突" in todo_line(expert, f"todo-score-{round_id}")
        assert badge(expert, "evaluation.rounds") == "1"
        follow(expert, f"todo-score-{round_id}")
        submit(expert, "#declare-button")
        assert expert.locator("#bids-to-score").inner_text().count("评分") >= 2
        assert INSURERS[1][0] not in expert.locator("#bids-to-score").inner_text()     # excluded: not scored
        for name, value in points.items():
            with expert.expect_navigation():
                expert.locator("#bids-to-score tr", has_text=name).locator(".score-link").click()
            link = expert.locator("#bid-documents .bid-attachment").first
            short = next(s for n, s, *_rest in INSURERS if n == name)
            expect(link).to_have_text(f"{short}营业执照")
            document = expert.request.get(link.get_attribute("href"))
            assert document.ok and document.body().startswith(b"%PDF")
            assert f"{short}营业执照" in "".join(p.extract_text() for p in PdfReader(io.BytesIO(document.body())).pages)
            for field in expert.locator("#score-form input[inputmode=decimal]").all():
                field.fill(value)
            submit(expert, "#save-scores")
        submit(expert, "#submit-scores")
        expect(expert.locator("#panel-scores")).to_be_visible()
        home(expert)
        assert f"todo-score-{round_id}" not in todo_ids(expert) and badge(expert, "evaluation.rounds") is None

    # The bureau closes the panel and reads the ranking: 信江农险 first, the excluded bidder not ranked.
    assert "专家已全部提交评分，待结束评审并确定排名" in todo_line(city, todo)
    follow(city, todo)
    submit(city, "#close-panel")
    rows = city.locator("#ranking tbody tr")
    expect(rows).to_have_count(3)
    assert INSURERS[2][0] in rows.nth(0).inner_text() and INSURERS[0][0] in rows.nth(1).inner_text()
    excluded = rows.nth(2).inner_text()                 # listed last, with the reason and no score
    assert INSURERS[1][0] in excluded and "同一控制" in excluded and "—" in excluded
    assert "-0.00" not in city.locator("#ranking").inner_text()
    ranking_pdf = city.request.get(city.locator("a:has-text('排名（PDF）')").first.get_attribute("href"))
    signed = "".join(p.extract_text() for p in PdfReader(io.BytesIO(ranking_pdf.body())).pages).replace(" ", "")
    assert all(name.replace(" ", "") in signed for _username, name, _password in EXPERTS)   # one line each
    assert "评审已结束，待计算分配方案" in todo_line(city, todo)
    assert badge(city, "tenders.rounds") == "1" and badge(city, "evaluation.rounds") is None


def run_allocation(city) -> None:
    """Start a run from the allocation page and wait for its result (the job's page turns into it)."""
    submit(city, "#start-run")
    city.wait_for_selector("#run-summary", timeout=30_000)


def winners(page) -> dict[str, str]:
    """The award table: lot code → the winner's name."""
    out = {}
    for row in page.locator("#award-table tbody tr").all():
        cells = row.locator("td").all_inner_texts()
        code = next((c.split()[0] for c in cells if re.match(r"(PY|WY)-\d", c.strip())), None)
        winner = row.locator("td.winner")
        if code and winner.count():
            out[code] = winner.inner_text().strip()
    return out


def publish(city, round_id: str) -> str:
    """Publish the adopted result from the result page; the notice's last day."""
    assert "分配方案已采用，待公示中标结果" in todo_line(city, f"todo-round-{round_id}")
    follow(city, f"todo-round-{round_id}")
    submit(city, "#publish-awards")
    expect(city.locator("#round-status")).to_have_text("公示中")
    period = city.locator("#notice-period").inner_text()
    ends = re.findall(r"\d{4}-\d{2}-\d{2}", period)[1]
    home(city)
    assert f"todo-round-{round_id}" not in todo_ids(city)          # the notice runs: nothing to do
    return datetime.strptime(ends, "%Y-%m-%d").date()


def object_to(insurer, round_id: str, subject: str, body: str, tmp_path) -> None:
    menu(insurer, "遴选", "中标结果")
    with insurer.expect_navigation():
        insurer.locator("a", has_text=ROUND_NAME).first.click()
    with insurer.expect_navigation():
        insurer.get_by_role("link", name="提出质疑").click()
    insurer.fill("#subject", subject)
    insurer.fill("#body", body)
    insurer.set_input_files("#document", str(pdf_file(tmp_path, "质疑函.pdf", body)))
    submit(insurer, "main form button[type=submit]")
    expect(insurer.locator(".objection", has_text=subject)).to_contain_text("待答复")


def answer(city, round_id: str, subject: str, upheld: bool, text: str) -> None:
    line = todo_line(city, f"todo-objections-{round_id}")
    assert "1 件质疑待答复" in line and badge(city, "awards.rounds") == "1"
    follow(city, f"todo-objections-{round_id}")
    card = city.locator(".objection", has_text=subject)
    card.locator("input[name=decision][value=%s]" % ("upheld" if upheld else "rejected")).check()
    card.locator("textarea[name=answer]").fill(text)
    submit(city, f".objection:has-text('{subject}') form button")
    see(city, "质疑成立：本轮已退回评审" if upheld else "质疑已答复")
    home(city)
    assert f"todo-objections-{round_id}" not in todo_ids(city) and badge(city, "awards.rounds") is None


def allocate_past_the_cap_and_publish(city, insurers, round_id: str, tmp_path):
    todo = f"todo-round-{round_id}"
    best, second = INSURERS[2][0], INSURERS[0][0]
    follow(city, todo)                                           # the allocation page
    run_allocation(city)
    expect(city.locator("#solver-status")).to_have_text("无可行分配")
    diagnostics = city.locator("#diagnostics").inner_text()
    assert "按本轮公布的市场份额上限50%，各县承保机构数量要求无法同时满足；不设该上限即可分配" in diagnostics
    infeasible_url = city.url
    assert city.locator("#adopt-run").count() == 0

    # The way out the page offers: the bureau's collective decision raising the cap, with its minutes.
    with city.expect_navigation():
        city.click("#departure-hint a")
    assert "50%" in city.locator("#published-rules").inner_text()
    city.fill("input[name=approved_cap_pct]", "60")
    city.check("input[name=basis][value=collective]")
    city.fill("input[name=doc_no]", DEPARTURE_DOC)
    city.fill("input[name=decided_on]", clock.local_today().isoformat())
    city.fill("textarea[name=reason]", "鄱阳县水稻标段预计保费占本轮一半，每县须两家承保，按50%的上限无法分配。")
    city.set_input_files("input[name=document]", str(pdf_file(tmp_path, "局党组会议纪要.pdf", DEPARTURE_DOC)))
    submit(city, "#save-departure")
    row = city.locator("#departures tr.departure")
    assert DEPARTURE_DOC in row.inner_text() and "50% → 60%" in row.inner_text() and "集体决策" in row.inner_text()
    minutes = city.request.get(row.locator("a").first.get_attribute("href"))
    assert minutes.ok and minutes.body().startswith(b"%PDF")

    # A what-if under it is optimal; adoption accepts it; the winners are as the arithmetic says.
    city.goto(infeasible_url)
    city.select_option("select[name=departure]", index=1)
    submit(city, "#run-whatif")
    city.wait_for_selector("#run-summary", timeout=30_000)
    expect(city.locator("#solver-status")).to_have_text("最优解")
    assert "市场份额上限：60%" in city.locator("#run-conditions").inner_text()
    see(city, DEPARTURE_DOC)                                           # the run names what it runs under
    assert city.locator("#adoption-problem").count() == 0
    assert "分配方案已算出，待采用" in todo_line(city, todo)
    follow(city, todo)
    with city.expect_navigation():
        city.locator("#runs tbody tr", has_text=DEPARTURE_DOC).first.locator("a").click()
    submit(city, "#adopt-run")
    expect(city.locator("#round-status")).to_have_text("已分配")
    assert winners(city) == {"PY-1": best, "WY-2": best, "PY-2": second, "WY-1": second}
    assert DEPARTURE_DOC in city.locator("#departures").inner_text()
    publish(city, round_id)

    # 鄱湖财险 objects, and is right: the round goes back to evaluation, its awards go.
    pohu = insurers[0]
    object_to(pohu, round_id, *UPHELD, tmp_path)
    answer(city, round_id, UPHELD[0], True, "经复核，评审确有遗漏，质疑成立，退回评审重新确定分配方案。")
    city.goto(f"/tenders/{round_id}")
    expect(city.locator("#round-status")).to_have_text("评审中")
    assert "评审已结束，待计算分配方案" in todo_line(city, todo)
    home(pohu)
    expect(pohu.locator("#todo-empty")).to_be_visible()               # its objection is answered

    # The bureau allocates again: the published cap still admits nothing, the recorded departure still holds.
    follow(city, todo)
    expect(city.locator("#runs tbody tr", has_text=DEPARTURE_DOC)).to_contain_text("已撤销")
    run_allocation(city)
    expect(city.locator("#solver-status")).to_have_text("无可行分配")
    city.select_option("select[name=departure]", index=1)
    submit(city, "#run-whatif")
    city.wait_for_selector("#run-summary", timeout=30_000)
    expect(city.locator("#solver-status")).to_have_text("最优解")
    submit(city, "#adopt-run")
    expect(city.locator("#round-status")).to_have_text("已分配")
    ends = publish(city, round_id)

    # 饶州财险 (excluded) objects and is answered: not upheld, the result stands.
    object_to(insurers[1], round_id, *REJECTED, tmp_path)
    answer(city, round_id, REJECTED[0], False, "同一控制下只允许一家参加评审，资格审查决定无误，质疑不成立。")
    city.goto(f"/awards/rounds/{round_id}")
    expect(city.locator("#round-status")).to_have_text("公示中")
    assert city.locator("#finalise-awards").is_disabled()       # the notice still runs
    return ends


def finalise_and_issue(city, insurers, round_id: str) -> None:
    todo = f"todo-round-{round_id}"
    assert "待确定中标" in todo_line(city, todo)
    assert badge(city, "awards.rounds") == "1"
    follow(city, todo)
    submit(city, "#finalise-awards")
    expect(city.locator("#round-status")).to_have_text("已中标")
    home(city)
    assert todo not in todo_ids(city) and badge(city, "awards.rounds") is None

    # The notices are numbered in the bureau's convention: award notices by insurer name, then the non-award one.
    year = clock.local_today().year
    numbers = {f"饶农险遴〔{year}〕{n}号": name for n, name in
               enumerate((INSURERS[2][0], INSURERS[0][0], INSURERS[1][0]), start=1)}
    menu(city, "遴选", "中标结果")
    with city.expect_navigation():
        city.locator("a", has_text=ROUND_NAME).first.click()
    rows = city.locator("#notices tbody tr")
    assert {row.locator("td").first.inner_text().strip(): row.inner_text() for row in rows.all()}.keys() == numbers.keys()
    best_row = rows.filter(has_text=INSURERS[2][0])
    assert f"饶农险遴〔{year}〕1号" in best_row.inner_text() and "中标通知书" in best_row.inner_text()
    with city.expect_download() as download:
        best_row.locator(".notice-docx").click()
    document = Document(download.value.path())
    text = "\n".join(p.text for p in document.paragraphs)
    text += "\n".join(cell.text for table in document.tables for r in table.rows for cell in r.cells)
    assert f"饶农险遴〔{year}〕1号" in text and "上饶市农业农村局" in text and INSURERS[2][0] in text
    assert "草稿" not in text and "公示期满" in text
    assert "PY-1" in text and "WY-2" in text and "PY-2" not in text
    with city.expect_download() as download:
        best_row.locator(".notice-pdf").click()
    pdf_text = "".join(p.extract_text() for p in PdfReader(download.value.path()).pages).replace("\n", "").replace(" ", "")
    assert f"饶农险遴〔{year}〕1号" in pdf_text and "上饶市农业农村局" in pdf_text and "草稿" not in pdf_text
    assert DEPARTURE_DOC in pdf_text                                # the departure the result rests on

    # The OCDS export validates against the committed schema and carries the awards and the departure.
    ocds = city.request.get(city.locator("a:has-text('OCDS')").first.get_attribute("href"))
    package = json.loads(ocds.body())
    assert validation_errors(package) == []
    release = package["releases"][-1]
    awarded = {s["name"] for a in release["awards"] if a.get("status") == "active" for s in a.get("suppliers", [])}
    assert awarded == {INSURERS[2][0], INSURERS[0][0]}
    assert DEPARTURE_DOC in ocds.text()

    # The winners find the result on their home page and their notice's number where they download it.
    xinjiang = insurers[2]
    line = todo_line(xinjiang, f"todo-award-{round_id}")
    assert "已确定中标：本机构中标 2 个标段" in line and badge(xinjiang, "awards.rounds") == "1"
    follow(xinjiang, f"todo-award-{round_id}")
    expect(xinjiang.locator("#own-notice-number")).to_contain_text(f"饶农险遴〔{year}〕1号")
    home(insurers[1])
    assert f"todo-award-{round_id}" not in todo_ids(insurers[1])         # 饶州财险 won nothing
