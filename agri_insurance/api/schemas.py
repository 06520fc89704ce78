"""What the API returns and accepts (marshmallow, documented in the OpenAPI document). Money is a decimal string
(exact, as stored); times are UTC ISO 8601; dates the local calendar day."""

from __future__ import annotations

import marshmallow as ma

F = ma.fields
Money = lambda **kw: F.Decimal(as_string=True, places=2, **kw)  # noqa: E731 - a field factory


class Listing(ma.Schema):
    next = F.String(allow_none=True, metadata={"description": "cursor of the following page (or `since` of the "
                                                              "feed's next poll); null on a list's last page"})


class RegionOut(ma.Schema):
    id = F.Integer()
    code = F.String()
    name = F.String()
    name_en = F.String(allow_none=True)
    level = F.Function(lambda r: r.level.value)
    parent_id = F.Integer(allow_none=True)


class ProductOut(ma.Schema):
    id = F.Integer()
    code = F.String()
    name = F.String()
    name_en = F.String()
    category = F.Function(lambda p: p.category.value)
    kind = F.Function(lambda p: p.kind.value)
    unit = F.String()
    active = F.Boolean()


class InsurerOut(ma.Schema):
    id = F.Integer()
    name = F.String()
    short_name = F.String()
    credit_code = F.String()
    active = F.Boolean()


class LotOut(ma.Schema):
    id = F.Integer()
    round_id = F.Integer()
    region_id = F.Integer()
    code = F.String()
    name = F.String()
    townships = F.String(allow_none=True)
    expected_premium = Money()


class RoundOut(ma.Schema):
    id = F.Integer()
    name = F.String()
    term_start_year = F.Integer()
    status = F.Function(lambda r: r.status.value)
    bid_deadline = F.DateTime()
    opening_time = F.DateTime()
    opened_at = F.DateTime(allow_none=True)
    publicised_at = F.DateTime(allow_none=True)
    status_changed_at = F.DateTime()


class AwardOut(ma.Schema):
    id = F.Integer()
    round_id = F.Integer()
    lot_id = F.Integer()
    lot_code = F.Function(lambda a: a.lot.code)
    region_code = F.Function(lambda a: a.lot.region.code)
    insurer_id = F.Integer()
    insurer_name = F.Function(lambda a: a.insurer.name)
    score = F.Decimal(as_string=True, allow_none=True)


class BackupOut(ma.Schema):
    region_code = F.Function(lambda b: b.region.code)
    insurer_name = F.Function(lambda b: b.insurer.name)
    rank = F.Integer()


class CountyResultOut(ma.Schema):
    region_code = F.Function(lambda g: g.region.code)
    region_name = F.Function(lambda g: g.region.name)
    awards = F.List(F.Nested(AwardOut))
    backups = F.List(F.Nested(BackupOut))


class PublicResultOut(ma.Schema):
    round = F.Nested(RoundOut)
    counties = F.List(F.Nested(CountyResultOut))


class BidOut(ma.Schema):
    id = F.Integer()
    round_id = F.Integer()
    insurer_id = F.Integer()
    status = F.Function(lambda b: b.status.value)
    submitted_at = F.DateTime(allow_none=True)
    updated_at = F.DateTime()


class ShareOut(ma.Schema):
    level = F.Function(lambda s: s.level.value)
    pct = F.Decimal(as_string=True)
    amount = Money()
    paid = Money()
    outstanding = Money()


class PaymentOut(ma.Schema):
    id = F.Integer()
    claim_id = F.Integer()
    level = F.Function(lambda p: p.level.value)
    amount = Money()
    paid_on = F.Date()
    voucher_no = F.String()
    recorded_at = F.DateTime()


class ClaimOut(ma.Schema):
    id = F.Integer()
    insurer_id = F.Integer()
    region_id = F.Integer()
    product_id = F.Integer()
    year = F.Integer()
    period = F.String()
    quantity = F.Decimal(as_string=True)
    unit = F.String()
    sum_insured = Money()
    premium_rate = F.Decimal(as_string=True)
    total_premium = Money()
    farmer_premium = Money()
    households = F.Integer()
    list_rows = F.Integer()
    notes = F.String(allow_none=True)
    status = F.Function(lambda c: c.status.value)
    submitted_at = F.DateTime(allow_none=True)
    verified_at = F.DateTime(allow_none=True)
    verification_opinion = F.String(allow_none=True)
    returned_reason = F.String(allow_none=True)
    due_date = F.Date(allow_none=True)
    corrects_id = F.Integer(allow_none=True)
    created_at = F.DateTime()
    updated_at = F.DateTime()
    shares = F.List(F.Nested(ShareOut))


class ClaimIn(ma.Schema):
    """The fields of the claim form (补贴申请), with the same names; the same service checks them."""

    region_id = F.Integer(required=True)
    product_id = F.Integer(required=True)
    year = F.Integer(required=True)
    period = F.String(required=True)
    quantity = F.Decimal(required=True)
    sum_insured = F.Decimal(required=True)
    premium_rate = F.Decimal(required=True)
    total_premium = F.Decimal(required=True)
    farmer_premium = F.Decimal(required=True)
    households = F.Integer(load_default=0)
    list_rows = F.Integer(load_default=0)
    notes = F.String(load_default=None, allow_none=True)


class VerifyIn(ma.Schema):
    opinion = F.String(required=True, metadata={"description": "核验意见, printed on the verification sheet"})
    confirm_over_budget = F.Boolean(load_default=False)
    flags_reviewed = F.Boolean(load_default=False)


class PaymentIn(ma.Schema):
    level = F.String(required=True, validate=ma.validate.OneOf(["central", "provincial", "city", "county"]))
    amount = F.Decimal(required=True)
    paid_on = F.Date(required=True)
    voucher_no = F.String(required=True)


