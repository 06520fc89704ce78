"""The home page (to-do list, badges, figures) sends as many statements to the database with three times the
data: no query per claim, round, bid, objection, expert task, user or job."""

from __future__ import annotations

from datetime import timedelta

import time_machine

from agri_insurance.auth.models import Role
from agri_insurance.clock import utcnow
from agri_insurance.extensions import db as _db
from agri_insurance.jobs.models import Job, JobStatus
from agri_insurance.subsidies import service as subsidies
from tests.factories import make_user, read_text
from tests.subsidies.factories import assign, make_claim, user

ROLES = ("admin", "security_admin", "city_agri", "county_agri", "insurer", "expert", "county_finance", "city_finance")


def _grow(n: int, start: int) -> None:
    """`n` more of everything waiting for someone: claims in every state, rounds at every step, bids to re-confirm,
    final results, expert tasks, locked accounts, failed jobs."""
    from agri_insurance.awards import service as awards
    from agri_insurance.tenders import service as tenders
    from tests.awards.factories import file_objection, make_awarded_round, publish
    from tests.awards.factories import make_evaluation_round as make_bidding_round
    from tests.evaluation.factories import make_evaluation_round, panel_ready, score_all
    from tests.tenders.factories import make_bid, make_round

    city = user("city_agri")
    for i in range(start, start + n):
        with time_machine.travel(utcnow() - timedelta(days=40), tick=False):
            make_claim("verified", period=f"第{i}期（逾期）")
            make_claim("verified", county_code="361130", period=f"第{i}期（逾期）")
        make_claim("verified", period=f"第{i}期（待付）")
        make_claim("submitted", period=f"第{i}期（待核）")
        make_claim("draft", period=f"第{i}期（草稿）")
        returned = make_claim("submitted", period=f"第{i}期（退回）")
        subsidies.return_claim(returned, "数量不符", user("county_agri"))

        make_round(name=f"草稿轮次{i}", actor=city)                                   # to publish
        make_bidding_round(name=f"评审轮次{i}", term_start_year=2040 + i)                # eligibility to run
        open_round = make_round(name=f"投标轮次{i}", publish=True, actor=city)          # a bid to re-confirm
        make_bid(open_round)
        tenders.rules_changed(open_round, city, "调整标段", [])
        objected = make_awarded_round(name=f"公示轮次{i}", term_start_year=2050 + i)   # an objection to answer
        publish(objected)
        file_objection(objected)
        final = make_awarded_round(name=f"中标轮次{i}", term_start_year=2060 + i)      # lots won
        publish(final, days_ago=21)
        awards.finalise(final, city)
        scoring, _bids = make_evaluation_round({"赣鄱财险": {}, "信江农险": {}})      # the expert's task
        member = panel_ready(scoring)["expert"]
        score_all(scoring, member, submit=False)

        locked = make_user(f"locked{i}", Role.EXPERT)
        locked.failed_logins, locked.locked_until = 5, utcnow() + timedelta(minutes=15)
        _db.session.add(Job(kind="test.record", status=JobStatus.FAILED, error="boom", params={},
                            created_by_id=locked.id, finished_at=utcnow()))
    _db.session.commit()


# What each role's list shows in this world (one mark per kind of line), so the counts are taken over all of it.
SHOWN = {
    "admin": ("个后台作业失败",),
    "security_admin": ("个账户因连续输错密码被锁定",),
    "city_agri": ("件质疑待答复", "草稿，待发布", "待进行资格审查", "全市逾期未付补贴"),
    "county_agri": ("份补贴申请待核验",),
    "insurer": ("已失效，须在", "已确定中标：本机构中标", "已被退回（数量不符）", "份补贴申请草稿尚未提交"),
    "expert": ("评分已完成，请提交评分",),
    "county_finance": ("本级补贴已逾期未付", "县级财政"),
    "city_finance": ("本级补贴已逾期未付", "市级财政"),
}


def _statements(login, count_queries) -> tuple[dict[str, int], dict[str, str]]:
    counts, lists = {}, {}
    for username in ROLES:
        client = login(username)
        client.get("/")   # warm: whatever a first page after the login reads once
        with count_queries() as counted:
            page = read_text(client.get("/"))
        counts[username] = counted["n"]
        lists[username] = page.split('id="todo-list"')[1].split("</ul>")[0]
        for mark in SHOWN[username]:
            assert mark in lists[username], (username, mark)
    return counts, lists


def test_the_home_pages_query_count_does_not_grow_with_the_data(demo, db, login, count_queries):
    assign()
    assign(county_code="361130")
    _db.session.commit()
    _grow(1, start=1)
    small, _lists = _statements(login, count_queries)
    _grow(2, start=2)
    large, lists = _statements(login, count_queries)
    assert large == small
    # the larger world is on the lists (the counts above were taken over three of everything)
    assert "3 份补贴申请待核验" in lists["county_agri"]
    assert "3 个账户因连续输错密码被锁定" in lists["security_admin"] and "有 3 个后台作业失败" in lists["admin"]
    assert lists["expert"].count("评分已完成，请提交评分") == 3
    assert lists["insurer"].count("已确定中标：本机构中标") == 3
    assert lists["city_agri"].count("件质疑待答复") == 3
