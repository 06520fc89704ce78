"""The forms of a notice to farmers: its period, and photos of one village's posted notice."""

from __future__ import annotations

import json

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import MultipleFileField
from wtforms import DateField, IntegerField, SelectField
from wtforms.validators import InputRequired, NumberRange

from agri_insurance.farmer_notices.service import NOTICE_MAX_DAYS, NOTICE_MIN_DAYS, PHOTOS_PER_UPLOAD
from agri_insurance.forms_util import choices


class NoticePeriodForm(FlaskForm):
    starts_on = DateField(_l("公示开始日期"), validators=[InputRequired(_l("请填写公示开始日期"))])
    days = IntegerField(_l("公示天数"), default=NOTICE_MIN_DAYS, validators=[
        InputRequired(), NumberRange(min=NOTICE_MIN_DAYS, max=NOTICE_MAX_DAYS)],
        description=_l("承保理赔公示不少于 %(n)s 天", n=NOTICE_MIN_DAYS))


class NoticePhotoForm(FlaskForm):
    """`village` holds the village's (township, village) as JSON: names may hold any character."""

    village = SelectField(_l("村"), validators=[InputRequired()], validate_choice=False)
    posted_on = DateField(_l("张贴日期"), validators=[InputRequired(_l("请填写张贴日期"))])
    photos = MultipleFileField(_l("张贴照片"), description=_l("JPEG 或 PNG，每张不超过 10 MB，一次最多 %(n)s 张",
                                                           n=PHOTOS_PER_UPLOAD))

    def __init__(self, *args, villages=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.village.choices = choices([(village_value(v.township, v.village), v.label) for v in villages])

    def village_key(self) -> tuple[str, str] | None:
        """The chosen village, or None for a value that is not one (the service refuses it)."""
        try:
            township, village = json.loads(self.village.data or "")
        except (TypeError, ValueError):
            return None
        return (township, village) if isinstance(township, str) and isinstance(village, str) else None


def village_value(township: str, village: str) -> str:
    return json.dumps([township, village], ensure_ascii=False)
