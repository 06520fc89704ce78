from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileAllowed, FileField, FileRequired
from wtforms import DecimalField, StringField
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange

from agri_insurance.forms_util import finite_amount, one_line
from agri_insurance.subsidies.forms import ScopeFields


def _list_file():
    return FileField(_l("承保清单文件"), validators=[
        FileRequired(_l("请选择文件")), FileAllowed(["xlsx", "csv"], _l("请上传 xlsx 或 csv 文件"))])


class UploadListForm(FlaskForm):
    file = _list_file()


class NewClaimFromListForm(ScopeFields, FlaskForm):
    """A new claim from its underwriting list: the insurer chooses what the list does not say (county, product
    and year among its underwriting assignments, the period, the rate); the figures are the list's totals."""

    period = StringField(_l("申请期间"), validators=[DataRequired(), Length(max=30), one_line],
                         description=_l("如 2026年第一季度、早稻季、全年"))
    premium_rate = DecimalField(_l("费率（%）"), places=4,
                                validators=[InputRequired(), finite_amount, NumberRange(min=0, max=100)],
                                description=_l("保费合计须等于保险金额合计×费率（允许1分误差）"))
    file = _list_file()

    def __init__(self, *args, scopes=None, **kwargs):
        super().__init__(*args, **kwargs)
        if scopes is not None:
            self.set_scope_choices(scopes)
