from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileAllowed, FileField, FileRequired
from wtforms import StringField, TextAreaField
from wtforms.validators import DataRequired, Length

from agri_insurance.forms_util import one_line
from agri_insurance.subsidies.forms import ScopeFields


class UploadPayoutsForm(ScopeFields, FlaskForm):
    """A payout list: the county, product and year (among the insurer's underwriting assignments), the loss event
    and the file."""

    event = StringField(_l("灾害事故"), validators=[DataRequired(), Length(max=100), one_line],
                        description=_l("如 2025年6月洪涝；同一事故重新上传会替换原清单"))
    file = FileField(_l("理赔清单文件"), validators=[
        FileRequired(_l("请选择文件")), FileAllowed(["xlsx", "csv"], _l("请上传 xlsx 或 csv 文件"))])

    def __init__(self, *args, scopes=None, **kwargs):
        super().__init__(*args, **kwargs)
        if scopes is not None:
            self.set_scope_choices(scopes)


class ReviewFlagForm(FlaskForm):
    comment = TextAreaField(_l("审核意见"), validators=[DataRequired(), Length(max=500)])
