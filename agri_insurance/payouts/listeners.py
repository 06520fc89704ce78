"""What payouts answers other modules (agri_insurance.announcements): the evaluation page of a new round shows each
bidder's declared settlement figures beside those measured from its payout lists of the last term; the lot design
assistant reads a county's stored premium and claims; an underwriting list deleted takes its rows out of the
payouts matched to them."""

from __future__ import annotations

from agri_insurance.actions import PagePart
from agri_insurance.evaluation.signals import panel_page_parts
from agri_insurance.payouts import service
from agri_insurance.tenders.signals import LossHistory, YearFigures, lot_history, measured_losses
from agri_insurance.underwriting.signals import list_removing


@panel_page_parts.listen(order=10)
def _declared_versus_measured(rnd, user, bids, **_):
    if not bids:
        return []
    first = rnd.term_start_year - 3
    return [PagePart("bids", "payouts/_declared_vs_measured.html", {
        "rows": service.declared_versus_measured(bids, rnd.term_start_year), "first": first,
        "last": rnd.term_start_year - 1}, order=10)]


@lot_history.listen(order=10)
def _stored_loss_history(rnd, region_id, years, by_township=False, **_):
    return [LossHistory(*row) for row in service.loss_history(region_id, years, by_township)]


@measured_losses.listen(order=10)
def _measured_losses(rnd, region_ids, **_):
    return [YearFigures(m.region_id, m.product_id, m.year, m.premium, m.claims_paid)
            for m in service.measured(region_ids=region_ids)]


@list_removing.listen(order=10)
def _unmatch_payouts(lst, actor=None, **_):
    service.unmatch_underwriting_list(lst.id)
