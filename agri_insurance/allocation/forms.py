from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import DecimalField, IntegerField, SelectField, StringField
from wtforms.validators import InputRequired, Length, NumberRange, Optional

from agri_insurance.forms_util import finite_amount


class WhatIfForm(FlaskForm):
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
