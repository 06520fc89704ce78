from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileAllowed, FileField
from wtforms import BooleanField, DecimalField, IntegerField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

from agri_insurance.annual_review.models import IndicatorKind, Measure
from agri_insurance.forms_util import choices, one_line


class NewReviewForm(FlaskForm):
    year = IntegerField(_l("考评年度"), validators=[InputRequired(), NumberRange(2000, 2100)])


class RulesForm(FlaskForm):
    excellent_min = DecimalField(_l("优秀（不低于，分）"), places=2, validators=[InputRequired()])
    good_min = DecimalField(_l("良好（不低于，分）"), places=2, validators=[InputRequired()])
    pass_min = DecimalField(_l("合格（不低于，分）"), places=2, validators=[InputRequired()])
    reply_working_days = IntegerField(_l("承保机构提出意见的期限（工作日）"), validators=[InputRequired()])


class ConsequencesForm(FlaskForm):
    exclude_after = IntegerField(_l("连续不合格多少年不得参加该县下一轮遴选（0 为不排除）"), validators=[InputRequired()])
    lookback_years = IntegerField(_l("回溯年数（下一轮服务期前）"), validators=[InputRequired()])
    service_input = BooleanField(_l("考评结果替代申报的服务评级（服务业绩和评级）"))
    factor_excellent = DecimalField(_l("承保能力系数：优秀"), places=2, validators=[Optional()])
    factor_good = DecimalField(_l("承保能力系数：良好"), places=2, validators=[Optional()])
    factor_pass = DecimalField(_l("承保能力系数：合格"), places=2, validators=[Optional()])
    factor_fail = DecimalField(_l("承保能力系数：不合格"), places=2, validators=[Optional()])


class IndicatorForm(FlaskForm):
    name = StringField(_l("指标名称"), validators=[DataRequired(), Length(max=100), one_line])
    kind = SelectField(_l("评分方式"), validators=[DataRequired()])
    measure = SelectField(_l("计算口径（数据计算的指标）"), validators=[Optional()])
    weight = DecimalField(_l("分值"), places=2, validators=[InputRequired()])
    deduction = DecimalField(_l("每件（次）扣分"), places=2, validators=[Optional()])
    guidance = TextAreaField(_l("评分说明"), validators=[Optional(), Length(max=500)])

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.kind.choices = choices([(k.value, k.label) for k in IndicatorKind])
        self.measure.choices = choices([("", "—")] + [(m.value, m.label) for m in Measure])


class ReplyForm(FlaskForm):
    reply = TextAreaField(_l("意见"), validators=[DataRequired(), Length(max=2000)])


class ComplaintForm(FlaskForm):
    insurer_id = SelectField(_l("被投诉的承保机构"), coerce=int, validators=[InputRequired()])
    year = IntegerField(_l("计入考评年度"), validators=[InputRequired(), NumberRange(2000, 2100)])
    subject = StringField(_l("投诉事由"), validators=[DataRequired(), Length(max=200), one_line])
    body = TextAreaField(_l("投诉内容"), validators=[DataRequired(), Length(max=5000)])
    on_behalf_of_farmers = BooleanField(_l("代农户登记"))
    document = FileField(_l("投诉材料（PDF，可选）"), validators=[FileAllowed(["pdf"], _l("请上传 PDF 文件"))])


class DefenceForm(FlaskForm):
    defence = TextAreaField(_l("申辩意见"), validators=[DataRequired(), Length(max=5000)])
    document = FileField(_l("申辩材料（PDF，可选）"), validators=[FileAllowed(["pdf"], _l("请上传 PDF 文件"))])


class DecisionForm(FlaskForm):
    decision = SelectField(_l("决定"), validators=[DataRequired()])
    note = TextAreaField(_l("决定理由"), validators=[DataRequired(), Length(max=2000)])

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.decision.choices = choices([("upheld", _l("投诉成立")), ("dismissed", _l("投诉不成立"))])
