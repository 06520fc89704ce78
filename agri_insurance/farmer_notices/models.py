"""The columns every farmer notice has, as mixins: a list module's tables add the foreign key to their list."""

from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, declared_attr, mapped_column, relationship

from agri_insurance.clock import utcnow
from agri_insurance.farmer_notices.service import NoticePeriod


class NoticePeriodColumns:
    """The notice period (公示期) a list's notices state, entered by the insurer that posts them: from `starts_on`,
    `days` calendar days. The table adds its list's key and a check that days is positive."""

    starts_on: Mapped[date]
    days: Mapped[int]
    set_at: Mapped[datetime] = mapped_column(default=utcnow)

    @declared_attr
    def set_by_id(cls) -> Mapped[int]:
        return mapped_column(sa.ForeignKey("users.id"))

    @property
    def period(self) -> NoticePeriod:
        return NoticePeriod(self.starts_on, self.days)


class NoticePhotoColumns:
    """One photo of a village's posted notice (张贴照片), with the day it was posted. The file is a StoredFile (a PNG or
    JPEG checked on upload); its size in pixels is kept so pages lay thumbnails out before they load."""

    id: Mapped[int] = mapped_column(primary_key=True)
    township: Mapped[str] = mapped_column(sa.String(50))
    village: Mapped[str] = mapped_column(sa.String(50))
    posted_on: Mapped[date]
    width: Mapped[int]
    height: Mapped[int]
    uploaded_at: Mapped[datetime] = mapped_column(default=utcnow)

    @declared_attr
    def file_id(cls) -> Mapped[int]:
        return mapped_column(sa.ForeignKey("stored_files.id"), unique=True)

    @declared_attr
    def uploaded_by_id(cls) -> Mapped[int]:
        return mapped_column(sa.ForeignKey("users.id"))

    @declared_attr
    def file(cls):
        return relationship("StoredFile", lazy="joined")

    @property
    def village_key(self) -> tuple[str, str]:
        return (self.township, self.village)
