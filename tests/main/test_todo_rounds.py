"""The to-do lists of a selection round: the city bureau is led from the draft to the final result, one step at a
time (each line links to the page of the step and goes once it is done); the expert's declaration, scores and
submission; the insurer's bids to re-confirm and lots won. The menu's badges count the same lines."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa
import time_machine

from agri_insurance.allocation.models import AllocationRun
from agri_insurance.auth.models import Role
from agri_insurance.bids.models import Bid
from agri_insurance.clock import utcnow
from agri_insurance.evaluation import service as evaluation
from agri_insurance.evaluation.models import EligibilityCheck
from agri_insurance.jobs import service as jobs
from agri_insurance.tenders.models import RoundStatus, SelectionRound
from tests.awards.factories import bidder_usernames, file_objection
from tests.factories import make_user, read_text
from tests.main.test_todo_claims import badge, todo
from tests.tenders.factories import make_bid, make_round, user

TERM = utcnow().year + 2   # a term that has not begun: the final result stays "awarded" until 1 January of it


def _round(db, round_id: int) -> SelectionRound:
    db.session.expire_all()
    return db.session.get(SelectionRound, round_id)


def _ok(response):
    assert response.status_code == 302, read_text(response)
    return response


def test_the_city_bureau_is_led_through_a_round_from_draft_to_final_result(demo, login, db):
    now = utcnow()
    deadline, opening = now - timedelta(days=2), now - timedelta(days=1)
    with time_machine.travel(now - timedelta(days=10), tick=False):
        city = login("city_agri")   # a session signed later than the clock reads would not be valid
        rnd = make_round(deadline=deadline, opening=opening, term_start_year=TERM, actor=user("city_agri"))
        key = f"todo-round-{rnd.id}"
        page = read_text(city.get("/"))
        assert "草稿，待发布" in todo(page, key) and f'href="/tenders/{rnd.id}"' in todo(page, key)
        assert badge(page, "tenders.rounds") == 1
        _ok(city.post(f"/tenders/{rnd.id}/publish"))
        page = read_text(city.get("/"))
        assert not todo(page, key) and badge(page, "tenders.rounds") == 0   # open: the bidders' turn
        names = bidder_usernames(3)
        for username in names:
            make_bid(rnd, username, attachment=False)

    with time_machine.travel(deadline + timedelta(hours=1), tick=False):   # closed by the clock, not yet opened
        line = todo(read_text(city.get("/")), key)
        assert "已截标，待于" in line and "开标" in line
    line = todo(read_text(city.get("/")), key)
    assert "开标时间已到，待开标" in line and f'href="/tenders/{rnd.id}"' in line
    _ok(city.post(f"/bids/rounds/{rnd.id}/open"))
    assert "已开标，待进入评审" in todo(read_text(city.get("/")), key)
    _ok(city.post(f"/evaluation/rounds/{rnd.id}/start"))

    # the evaluation, step by step on the panel page
    page = read_text(city.get("/"))
    assert "待进行资格审查" in todo(page, key) and f'href="/evaluation/rounds/{rnd.id}"' in todo(page, key)
    assert badge(page, "evaluation.rounds") == 1 and badge(page, "tenders.rounds") == 0
    _ok(city.post(f"/evaluation/rounds/{rnd.id}/eligibility"))
    assert "3 家同一控制的投标人待决定是否参加评审" in todo(read_text(city.get("/")), key)  # one declared parent
    for check_id in db.session.scalars(sa.select(EligibilityCheck.id).where(EligibilityCheck.round_id == rnd.id)):
        _ok(city.post(f"/evaluation/checks/{check_id}/decision", data={"decision": "admitted", "note": "各自独立经营"}))
    assert "待指派评审专家" in todo(read_text(city.get("/")), key)
    _ok(city.post(f"/evaluation/rounds/{rnd.id}/members", data={"user_id": user("expert").id}))
    assert "资格审查已完成，待开始专家评分" in todo(read_text(city.get("/")), key)
    _ok(city.post(f"/evaluation/rounds/{rnd.id}/scoring"))
    page = read_text(city.get("/"))
    assert not todo(page, key) and badge(page, "evaluation.rounds") == 0   # the experts' turn

    _expert_scores_the_round(login, db, rnd)

    page = read_text(city.get("/"))
    assert "专家已全部提交评分，待结束评审并确定排名" in todo(page, key) and badge(page, "evaluation.rounds") == 1
    _ok(city.post(f"/evaluation/rounds/{rnd.id}/close"))

    # the allocation
    page = read_text(city.get("/"))
    line = todo(page, key)
    assert "评审已结束，待计算分配方案" in line and f'href="/allocation/rounds/{rnd.id}"' in line
    assert badge(page, "tenders.rounds") == 1
    _ok(city.post(f"/allocation/rounds/{rnd.id}/runs"))
    run = db.session.scalars(sa.select(AllocationRun).where(AllocationRun.round_id == rnd.id)).one()
    jobs.wait(run.job_id, timeout=60)
    assert "分配方案已算出，待采用" in todo(read_text(city.get("/")), key)
    _ok(city.post(f"/allocation/runs/{run.id}/adopt"))

    # the result: published, objected to, answered, finalised once the notice is over
    page = read_text(city.get("/"))
    line = todo(page, key)
    assert "分配方案已采用，待公示中标结果" in line and f'href="/awards/rounds/{rnd.id}"' in line
    assert badge(page, "awards.rounds") == 1
    _ok(city.post(f"/awards/rounds/{rnd.id}/publish"))
    assert not todo(read_text(city.get("/")), key)   # the notice runs
    objection = file_objection(_round(db, rnd.id))
    page = read_text(city.get("/"))
    line = todo(page, f"todo-objections-{rnd.id}")
    assert "1 件质疑待答复" in line and f'href="/awards/rounds/{rnd.id}"' in line
    assert badge(page, "awards.rounds") == 1
    _ok(city.post(f"/awards/objections/{objection.id}/answer", data={"decision": "rejected", "answer": "经复核无误。"}))
    page = read_text(city.get("/"))
    assert not todo(page, f"todo-objections-{rnd.id}") and badge(page, "awards.rounds") == 0

    with time_machine.travel(now + timedelta(days=20), tick=False):
        page = read_text(city.get("/"))
        assert "公示期已于" in todo(page, key) and "待确定中标" in todo(page, key)
        assert badge(page, "awards.rounds") == 1
        insurer = login("insurer")
        assert not todo(read_text(insurer.get("/")), f"todo-award-{rnd.id}")   # not final yet
        _ok(city.post(f"/awards/rounds/{rnd.id}/finalise"))
        assert _round(db, rnd.id).status is RoundStatus.AWARDED
        page = read_text(city.get("/"))
        assert 'id="todo-empty"' in page and "nav-badge" not in page

        # the winner is told, with the way to its award notice
        page = read_text(insurer.get("/"))
        line = todo(page, f"todo-award-{rnd.id}")
        assert "已确定中标：本机构中标" in line and f'href="/awards/rounds/{rnd.id}#downloads"' in line
        assert badge(page, "awards.rounds") == 1
        assert 'id="downloads"' in read_text(insurer.get(f"/awards/rounds/{rnd.id}"))
    with time_machine.travel(f"{TERM}-01-02 08:00 +0800", tick=False):   # the term has begun: in force
        page = read_text(insurer.get("/"))
        assert _round(db, rnd.id).status is RoundStatus.IN_FORCE and not todo(page, f"todo-award-{rnd.id}")


def _expert_scores_the_round(login, db, rnd):
    """The expert's to-do line leads it through its declaration, scores and submission."""
    expert = login("expert")
    key = f"todo-score-{rnd.id}"
    page = read_text(expert.get("/"))
    line = todo(page, key)
    assert "请先声明是否存在利益冲突" in line and f'href="/evaluation/rounds/{rnd.id}/expert"' in line
    assert badge(page, "evaluation.rounds") == 1
    make_user("expert2", Role.EXPERT)   # an expert not on this panel has nothing to do here
    assert 'id="todo-empty"' in read_text(login("expert2").get("/"))
    _ok(expert.post(f"/evaluation/rounds/{rnd.id}/conflicts", data={"note": ""}))
    criteria = evaluation.subjective_criteria(_round(db, rnd.id))
    bids = db.session.scalars(sa.select(Bid).where(Bid.round_id == rnd.id).order_by(Bid.id)).all()
    assert f"还有 {len(bids) * len(criteria)} 项评分未完成" in todo(read_text(expert.get("/")), key)
    for bid in bids:
        _ok(expert.post(f"/evaluation/rounds/{rnd.id}/bids/{bid.id}/score",
                        data={f"c{c.id}": str(min(c.max_points, 3)) for c in criteria}))
        if bid is bids[0]:
            left = (len(bids) - 1) * len(criteria)
            assert f"还有 {left} 项评分未完成" in todo(read_text(expert.get("/")), key)
    assert "评分已完成，请提交评分" in todo(read_text(expert.get("/")), key)
    _ok(expert.post(f"/evaluation/rounds/{rnd.id}/submit"))
    page = read_text(expert.get("/"))
    assert not todo(page, key) and badge(page, "evaluation.rounds") == 0


