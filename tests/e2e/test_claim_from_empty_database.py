"""A subsidy claim from a fresh installation to its last payment, every step through the pages as its user takes it.

The database holds only what a production install has: the migrations and `flask create-admin` (which loads the
regions and products). The administrator creates the users; the city bureau the insurer, the subsidy scheme and
the underwriting assignment; the finance bureaus their budgets. The insurer files a claim from its underwriting
list (the template downloaded and filled with openpyxl); the county bureau returns it with a reason; the insurer
files the corrected list; the county verifies with its opinion; the county and city finance bureaus pay their
shares and the claim settles; the ledger, the print views and the payment list (xlsx too) show the figures. Each
user's home page shows the to-do item and the menu badge while the work waits for them, and neither once it is done.
"""

from __future__ import annotations

import io
import threading
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

import pytest
from openpyxl import load_workbook
from playwright.sync_api import expect
from werkzeug.serving import make_server

from agri_insurance import clock
from tests.e2e.conftest import log_in

pytestmark = pytest.mark.browser

ADMIN, ADMIN_PASSWORD = "root", "Anzhuang2026ok"
INITIAL_PASSWORD = "Start2026go"      # what the administrator gives each account
COUNTY = "鄱阳县"
INSURER = ("鄱湖财产保险股份有限公司上饶中心支公司", "鄱湖财险")
RETURN_REASON = "承保清单漏报农户32至农户35共4户，请补齐后重新申报。"
OPINION = "经核验，承保清单与申请一致，农户均已公示无异议，同意拨付补贴。"

# GB 11643 (resident ID numbers) and GB 32100 (unified social credit codes), written out here rather than taken from
# the application: the journey must not trust the code it tests to make its test data.
ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
CREDIT_CHARS = "0123456789ABCDEFGHJKLMNPQRTUWXY"
CREDIT_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)


def resident_id(first17: str) -> str:
    return first17 + "10X98765432"[sum(int(d) * w for d, w in zip(first17, ID_WEIGHTS, strict=True)) % 11]


def credit_code(first17: str) -> str:
    check = (31 - sum(CREDIT_CHARS.index(c) * w for c, w in zip(first17, CREDIT_WEIGHTS, strict=True)) % 31) % 31
    return first17 + CREDIT_CHARS[check]


@dataclass(frozen=True)
class Farmer:
    name: str
    id_number: str
    village: str
    mu: int          # 亩 of rice insured, at 1,000 yuan a mu and a 4 % rate: 40 yuan of premium a mu

    @property
    def row(self) -> list:
        return [self.name, self.id_number, "饶丰镇", self.village, "水稻", self.mu, "亩", self.mu * 1000,
                self.mu * 40, self.mu * 6, None]   # the farmer pays 15 %: 6 yuan a mu


def farmers(count: int, start: int = 0) -> list[Farmer]:
    return [Farmer(f"农户{n:02d}", resident_id(f"361128{1955 + n % 40}{1 + n % 12:02d}{1 + n % 28:02d}{n:03d}"),
                   f"第{1 + n % 4}村", 5 + n % 7) for n in range(start, start + count)]


def money(value) -> str:
    return f"{Decimal(value):,.2f}"


# --- a fresh installation, served -----------------------------------------------------------------------------

@pytest.fixture
def fresh_install(app, db):
    """Migrations (the test database is migrated) and `flask create-admin`, as the README says; nothing else."""
    from agri_insurance.auth.models import User

    assert db.session.query(User).count() == 0
    result = app.test_cli_runner().invoke(args=["create-admin", ADMIN],
                                          input=f"{ADMIN_PASSWORD}\n{ADMIN_PASSWORD}\n")
    assert result.exit_code == 0, result.output
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(timeout=5)