class UploadIn(ma.Schema):
    file = F.Raw(required=True, metadata={"type": "string", "format": "binary"})


class JobOut(ma.Schema):
    id = F.Integer()
    kind = F.String()
    status = F.Function(lambda j: j.status.value)
    progress = F.Integer()
    message = F.String()
    error = F.String(allow_none=True)
    result = F.Dict(allow_none=True)
    created_at = F.DateTime()
    finished_at = F.DateTime(allow_none=True)
    errors = F.Method("import_errors")
    error_report = F.Method("report_url")

    def import_errors(self, job):
        return self.context_errors(job).get("errors")

    def report_url(self, job):
        return self.context_errors(job).get("report")

    def context_errors(self, job) -> dict:
        return getattr(job, "api_errors", None) or {}


def listing(item_schema: type[ma.Schema], name: str) -> type[ma.Schema]:
    return type(name, (Listing,), {"items": F.List(F.Nested(item_schema))})


RegionList = listing(RegionOut, "RegionList")
ProductList = listing(ProductOut, "ProductList")
InsurerList = listing(InsurerOut, "InsurerList")
RoundList = listing(RoundOut, "RoundList")
LotList = listing(LotOut, "LotList")
BidList = listing(BidOut, "BidList")
ClaimList = listing(ClaimOut, "ClaimList")
PaymentList = listing(PaymentOut, "PaymentList")
JobList = listing(JobOut, "JobList")


class LedgerLineOut(ma.Schema):
    """One claim of the ledger (补贴台账): its government shares due and paid."""

    claim_id = F.Function(lambda line: line.claim.id)
    region_id = F.Function(lambda line: line.claim.region_id)
    insurer_id = F.Function(lambda line: line.claim.insurer_id)
    product_id = F.Function(lambda line: line.claim.product_id)
    year = F.Function(lambda line: line.claim.year)
    period = F.Function(lambda line: line.claim.period)
    status = F.Function(lambda line: line.claim.status.value)
    total_premium = F.Function(lambda line: f"{line.claim.total_premium:.2f}")
    due = Money()
    paid = Money()
    outstanding = Money()


class LedgerTotalsOut(ma.Schema):
    claims = F.Integer()
    premium = Money()
    due = Money()
    paid = Money()
    outstanding = Money()


class LedgerList(Listing):
    items = F.List(F.Nested(LedgerLineOut))
    totals = F.Nested(LedgerTotalsOut, metadata={"description": "of every claim the filters select, all pages"})


class BudgetLineOut(ma.Schema):
    region_id = F.Function(lambda line: line.region.id)
    region_code = F.Function(lambda line: line.region.code)
    level = F.Function(lambda line: line.level.value)
    year = F.Integer()
    budget = Money(allow_none=True)
    committed_unpaid = Money()
    paid = Money()
    remaining = Money(allow_none=True)


class BudgetList(ma.Schema):
    items = F.List(F.Nested(BudgetLineOut))


class BackupListedOut(ma.Schema):
    id = F.Integer()
    round_id = F.Integer()
    region_id = F.Integer()
    region_code = F.Function(lambda b: b.region.code)
    insurer_id = F.Integer()
    insurer_name = F.Function(lambda b: b.insurer.name)
    rank = F.Integer()
    score = F.Decimal(as_string=True, allow_none=True)


class ReturnIn(ma.Schema):
    reason = F.String(required=True, metadata={"description": "退回理由, shown to the insurer"})


class ClaimFromListIn(ma.Schema):
    """The fields of the page 按承保清单新建申请 (multipart): the list's totals become the claim's figures."""

    region_id = F.Integer(required=True)
    product_id = F.Integer(required=True)
    year = F.Integer(required=True)
    period = F.String(required=True)
    premium_rate = F.Decimal(required=True)
    file = F.Raw(required=True, metadata={"type": "string", "format": "binary"})


AwardList = listing(AwardOut, "AwardList")
BackupList = listing(BackupListedOut, "BackupList")


class FundOut(ma.Schema):
    """Money from above (资金下达): `from_region_id` null for an allocation from above, the city's for a pass-on."""

    id = F.Integer()
    year = F.Integer()
    level = F.Function(lambda f: f.level.value)
    product_id = F.Integer(allow_none=True)
    from_region_id = F.Integer(allow_none=True)
    to_region_id = F.Integer()
    document_no = F.String()
    issued_on = F.Date()
    amount = Money()
    notes = F.String(allow_none=True)
    recorded_at = F.DateTime()


class AdvanceOut(ma.Schema):
    id = F.Integer()
    year = F.Integer()
    insurer_id = F.Integer()
    region_id = F.Integer()
    level = F.Function(lambda a: a.level.value)
    amount = Money()
    drawn = Money()
    undrawn = Money()
    paid_on = F.Date()
    voucher_no = F.String()


class SettlementOut(ma.Schema):
    id = F.Integer()
    year = F.Integer()
    insurer_id = F.Integer()
    region_id = F.Integer()
    level = F.Function(lambda s: s.level.value)
    verified = Money()
    advanced = Money()
    paid = Money()
    balance = Money(metadata={"description": "> 0 a top-up the bureau owes, < 0 a refund the underwriter owes"})
    transferred = Money()
    remaining = Money()
    status = F.Function(lambda s: s.status.value)
    bureau_confirmed_at = F.DateTime(allow_none=True)
    insurer_confirmed_at = F.DateTime(allow_none=True)


FundList = listing(FundOut, "FundList")
AdvanceList = listing(AdvanceOut, "AdvanceList")
SettlementList = listing(SettlementOut, "SettlementList")
