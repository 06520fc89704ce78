"""The audit log's retention (GB/T 22239-2019 8.1.4.3: at least six months): the database refuses to delete an
entry younger than the retention, whatever SQL asks; older entries are archived (exported) and may then go."""

from datetime import timedelta

import pytest
import sqlalchemy as sa

from agri_insurance.audit import service as audit
from agri_insurance.audit.models import AuditEntry
from agri_insurance.clock import utcnow
from agri_insurance.errors import DomainError
from tests.factories import read_text


def _entry(db, days_old: int, action: str = "test.retention") -> int:
    """An entry written `days_old` days ago (inserting is what the log allows)."""
    return db.session.execute(sa.insert(AuditEntry).values(
        created_at=utcnow() - timedelta(days=days_old), actor_name="system", action=action, object_type="",
        summary=f"{days_old} days old", details={}).returning(AuditEntry.id)).scalar_one()


def _delete(db, entry_id: int) -> None:
    db.session.execute(sa.text("DELETE FROM audit_entries WHERE id = :id"), {"id": entry_id})
    db.session.commit()


def test_an_entry_younger_than_the_retention_cannot_be_deleted_by_any_sql(db):
    young, old = _entry(db, 179), _entry(db, 181)
    db.session.commit()
    with pytest.raises(sa.exc.DBAPIError, match="retention"):
        _delete(db, young)
    db.session.rollback()
    with pytest.raises(sa.exc.DBAPIError, match="never updated"):
        db.session.execute(sa.text("UPDATE audit_entries SET summary = 'x' WHERE id = :id"), {"id": old})
    db.session.rollback()
    _delete(db, old)   # past the retention (archived first: the export below)
    assert db.session.scalars(sa.select(AuditEntry.id)).all() == [young]


def test_a_longer_retention_is_kept_by_the_database_too_and_a_shorter_one_refused(db):
    with pytest.raises(DomainError):
        audit.set_retention(90, None)
    with pytest.raises(sa.exc.IntegrityError):   # nor behind the application's back
        db.session.execute(sa.text("INSERT INTO audit_settings (id, retention_days) VALUES (1, 30)"))
    db.session.rollback()
    audit.set_retention(365, None)
    entry = _entry(db, 200)
    db.session.commit()
    assert audit.retention_days() == 365
    with pytest.raises(sa.exc.DBAPIError, match="retention"):
        _delete(db, entry)
    db.session.rollback()


def test_the_archive_export_holds_the_entries_past_retention_and_then_they_may_be_purged(login, db):
    old, young = _entry(db, 400, "test.archived"), _entry(db, 10, "test.recent")
    db.session.commit()
    auditor = login("audit_admin")
    archive = auditor.get("/audit/export.csv?archive=1")
    assert archive.status_code == 200 and archive.mimetype == "text/csv"
    text = archive.data.decode("utf-8-sig")
    assert "test.archived" in text and "test.recent" not in text and "user.login" not in text
    everything = auditor.get("/audit/export.xlsx")
    import io

    from openpyxl import load_workbook

    actions = [row[5] for row in load_workbook(io.BytesIO(everything.data)).active.iter_rows(min_row=2,
                                                                                             values_only=True)]
    assert "test.archived" in actions and "test.recent" in actions
    assert "导出超过保存期的记录" in read_text(auditor.get("/audit/"))
    assert audit.purge_past_retention(audit.retention_cutoff(), None) == 1
    db.session.commit()
    remaining = set(db.session.scalars(sa.select(AuditEntry.id)))
    assert old not in remaining and young in remaining
