"""Awards (中标) and backup underwriters (后备机构) as the caller may see them: the city bureau always, everybody
else once the round's result is published (Award.visible_to, BackupUnderwriter.visible_to), filtered by round,
county and insurer as the awards pages are."""

from __future__ import annotations

import marshmallow as ma
import sqlalchemy as sa
from flask_login import current_user

from agri_insurance.access import ALL_ROLES, scope_clause, scoped_get_or_404
from agri_insurance.api import cursor
from agri_insurance.api.common import blueprint
from agri_insurance.api.schemas import AwardList, AwardOut, BackupList
from agri_insurance.api.security import SECURITY, api_roles
from agri_insurance.awards.models import Award, BackupUnderwriter
from agri_insurance.tenders.models import Lot

blp = blueprint("awards", "/awards", "Awards and backup underwriters, once published")


class AwardFilters(cursor.PageArgs):
    round_id = ma.fields.Integer(load_default=None)
    region_id = ma.fields.Integer(load_default=None, metadata={"description": "the lot's county"})
    insurer_id = ma.fields.Integer(load_default=None)


def _filtered(model, args: dict, in_county):
    """`model`'s rows the caller sees, filtered; `in_county(region_id)`: the clause of the county filter."""
    stmt = sa.select(model).where(scope_clause(model, current_user))
    if args.get("round_id") is not None:
        stmt = stmt.where(model.round_id == args["round_id"])
    if args.get("region_id") is not None:
        stmt = stmt.where(in_county(args["region_id"]))
    if args.get("insurer_id") is not None:
        stmt = stmt.where(model.insurer_id == args["insurer_id"])
    return stmt


@blp.route("", methods=["GET"])
@api_roles(*ALL_ROLES)
@blp.arguments(AwardFilters, location="query")
@blp.response(200, AwardList)
@blp.doc(security=SECURITY)
def awards(args):
    stmt = _filtered(Award, args, lambda region_id: Award.lot_id.in_(
        sa.select(Lot.id).where(Lot.region_id == region_id)))
    items, nxt = cursor.page(stmt, Award, args)
    return {"items": items, "next": nxt}


@blp.route("/<int:award_id>", methods=["GET"])
@api_roles(*ALL_ROLES)
@blp.response(200, AwardOut)
@blp.doc(security=SECURITY)
def award(award_id: int):
    return scoped_get_or_404(Award, award_id)


@blp.route("/backups", methods=["GET"])
@api_roles(*ALL_ROLES)
@blp.arguments(AwardFilters, location="query")
@blp.response(200, BackupList)
@blp.doc(security=SECURITY)
def backups(args):
    """Per county, the backup underwriters in rank order (ordered by id: rank within a round and county)."""
    stmt = _filtered(BackupUnderwriter, args, lambda region_id: BackupUnderwriter.region_id == region_id)
    items, nxt = cursor.page(stmt, BackupUnderwriter, args)
    return {"items": items, "next": nxt}
