"""Uploaded documents (PDF) and photos (PNG, JPEG), stored outside the web root.

A file is checked (PDF magic bytes, size; an image's whole structure and its size in pixels, see
agri_insurance.images), written under `app.config["UPLOAD_DIR"]` with a random name and recorded as a
`StoredFile` row with its SHA-256. Nothing under UPLOAD_DIR is served by the static route: a module's view checks
access to the owning object and then calls `send_stored()`.

    stored = storage.save_pdf(request.files["document"], current_user)   # raises DomainError
    stored, info = storage.save_image(request.files["photo"], current_user)   # info: kind, width, height
    ...
    return storage.send_stored(stored)                                     # after the access check
    return storage.send_stored(stored, inline=True)                        # an image shown in a page
"""

from __future__ import annotations

import hashlib
import logging
import os
import secrets
from datetime import datetime
from pathlib import Path

import sqlalchemy as sa
from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import event
from sqlalchemy.orm import Mapped, Session, mapped_column

from agri_insurance.clock import utcnow
from agri_insurance.errors import DomainError, require
from agri_insurance.extensions import db
from agri_insurance.images import ImageInfo, NotAnImage, inspect_image
from agri_insurance.spreadsheets import download

log = logging.getLogger(__name__)
PDF_MAGIC = b"%PDF-"
PDF_MIMETYPE = "application/pdf"
DEFAULT_MAX_BYTES = 10 * 1024 * 1024  # 10 MB per document
IMAGE_MAX_BYTES = 10 * 1024 * 1024  # 10 MB per photo: a phone's photo is 2-6 MB
IMAGE_MIN_SIDE = 240  # pixels: smaller, a photo of a posted notice shows nothing legible


class StoredFile(db.Model):
    __tablename__ = "stored_files"
    __table_args__ = (sa.CheckConstraint("size_bytes > 0", name="size_positive"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    original_name: Mapped[str] = mapped_column(sa.String(255))
    stored_name: Mapped[str] = mapped_column(sa.String(80), unique=True)
    content_type: Mapped[str] = mapped_column(sa.String(60), default=PDF_MIMETYPE)
    size_bytes: Mapped[int]
    sha256: Mapped[str] = mapped_column(sa.String(64))
    uploaded_at: Mapped[datetime] = mapped_column(default=utcnow)
    uploaded_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))

    def __repr__(self) -> str:
        return f"<StoredFile {self.id} {self.original_name}>"


# Files written in the session's current transaction: kept when it commits, deleted when it ends otherwise
# (rolled back, or closed without a commit, as at the end of a request that failed).
_WRITTEN = "agri_insurance.storage.written"


@event.listens_for(Session, "after_commit")
def _keep_written_files(session: Session) -> None:
    session.info.pop(_WRITTEN, None)


@event.listens_for(Session, "after_transaction_end")
def _forget_written_files(session: Session, transaction) -> None:
    """Runs after ``after_commit`` on a commit (the list is empty by then); on a rollback or close of the
    outermost transaction the files written in it have no row: delete them."""
    if transaction.parent is not None:
        return
    for path in session.info.pop(_WRITTEN, []):
        Path(path).unlink(missing_ok=True)


def upload_dir() -> Path:
    path = Path(current_app.config["UPLOAD_DIR"])
    path.mkdir(parents=True, exist_ok=True)
    return path


def cannot_write(field: str | None) -> DomainError:
    """What the user reads when the server cannot write an upload (UPLOAD_DIR read-only or its disk full)."""
    return DomainError(_("服务器暂时无法保存上传的文件（存储空间已满或不可写），未保存任何内容。请稍后重试，或联系系统管理员。"),
                       field)


def write_new_file(target: Path, data_or_upload, field: str | None = "document") -> None:
    """Write `target` (a new file: bytes, or a werkzeug FileStorage streamed to disk) with owner-only permissions,
    or raise `cannot_write(field)` leaving no partial file when the directory is read-only or the disk is full."""
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except OSError as e:
        log.error("upload not written to %s: %s", target, e)
        raise cannot_write(field) from e
    try:
        with os.fdopen(fd, "wb") as fh:
            if isinstance(data_or_upload, bytes | bytearray):
                fh.write(data_or_upload)
            else:
                data_or_upload.save(fh)
    except OSError as e:
        log.error("upload not written to %s: %s", target, e)
        target.unlink(missing_ok=True)
        raise cannot_write(field) from e


def keep_upload(upload_file, folder: str, field: str | None = "file") -> Path:
    """An uploaded file kept under UPLOAD_DIR/`folder` with a random name and its own suffix, for a job to read
    (the job removes it); `cannot_write(field)` when the server cannot write it."""
    suffix = Path(upload_file.filename or "").suffix.lower()[:10]
    target = Path(current_app.config["UPLOAD_DIR"]) / folder / f"{secrets.token_hex(16)}{suffix}"
    write_new_file(target, upload_file, field)
    return target


def _path(stored: StoredFile) -> Path:
    return upload_dir() / stored.stored_name[:2] / stored.stored_name


