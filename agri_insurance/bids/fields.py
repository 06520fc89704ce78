"""The scalar fields of a bid, by factor group (R4), and their labels: one list the form, the rules, the xlsx
template and the scoring read alike."""

from flask_babel import lazy_gettext as _l

# Scalar bid fields by factor group (R4), in form and template order.
CLAIMS_FIELDS = ("avg_settlement_days", "on_time_settlement_pct", "complaints_per_10k")
SERVICE_FIELDS = ("premium_income_y1", "premium_income_y2", "premium_income_y3", "service_rating")
RISK_FIELDS = ("reinsurance_arrangement", "catastrophe_reserve")
SOLVENCY_FIELDS = ("comprehensive_solvency_pct", "core_solvency_pct", "risk_rating")
DECLARATION_FIELDS = ("parent_company", "control_declaration")
SCALAR_FIELDS = CLAIMS_FIELDS + SERVICE_FIELDS + RISK_FIELDS + SOLVENCY_FIELDS + DECLARATION_FIELDS
REQUIRED_FOR_SUBMISSION = CLAIMS_FIELDS + SERVICE_FIELDS + RISK_FIELDS + SOLVENCY_FIELDS + ("control_declaration",)
FIELD_LABELS = {
    "avg_settlement_days": _l("平均结案周期（天）"),
    "on_time_settlement_pct": _l("理赔及时率（%）"),
    "complaints_per_10k": _l("万单有效投诉量（件/万单）"),
    "premium_income_y1": _l("农险保费收入（前第3年，元）"),
    "premium_income_y2": _l("农险保费收入（前第2年，元）"),
    "premium_income_y3": _l("农险保费收入（前1年，元）"),
    "service_rating": _l("监管服务评价等级"),
    "reinsurance_arrangement": _l("再保险安排"),
    "catastrophe_reserve": _l("大灾风险准备金余额（元）"),
    "comprehensive_solvency_pct": _l("综合偿付能力充足率（%）"),
    "core_solvency_pct": _l("核心偿付能力充足率（%）"),
    "risk_rating": _l("综合风险评级"),
    "parent_company": _l("上级（控股）公司"),
    "control_declaration": _l("关联关系声明"),
}
