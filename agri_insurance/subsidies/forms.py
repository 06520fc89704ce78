from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateField,
    DecimalField,
    IntegerField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

from agri_insurance.forms_util import choices, finite_amount
from agri_insurance.i18n import with_note

MAX_COUNT = 10_000_000  # households and list rows: far above any county's, well inside an INTEGER column


def _money(label, **kwargs):
    return DecimalField(label, places=2, validators=[InputRequired(), finite_amount, NumberRange(min=0)], **kwargs)


class ScopeFields:
    """County, product and year of a claim: the choices are the insurer's underwriting assignments
    (service.claim_scopes). A value outside them is not refused by the select ("not a valid choice") but by the
    service, with a message that says why (the insurer does not underwrite there)."""

    region_id = SelectField(_l("县（市、区）"), coerce=int, validators=[DataRequired()], validate_choice=False)
    product_id = SelectField(_l("险种"), coerce=int, validators=[DataRequired()], validate_choice=False)
    year = SelectField(_l("年度"), coerce=int, validators=[DataRequired(), NumberRange(min=2000, max=2100)],
                       validate_choice=False)

    def set_scope_choices(self, scopes) -> None:
        self.region_id.choices = choices([(r.id, r.label) for r in scopes.counties])
        self.product_id.choices = choices([(p.id, with_note(p.label, p.unit)) for p in scopes.products])
        self.year.choices = choices([(year, str(year)) for year in scopes.years])


class ClaimForm(ScopeFields, FlaskForm):
    period = StringField(_l("申请期间"), validators=[DataRequired(), Length(max=30)],
                         description=_l("如 2026年第一季度、早稻季、全年"))
    quantity = _money(_l("承保数量"))
    unit = StringField(_l("单位"), validators=[DataRequired(), Length(max=10)])
    sum_insured = _money(_l("保险金额（元）"))
    premium_rate = DecimalField(_l("费率（%）"), places=4,
                                validators=[InputRequired(), finite_amount, NumberRange(min=0, max=100)])
    total_premium = _money(_l("保费合计（元）"))
    farmer_premium = _money(_l("农户自缴保费（元）"))
    households = IntegerField(_l("承保户数"), validators=[InputRequired(), NumberRange(min=0, max=MAX_COUNT)],
                              default=0)
    list_rows = IntegerField(_l("清单行数"), validators=[InputRequired(), NumberRange(min=0, max=MAX_COUNT)],
                             default=0)
    notes = TextAreaField(_l("备注"), validators=[Optional(), Length(max=2000)])

    def __init__(self, *args, scopes=None, **kwargs):
        super().__init__(*args, **kwargs)
        if scopes is not None:
            self.set_scope_choices(scopes)


class VerifyForm(FlaskForm):
    opinion = TextAreaField(_l("核验意见"), validators=[DataRequired(_l("核验须填写核验意见")), Length(max=2000)],
                            description=_l("将打印在核验单上，如：经核验，承保清单与申请一致，同意拨付补贴。"))
    flags_reviewed = BooleanField(_l("已核查标记的行"))
    confirm_over_budget = BooleanField(_l("已知悉超出预算，仍确认核验"))


class ReturnForm(FlaskForm):
    reason = TextAreaField(_l("退回理由"), validators=[DataRequired(), Length(max=2000)])


