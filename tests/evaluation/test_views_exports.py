"""Pages and exports: experts see others' scores only after submitting, the bidder's own result, xlsx/PDF read back."""

import io
import math
from decimal import Decimal

import pytest
from openpyxl import load_workbook
from pypdf import PdfReader

from agri_insurance.errors import DomainError
from agri_insurance.evaluation import service
from tests.evaluation.factories import insurer, insurer_user, make_evaluation_round, panel_ready, score_all
from tests.factories import read_text
from tests.tenders.factories import user

D = Decimal


@pytest.fixture
def scored(login, db):
    rnd, bids = make_evaluation_round({"赣鄱财险": {}, "信江农险": {"comprehensive_solvency_pct": D("160")},
                                       "怀玉财险": {"risk_rating": "C"}})
    members = panel_ready(rnd, experts=("expert", "expert2"))
    score_all(rnd, members["expert2"], default="2")
    return rnd, bids, members


def test_expert_scores_through_the_pages_and_sees_others_only_after_submitting(scored, login, db):
    rnd, bids, members = scored
    client = login("expert")
    page = read_text(client.get(f"/evaluation/rounds/{rnd.id}/expert"))
    assert insurer("怀玉财险").name in page  # a bidder the expert may declare a conflict with, though ineligible
    assert client.post(f"/evaluation/rounds/{rnd.id}/conflicts", data={"note": ""}).status_code == 302
    criteria = service.subjective_criteria(rnd)
    for bid in (bids["赣鄱财险"], bids["信江农险"]):
        form = {f"c{c.id}": "4" for c in criteria}
        assert client.post(f"/evaluation/rounds/{rnd.id}/bids/{bid.id}/score", data=form).status_code == 302
    # an ineligible bid cannot be scored
    assert client.get(f"/evaluation/rounds/{rnd.id}/bids/{bids['怀玉财险'].id}/score").status_code == 302
    bad = client.post(f"/evaluation/rounds/{rnd.id}/bids/{bids['赣鄱财险'].id}/score",
                      data={f"c{criteria[0].id}": "99"})
    assert bad.status_code == 400
    page = read_text(client.get(f"/evaluation/rounds/{rnd.id}/expert"))
    assert "panel-scores" not in page and "expert2：" not in page  # expert2's 2.00 points stay hidden
    assert client.post(f"/evaluation/rounds/{rnd.id}/submit").status_code == 302
    page = read_text(client.get(f"/evaluation/rounds/{rnd.id}/expert"))
    assert 'id="panel-scores"' in page and "expert2：2.00" in page


def test_bidder_sees_reasons_after_the_checks_and_scores_after_closing(scored, login, db):
    rnd, bids, members = scored
    rejected = login(insurer_user("怀玉财险"))
    page = read_text(rejected.get(f"/evaluation/rounds/{rnd.id}/result"))
    assert "综合风险评级为C" in page
    own = login("insurer")
    assert "评审结束后可查看本机构得分" in read_text(own.get(f"/evaluation/rounds/{rnd.id}/result"))
    score_all(rnd, members["expert"], default="4")
    service.close_panel(rnd, user("city_agri"))
    db.session.commit()
    ranked = {r.bid_id: r for r in service.ranking(rnd)}[bids["赣鄱财险"].id]
    page = read_text(own.get(f"/evaluation/rounds/{rnd.id}/result"))
    assert f"综合得分：{ranked.score}" in page and insurer("信江农险").name not in page


def test_exports_read_back(scored, login, db):
    rnd, bids, members = scored
    score_all(rnd, members["expert"], points={"赣鄱财险": {"C4": "4.5"}}, default="3")
    service.close_panel(rnd, user("city_agri"))
    db.session.commit()
    city = login("city_agri")
    ranked = service.ranking(rnd)

    sheet = city.get(f"/evaluation/members/{members['expert'].id}/sheet.xlsx")
    assert sheet.status_code == 200
    ws = load_workbook(io.BytesIO(sheet.data)).active
    rows = [r for r in ws.iter_rows(values_only=True) if any(v is not None for v in r)]
    header = next(r for r in rows if r[0] == "投标人")
    gan = next(r for r in rows if r[0] and "赣鄱" in str(r[0]))
    assert header[1].startswith("C4") and D(str(gan[1])) == D("4.5")
    assert D(str(gan[len(service.subjective_criteria(rnd)) + 1])) == D("13.5")  # 4.5 + 3 + 3 + 3
    assert not any(r[0] and "怀玉" in str(r[0]) for r in rows)  # ineligible: not on the sheet
    assert any(r[0] and str(r[0]).startswith("专家签字") for r in rows)

    summary = city.get(f"/evaluation/rounds/{rnd.id}/summary.xlsx")
    wb = load_workbook(io.BytesIO(summary.data))
    rows = [r for r in wb.worksheets[0].iter_rows(values_only=True) if r and r[0] is not None]
    data = [r for r in rows if isinstance(r[0], int)]
    assert [(r[0], r[1]) for r in data] == [(x.rank, bids_by_id(bids)[x.bid_id].insurer.name) for x in ranked]
    assert D(str(data[0][-2])) == ranked[0].score and "综合风险评级" in data[-1][-1]
    assert "鄱阳县" in wb.sheetnames and "婺源县" in wb.sheetnames

    pdf = city.get(f"/evaluation/rounds/{rnd.id}/ranking.pdf")
    text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf.data)).pages)
    assert "综合评分排名" in text and str(ranked[0].score) in text and str(ranked[1].score) in text
    assert "鄱阳县" in text


def bids_by_id(bids):
    return {b.id: b for b in bids.values()}