class Users:
    """One browser context per person: each stays logged in, as each would at their own desk."""

    def __init__(self, browser, base_url: str):
        self.browser, self.base_url, self.pages = browser, base_url, {}

    def open(self, username: str):
        context = self.browser.new_context(base_url=self.base_url, locale="zh-CN", accept_downloads=True)
        page = context.new_page()
        page.set_default_timeout(10_000)
        self.pages[username] = page
        return page

    def first_login(self, username: str, own_password: str):
        """An account the administrator created: the first login asks for the person's own password."""
        page = self.open(username)
        log_in(page, username, INITIAL_PASSWORD)
        assert page.url.endswith("/account/password")
        see(page, "请先修改初始密码")
        page.fill("#current_password", INITIAL_PASSWORD)
        page.fill("#new_password", own_password)
        page.fill("#confirm", own_password)
        submit(page, "main form button[type=submit]")
        see(page, "密码已修改")
        return page

    def close(self):
        for page in self.pages.values():
            page.context.close()


@pytest.fixture
def users(browser, fresh_install):
    people = Users(browser, fresh_install)
    yield people
    people.close()


def see(page, text: str) -> None:
    """The text shows on the page (waiting for the page an action led to)."""
    expect(page.get_by_text(text).first).to_be_visible()


def submit(page, button: str) -> None:
    """Send a form and wait for the page the server answers with."""
    with page.expect_navigation():
        page.click(button)


def menu(page, group: str, item: str) -> None:
    """Open a page from the navigation, as a user finds it."""
    page.click(f"nav >> text={group}")
    with page.expect_navigation():
        page.click(f"nav .dropdown-menu >> text={item}")


def home(page):
    with page.expect_navigation():
        page.click("nav >> text=首页")
    return page


def watch_the_job(page) -> None:
    """On the job page an upload led to: the progress bar fills, then the link to the result is followed."""
    page.wait_for_url("**/jobs/*")
    page.wait_for_function("document.querySelector('.progress-bar')?.textContent.trim() === '100%'",
                           timeout=30_000)
    page.wait_for_selector(".job-redirect:visible")
    page.click(".job-redirect")


def todo_ids(page) -> list[str]:
    return page.locator("#todo-list li").evaluate_all("items => items.map(li => li.id)")


def claims_badge(page) -> str | None:
    badge = page.locator("#nav-badge-subsidies-claims")
    return badge.evaluate("b => b.firstChild.textContent.trim()") if badge.count() else None


# --- the set-up a bureau makes through the pages ---------------------------------------------------------------

def create_user(admin, username: str, name: str, role: str, county: str | None = None,
                insurer: str | None = None) -> None:
    menu(admin, "系统管理", "用户管理")
    admin.click("text=新建用户")
    admin.fill("#username", username)
    admin.fill("#display_name", name)
    admin.select_option("#role", role)
    if county:
        admin.select_option("#region_id", label=f"{county} (361128)")
    if insurer:
        admin.select_option("#insurer_id", label=insurer)
    admin.fill("#password", INITIAL_PASSWORD)
    submit(admin, "main form button[type=submit]")
    see(admin, "用户已创建")
    assert username in admin.locator("#users").inner_text()


