"""The pages and files of the annual evaluation: the county's scoring form refuses in words and keeps what was
typed, the report PDF and the summary xlsx read back, the complaint's journey through its pages."""

import io
from datetime import timedelta

import time_machine
from openpyxl import load_workbook
from pypdf import PdfReader

from agri_insurance.annual_review import service
from agri_insurance.clock import utcnow
from agri_insurance.extensions import db
from tests.annual_review.factories import finalise, make_term, open_year, result_of, score
from tests.factories import read_text
from tests.tenders.factories import user


def test_the_scoring_form_names_the_indicator_and_keeps_what_was_typed(login):
    make_term(2024)
    review = open_year(2025)
    result = result_of(review, user("insurer").insurer_id, "361128")
    qualitative = [i for i in review.indicators if i.qualitative]
    data = {f"points-{i.id}": "10" for i in qualitative}
    data[f"points-{qualitative[0].id}"] = "7"
    county = login("county_agri")
    response = county.post(f"/annual-review/results/{result.id}/score", data=data)
    assert response.status_code == 400
    page = read_text(response)
    assert "“服务网络”未得满分，请填写评语" in page and 'value="7"' in page
    data[f"comment-{qualitative[0].id}"] = "两个乡镇无服务站"
    assert county.post(f"/annual-review/results/{result.id}/score", data=data).status_code == 302
    assert "97.00" in read_text(county.get(f"/annual-review/results/{result.id}"))


def test_report_pdf_and_summary_xlsx_read_back(login):
    make_term(2024)
    with time_machine.travel(utcnow() - timedelta(days=20), tick=False):
        review = open_year(2025)
        for r in service.results_of(review):
            score(r, 10)
    finalise(review, days_later=0)
    result = result_of(review, user("insurer").insurer_id, "361128")
    insurer = login("insurer")
    pdf = insurer.get(f"/annual-review/results/{result.id}/report.pdf")
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf"
    text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf.data)).pages)
    assert "2025 年度农业保险承保机构考评报告" in text and "赣鄱财产保险" in text and "100.00" in text
    sheet = load_workbook(io.BytesIO(insurer.get("/annual-review/2025/summary.xlsx").data)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][-4:] == ("总分", "等级", "状态", "承保机构意见")
    assert len(rows) == 1 + 2          # the insurer reads its own results: 鄱阳县 and 婺源县
    city = load_workbook(io.BytesIO(login("city_agri").get("/annual-review/2025/summary.xlsx").data)).active
    assert city.max_row == 1 + 4 and {r[-3] for r in city.iter_rows(min_row=2, values_only=True)} == {"优秀"}


def test_a_complaint_filed_answered_and_decided_through_its_pages(login):
    from tests.tenders.factories import PDF_BYTES

    make_term(2024)   # the insurer underwrites in the county in 2026: a complaint names an underwriter of it
    own = user("insurer").insurer_id
    county = login("county_agri")
    response = county.post("/annual-review/complaints/new", data={
        "insurer_id": own, "year": 2026, "subject": "理赔款未按时支付", "body": "多名农户反映赔款拖延",
        "on_behalf_of_farmers": "y", "document": (io.BytesIO(PDF_BYTES), "投诉.pdf")},
        content_type="multipart/form-data")
    assert response.status_code == 302
    url = response.location
    insurer = login("insurer")
    assert "待承保机构申辩" in read_text(insurer.get(url))
    assert insurer.get(url + "/complaint").data == PDF_BYTES
    insurer.post(url + "/answer", data={"defence": "系农户账户有误，已补发"})
    city = login("city_agri")
    city.post(url + "/decide", data={"decision": "dismissed", "note": "经核实系账户错误"})
    assert "投诉不成立" in read_text(city.get(url))
    assert "理赔款未按时支付" in read_text(login("county_agri").get("/annual-review/complaints"))


def test_the_home_pages_say_what_waits_in_the_evaluation(login):
    make_term(2024)
    review = open_year(2025)
    assert "2 家承保机构待年度考评评分" in read_text(login("county_agri").get("/"))   # 鄱阳县: two underwriters
    score(result_of(review, user("insurer").insurer_id, "361128"), 10)
    assert "1 项年度考评初评结果可提出意见" in read_text(login("insurer").get("/"))
    assert "1 家承保机构待年度考评评分" in read_text(login("county_agri").get("/"))


def test_a_refused_complaint_comes_back_with_what_was_typed(login):
    own = user("insurer").insurer_id
    county = login("county_agri")
    response = county.post("/annual-review/complaints/new", data={
        "insurer_id": own, "year": 2090, "subject": "查勘迟缓", "body": "洪涝后五日无人到场"})
    assert response.status_code == 400          # the service refuses a year not yet begun, beside the field
    page = read_text(response)
    assert "请填写有效的年度" in page
    assert 'value="查勘迟缓"' in page and "洪涝后五日无人到场" in page
    assert "没有投诉" in page                     # nothing saved
    response = county.post("/annual-review/complaints/new", data={   # the form refuses an empty body
        "insurer_id": own, "year": 2025, "subject": "查勘迟缓", "body": ""})
    assert response.status_code == 400 and 'value="查勘迟缓"' in read_text(response)


