from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import (
    DateField,
    DateTimeLocalField,
    DecimalField,
    IntegerField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
    widgets,
)
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional, ValidationError

from agri_insurance.db_types import MAX_RATIO_PCT
from agri_insurance.forms_util import choices, finite_amount, one_line
from agri_insurance.tenders.models import MIN_NOTICE_WORKING_DAYS

DATETIME_FORMAT = "%Y-%m-%dT%H:%M"


class MultiCheckboxField(SelectMultipleField):
    widget = widgets.ListWidget(prefix_label=False)
    option_widget = widgets.CheckboxInput()


class RoundForm(FlaskForm):
    name = StringField(_l("名称"), validators=[DataRequired(), Length(max=200), one_line])
    term_start_year = IntegerField(_l("服务期起始年度"), validators=[InputRequired(), NumberRange(min=2000, max=2100)])
    bid_deadline = DateTimeLocalField(_l("投标截止时间（北京时间）"), format=DATETIME_FORMAT,
                                      validators=[InputRequired()])
    opening_time = DateTimeLocalField(_l("开标时间（北京时间）"), format=DATETIME_FORMAT, validators=[InputRequired()])
    notice_working_days = IntegerField(_l("公示期（工作日）"), default=MIN_NOTICE_WORKING_DAYS,
                                       validators=[InputRequired(), NumberRange(min=1, max=60)])
    notice_short_reason = TextAreaField(_l("公示期缩短理由"), validators=[Optional(), Length(max=1000)])
    min_insurers = IntegerField(_l("每县承保机构下限"), default=2, validators=[InputRequired(), NumberRange(min=2, max=3)])
    # R3: in principle at most 3 per county; a county needing more gets an exception with the provincial approval.
    max_insurers = IntegerField(_l("每县承保机构上限"), default=3, validators=[
        InputRequired(), NumberRange(min=2),
        NumberRange(max=3, message=_l("每县承保机构原则上不超过%(n)s家；个别县确需更多的，请登记附省级批准文件的县级例外",
                                      n=3))])
    market_share_cap_pct = DecimalField(_l("单家市场份额上限（%）"), places=2,
                                        validators=[Optional(), NumberRange(min=0, max=100)])
    contact = StringField(_l("联系人及电话"), validators=[Optional(), Length(max=200), one_line])
    notes = TextAreaField(_l("说明"), validators=[Optional(), Length(max=4000)])

    def validate_notice_short_reason(self, field) -> None:
        days = self.notice_working_days.data
        if days is not None and days < MIN_NOTICE_WORKING_DAYS and not (field.data or "").strip():
            raise ValidationError(_l("公示期少于%(n)s个工作日的，须填写“%(field)s”", n=MIN_NOTICE_WORKING_DAYS,
                                     field=_l("公示期缩短理由")))


class CancelForm(FlaskForm):
    reason = TextAreaField(_l("取消原因"), validators=[DataRequired(), Length(max=2000)])


class LotForm(FlaskForm):
    region_id = SelectField(_l("县（市、区）"), coerce=int, validators=[DataRequired()])
    code = StringField(_l("标段编号"), validators=[DataRequired(), Length(max=40), one_line])
    name = StringField(_l("标段名称"), validators=[DataRequired(), Length(max=200), one_line])
    product_ids = MultiCheckboxField(_l("险种"), coerce=int, validators=[DataRequired()])
    townships = StringField(_l("乡镇（可选）"), validators=[Optional(), Length(max=2000), one_line])
    expected_premium = DecimalField(_l("预计年保费（元）"), places=2,
                                    validators=[InputRequired(), finite_amount, NumberRange(min=0)])
    loss_ratio_pct = DecimalField(_l("历史赔付率（%）"), places=2,
                                  validators=[Optional(), finite_amount, NumberRange(min=0, max=MAX_RATIO_PCT)])
    notes = TextAreaField(_l("备注"), validators=[Optional(), Length(max=2000)])

    def __init__(self, *args, counties=(), products=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.region_id.choices = choices([(r.id, r.label) for r in counties])
        self.product_ids.choices = choices([(p.id, p.label) for p in products])


class ExceptionForm(FlaskForm):
    region_id = SelectField(_l("县（市、区）"), coerce=int, validators=[DataRequired()])
    max_insurers = IntegerField(_l("承保机构上限（家）"), validators=[InputRequired(), NumberRange(min=1, max=20)])
    approval_doc_no = StringField(_l("省级批准文号"), validators=[DataRequired(), Length(max=100), one_line])
    approval_date = DateField(_l("批准日期"), validators=[InputRequired()])
    document = FileField(_l("批准文件（PDF）"), validators=[FileRequired()])

    def __init__(self, *args, counties=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.region_id.choices = choices([(r.id, r.label) for r in counties])


class UploadForm(FlaskForm):
    file = FileField(_l("xlsx 文件"), validators=[FileRequired()])


class LotDesignForm(FlaskForm):
    region_id = SelectField(_l("县（市、区）"), coerce=int, validators=[DataRequired()])
    lot_count = IntegerField(_l("标段数"), default=3, validators=[InputRequired(), NumberRange(min=2, max=10)])
    history = TextAreaField(_l("历史数据（每行：险种名称或代码, 年保费（元）, 赔付率（%））"),
                            validators=[DataRequired(), Length(max=20000)])

    def __init__(self, *args, counties=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.region_id.choices = choices([(r.id, r.label) for r in counties])
