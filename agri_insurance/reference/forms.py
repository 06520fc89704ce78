from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, DecimalField, IntegerField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional, StopValidation

from agri_insurance.forms_util import choices, finite_amount, one_line
from agri_insurance.i18n import with_note
from agri_insurance.reference.models import ProductCategory, ProductKind, RegionLevel
from agri_insurance.reference.service import PCT_QUANTUM


def _optional_int(value):
    return int(value) if value not in (None, "", "None") else None


class RegionForm(FlaskForm):
    code = StringField(_l("行政区划代码"), validators=[DataRequired(), Length(min=6, max=6)])
    name = StringField(_l("名称"), validators=[DataRequired(), Length(max=50)])
    name_en = StringField(_l("英文名称"), validators=[Optional(), Length(max=80)])
    level = SelectField(_l("级别"), validators=[DataRequired()])
    parent_id = SelectField(_l("上级"), coerce=_optional_int, validators=[Optional()])
    bureau_contact = StringField(_l("农业农村局受理异议联系方式"), validators=[Optional(), Length(max=200), one_line],
                                 description=_l("印在本县承保、理赔公示上，如：计划财务股 0793-6221234"))

    def __init__(self, *args, parents=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.level.choices = choices([(RegionLevel.CITY.value, _l("市")), (RegionLevel.COUNTY.value, _l("县（市、区）"))])
        self.parent_id.choices = choices([("", "—")] + [(r.id, r.label) for r in parents])


class ProductForm(FlaskForm):
    code = StringField(_l("险种代码"), validators=[DataRequired(), Length(max=40)])
    name = StringField(_l("名称"), validators=[DataRequired(), Length(max=50)])
    name_en = StringField(_l("英文名称"), validators=[DataRequired(), Length(max=80)])
    category = SelectField(_l("类别"), validators=[DataRequired()])
    kind = SelectField(_l("类型"), validators=[DataRequired()])
    unit = StringField(_l("计量单位"), validators=[DataRequired(), Length(max=10)])
    household_limit = DecimalField(_l("每户承保上限"), places=2,
                                   validators=[Optional(), finite_amount, NumberRange(min=0, max=999999999999)],
                                   description=_l("承保清单中单户合计数量超过此值时提示核验人员；留空则不检查"))
    active = BooleanField(_l("启用"), default=True)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.category.choices = choices([(c.value, c.label) for c in ProductCategory])
        self.kind.choices = choices([(k.value, k.label) for k in ProductKind])


class InsurerForm(FlaskForm):
    name = StringField(_l("机构名称"), validators=[DataRequired(), Length(max=120)])
    short_name = StringField(_l("简称"), validators=[DataRequired(), Length(max=40)])
    credit_code = StringField(_l("统一社会信用代码"), validators=[DataRequired(), Length(min=18, max=18)])
    parent_company = StringField(_l("上级（控股）公司"), validators=[Optional(), Length(max=120)])
    contact_person = StringField(_l("联系人"), validators=[Optional(), Length(max=50)])
    contact_phone = StringField(_l("联系电话"), validators=[Optional(), Length(max=30)])
    address = StringField(_l("地址"), validators=[Optional(), Length(max=200)])
    active = BooleanField(_l("启用"), default=True)


def _at_most_4_places(form, field):
    """Shares are stored as Numeric(7, 4): a fifth decimal would be rounded away and break the 100 % sum."""
    value = field.data
    if value is None:
        return
    if not value.is_finite() or abs(value) > 1000:  # 1e30 cannot even be quantized (InvalidOperation: a 500)
        raise StopValidation(_l("各级分担比例应在0到100之间"))
    if value != value.quantize(PCT_QUANTUM):
        raise StopValidation(_l("比例最多保留4位小数"))


def _pct_field(label):
    return DecimalField(label, places=4, default=0,
                        validators=[InputRequired(), _at_most_4_places, NumberRange(min=0, max=100)])


class SubsidySchemeForm(FlaskForm):
    product_id = SelectField(_l("险种"), coerce=int, validators=[DataRequired()])
    region_id = SelectField(_l("适用地区"), coerce=_optional_int, validators=[Optional()])
    year = IntegerField(_l("年度"), validators=[DataRequired(), NumberRange(min=2000, max=2100)])
    central_pct = _pct_field(_l("中央财政（%）"))
    provincial_pct = _pct_field(_l("省级财政（%）"))
    city_pct = _pct_field(_l("市级财政（%）"))
    county_pct = _pct_field(_l("县级财政（%）"))
    farmer_pct = _pct_field(_l("农户自缴（%）"))
    deviation_reason = TextAreaField(_l("比例调整理由"), validators=[Optional(), Length(max=2000)])
    notes = TextAreaField(_l("备注"), validators=[Optional(), Length(max=2000)])

    def __init__(self, *args, products=(), counties=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.product_id.choices = choices([(p.id, with_note(p.label, p.category.label)) for p in products])
        self.region_id.choices = choices([("", _l("全市"))] + [(r.id, r.label) for r in counties])
