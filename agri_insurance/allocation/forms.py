from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import DateField, DecimalField, IntegerField, RadioField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

from agri_insurance.allocation.models import DEPARTURE_BASIS_LABELS
from agri_insurance.forms_util import choices, finite_amount, one_line


class WhatIfForm(FlaskForm):
    departure = SelectField(_l("按已登记的规则偏离计算"), validators=[Optional()])
    pair_lot = SelectField(_l("标段"), validators=[Optional()])
    pair_insurer = SelectField(_l("承保机构"), validators=[Optional()])
    pair_kind = SelectField(_l("指定或排除"), validators=[Optional()])
    cap_pct = DecimalField(_l("新的市场份额上限（%）"), places=2,
                           validators=[Optional(), NumberRange(min=0.01, max=100)])
    cap_mode = SelectField(_l("市场份额上限"), validators=[Optional()])
    county = SelectField(_l("县（市、区）"), validators=[Optional()])
    county_max = IntegerField(_l("该县承保机构上限"), validators=[Optional(), NumberRange(min=1, max=20)])
    capacity_insurer = SelectField(_l("承保能力上限：承保机构"), validators=[Optional()])
    capacity_mode = SelectField(_l("承保能力上限"), validators=[Optional()])
    capacity_amount = DecimalField(_l("新的承保能力上限（元）"), places=2,
                                   validators=[Optional(), finite_amount, NumberRange(min=0.01)])


class ImportForm(FlaskForm):
    scenario = FileField(_l("方案文件（JSON）"), validators=[FileRequired()])


class CapacityForm(FlaskForm):
    insurer = SelectField(_l("承保机构"), coerce=int, validators=[InputRequired()])
    amount = DecimalField(_l("承保能力上限（元，留空为取消）"), places=2,
                         validators=[Optional(), finite_amount, NumberRange(min=0.01)])
    basis = StringField(_l("依据"), validators=[Optional(), Length(max=200)])


class DepartureForm(FlaskForm):
    """A departure from the round's published rules: the approved cap and/or an insurer's approved capacity,
    who approved it, the document."""

    approved_cap_pct = DecimalField(_l("批准的市场份额上限（%）"), places=2,
                                    validators=[Optional(), NumberRange(min=0.01, max=100)])
    insurer = SelectField(_l("承保机构（偏离其承保能力上限时选择）"), validators=[Optional()])
    approved_capacity = DecimalField(_l("批准的承保能力上限（元）"), places=2,
                                     validators=[Optional(), finite_amount, NumberRange(min=0.01)])
    basis = RadioField(_l("批准方式"), validators=[InputRequired()])
    doc_no = StringField(_l("批准文号"), validators=[DataRequired(), Length(max=100), one_line])
    decided_on = DateField(_l("批准日期"), validators=[InputRequired()])
    reason = TextAreaField(_l("偏离的理由"), validators=[DataRequired(), Length(max=2000)])
    document = FileField(_l("批准文件（PDF，如会议纪要或批复）"), validators=[FileRequired()])

    def __init__(self, *args, insurers=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.insurer.choices = choices([("", "—")] + [(str(i.id), i.name) for i in insurers])
        self.basis.choices = choices([(basis.value, label) for basis, label in DEPARTURE_BASIS_LABELS.items()])
