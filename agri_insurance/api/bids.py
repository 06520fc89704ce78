"""The caller's own bids, once the round's bids are opened. Sealed until then: a bid is not served before the
opening, not even to the insurer that wrote it (its system has it; the API is no way to read a sealed bid
early); after it, as on the pages (the insurer its own, the city bureau every submitted bid)."""

from __future__ import annotations

import marshmallow as ma
import sqlalchemy as sa
from flask_login import current_user

from agri_insurance.access import scope_clause
from agri_insurance.api import cursor
from agri_insurance.api.common import blueprint
from agri_insurance.api.schemas import BidList, BidOut
from agri_insurance.api.security import SECURITY, api_roles
from agri_insurance.bids.models import Bid
from agri_insurance.clock import utcnow
from agri_insurance.extensions import db
from agri_insurance.roles import Role
from agri_insurance.tenders.models import OPENED_STATES, SelectionRound

blp = blueprint("bids", "/bids", "Bids, after their round's opening")
BID_READERS = (Role.INSURER, Role.ADMIN, Role.CITY_AGRI)


def _opened():
    return Bid.round_id.in_(sa.select(SelectionRound.id).where(
        SelectionRound.status.in_(OPENED_STATES), SelectionRound.opened_at.is_not(None),
        SelectionRound.opening_time <= utcnow()))


def _readable():
    return sa.select(Bid).where(scope_clause(Bid, current_user), _opened())


class BidFilters(cursor.PageArgs):
    round_id = ma.fields.Integer(load_default=None)


@blp.route("", methods=["GET"])
@api_roles(*BID_READERS)
@blp.arguments(BidFilters, location="query")
@blp.response(200, BidList)
@blp.doc(security=SECURITY)
def bids(args):
    stmt = _readable()
    if args.get("round_id") is not None:
        stmt = stmt.where(Bid.round_id == args["round_id"])
    items, nxt = cursor.page(stmt, Bid, args)
    return {"items": items, "next": nxt}


@blp.route("/<int:bid_id>", methods=["GET"])
@api_roles(*BID_READERS)
@blp.response(200, BidOut)
@blp.doc(security=SECURITY)
def bid(bid_id: int):
    found = db.session.scalar(_readable().where(Bid.id == bid_id))
    if found is None:
        cursor.not_found()
    return found