def set_up_through_the_pages(users: Users, year: int) -> dict:
    admin = users.open(ADMIN)
    log_in(admin, ADMIN, ADMIN_PASSWORD)
    assert "欢迎" in admin.locator("h1").inner_text()
    create_user(admin, "shi_nongye", "上饶市农业农村局 周科长", "city_agri")

    city = users.first_login("shi_nongye", "Zhou2026city")
    menu(city, "基础数据", "承保机构")
    assert city.locator("table tbody tr").count() == 0           # a fresh install knows no insurer
    city.click("text=新增")
    city.fill("#name", INSURER[0])
    city.fill("#short_name", INSURER[1])
    city.fill("#credit_code", credit_code("91361100MA35PH0X1"))
    city.fill("#parent_company", "鄱湖财产保险股份有限公司")
    city.fill("#contact_person", "钱经理")
    city.fill("#contact_phone", "0793-8201234")
    submit(city, "main form button[type=submit]")
    see(city, "已保存")
    assert INSURER[0] in city.locator("table").inner_text()

    # the subsidy scheme of rice for the year: 45 % central, 25 % provincial, 10 % city, 5 % county, 15 % farmers
    menu(city, "基础数据", "补贴方案")
    see(city, "暂无补贴方案")
    city.click("text=新增")
    city.select_option("#product_id", label="水稻（中央政策性）")
    city.fill("#year", str(year))
    for level, pct in (("central", "45"), ("provincial", "25"), ("city", "10"), ("county", "5"), ("farmer", "15")):
        city.fill(f"#{level}_pct", pct)
    submit(city, "main form button[type=submit]")
    see(city, "已保存")
    row = city.locator("table tbody tr").first.inner_text()
    assert str(year) in row and "水稻" in row and "45" in row

    # the underwriting assignment: the insurer's right to claim for rice in the county, this year and the next two
    menu(city, "保费补贴", "承保安排")
    see(city, "暂无承保安排")
    city.select_option("#insurer_id", label=INSURER[1])
    city.select_option("#region_id", label=COUNTY)
    city.select_option("#product_id", label="水稻")
    city.fill("#start_year", str(year))
    city.fill("#end_year", str(year + 2))
    city.fill("#notes", f"饶农险〔{year}〕3号")
    submit(city, "form button:has-text('登记')")
    see(city, "承保安排已登记")
    assert f"{year}–{year + 2}" in city.locator("table").inner_text()

    create_user(admin, "pohu_qian", "鄱湖财险 钱经理", "insurer", insurer=INSURER[0])
    create_user(admin, "poyang_nongye", "鄱阳县农业农村局 吴股长", "county_agri", county=COUNTY)
    create_user(admin, "poyang_caizheng", "鄱阳县财政局 孙会计", "county_finance", county=COUNTY)
    create_user(admin, "shi_caizheng", "上饶市财政局 郑科长", "city_finance")

    insurer = users.first_login("pohu_qian", "Qian2026pohu")
    county = users.first_login("poyang_nongye", "Wu2026county")
    county_finance = users.first_login("poyang_caizheng", "Sun2026money")
    city_finance = users.first_login("shi_caizheng", "Zheng2026city")

    # each finance bureau records its own budget for the year
    for page, level, amount in ((county_finance, COUNTY, "500000.00"), (city_finance, "上饶市", "2000000.00")):
        menu(page, "保费补贴", "补贴预算")
        page.select_option("#region_id", label=level)
        page.fill("#amount", amount)
        submit(page, "form button:has-text('保存预算')")
        see(page, "预算已保存")
        assert money(amount) in page.locator("#budgets").inner_text()
    return {"admin": admin, "city": city, "insurer": insurer, "county": county, "county_finance": county_finance,
            "city_finance": city_finance}


# --- the claim -------------------------------------------------------------------------------------------------

def filled_template(insurer, tmp_path, rows: list[Farmer], name: str):
    """The list template as the insurer downloads it, filled in (openpyxl) and saved for upload."""
    with insurer.expect_download() as download:
        insurer.click("#template-download")
    workbook = load_workbook(io.BytesIO(download.value.path().read_bytes()))
    sheet = workbook.worksheets[0]
    headers = [cell.value for cell in sheet[1]]
    assert headers[:2] == ["姓名/名称", "证件号码"] and "农户自缴保费（元）" in headers
    for index, farmer in enumerate(rows, start=2):
        for column, value in enumerate(farmer.row, start=1):
            sheet.cell(index, column, value)
    path = tmp_path / name
    workbook.save(path)
    return path


def upload_from_list(insurer, year: int, period: str, path) -> str:
    """Fill the new-claim-from-list form, upload, watch the job finish, land on the new claim; its url."""
    insurer.select_option("#region_id", label=COUNTY)
    insurer.select_option("#product_id", label="水稻（亩）")
    insurer.select_option("#year", str(year))
    insurer.fill("#period", period)
    insurer.fill("#premium_rate", "4")
    insurer.set_input_files("#file", str(path))
    submit(insurer, "#from-list-form button[type=submit]")
    watch_the_job(insurer)
    insurer.wait_for_url("**/subsidies/claims/*")
    return insurer.url


def shares(page) -> dict[str, list[str]]:
    """The claim page's share table: level → [percentage, due, paid, outstanding]."""
    out = {}
    for row in page.locator("#shares tbody tr").all():
        cells = row.locator("td").all_inner_texts()
        out[row.get_attribute("data-level")] = cells[1:]
    return out


def open_todo(page, todo_id: str) -> None:
    """On the home page, follow a to-do line to where its work is done."""
    home(page)
    page.click(f"#{todo_id} a")


