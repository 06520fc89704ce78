from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import DateField, IntegerField, RadioField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length
from wtforms.widgets import HiddenInput

from agri_insurance.forms_util import choices, one_line


class ObjectionForm(FlaskForm):
    subject = StringField(_l("质疑事项"), validators=[DataRequired(), Length(max=200), one_line])
    body = TextAreaField(_l("质疑内容及理由"), validators=[DataRequired(), Length(max=10000)])
    document = FileField(_l("质疑函（加盖公章的PDF）"), validators=[FileRequired()])


class AnswerForm(FlaskForm):
    decision = RadioField(_l("答复结论"), validators=[InputRequired()])
    answer = TextAreaField(_l("答复内容"), validators=[DataRequired(), Length(max=10000)])

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.decision.choices = choices([("rejected", _l("质疑不成立，维持结果")),
                                         ("upheld", _l("质疑成立，退回评审重新分配"))])


class HolidayForm(FlaskForm):
    day = DateField(_l("日期"), validators=[InputRequired()])
    name = StringField(_l("名称"), validators=[DataRequired(), Length(max=100), one_line])


class TerminateForm(FlaskForm):
    """The city bureau ends an award mid-term and names how the lot is replaced."""

    reason = TextAreaField(_l("终止理由"), validators=[DataRequired(), Length(max=10000)])
    doc_no = StringField(_l("终止决定文号"), validators=[DataRequired(), Length(max=100), one_line])
    document = FileField(_l("终止决定文件（PDF）"), validators=[FileRequired()])
    effective_on = DateField(_l("终止生效日期"), validators=[InputRequired()])
    method = RadioField(_l("替补方式"), validators=[InputRequired()])
    backup_insurer_id = SelectField(_l("后备机构"), coerce=int, validate_choice=False)
    # the underwriter the page showed: a termination arriving after another one changed the award is refused
    insurer_id = IntegerField(widget=HiddenInput(), validators=[InputRequired()])

    def __init__(self, backups=(), *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.method.choices = choices([("backup", _l("由后备机构替补")),
                                       ("run", _l("重新分配（其他标段中标结果不变）"))])
        self.backup_insurer_id.choices = [(b.insurer_id, f"{b.rank}. {b.insurer.name}") for b in backups] \
            or [(0, _l("无可替补的后备机构"))]