class PaymentForm(FlaskForm):
    level = SelectField(_l("级次"), validators=[DataRequired()])
    amount = _money(_l("拨付金额（元）"))
    paid_on = DateField(_l("拨付日期"), validators=[DataRequired()])
    voucher_no = StringField(_l("凭证号"), validators=[DataRequired(), Length(max=60)])

    def __init__(self, *args, levels=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.level.choices = choices([(lvl.value, lvl.label) for lvl in levels])


class AssignmentForm(FlaskForm):
    insurer_id = SelectField(_l("承保机构"), coerce=int, validators=[DataRequired()])
    region_id = SelectField(_l("县（市、区）"), coerce=int, validators=[DataRequired()])
    product_id = SelectField(_l("险种"), coerce=int, validators=[DataRequired()])
    start_year = IntegerField(_l("开始年度"), validators=[DataRequired(), NumberRange(min=2000, max=2100)])
    end_year = IntegerField(_l("结束年度"), validators=[DataRequired(), NumberRange(min=2000, max=2100)])
    notes = StringField(_l("依据/备注"), validators=[Optional(), Length(max=500)])

    def __init__(self, *args, insurers=(), counties=(), products=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.insurer_id.choices = choices([(i.id, i.short_name) for i in insurers])
        self.region_id.choices = choices([(r.id, r.label) for r in counties])
        self.product_id.choices = choices([(p.id, p.label) for p in products])


class BudgetForm(FlaskForm):
    region_id = SelectField(_l("预算级次"), coerce=int, validators=[DataRequired()])
    year = IntegerField(_l("年度"), validators=[DataRequired(), NumberRange(min=2000, max=2100)])
    amount = _money(_l("预算金额（元）"))

    def __init__(self, *args, regions=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.region_id.choices = choices([(r.id, r.label) for r in regions])


class AdvanceForm(FlaskForm):
    """An advance (预拨): the amount may be left blank for the default (a percentage of last year's verified
    shares of the underwriter, county and level)."""

    insurer_id = SelectField(_l("承保机构"), coerce=int, validators=[DataRequired()])
    region_id = SelectField(_l("县（市、区）"), coerce=int, validators=[DataRequired()])
    level = SelectField(_l("级次"), validators=[DataRequired()])
    year = IntegerField(_l("年度"), validators=[DataRequired(), NumberRange(min=2000, max=2100)])
    amount = DecimalField(_l("预拨金额（元）"), places=2, validators=[Optional(), finite_amount, NumberRange(min=0)],
                          description=_l("留空则按上年度已核验补贴的默认比例计算"))
    paid_on = DateField(_l("拨付日期"), validators=[DataRequired()])
    voucher_no = StringField(_l("凭证号"), validators=[DataRequired(), Length(max=60)])

    def __init__(self, *args, insurers=(), regions=(), levels=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.insurer_id.choices = choices([(i.id, i.short_name) for i in insurers])
        self.region_id.choices = choices([(r.id, r.label) for r in regions])
        self.level.choices = choices([(lvl.value, lvl.label) for lvl in levels])


class AdvanceEditForm(FlaskForm):
    amount = _money(_l("预拨金额（元）"))
    paid_on = DateField(_l("拨付日期"), validators=[DataRequired()])
    voucher_no = StringField(_l("凭证号"), validators=[DataRequired(), Length(max=60)])


class TransferForm(FlaskForm):
    amount = _money(_l("金额（元）"))
    paid_on = DateField(_l("日期"), validators=[DataRequired()])
    voucher_no = StringField(_l("凭证号"), validators=[DataRequired(), Length(max=60)])


class FundForm(FlaskForm):
    """Funds received from above (上级资金下达) or passed on by the city to a county (市级转拨)."""

    passed_on = SelectField(_l("资金来源"), coerce=int)
    to_region_id = SelectField(_l("收款财政部门"), coerce=int, validators=[DataRequired()], validate_choice=False)
    level = SelectField(_l("级次"), validators=[DataRequired()], validate_choice=False)
    year = IntegerField(_l("年度"), validators=[DataRequired(), NumberRange(min=2000, max=2100)])
    product_id = SelectField(_l("险种"), coerce=int, validate_choice=False, description=_l("可不选（多个险种合并下达）"))
    document_no = StringField(_l("文号"), validators=[DataRequired(), Length(max=100)])
    issued_on = DateField(_l("下达日期"), validators=[DataRequired()])
    amount = _money(_l("金额（元）"))
    notes = StringField(_l("备注"), validators=[Optional(), Length(max=500)])

    def __init__(self, *args, regions=(), levels=(), products=(), city_finance=False, **kwargs):
        super().__init__(*args, **kwargs)
        self.to_region_id.choices = choices([(r.id, _l("%(region)s财政局", region=r.label)) for r in regions])
        self.level.choices = choices([(lvl.value, lvl.label) for lvl in levels])
        self.product_id.choices = choices([(0, _l("（不限险种）")), *((p.id, p.label) for p in products)])
        sources = [(0, _l("上级下达")), (1, _l("市级转拨"))] if city_finance else [(0, _l("上级下达"))]
        self.passed_on.choices = choices(sources)
