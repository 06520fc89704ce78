"""County exceptions (R3) with the provincial approval on file, and the lot design assistant (R2)."""

import io
from decimal import Decimal

import pytest
import sqlalchemy as sa
from openpyxl import load_workbook

from agri_insurance.errors import DomainError
from agri_insurance.reference.models import Product
from agri_insurance.tenders import service
from agri_insurance.tenders.models import CountyException, Lot
from tests.tenders.factories import PDF_BYTES, make_round, region, user


def _post_exception(client, rnd, document: bytes, **overrides):
    data = {"region_id": region("361128").id, "max_insurers": 4, "approval_doc_no": "赣农险组〔2025〕7号",
            "approval_date": "2025-02-01", "document": (io.BytesIO(document), "批复.pdf"), **overrides}
    return client.post(f"/tenders/{rnd.id}/exceptions/new", data=data, content_type="multipart/form-data")


def test_exception_needs_a_pdf_and_a_limit_above_the_round_maximum(login, db):
    rnd = make_round()
    city = login("city_agri")
    assert _post_exception(city, rnd, b"GIF89a not a pdf").status_code == 400
    response = _post_exception(city, rnd, PDF_BYTES, max_insurers=3)
    assert response.status_code == 400 and "例外上限应大于本轮的一般上限（3家）" in response.get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count(CountyException.id))) == 0
    assert _post_exception(city, rnd, PDF_BYTES).status_code == 302
    response = _post_exception(city, rnd, PDF_BYTES)
    assert "鄱阳县 已有例外记录" in response.get_data(as_text=True)


def test_the_exception_is_shown_wherever_the_county_limit_is(login, db):
    rnd = make_round()
    city = login("city_agri")
    _post_exception(city, rnd, PDF_BYTES)
    exception = db.session.scalar(sa.select(CountyException))
    limits = service.county_limits(rnd)
    assert limits[region("361128").id].max_insurers == 4 and limits[region("361130").id].max_insurers == 3
    page = city.get(f"/tenders/{rnd.id}").get_data(as_text=True)
    assert "赣农险组〔2025〕7号" in page and f"/tenders/exceptions/{exception.id}/document" in page
    ws = load_workbook(io.BytesIO(city.get(f"/tenders/{rnd.id}/lots.xlsx").data))["各县承保机构数"]
    rows = {r[0]: r for r in ws.iter_rows(min_row=2, values_only=True)}
    assert rows["鄱阳县"][3] == 4 and rows["鄱阳县"][4] == "赣农险组〔2025〕7号" and rows["婺源县"][3] == 3
    # The approval copy is served through the view only, byte for byte.
    assert city.get(f"/tenders/exceptions/{exception.id}/document").data == PDF_BYTES
    assert exception.document.sha256 and exception.document.stored_name.endswith(".pdf")


def test_exception_is_refused_once_allocated(demo, db):
    from agri_insurance.storage import save_bytes
    from agri_insurance.tenders.models import RoundStatus

    rnd = make_round()
    rnd.opened_at = rnd.opening_time
    rnd.status = RoundStatus.ALLOCATED
    with pytest.raises(DomainError, match="分配方案确定后"):
        service.add_exception(rnd, region("361128"), 4, "x", rnd.created_at.date(), save_bytes(PDF_BYTES, "a.pdf",
                                                                                               None), None)