def assert_nothing_waits(page) -> None:
    home(page)
    expect(page.locator("#todo-empty")).to_be_visible()
    assert claims_badge(page) is None


def pay(page, level: str, amount: str, voucher: str) -> None:
    page.select_option("#level", label=level)
    page.fill("#amount", amount)
    page.fill("#voucher_no", voucher)
    submit(page, "#confirm-payment")
    see(page, "拨付已登记")


def test_a_claim_from_a_fresh_install_returned_corrected_verified_and_paid(users, tmp_path):
    year = clock.local_today().year
    period = f"{year}年早稻"
    p = set_up_through_the_pages(users, year)
    insurer, county, county_finance, city_finance = p["insurer"], p["county"], p["county_finance"], p["city_finance"]
    for page in (insurer, county, county_finance, city_finance):
        assert_nothing_waits(page)

    # The insurer files its claim from its underwriting list: 32 farmers (it forgot four).
    menu(insurer, "保费补贴", "补贴申请")
    see(insurer, "暂无补贴申请")
    insurer.click("#new-claim-from-list")
    expect(insurer.locator("#from-list-form #region_id option")).to_have_text([COUNTY])   # what it underwrites
    first_file = filled_template(insurer, tmp_path, farmers(32), "承保清单.xlsx")
    first_url = upload_from_list(insurer, year, period, first_file)
    first_id = first_url.rsplit("/", 1)[1]
    assert shares(insurer) == {                       # 250 亩: 10,000.00 premium, of which the farmers pay 1,500.00
        "central": ["45%", "4,500.00", "0.00", "4,500.00"], "provincial": ["25%", "2,500.00", "0.00", "2,500.00"],
        "city": ["10%", "1,000.00", "0.00", "1,000.00"], "county": ["5%", "500.00", "0.00", "500.00"],
        "farmer": ["15%", "1,500.00", "—", "—"]}
    assert "32 行，32 户" in insurer.locator("#list-card").inner_text()
    assert "与申请一致" in insurer.locator("#list-card").inner_text()
    home(insurer)
    assert todo_ids(insurer) == ["todo-claim-drafts"] and claims_badge(insurer) == "1"
    insurer.click("#todo-claim-drafts a")
    insurer.click(f"#claims a:has-text('#{first_id}')")
    submit(insurer, "#submit-claim")
    see(insurer, "已提交，等待县农业农村局核验")
    assert_nothing_waits(insurer)

    # The county bureau finds it waiting, reads the list, and returns the claim with its reason.
    home(county)
    assert todo_ids(county) == ["todo-claims-to-verify"] and claims_badge(county) == "1"
    assert "1 份补贴申请待核验" in county.locator("#todo-claims-to-verify").inner_text()
    county.click("#todo-claims-to-verify a")
    county.click(f"#claims a:has-text('#{first_id}')")
    county.fill("#reason", RETURN_REASON)
    submit(county, "form[action$='/return'] button")
    see(county, "已退回")
    assert_nothing_waits(county)

    # The insurer is told why, on its home page, and files the claim again with the four farmers added.
    home(insurer)
    assert todo_ids(insurer) == [f"todo-claim-returned-{first_id}"] and claims_badge(insurer) == "1"
    assert RETURN_REASON in insurer.locator(f"#todo-claim-returned-{first_id}").inner_text()
    open_todo(insurer, f"todo-claim-returned-{first_id}")
    assert RETURN_REASON in insurer.locator("#returned-reason").inner_text()
    insurer.click("#file-again-from-list")
    assert f"#{first_id}" in insurer.locator("#filing-again").inner_text()
    assert insurer.locator("#period").input_value() == period              # the returned claim's choices
    assert insurer.locator("#premium_rate").input_value().startswith("4")
    corrected_file = filled_template(insurer, tmp_path, farmers(36), "承保清单（补齐）.xlsx")
    claim_url = upload_from_list(insurer, year, period, corrected_file)
    claim_id = claim_url.rsplit("/", 1)[1]
    assert claim_id != first_id
    assert RETURN_REASON in insurer.locator(f"#returned-before-{first_id}").inner_text()
    assert "36 行，36 户" in insurer.locator("#list-card").inner_text()
    assert "核查标记" not in insurer.locator("#list-card").inner_text()   # the returned list is no double insurance
    submit(insurer, "#submit-claim")
    see(insurer, "已提交，等待县农业农村局核验")
    assert_nothing_waits(insurer)
    insurer.goto(first_url)
    assert f"#{claim_id}" in insurer.locator("#filed-again-as").inner_text()
    assert insurer.locator("#file-again-from-list").count() == 0

    # The county bureau verifies the corrected claim with its opinion, and prints the verification sheet.
    open_todo(county, "todo-claims-to-verify")
    expect(county.locator("#claims tbody tr")).to_have_count(1)           # the claims waiting, not the returned one
    county.click(f"#claims a:has-text('#{claim_id}')")
    assert RETURN_REASON in county.locator(f"#returned-before-{first_id}").inner_text()
    checks = county.locator(".budget-check").all_inner_texts()             # 285 亩: 11,400.00 premium
    assert any("鄱阳县补贴预算 500,000.00 元，已承诺 0.00 元，本申请 570.00 元，核验后余额 499,430.00 元" in c
               for c in checks), checks
    assert any("本申请 1,140.00 元，核验后余额 1,998,860.00 元" in c for c in checks), checks
    county.fill("#opinion", OPINION)
    submit(county, "#verify-claim")
    see(county, "核验通过，拨付期限为")
    assert county.locator("#verification-opinion").inner_text() == OPINION
    due = county.locator("dt:has-text('拨付期限') + dd").inner_text()
    assert due == (clock.local_today() + timedelta(days=30)).isoformat()   # PAYMENT_DUE_DAYS after verification
    county.click("#verification-sheet")
    assert county.locator("#sheet-opinion").inner_text() == OPINION
    assert county.locator("#sheet-premium").inner_text() == "11,400.00"
    assert county.locator("#sheet-shares tr[data-level=county] td").all_inner_texts() == ["县级财政", "5%", "570.00"]
    assert county.locator("#sheet-shares-total").inner_text() == "11,400.00"
    assert "36 / 36" in county.locator("#sheet-list").inner_text()
    assert "吴股长" in county.locator("#sheet-verified").inner_text()
    county.evaluate("window.print = () => { window.printed = true; }")
    county.click("#print-page")
    assert county.evaluate("window.printed") is True
    county.emulate_media(media="print")
    assert not county.locator("nav.navbar").is_visible() and not county.locator("#print-page").is_visible()
    expect(county.get_by_text("经办人（签字）")).to_be_visible()
    county.emulate_media(media="screen")
    assert_nothing_waits(county)

    # Each finance bureau finds its share due, on its home page, and pays it.
    home(county_finance)
    assert todo_ids(county_finance) == [f"todo-payment-{claim_id}"] and claims_badge(county_finance) == "1"
    line = county_finance.locator(f"#todo-payment-{claim_id}").inner_text()
    assert "待拨付 县级财政 570.00 元" in line and due in line
    open_todo(county_finance, f"todo-payment-{claim_id}")
    pay(county_finance, "县级财政", "300.00", f"鄱财农〔{year}〕8号")         # in two instalments
    home(county_finance)
    assert "待拨付 县级财政 270.00 元" in county_finance.locator(f"#todo-payment-{claim_id}").inner_text()
    open_todo(county_finance, f"todo-payment-{claim_id}")
    pay(county_finance, "县级财政", "270.00", f"鄱财农〔{year}〕9号")
    assert county_finance.locator("h1 .badge").inner_text() == "拨付中"       # the city's share is still due
    assert_nothing_waits(county_finance)

    home(city_finance)
    line = city_finance.locator(f"#todo-payment-{claim_id}").inner_text()
    assert "市级财政 1,140.00 元" in line and "省级财政 2,850.00 元" in line and "中央财政 5,130.00 元" in line
    assert claims_badge(city_finance) == "1"
    open_todo(city_finance, f"todo-payment-{claim_id}")
    pay(city_finance, "市级财政", "1140.00", f"饶财农〔{year}〕21号")
    assert city_finance.locator("h1 .badge").inner_text() == "已结清"          # every local share is paid
    home(city_finance)                                                         # what it passes on is still due
    line = city_finance.locator(f"#todo-payment-{claim_id}").inner_text()
    assert "市级财政" not in line and "省级财政 2,850.00 元" in line
    open_todo(city_finance, f"todo-payment-{claim_id}")
    pay(city_finance, "省级财政", "2850.00", f"饶财农〔{year}〕22号")
    pay(city_finance, "中央财政", "5130.00", f"饶财农〔{year}〕23号")
    assert city_finance.locator("#confirm-payment").count() == 0
    assert_nothing_waits(city_finance)

    # The ledger shows the settled claim (the returned one is not owed), its print views the right figures.
    menu(city_finance, "保费补贴", "补贴台账")
    ledger = city_finance.locator("#ledger tbody tr")
    assert ledger.count() == 1
    assert ledger.first.locator("td").all_inner_texts()[5:] == ["已结清", "11,400.00", "9,690.00", "9,690.00",
                                                                 "0.00"]

    with city_finance.expect_navigation():
        ledger.first.locator(f"a:has-text('#{claim_id}')").click()
    assert city_finance.url == claim_url
    city_finance.emulate_media(media="print")
    assert not city_finance.locator("nav.navbar").is_visible()
    assert not city_finance.locator("#print-page").is_visible()
    assert shares(city_finance)["county"] == ["5%", "570.00", "570.00", "0.00"]
    see(city_finance, "打印日期：")
    assert "11,400.00" in city_finance.locator("dl").first.inner_text()
    expect(city_finance.locator("#verification-opinion")).to_have_text(OPINION)    # printed with the claim
    city_finance.emulate_media(media="screen")

    for page, title, total in ((county_finance, f"鄱阳县财政局 {year}年度保费补贴拨付清单", "570.00"),
                               (city_finance, f"上饶市财政局 {year}年度保费补贴拨付清单", "9,120.00")):
        menu(page, "保费补贴", "拨付清单")
        assert page.locator("#payment-list-title").inner_text() == title
        assert page.locator("#payment-list-total td").all_inner_texts()[1:4] == [total, total, "0.00"]
        page.emulate_media(media="print")
        assert not page.locator("#payment-list-download").is_visible()
        expect(page.get_by_text("审核人：")).to_be_visible()
        page.emulate_media(media="screen")
        with page.expect_download() as download:
            page.click("#payment-list-download")
        assert download.value.suggested_filename == f"{title}.xlsx"
        sheet = load_workbook(io.BytesIO(download.value.path().read_bytes())).worksheets[0]
        cells = [[c.value for c in row] for row in sheet.iter_rows()]
        assert cells[0][0] == title
        total_row = next(row for row in cells if row[0] == "合计")
        assert total_row[8:11] == [Decimal(total.replace(",", "")), Decimal(total.replace(",", "")), 0]
    county_vouchers = county_finance.locator("#payment-list").inner_text()
    assert f"鄱财农〔{year}〕8号 300.00" in county_vouchers and f"鄱财农〔{year}〕9号 270.00" in county_vouchers


