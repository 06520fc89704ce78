from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileAllowed, FileField, FileRequired


class UploadListForm(FlaskForm):
    file = FileField(_l("承保清单文件"), validators=[
        FileRequired(_l("请选择文件")), FileAllowed(["xlsx", "csv"], _l("请上传 xlsx 或 csv 文件"))])
