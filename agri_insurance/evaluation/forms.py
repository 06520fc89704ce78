from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DecimalField,
    IntegerField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
    widgets,
)
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

from agri_insurance.evaluation.models import ControlDecision, CriterionKind, Factor
from agri_insurance.forms_util import choices
from agri_insurance.i18n import with_note


class MultiCheckboxField(SelectMultipleField):
    widget = widgets.ListWidget(prefix_label=False)
    option_widget = widgets.CheckboxInput()


class CriterionForm(FlaskForm):
    factor = SelectField(_l("评分因素"), validators=[DataRequired()])
    code = StringField(_l("编号"), validators=[DataRequired(), Length(max=20)])
    name = StringField(_l("名称"), validators=[DataRequired(), Length(max=200)])
    kind = SelectField(_l("计分方式"), validators=[DataRequired()])
    max_points = DecimalField(_l("分值"), places=2, validators=[InputRequired(), NumberRange(min=0, max=100)])
    metric = SelectField(_l("投标数据（客观评分项）"), validators=[Optional()])
    higher_is_better = BooleanField(_l("数值越大越好"), default=True)
    bands = TextAreaField(_l("分档（每行：界值, 得分）"), validators=[Optional(), Length(max=2000)])
    deduction_per_count = DecimalField(_l("每次扣分"), places=2, validators=[Optional(), NumberRange(min=0, max=100)])
    guidance = TextAreaField(_l("评分要点（专家评分项）"), validators=[Optional(), Length(max=2000)])

    def __init__(self, *args, metrics=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.factor.choices = choices([(f.value, f.label) for f in Factor])
        self.kind.choices = choices([(k.value, k.label) for k in CriterionKind])
        self.metric.choices = choices([("", "—")] + [(key, f"{m.factor.label} · {m.label}") for key, m in metrics])

    def to_data(self) -> dict:
        data = {name: getattr(self, name).data for name in ("factor", "code", "name", "kind", "max_points", "metric",
                                                             "higher_is_better", "bands", "deduction_per_count",
                                                             "guidance")}
        data["metric"] = data["metric"] or None
        return data


class RulesForm(FlaskForm):
    min_comprehensive_solvency_pct = DecimalField(_l("综合偿付能力充足率不低于（%）"), places=2,
                                                  validators=[InputRequired(), NumberRange(min=0, max=9999)])
    min_core_solvency_pct = DecimalField(_l("核心偿付能力充足率不低于（%）"), places=2,
                                         validators=[InputRequired(), NumberRange(min=0, max=9999)])
    allowed_risk_ratings = MultiCheckboxField(_l("允许的综合风险评级"))
    penalty_lookback_years = IntegerField(_l("农险行政处罚回溯年限（0 = 不审查）"),
                                          validators=[InputRequired(), NumberRange(min=0, max=10)])
    check_common_control = BooleanField(_l("审查同一控制（相同上级公司）"))
    drop_extremes_min_experts = IntegerField(_l("专家人数达到此数时去掉一个最高分和一个最低分（0 = 不去掉）"),
                                             validators=[InputRequired(), NumberRange(min=0, max=99)])

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.allowed_risk_ratings.choices = choices([(r, r) for r in "ABCD"])

    def to_data(self) -> dict:
        data = {name: getattr(self, name).data for name in (
            "min_comprehensive_solvency_pct", "min_core_solvency_pct", "penalty_lookback_years",
            "check_common_control", "drop_extremes_min_experts")}
        data["allowed_risk_ratings"] = "".join(self.allowed_risk_ratings.data or [])
        return data


class DecisionForm(FlaskForm):
    decision = SelectField(_l("决定"), validators=[DataRequired()])
    note = StringField(_l("理由"), validators=[DataRequired(), Length(max=2000)])

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.decision.choices = choices([(d.value, d.label) for d in (ControlDecision.ADMITTED,
                                                                      ControlDecision.EXCLUDED)])


class MemberForm(FlaskForm):
    user_id = SelectField(_l("评审专家"), coerce=int, validators=[DataRequired()])

    def __init__(self, *args, experts=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.user_id.choices = choices([(u.id, with_note(u.display_name, u.username)) for u in experts])


class ConflictForm(FlaskForm):
    insurer_ids = MultiCheckboxField(_l("与以下投标人存在利益冲突（无冲突则不选）"), coerce=int)
    note = StringField(_l("说明"), validators=[Optional(), Length(max=2000)])

    def __init__(self, *args, insurers=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.insurer_ids.choices = choices([(i.id, i.name) for i in insurers])


class ActionForm(FlaskForm):
    """POST buttons (CSRF only)."""