def test_a_refused_indicator_comes_back_as_typed_and_the_rules_keep_their_values(login):
    make_term(2024)
    city = login("city_agri")
    city.post("/annual-review/new", data={"year": 2025})
    response = city.post("/annual-review/2025/indicators", data={
        "name": "服务满意度", "kind": "measured", "measure": "", "weight": "10", "guidance": "按回访结果"})
    assert response.status_code == 400          # a computed indicator needs what it counts: said beside the field
    page = read_text(response)
    assert "数据计算的指标请选择计算口径" in page
    assert 'value="服务满意度"' in page and "按回访结果" in page
    assert 'value="90.00"' in page              # the grade thresholds' form still shows the saved values
    assert "服务满意度" not in {i.name for i in service.review_of(2025).indicators}   # nothing saved


def test_in_english_what_stops_the_finalisation_names_the_county_in_english(login):
    make_term(2024)
    open_year(2025)
    city = login("city_agri")
    city.get("/lang/en")
    page = read_text(city.get("/annual-review/2025"))
    assert "Poyang County has not yet scored" in page and "鄱阳县 has not" not in page


def test_in_english_the_scoring_form_names_the_indicator_in_english(login):
    make_term(2024)
    review = open_year(2025)
    result = result_of(review, user("insurer").insurer_id, "361128")
    data = {f"points-{i.id}": "10" for i in review.indicators if i.qualitative}
    data[next(iter(data))] = "7"
    county = login("county_agri")
    county.get("/lang/en")
    page = read_text(county.post(f"/annual-review/results/{result.id}/score", data=data))
    assert "“Service network” is below full points" in page and "服务网络" not in page


def test_the_computed_figures_are_stored_in_chinese_and_read_in_the_readers_language(login):
    make_term(2024)
    review = open_year(2025)
    result = result_of(review, user("insurer").insurer_id, "361128")
    county = login("county_agri")
    county.get("/lang/en")                      # the county bureau scores in English
    data = {f"points-{i.id}": "10" for i in review.indicators if i.qualitative}
    assert county.post(f"/annual-review/results/{result.id}/score", data=data).status_code == 302
    db.session.expire_all()
    figures = {s.figure for s in result.scores if s.figure}
    assert "0（每件扣 5 分）" in figures          # the record is in Chinese
    english = read_text(county.get(f"/annual-review/results/{result.id}"))
    assert "0 (5 points off each)" in english and "每件扣" not in english
    chinese = read_text(login("insurer").get(f"/annual-review/results/{result.id}"))
    assert "0（每件扣 5 分）" in chinese and "points off each" not in chinese


def test_the_city_sets_the_consequences_on_the_scheme_page(login):
    from agri_insurance.extensions import db

    city = login("city_agri")
    assert city.post("/annual-review/new", data={"year": "2025"}).status_code == 302
    page = read_text(city.get("/annual-review/2025"))
    assert "连续 2 年不合格（回溯 3 年）" in page and "承保能力不按等级调整" in page
    response = city.post("/annual-review/2025/consequences", data={
        "exclude_after": "3", "lookback_years": "3", "factor_fail": "0.8"}, follow_redirects=True)
    page = read_text(response)
    assert "连续 3 年不合格（回溯 3 年）" in page and "评分仍采用申报的服务评级" in page and "不合格 × 0.80" in page
    db.session.expire_all()
    review = service.review_of(2025)
    assert (review.exclude_after, review.service_input) == (3, False)


def test_a_refused_defence_decision_or_reply_comes_back_with_what_was_typed(login):
    make_term(2024)
    own = user("insurer").insurer_id
    url = login("county_agri").post("/annual-review/complaints/new", data={
        "insurer_id": own, "year": 2026, "subject": "理赔款未按时支付", "body": "多名农户反映赔款拖延"}).location
    insurer = login("insurer")
    long_defence = "系农户账户有误，已补发。" * 500          # 6,000 characters: over the 5,000 allowed
    response = insurer.post(url + "/answer", data={"defence": long_defence})
    assert response.status_code == 400          # the form again with the text as typed, not an emptied page
    assert 'id="defence-form"' in (page := read_text(response)) and long_defence in page
    assert "待承保机构申辩" in page                # nothing saved
    insurer.post(url + "/answer", data={"defence": "系农户账户有误，已补发"})
    city = login("city_agri")
    long_note = "经核实赔款逾期。" * 300
    response = city.post(url + "/decide", data={"decision": "upheld", "note": long_note})
    assert response.status_code == 400 and long_note in read_text(response)
    from agri_insurance.annual_review.models import Complaint, ComplaintStatus
    assert db.session.get(Complaint, int(url.rsplit("/", 1)[1])).status is ComplaintStatus.ANSWERED   # not decided

    review = open_year(2025)
    result = result_of(review, own, "361128")
    score(result, 7)
    response = insurer.post(f"/annual-review/results/{result.id}/reply", data={"reply": "对评分有异议" * 400})
    assert response.status_code == 400 and "对评分有异议" * 400 in read_text(response)
    assert db.session.get(type(result), result.id).reply is None


def test_the_summary_workbook_reads_the_scores_in_one_statement_whatever_the_number_of_results(login):
    from tests.test_query_counts import counting

    make_term(2024)
    with time_machine.travel(utcnow() - timedelta(days=20), tick=False):
        review = open_year(2025)
        for r in service.results_of(review):
            score(r, 10)
    insurer, city = login("insurer"), login("city_agri")
    counted = {}
    for name, client in (("insurer", insurer), ("city", city)):   # 2 results, then 4
        db.session.expire_all()
        with counting(db.engine) as statements:
            assert client.get("/annual-review/2025/summary.xlsx").status_code == 200
        counted[name] = len(statements)
    assert counted["city"] == counted["insurer"]