def _clean_name(name: str | None, default: str = "document.pdf") -> str:
    name = os.path.basename((name or "").replace("\\", "/")).strip() or default
    return name[-255:]


def save_pdf(file_storage, actor, max_bytes: int = DEFAULT_MAX_BYTES) -> StoredFile:
    """Check and store an uploaded PDF (a werkzeug FileStorage); returns the flushed StoredFile. Caller commits.

    Refuses an empty file, a file larger than `max_bytes`, or one that does not start with the PDF signature
    (the name's extension and the browser's content type are not trusted).
    """
    require(file_storage is not None and getattr(file_storage, "filename", ""), _("请选择要上传的文件"), "document")
    data = file_storage.read(max_bytes + 1)
    require(len(data) > 0, _("上传的文件是空的"), "document")
    require(len(data) <= max_bytes,
            _("文件不能超过 %(mb)s MB", mb=max_bytes // (1024 * 1024) or 1), "document")
    require(data.startswith(PDF_MAGIC), _("只接受PDF文件"), "document")
    return _store(data, _clean_name(file_storage.filename), PDF_MIMETYPE, ".pdf", actor)


def save_image(file_storage, actor, max_bytes: int = IMAGE_MAX_BYTES, field: str = "photos",
               min_side: int = IMAGE_MIN_SIDE) -> tuple[StoredFile, ImageInfo]:
    """Check and store an uploaded photo (a werkzeug FileStorage); returns the flushed StoredFile and what the
    image is (kind, width, height). Caller commits.

    Refuses an empty file, one larger than `max_bytes`, one that is not a complete PNG or JPEG (whatever its name
    and the browser's content type say: the bytes are read as a decoder reads them, agri_insurance.images), and
    an image with a side shorter than `min_side` pixels. The file is stored under its real type's suffix and
    content type. Messages name the file, as several may be uploaded at once.
    """
    require(file_storage is not None and getattr(file_storage, "filename", ""), _("请选择要上传的文件"), field)
    name = _clean_name(file_storage.filename, "photo")
    data = file_storage.read(max_bytes + 1)
    require(len(data) > 0, _("%(name)s：文件是空的", name=name), field)
    require(len(data) <= max_bytes,
            _("%(name)s：图片不能超过 %(mb)s MB", name=name, mb=max_bytes // (1024 * 1024) or 1), field)
    try:
        info = inspect_image(data)
    except NotAnImage as e:
        message = {
            "not_image": _("%(name)s：只接受 JPEG 或 PNG 图片", name=name),
            "too_large": _("%(name)s：图片像素过多，请缩小后上传", name=name),
        }.get(e.reason, _("%(name)s：图片文件不完整或已损坏，请重新导出后上传", name=name))
        raise DomainError(message, field) from e
    require(min(info.width, info.height) >= min_side,
            _("%(name)s：图片太小（%(w)s×%(h)s 像素），短边至少 %(min)s 像素", name=name, w=info.width, h=info.height,
              min=min_side), field)
    return _store(data, name, info.mimetype, info.suffix, actor, field), info


def save_bytes(data: bytes, original_name: str, actor) -> StoredFile:
    """Store already-checked PDF bytes (also used by tests and data loaders)."""
    if not data.startswith(PDF_MAGIC):
        raise DomainError(_("只接受PDF文件"), "document")
    return _store(data, original_name, PDF_MIMETYPE, ".pdf", actor)


def _store(data: bytes, original_name: str, content_type: str, suffix: str, actor,
           field: str | None = "document") -> StoredFile:
    stored_name = secrets.token_hex(16) + suffix
    target = Path(current_app.config["UPLOAD_DIR"]) / stored_name[:2] / stored_name
    write_new_file(target, data, field)
    # the file exists before its row is committed: if the transaction rolls back (a refused objection, bid,
    # approval...), the file goes too (see _forget_written_files)
    db.session.info.setdefault(_WRITTEN, []).append(target)
    stored = StoredFile(original_name=original_name, stored_name=stored_name, content_type=content_type,
                        size_bytes=len(data), sha256=hashlib.sha256(data).hexdigest(),
                        uploaded_by_id=getattr(actor, "id", None))
    db.session.add(stored)
    db.session.flush()
    return stored


def read_bytes(stored: StoredFile) -> bytes:
    return _path(stored).read_bytes()


def send_stored(stored: StoredFile, inline: bool = False):
    """The file as a download (`inline`: shown in the browser, as an image in a page is). Call only after checking
    that the user may see the object owning it."""
    response = download(read_bytes(stored), stored.original_name, stored.content_type)
    if inline:
        response.headers["Content-Disposition"] = response.headers["Content-Disposition"].replace(
            "attachment", "inline", 1)
        # a stored file never changes (its name is random and new for every upload): the browser may keep it
        response.headers["Cache-Control"] = "private, max-age=86400"
    return response


def discard(stored: StoredFile) -> None:
    """Delete the row. The file stays on disk (the transaction may still roll back; an orphan is harmless)."""
    db.session.delete(stored)
    db.session.flush()