def test_panel_and_ranking_pages(scored, login, db):
    rnd, bids, members = scored
    city = login("city_agri")
    page = read_text(city.get(f"/evaluation/rounds/{rnd.id}"))
    assert "综合风险评级为C" in page and "未提交" in page
    page = read_text(city.get(f"/evaluation/rounds/{rnd.id}/ranking"))
    assert 'id="provisional"' in page
    score_all(rnd, members["expert"])
    assert city.post(f"/evaluation/rounds/{rnd.id}/close").status_code == 302
    page = read_text(city.get(f"/evaluation/rounds/{rnd.id}/ranking"))
    assert 'id="provisional"' not in page and 'id="county-361128"' in page
    assert login("county_agri").get(f"/evaluation/rounds/{rnd.id}/ranking").status_code == 403


def test_expert_dashboard_lists_assigned_rounds(scored, login, db):
    rnd, _bids, _members = scored
    assert rnd.name in read_text(login("expert").get("/"))
    assert 'id="expert-rounds"' not in read_text(login("city_agri").get("/"))


def test_an_expert_cannot_change_scores_after_submitting_and_seeing_the_others(scored, login, db):
    rnd, bids, members = scored
    member = members["expert"]
    score_all(rnd, member, default="4")  # declares, scores and submits; from now on sees expert2's scores
    criteria = service.subjective_criteria(rnd)
    bid = bids["赣鄱财险"]
    with pytest.raises(DomainError, match="已提交"):
        service.save_scores(member, bid, {criteria[0].id: (D("1"), None)}, member.user)
    db.session.rollback()
    client = login("expert")
    page = read_text(client.get(f"/evaluation/rounds/{rnd.id}/expert"))
    assert 'id="panel-scores"' in page and "score-link" not in page
    response = client.post(f"/evaluation/rounds/{rnd.id}/bids/{bid.id}/score", data={f"c{criteria[0].id}": "1"})
    assert response.status_code == 302
    assert "不能再修改" in read_text(client.get(f"/evaluation/rounds/{rnd.id}/expert"))
    db.session.expire_all()
    mine = {s.criterion_id: s.points for s in db.session.get(type(member), member.id).scores if s.bid_id == bid.id}
    assert mine[criteria[0].id] == min(D("4"), criteria[0].max_points)


def test_a_rounded_zero_reads_0_00_in_every_score_table(login, db):
    """The slowest claims settlement scores nothing on C1 (lower is better: 0 / −spread is Decimal −0), shown
    as 0.00, never "-0.00", in the ranking, the bidder's own result and the summary sheet."""
    rnd, bids = make_evaluation_round({"赣鄱财险": {}, "信江农险": {"avg_settlement_days": D("25")}})
    score_all(rnd, panel_ready(rnd)["expert"])
    service.close_panel(rnd, user("city_agri"))
    db.session.commit()
    city = login("city_agri")
    ranking = read_text(city.get(f"/evaluation/rounds/{rnd.id}/ranking"))
    own = read_text(login(insurer_user("信江农险")).get(f"/evaluation/rounds/{rnd.id}/result"))
    assert 'id="own-points"' in own
    for page in (ranking, own):
        assert "-0.00" not in page and "0.00" in page
    summary = load_workbook(io.BytesIO(city.get(f"/evaluation/rounds/{rnd.id}/summary.xlsx").data)).worksheets[0]
    numbers = [v for row in summary.iter_rows(values_only=True) for v in row if isinstance(v, int | float | D)]
    assert not any(v == 0 and math.copysign(1, v) < 0 for v in numbers)
    c1 = next(c for c in service.scheme_for(rnd).criteria if c.code == "C1")
    assert str(service.score_bids(rnd)[bids["信江农险"].id].points[c1.id]) == "0.00"


def test_the_ranking_names_its_criteria_in_both_languages(scored, login, db):
    from lxml import html

    rnd, _bids, _members = scored
    city = login("city_agri")
    def legend():
        page = html.fromstring(read_text(city.get(f"/evaluation/rounds/{rnd.id}/ranking")))
        return [" ".join(li.text_content().split()) for li in page.get_element_by_id("criteria-legend").iter("li")]

    entries = legend()
    assert len(entries) == len(service.scheme_for(rnd).criteria)
    assert {"S1 县级分支机构（6.00分）", "C4 理赔服务方案（5.00分）", "L3 综合风险评级（3.00分）"} <= set(entries)
    city.get("/lang/en")
    entries = legend()
    assert {"S1 County branch (6.00 points)", "C4 Claims service plan (5.00 points)"} <= set(entries)
    assert not any("\u4e00" <= ch <= "\u9fff" for entry in entries for ch in entry)


def test_the_ranking_pdf_has_a_signature_line_for_every_panel_member(login, db):
    rnd, _bids = make_evaluation_round({"赣鄱财险": {}, "信江农险": {}})
    members = panel_ready(rnd, experts=("expert", "expert2", "expert3"))
    for member in members.values():
        score_all(rnd, member)
    service.close_panel(rnd, user("city_agri"))
    db.session.commit()
    pdf = login("city_agri").get(f"/evaluation/rounds/{rnd.id}/ranking.pdf")
    text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf.data)).pages)
    signatures = text.split("评审专家签字：")[1]
    assert "签字" in signatures and "日期" in signatures
    names = [m.user.display_name for m in members.values()]
    assert len(set(names)) == 3
    assert set(names) <= {line.strip() for line in signatures.splitlines()}  # one row each, by name
    assert "评审已于" in text  # the record says when the evaluation ended
    summary = load_workbook(io.BytesIO(login("city_agri").get(f"/evaluation/rounds/{rnd.id}/summary.xlsx").data))
    cells = [str(v) for row in summary.worksheets[0].iter_rows(values_only=True) for v in row if v is not None]
    assert all(f"评审专家：{name}" in cells for name in names)
