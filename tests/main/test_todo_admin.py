"""The administrator's to-do list: accounts locked by wrong passwords (unlocked by a password reset) and jobs that
failed in the last days (until the work is done again, or the days are over)."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa
import time_machine

from agri_insurance.auth.models import User
from agri_insurance.clock import utcnow
from agri_insurance.jobs import service as jobs
from agri_insurance.jobs.models import Job, JobStatus
from tests.factories import read_text
from tests.jobs import factories as job_kinds  # noqa: F401 - registers the test job kinds
from tests.main.test_todo_claims import badge, todo


def test_a_locked_account_waits_for_the_security_administrator_until_its_password_is_reset(login, db, app):
    for _ in range(5):
        app.test_client().post("/login", data={"username": "expert", "password": "not-the-password1"})
    admin = login("security_admin")   # locks and unlocks are the security administrator's (三员分立)
    page = read_text(admin.get("/"))
    line = todo(page, "todo-locked-accounts")
    assert "1 个账户因连续输错密码被锁定" in line and 'href="/admin/users"' in line
    assert badge(page, "auth.users") == 1
    assert "nav-badge" not in read_text(login("city_agri").get("/"))   # the administrator's work only
    assert not todo(read_text(login("admin").get("/")), "todo-locked-accounts")   # not the system administrator's
    expert = db.session.scalar(sa.select(User).where(User.username == "expert"))
    assert admin.post(f"/admin/users/{expert.id}/password", data={"new_password": "Reset2026x"}).status_code == 302
    page = read_text(admin.get("/"))
    assert not todo(page, "todo-locked-accounts") and badge(page, "auth.users") == 0


def test_a_failed_job_waits_until_it_is_done_again_or_a_week_has_passed(login, db):
    owner = db.session.scalar(sa.select(User).where(User.username == "city_agri"))
    failed = Job(kind="test.record", status=JobStatus.FAILED, error="连接中断", params={}, created_by_id=owner.id,
                 finished_at=utcnow())
    other = Job(kind="test.crash", status=JobStatus.FAILED, error="除数为零", params={}, created_by_id=owner.id,
                finished_at=utcnow() - timedelta(days=8))   # failed before the last seven days
    db.session.add_all([failed, other])
    db.session.commit()
    admin = login("admin")
    page = read_text(admin.get("/"))
    line = todo(page, "todo-failed-jobs")
    assert "近 7 天有 1 个后台作业失败且未重新完成" in line and 'href="/jobs"' in line
    assert badge(page, "jobs.jobs") == 1
    with time_machine.travel(utcnow() + timedelta(days=8), tick=False):
        assert not todo(read_text(login("admin").get("/")), "todo-failed-jobs")
    job = jobs.submit("test.record", {"marker": "again"}, owner)   # the same work, by the same user, succeeds
    db.session.commit()
    assert jobs.wait(job.id).status is JobStatus.DONE
    page = read_text(admin.get("/"))
    assert not todo(page, "todo-failed-jobs") and badge(page, "jobs.jobs") == 0