def test_an_insurer_reconfirms_a_bid_whose_round_changed(demo, login, db):
    from agri_insurance.tenders import service as tenders

    rnd = make_round(publish=True, actor=user("city_agri"))
    bid = make_bid(rnd)
    tenders.rules_changed(rnd, user("city_agri"), "调整标段", [])
    db.session.commit()
    client = login("insurer")
    page = read_text(client.get("/"))
    line = todo(page, f"bid-invalidated-{bid.id}")
    assert "已失效，须在" in line and f'href="/bids/{bid.id}"' in line
    assert badge(page, "bids.my_bids") == 1
    assert not todo(read_text(login("city_agri").get("/")), f"bid-invalidated-{bid.id}")
    _ok(client.post(f"/bids/{bid.id}/submit"))
    page = read_text(client.get("/"))
    assert "bid-invalidated" not in page and badge(page, "bids.my_bids") == 0


def test_the_home_page_says_what_changed_in_the_round(demo, login, db):
    """The insurer learns on its home page, not only on the bid page, which lot changed and how."""
    from decimal import Decimal

    from agri_insurance.tenders import service as tenders

    rnd = make_round(publish=True, actor=user("city_agri"))
    bid = make_bid(rnd)
    lot = rnd.lots[0]
    data = {name: getattr(lot, name) for name in tenders.LOT_FIELDS}
    data["product_ids"] = [p.id for p in lot.products]
    tenders.save_lot(rnd, lot, {**data, "expected_premium": Decimal("1234567.00")}, user("city_agri"))
    db.session.commit()
    page = read_text(login("insurer").get("/"))
    section = page[page.index(f'id="bid-invalidated-{bid.id}"'):page.index('id="todo-list"') + 4000]
    assert lot.code in section and "1,234,567.00" in section and "→" in section
