"""The rules every notice to farmers follows, whichever list it shows: its period, its villages, its photos.

Nothing here commits or audits: the list module's service calls these inside its own operation, audits on the
object whose timeline it belongs to, and its view commits once.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from flask_babel import gettext as _

from agri_insurance import storage
from agri_insurance.errors import require
from agri_insurance.extensions import db
from agri_insurance.i18n import is_english, join_names

# 农业保险承保理赔管理办法: a notice to farmers runs at least 5 days (calendar days; the selection's public notice of
# 5 working days is another rule). The insurer may state a longer one, up to a month.
NOTICE_MIN_DAYS = 5
NOTICE_MAX_DAYS = 30
START_AHEAD_DAYS = 60  # a notice may be prepared this long before it goes up
PHOTOS_PER_UPLOAD = 6  # 6 photos of up to 10 MB each stay within a request's 64 MB (MAX_CONTENT_LENGTH)
VILLAGES_NAMED = 10  # a message names this many villages, then says how many more


def village_label(township: str, village: str) -> str:
    return f"{township} {village}" if is_english() else f"{township}{village}"


def chinese_date(day: date) -> str:
    return f"{day.year}年{day.month}月{day.day}日"


@dataclass(frozen=True)
class NoticePeriod:
    """`days` calendar days from `starts_on`, both ends included."""

    starts_on: date
    days: int

    @property
    def ends_on(self) -> date:
        return self.starts_on + timedelta(days=self.days - 1)

    def has_ended(self, today: date) -> bool:
        return today > self.ends_on

    @property
    def document_text(self) -> str:
        """As the posted notice states it (in Chinese, as the notice is written)."""
        return f"{chinese_date(self.starts_on)}至{chinese_date(self.ends_on)}（共{self.days}天）"


def check_period(starts_on: date | None, days: int | None, today: date) -> NoticePeriod:
    """The period an insurer enters for its notices, or DomainError naming the field."""
    require(starts_on is not None, _("请填写公示开始日期"), "starts_on")
    require(days is not None and NOTICE_MIN_DAYS <= days <= NOTICE_MAX_DAYS,
            _("公示天数应为 %(min)s 至 %(max)s 天（承保理赔公示不少于 %(min)s 天）", min=NOTICE_MIN_DAYS,
              max=NOTICE_MAX_DAYS), "days")
    latest = today + timedelta(days=START_AHEAD_DAYS)
    require(starts_on <= latest, _("公示开始日期不能晚于 %(d)s", d=latest.isoformat()), "starts_on")
    return NoticePeriod(starts_on, days)


@dataclass
class Village:
    """One village of a list, as its notice shows it: how many households and rows, the list module's totals
    (e.g. {"quantity": …, "premium": …}) and the photos of its posted notice."""

    township: str
    village: str
    households: int = 0
    rows: int = 0
    totals: dict[str, Decimal] = field(default_factory=dict)
    photos: list[Any] = field(default_factory=list)

    @property
    def key(self) -> tuple[str, str]:
        return (self.township, self.village)

    @property
    def label(self) -> str:
        return village_label(self.township, self.village)

    @property
    def has_evidence(self) -> bool:
        return bool(self.photos)

    @property
    def first_posted_on(self) -> date | None:
        return min((p.posted_on for p in self.photos), default=None)

    def posted_late(self, period: NoticePeriod | None) -> bool:
        """Posted after the day the notice says it starts: it ran shorter in this village than stated."""
        first = self.first_posted_on
        return period is not None and first is not None and first > period.starts_on


def villages_with_photos(villages: Iterable[Village], photos: Iterable[Any]) -> list[Village]:
    """The villages with their photos attached (in upload order)."""
    by_key = {v.key: v for v in villages}
    for photo in photos:
        village = by_key.get((photo.township, photo.village))
        if village is not None:
            village.photos.append(photo)
    return list(by_key.values())


def without_evidence(villages: Iterable[Village]) -> list[Village]:
    return [v for v in villages if not v.has_evidence]


@dataclass
class NoticeEvidence:
    """A list's notice as its pages show it: the period (None until the insurer enters it), the villages with the
    photos of their posted notice, and those still without one. A list module extends it with its own object."""

    period: NoticePeriod | None
    villages: list[Village]
    today: date
    missing: list[Village] = field(init=False)

    def __post_init__(self) -> None:
        self.missing = without_evidence(self.villages)

    @property
    def with_photos(self) -> int:
        return len(self.villages) - len(self.missing)

    @property
    def complete(self) -> bool:
        return not self.missing

    @property
    def period_ended(self) -> bool:
        return self.period is not None and self.period.has_ended(self.today)

    @property
    def phase_label(self) -> str:
        if self.period is None:
            return ""
        if self.today < self.period.starts_on:
            return _("未开始")
        return _("已期满") if self.period.has_ended(self.today) else _("公示进行中")

    @property
    def missing_text(self) -> str:
        return describe_villages(self.missing)

    def posted_late(self, village: Village) -> bool:
        return village.posted_late(self.period)


def describe_villages(villages: Sequence[Village], most: int = VILLAGES_NAMED) -> str:
    """饶丰镇第1村、饶丰镇第2村 … 等 12 个村: the first `most` named, then how many there are."""
    names = join_names(v.label for v in villages[:most])
    if len(villages) > most:
        return _("%(names)s等 %(n)s 个村", names=names, n=len(villages))
    return names


def check_photos_within(period: NoticePeriod, photos: Iterable[Any]) -> None:
    """A new period must still hold every photo already uploaded (each was posted within the period)."""
    outside = sorted({village_label(p.township, p.village) for p in photos
                      if not period.starts_on <= p.posted_on <= period.ends_on})
    require(not outside, _("已上传的张贴照片中，%(v)s 的张贴日期不在新的公示期内；请先删除这些照片",
                           v=join_names(outside[:VILLAGES_NAMED])), "starts_on")


def add_photos(make_photo: Callable[..., Any], villages: Iterable[Village], key: tuple[str, str] | None,
               posted_on: date | None, files: Iterable[Any], period: NoticePeriod | None, today: date,
               actor) -> list[Any]:
    """Check and store photos of one village's posted notice; `make_photo(**columns)` builds the list module's
    photo row (it adds the list's key). All or none: a file that is not a real image refuses the whole upload,
    and the caller rolls back (the files already written go with the transaction). Returns the flushed photos."""
    require(period is not None, _("请先填写公示期，再上传张贴照片"))
    require(key is not None and key in {v.key for v in villages}, _("请选择清单中的村"), "village")
    require(posted_on is not None, _("请填写张贴日期"), "posted_on")
    require(posted_on <= today, _("张贴日期不能晚于今天"), "posted_on")
    require(period.starts_on <= posted_on <= period.ends_on,
            _("张贴日期应在公示期内（%(start)s 至 %(end)s）", start=period.starts_on.isoformat(),
              end=period.ends_on.isoformat()), "posted_on")
    chosen = [f for f in files if f is not None and getattr(f, "filename", "")]
    require(chosen, _("请选择要上传的照片"), "photos")
    require(len(chosen) <= PHOTOS_PER_UPLOAD, _("一次最多上传 %(n)s 张照片", n=PHOTOS_PER_UPLOAD), "photos")
    photos = []
    for upload in chosen:
        stored, info = storage.save_image(upload, actor, field="photos")
        photo = make_photo(township=key[0], village=key[1], posted_on=posted_on, width=info.width,
                           height=info.height, file_id=stored.id, uploaded_by_id=actor.id)
        db.session.add(photo)
        photos.append(photo)
    db.session.flush()
    return photos


def photo_record(photo) -> dict[str, Any]:
    """What an audit entry keeps of a photo: its stored file's id, name and SHA-256 (the file may be removed later)."""
    return {"id": photo.file_id, "name": photo.file.original_name, "sha256": photo.file.sha256}


def remove_photos(photos: Iterable[Any]) -> int:
    """Delete every photo of a list that is going (SQLite enforces no cascade); how many went. Caller audits."""
    count = 0
    for photo in photos:
        remove_photo(photo)
        count += 1
    return count


def remove_photo(photo) -> None:
    """Delete a photo and its stored file's row (the file on disk stays until the transaction ends: see storage)."""
    stored = photo.file
    db.session.delete(photo)
    db.session.flush()
    storage.discard(stored)
