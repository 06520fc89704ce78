"""Uploaded files follow their transaction: a refused upload leaves no file behind."""

import sqlalchemy as sa

from agri_insurance import storage

PDF = b"%PDF-1.4\n1 0 obj << >> endobj\n%%EOF\n"


def files_on_disk() -> set:
    return {p.name for p in storage.upload_dir().rglob("*.pdf")}


def test_a_file_whose_transaction_rolls_back_is_deleted(db):
    before = files_on_disk()
    stored = storage.save_bytes(PDF, "质疑函.pdf", None)
    assert files_on_disk() - before == {stored.stored_name}  # written at once, before the commit
    db.session.rollback()
    assert files_on_disk() == before
    assert db.session.scalar(sa.select(sa.func.count(storage.StoredFile.id))) == 0


def test_a_committed_file_stays_and_a_later_rollback_does_not_touch_it(db):
    kept = storage.save_bytes(PDF, "批准文件.pdf", None)
    db.session.commit()
    storage.save_bytes(PDF, "另一份.pdf", None)
    db.session.rollback()
    assert storage.read_bytes(db.session.get(storage.StoredFile, kept.id)) == PDF
    assert kept.stored_name in files_on_disk() and len(files_on_disk()) >= 1
    assert db.session.scalar(sa.select(sa.func.count(storage.StoredFile.id))) == 1


def test_a_file_whose_session_closes_without_a_commit_is_deleted(db):
    """A request that fails with an unexpected error ends with the session removed, not rolled back."""
    before = files_on_disk()
    storage.save_bytes(PDF, "质疑函.pdf", None)
    db.session.remove()
    assert files_on_disk() == before