def test_a_claim_whose_period_was_wrong_is_filed_again_typed_and_paid(users, tmp_path):
    """The other branch: the list first fails its checks (nothing is saved), the claim is returned because its
    period is wrong, and the insurer files it again by correcting the claim itself (the typed form, filled from the
    returned claim), uploads the same list on the new claim's page, and the claim goes on to its last payment."""
    year = clock.local_today().year
    p = set_up_through_the_pages(users, year)
    insurer, county, county_finance, city_finance = p["insurer"], p["county"], p["county_finance"], p["city_finance"]

    # A mistyped ID number: the job lists the error by row and column, and no claim exists.
    rows = farmers(30)
    typo = Farmer(rows[6].name, rows[6].id_number[:-1] + ("1" if rows[6].id_number[-1] != "1" else "2"),
                  rows[6].village, rows[6].mu)
    menu(insurer, "保费补贴", "补贴申请")
    insurer.click("#new-claim-from-list")
    bad_file = filled_template(insurer, tmp_path, [*rows[:6], typo, *rows[7:]], "承保清单.xlsx")
    insurer.select_option("#region_id", label=COUNTY)
    insurer.select_option("#product_id", label="水稻（亩）")
    insurer.fill("#period", f"{year}年早稻")
    insurer.fill("#premium_rate", "4")
    insurer.set_input_files("#file", str(bad_file))
    submit(insurer, "#from-list-form button[type=submit]")
    insurer.locator("#import-errors").wait_for(timeout=30_000)
    assert "最近一次上传有 1 处错误，未导入任何数据" in insurer.locator("#import-errors").inner_text()
    first_error = insurer.locator("#import-error-table tbody tr").first.locator("td").all_inner_texts()
    assert first_error[:2] == ["8", "证件号码"]                      # the eighth row of the sheet, under its header
    menu(insurer, "保费补贴", "补贴申请")
    see(insurer, "暂无补贴申请")

    insurer.click("#new-claim-from-list")
    good_file = filled_template(insurer, tmp_path, rows, "承保清单（更正）.xlsx")
    returned_url = upload_from_list(insurer, year, f"{year}年早稻", good_file)
    returned_id = returned_url.rsplit("/", 1)[1]
    submit(insurer, "#submit-claim")
    see(insurer, "已提交，等待县农业农村局核验")

    reason = f"申请期间应为“{year}年全年”，与承保期限一致。"
    open_todo(county, "todo-claims-to-verify")
    county.click(f"#claims a:has-text('#{returned_id}')")
    county.fill("#reason", reason)
    submit(county, "form[action$='/return'] button")
    see(county, "已退回")

    # The insurer corrects the claim itself: the typed form comes filled from the returned claim.
    open_todo(insurer, f"todo-claim-returned-{returned_id}")
    insurer.click("#file-again")
    assert reason in insurer.locator("#filing-again").inner_text()
    mu = sum(f.mu for f in rows)                                      # 235 亩: 9,400.00 premium
    assert Decimal(insurer.locator("#total_premium").input_value()) == mu * 40
    assert Decimal(insurer.locator("#households").input_value()) == 30
    insurer.fill("#period", f"{year}年全年")
    submit(insurer, "#claim-form button[type=submit]")
    see(insurer, "已保存草稿，核对无误后请提交")
    claim_url = insurer.url
    claim_id = claim_url.rsplit("/", 1)[1]
    assert reason in insurer.locator(f"#returned-before-{returned_id}").inner_text()
    assert "尚未上传" in insurer.locator("#list-card").inner_text()
    insurer.click("#open-list")
    insurer.set_input_files("#file", str(good_file))
    submit(insurer, "#upload-form button")
    watch_the_job(insurer)
    expect(insurer.locator("#reconciled")).to_be_visible()
    insurer.goto(claim_url)
    submit(insurer, "#submit-claim")
    see(insurer, "已提交，等待县农业农村局核验")
    assert_nothing_waits(insurer)                 # the returned claim is filed again, under another period
    insurer.goto(returned_url)
    assert f"#{claim_id}" in insurer.locator("#filed-again-as").inner_text()

    open_todo(county, "todo-claims-to-verify")
    county.click(f"#claims a:has-text('#{claim_id}')")
    county.fill("#opinion", OPINION)
    submit(county, "#verify-claim")
    see(county, "核验通过，拨付期限为")
    assert_nothing_waits(county)

    open_todo(county_finance, f"todo-payment-{claim_id}")
    pay(county_finance, "县级财政", f"{mu * 2}.00", f"鄱财农〔{year}〕31号")
    assert_nothing_waits(county_finance)
    open_todo(city_finance, f"todo-payment-{claim_id}")
    for level, per_mu, voucher in (("市级财政", 4, 41), ("省级财政", 10, 42), ("中央财政", 18, 43)):
        pay(city_finance, level, f"{mu * per_mu}.00", f"饶财农〔{year}〕{voucher}号")
    assert city_finance.locator("h1 .badge").inner_text() == "已结清"
    assert_nothing_waits(city_finance)
    menu(city_finance, "保费补贴", "补贴台账")
    assert city_finance.locator("#ledger tbody tr").count() == 1
    assert city_finance.locator("#ledger-total td").all_inner_texts()[1:] == [
        money(mu * 40), money(mu * 34), money(mu * 34), "0.00"]
