"""Two uploads of the same loss event at once: the second is refused in words while the first runs (PostgreSQL
advisory lock; before, it ended at the unique constraint or on the list the first was replacing, as a technical
error)."""

import pytest
import sqlalchemy as sa

from agri_insurance.payouts import service
from agri_insurance.payouts.models import PayoutList
from tests.concurrency import in_thread
from tests.payouts.factories import insured, payout, scope, write_csv
from tests.subsidies.factories import user

pytestmark = pytest.mark.postgres


def _import(path, event="2026年6月洪涝"):
    return lambda: service.import_payouts(scope(event=event), path, path.name, user("insurer"))


@pytest.mark.parametrize("replacing", [False, True], ids=["new", "replacing"])
def test_a_second_import_of_the_same_event_is_refused_while_the_first_runs(app, world, db, tmp_path, replacing):
    import threading

    farmers = insured(tmp_path, count=3)
    first = write_csv(tmp_path / "a.csv", [payout(farmers[0], 10, 1)])
    second = write_csv(tmp_path / "b.csv", [payout(farmers[1], 10, 1), payout(farmers[2], 10, 1)])
    if replacing:
        _import(write_csv(tmp_path / "old.csv", [payout(farmers[2], 10, 1)]))()
        db.session.commit()
    db.session.remove()
    outcome: dict[str, str] = {}
    locked, hold = threading.Event(), threading.Event()
    one = in_thread(app, _import(first), outcome, "first", locked, hold)
    assert locked.wait(timeout=10)
    two = in_thread(app, _import(second), outcome, "second")
    two.join(timeout=10)
    other_event = in_thread(app, _import(second, event="2026年7月干旱"), outcome, "other event")
    other_event.join(timeout=10)
    hold.set()
    one.join(timeout=10)
    assert outcome["first"] == "done" and outcome["other event"] == "done"
    assert "正在由另一次上传导入" in outcome["second"]
    lists = db.session.execute(sa.select(PayoutList.event, PayoutList.rows).order_by(PayoutList.event)).all()
    assert [tuple(r) for r in lists] == [("2026年6月洪涝", 1), ("2026年7月干旱", 2)]
    # once the first is committed, the same upload replaces it
    _import(second)()
    db.session.commit()
    assert db.session.scalar(sa.select(PayoutList.rows).where(PayoutList.event == "2026年6月洪涝")) == 2


def test_a_photo_posted_while_the_list_is_replaced_waits_and_goes_with_the_old_list(app, world, db, tmp_path):
    """Either order: a photo for the old list waits for the replacement and is refused in words (nothing stored),
    or the replacement waits for the photo and deletes it with the old list."""
    from datetime import date

    from agri_insurance.payouts import notices
    from agri_insurance.payouts.models import PayoutNoticePhoto
    from agri_insurance.storage import StoredFile
    from tests.concurrency import second_waits_for_first
    from tests.images import png_bytes
    from tests.underwriting.notice_factories import image_upload

    farmers = insured(tmp_path, count=3)
    start = date(2026, 4, 20)

    def old_list() -> int:
        old = _import(write_csv(tmp_path / "old.csv", [payout(farmers[0], 10, 1)]))()
        notices.set_period(old, start, 7, user("insurer"))
        db.session.commit()
        return old.id

    def photo_of(list_id):
        return lambda: notices.add_photos(db.session.get(PayoutList, list_id), ("饶丰镇", "第0村"), start,
                                          [image_upload(png_bytes(), "张贴.png")], user("insurer"))

    def counts():
        db.session.remove()
        return (db.session.scalar(sa.select(sa.func.count(PayoutNoticePhoto.id))),
                db.session.scalar(sa.select(sa.func.count(StoredFile.id))))

    replacement = _import(write_csv(tmp_path / "new.csv", [payout(farmers[1], 10, 1)]))
    list_id = old_list()
    db.session.remove()
    outcome: dict[str, str] = {}
    second_waits_for_first(app, replacement, photo_of(list_id), outcome)
    assert outcome == {"first": "done", "second": "该理赔清单已被替换或删除，请重新打开清单"}
    assert counts() == (0, 0)

    list_id = old_list()
    db.session.remove()
    outcome = {}
    second_waits_for_first(app, photo_of(list_id), replacement, outcome)
    assert outcome == {"first": "done", "second": "done"}
    assert counts() == (0, 0)
