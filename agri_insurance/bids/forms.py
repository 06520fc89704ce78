from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import (
    BooleanField,
    DateField,
    DecimalField,
    FieldList,
    FormField,
    HiddenField,
    IntegerField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import Length, NumberRange, Optional, ValidationError

from agri_insurance.bids.fields import FIELD_LABELS, SCALAR_FIELDS
from agri_insurance.bids.models import SERVICE_RATINGS, RiskRating
from agri_insurance.forms_util import SubForm, choices, finite_amount
from agri_insurance.tenders.forms import MultiCheckboxField

MONEY = {"places": 2, "validators": [Optional(), finite_amount, NumberRange(min=0)]}


class CountySetupForm(SubForm):
    region_id = HiddenField()
    has_county_branch = BooleanField(_l("设有县级分支机构"))
    township_stations = IntegerField(_l("乡镇服务站（个）"), validators=[Optional(), NumberRange(min=0, max=10000)])
    agri_staff = IntegerField(_l("农险专职人员（人）"), validators=[Optional(), NumberRange(min=0, max=100000)])

    def has_data(self) -> bool:
        """A row left blank is dropped, whatever its county."""
        return bool(self.has_county_branch.data) or self.township_stations.data is not None \
            or self.agri_staff.data is not None

    def region(self) -> int | None:
        """The county id of the (hidden) field, None when blank or not a number."""
        raw = "" if self.region_id.data is None else str(self.region_id.data).strip()
        return int(raw) if raw.isascii() and raw.isdigit() else None

    def validate_region_id(self, field) -> None:
        # A hidden field: blank or tampered, it is refused here (the service checks it belongs to the round).
        if self.has_data() and self.region() is None:
            raise ValidationError(_l("请选择县（市、区）"))


def one_row_per_county(form, field) -> None:
    """The county rows name each county once (one institution set-up per bid and county)."""
    counties = [e.form.region() for e in field.entries if e.form.has_data() and e.form.region() is not None]
    if len(counties) != len(set(counties)):
        raise ValidationError(_l("机构设置中同一县只能填写一行"))


class InnovationForm(SubForm):
    name = StringField(_l("产品名称"), validators=[Optional(), Length(max=200)])
    filed_on = DateField(_l("备案日期"), validators=[Optional()])


class PenaltyForm(SubForm):
    decided_on = DateField(_l("处罚日期"), validators=[Optional()])
    amount = DecimalField(_l("处罚金额（元）"), places=2, validators=[Optional(), finite_amount, NumberRange(min=0)])
    authority = StringField(_l("处罚机关"), validators=[Optional(), Length(max=120)])
    reason = StringField(_l("处罚事由"), validators=[Optional(), Length(max=2000)])


class BidForm(FlaskForm):
    lot_ids = MultiCheckboxField(_l("投标标段"), coerce=int)
    county_setups = FieldList(FormField(CountySetupForm), validators=[one_row_per_county])
    avg_settlement_days = DecimalField(FIELD_LABELS["avg_settlement_days"], places=2,
                                       validators=[Optional(), finite_amount, NumberRange(min=0, max=3650)])
    on_time_settlement_pct = DecimalField(FIELD_LABELS["on_time_settlement_pct"], places=2,
                                          validators=[Optional(), finite_amount, NumberRange(min=0, max=100)])
    complaints_per_10k = DecimalField(FIELD_LABELS["complaints_per_10k"], places=4,
                                      validators=[Optional(), finite_amount, NumberRange(min=0, max=10000)])
    premium_income_y1 = DecimalField(FIELD_LABELS["premium_income_y1"], **MONEY)
    premium_income_y2 = DecimalField(FIELD_LABELS["premium_income_y2"], **MONEY)
    premium_income_y3 = DecimalField(FIELD_LABELS["premium_income_y3"], **MONEY)
    service_rating = SelectField(FIELD_LABELS["service_rating"], validators=[Optional()])
    innovations = FieldList(FormField(InnovationForm))
    penalties = FieldList(FormField(PenaltyForm))
    reinsurance_arrangement = TextAreaField(FIELD_LABELS["reinsurance_arrangement"],
                                            validators=[Optional(), Length(max=4000)])
    catastrophe_reserve = DecimalField(FIELD_LABELS["catastrophe_reserve"], **MONEY)
    comprehensive_solvency_pct = DecimalField(FIELD_LABELS["comprehensive_solvency_pct"], places=2,
                                              validators=[Optional(), finite_amount, NumberRange(min=0, max=9999)])
    core_solvency_pct = DecimalField(FIELD_LABELS["core_solvency_pct"], places=2,
                                     validators=[Optional(), finite_amount, NumberRange(min=0, max=9999)])
    risk_rating = SelectField(FIELD_LABELS["risk_rating"], validators=[Optional()])
    parent_company = StringField(FIELD_LABELS["parent_company"], validators=[Optional(), Length(max=120)])
    control_declaration = TextAreaField(FIELD_LABELS["control_declaration"], validators=[Optional(), Length(max=4000)])

    def __init__(self, *args, lots=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.lot_ids.choices = choices([(lot.id, f"{lot.code} {lot.region.label} {lot.name}") for lot in lots])
        self.service_rating.choices = choices([("", "—")] + [(r, r) for r in SERVICE_RATINGS])
        self.risk_rating.choices = choices([("", "—")] + [(r.value, r.value) for r in RiskRating])

    def to_data(self) -> dict:
        """The form as `service.save_bid` data; blank repeated rows are dropped."""
        data = {name: getattr(self, name).data for name in SCALAR_FIELDS}
        data["lot_ids"] = list(self.lot_ids.data or [])
        data["county_setups"] = [
            {"region_id": e.form.region(), "has_county_branch": bool(e.has_county_branch.data),
             "township_stations": e.township_stations.data or 0, "agri_staff": e.agri_staff.data or 0}
            for e in self.county_setups if e.form.has_data()
        ]
        data["innovations"] = [{"name": e.form.name.data, "filed_on": e.form.filed_on.data}
                               for e in self.innovations if (e.form.name.data or "").strip()]
        data["penalties"] = [{"decided_on": e.form.decided_on.data, "amount": e.form.amount.data,
                              "authority": e.form.authority.data, "reason": e.form.reason.data}
                             for e in self.penalties if e.form.decided_on.data or e.form.amount.data is not None]
        return data

    def validate(self, extra_validators=None) -> bool:
        ok = super().validate(extra_validators)
        for entry in self.innovations:
            if (entry.form.name.data or "").strip() and entry.form.filed_on.data is None:
                entry.form.filed_on.errors = [*entry.form.filed_on.errors, _l("请填写备案日期")]
                ok = False
        for entry in self.penalties:
            has_any = entry.form.decided_on.data or entry.form.amount.data is not None
            if has_any and (entry.form.decided_on.data is None or entry.form.amount.data is None):
                entry.form.amount.errors = [*entry.form.amount.errors, _l("请填写处罚日期和金额")]
                ok = False
        return ok


class AttachmentForm(FlaskForm):
    title = StringField(_l("附件名称"), validators=[Optional(), Length(max=200)])
    document = FileField(_l("PDF 文件"), validators=[FileRequired()])


class BidUploadForm(FlaskForm):
    file = FileField(_l("xlsx 文件"), validators=[FileRequired()])
