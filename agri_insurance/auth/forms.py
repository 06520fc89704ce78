from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, DateField, PasswordField, SelectField, StringField
from wtforms.validators import DataRequired, EqualTo, Length, Optional

from agri_insurance.forms_util import choices
from agri_insurance.roles import Role


class LoginForm(FlaskForm):
    username = StringField(_l("用户名"), validators=[DataRequired(), Length(max=64)])
    password = PasswordField(_l("密码"), validators=[DataRequired()])


class ChangePasswordForm(FlaskForm):
    current_password = PasswordField(_l("当前密码"), validators=[DataRequired()])
    new_password = PasswordField(_l("新密码"), validators=[DataRequired(), Length(max=128)])
    confirm = PasswordField(_l("确认新密码"),
                            validators=[DataRequired(), EqualTo("new_password", message=_l("两次输入的新密码不一致"))])


def _optional_int(value):
    return int(value) if value not in (None, "", "None") else None


class UserForm(FlaskForm):
    username = StringField(_l("用户名"), validators=[DataRequired(), Length(max=64)])
    display_name = StringField(_l("姓名"), validators=[DataRequired(), Length(max=100)])
    role = SelectField(_l("角色"), validators=[DataRequired()])
    region_id = SelectField(_l("所属县（市、区）"), coerce=_optional_int, validators=[Optional()])
    insurer_id = SelectField(_l("所属承保机构"), coerce=_optional_int, validators=[Optional()])
    password = PasswordField(_l("初始密码"), validators=[Optional(), Length(max=128)])
    active = BooleanField(_l("启用"), default=True)

    def __init__(self, *args, regions=(), insurers=(), roles=tuple(Role), **kwargs):
        super().__init__(*args, **kwargs)
        self.role.choices = choices([(r.value, r.label) for r in roles])
        self.region_id.choices = choices([("", "—")] + [(r.id, f"{r.label} ({r.code})") for r in regions])
        self.insurer_id.choices = choices([("", "—")] + [(i.id, i.name) for i in insurers])


class ResetPasswordForm(FlaskForm):
    new_password = PasswordField(_l("新密码"), validators=[DataRequired(), Length(max=128)])


class ApiTokenForm(FlaskForm):
    name = StringField(_l("令牌名称"), validators=[DataRequired(), Length(max=60)])
    expires_on = DateField(_l("有效期至（含当日）"), validators=[Optional()])