def test_lot_design_assistant_proposes_balanced_lots_and_creates_them(login, db):
    rnd = make_round(counties=())
    city = login("city_agri")
    history = "水稻, 4000000, 70\n油菜, 1000000, 40\n柑橘, 1500000, 110\n能繁母猪, 2500000, 60\n花生, 1000000, 50"
    form = {"region_id": region("361127").id, "lot_count": 2, "history": history}
    page = city.post(f"/tenders/{rnd.id}/lot-design", data=form).get_data(as_text=True)
    assert "方案：余干县，2 个标段" in page
    # Accept the proposal as shown (the page's checkboxes), with the bureau's codes.
    from agri_insurance.reference.models import Product
    from agri_insurance.tenders.service import parse_lot_history
    from optimization.lot_design import design_lots

    with city.application.test_request_context():
        design = design_lots(parse_lot_history(history, db.session.scalars(sa.select(Product)).all()), 2)
    accept = {**form, "accept": "1"}
    for index in range(len(design.lots)):
        accept[f"code_{index}"] = f"YG-{index + 1}"
        accept[f"name_{index}"] = f"余干县第{index + 1}标段"
    data = [(k, v) for k, v in accept.items()]
    for index, lot in enumerate(design.lots):
        data += [(f"group_{index}", cid) for cid in lot.cell_ids]
    from werkzeug.datastructures import MultiDict

    response = city.post(f"/tenders/{rnd.id}/lot-design", data=MultiDict(data))
    assert response.status_code == 302, response.get_data(as_text=True)
    lots = db.session.scalars(sa.select(Lot).where(Lot.round_id == rnd.id).order_by(Lot.code)).all()
    assert [lot.code for lot in lots] == ["YG-1", "YG-2"]
    assert sum(lot.expected_premium for lot in lots) == Decimal("10000000")
    assert sorted(p.code for lot in lots for p in lot.products) == sorted(
        ["rice", "rapeseed", "citrus", "breeding_sow", "peanut"])
    for lot, designed in zip(lots, design.lots, strict=True):
        assert lot.expected_premium == designed.expected_premium
    assert all(lot.region.code == "361127" for lot in lots)


def test_lot_design_input_errors_name_the_line(login, db):
    rnd = make_round(counties=())
    city = login("city_agri")
    page = city.post(f"/tenders/{rnd.id}/lot-design", data={
        "region_id": region("361127").id, "lot_count": 2, "history": "水稻, 100, 50\n小麦, 100, 50"}).get_data(
        as_text=True)
    assert "第2行：未知险种“小麦”" in page
    page = city.post(f"/tenders/{rnd.id}/lot-design", data={
        "region_id": region("361127").id, "lot_count": 3, "history": "水稻, 100, 50\n油菜, 100, 50"}).get_data(
        as_text=True)
    assert "险种数少于标段数" in page
    assert user("city_agri") is not None


def test_lot_design_refuses_a_product_in_two_lots_an_empty_accept_and_huge_numbers(login, db):
    from werkzeug.datastructures import MultiDict

    rnd = make_round(counties=())
    city = login("city_agri")
    form = {"region_id": region("361127").id, "lot_count": 2, "history": "水稻, 4000000, 70\n油菜, 1000000, 40",
            "accept": "1", "code_0": "YG-1", "name_0": "一", "code_1": "YG-2", "name_1": "二"}
    twice = MultiDict([*form.items(), ("group_0", "rice"), ("group_0", "rapeseed"), ("group_1", "rice")])
    page = city.post(f"/tenders/{rnd.id}/lot-design", data=twice).get_data(as_text=True)
    assert "“水稻”只能划入一个标段" in page
    page = city.post(f"/tenders/{rnd.id}/lot-design", data=form).get_data(as_text=True)
    assert "请至少为一个标段选择险种" in page
    tab = MultiDict([*{**form, "name_0": "一\t标段"}.items(), ("group_0", "rice"), ("group_1", "rapeseed")])
    assert "控制字符" in city.post(f"/tenders/{rnd.id}/lot-design", data=tab).get_data(as_text=True)
    huge = {**form, "history": "水稻, 1e30, 70\n油菜, 1000000, 40"}
    assert "第1行：数值过大" in city.post(f"/tenders/{rnd.id}/lot-design", data=huge).get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count(Lot.id))) == 0


@pytest.mark.parametrize("field, value", [("expected_premium", "Infinity"), ("expected_premium", "1e30"),
                                          ("loss_ratio_pct", "NaN"), ("loss_ratio_pct", "1000")])
def test_the_lot_form_refuses_numbers_no_column_can_hold(login, db, field, value):
    rnd = make_round(counties=())
    data = {"region_id": region("361127").id, "code": "YG-1", "name": "余干县第一标段",
            "product_ids": [db.session.scalar(sa.select(Product.id).where(Product.code == "rice"))],
            "expected_premium": "1000000", "loss_ratio_pct": "60", field: value}
    response = login("city_agri").post(f"/tenders/{rnd.id}/lots/new", data=data)
    assert response.status_code == 400
    assert db.session.scalar(sa.select(sa.func.count(Lot.id))) == 0
