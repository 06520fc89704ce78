"""Selection rounds, their lots and their public results. Without a token: the rounds whose result has been made
public and that result (as the public notice page, 遴选结果公示); with one: the rounds the caller's role sees on
the pages (drafts only for the city bureau)."""

from __future__ import annotations

import marshmallow as ma
import sqlalchemy as sa
from flask import abort
from flask_login import current_user

from agri_insurance.access import public, scope_clause, scoped_get_or_404
from agri_insurance.api import cursor
from agri_insurance.api.common import blueprint
from agri_insurance.api.schemas import LotList, PublicResultOut, RoundList, RoundOut
from agri_insurance.api.security import SECURITY, api_roles
from agri_insurance.awards import ocds
from agri_insurance.awards import service as awards
from agri_insurance.awards.models import PUBLISHED_STATES
from agri_insurance.extensions import db
from agri_insurance.roles import Role
from agri_insurance.tenders.models import Lot, SelectionRound


class OcdsPackage(ma.Schema):
    """An OCDS 1.1 release package (https://standard.open-contracting.org), passed through as built."""

    class Meta:
        unknown = ma.INCLUDE

    def dump(self, obj, **kwargs):
        return obj


blp = blueprint("tenders", "/tenders", "Selection rounds, lots and public results (public without a token)")


def _visible_rounds():
    if current_user.is_authenticated:
        return scope_clause(SelectionRound, current_user)
    return SelectionRound.status.in_(PUBLISHED_STATES)


def _round_or_404(round_id: int) -> SelectionRound:
    rnd = db.session.scalar(sa.select(SelectionRound).where(SelectionRound.id == round_id, _visible_rounds()))
    if rnd is None:
        abort(404)
    return rnd


@blp.route("/rounds", methods=["GET"])
@public
@blp.arguments(cursor.PageArgs, location="query")
@blp.response(200, RoundList)
def rounds(args):
    items, nxt = cursor.page(sa.select(SelectionRound).where(_visible_rounds()), SelectionRound, args)
    return {"items": items, "next": nxt}


@blp.route("/rounds/changes", methods=["GET"])
@public
@blp.arguments(cursor.FeedArgs, location="query")
@blp.response(200, RoundList)
def round_changes(args):
    """The rounds in the order their status last changed (`?since=`): a mirror polls with the answer's `next`."""
    items, nxt = cursor.feed(sa.select(SelectionRound).where(_visible_rounds()), SelectionRound,
                             SelectionRound.status_changed_at, args)
    return {"items": items, "next": nxt}


@blp.route("/rounds/<int:round_id>", methods=["GET"])
@public
@blp.response(200, RoundOut)
def round_detail(round_id: int):
    return _round_or_404(round_id)


@blp.route("/rounds/<int:round_id>/lots", methods=["GET"])
@public
@blp.arguments(cursor.PageArgs, location="query")
@blp.response(200, LotList)
def lots(args, round_id: int):
    rnd = _round_or_404(round_id)
    items, nxt = cursor.page(sa.select(Lot).where(Lot.round_id == rnd.id), Lot, args)
    return {"items": items, "next": nxt}


@blp.route("/rounds/<int:round_id>/results", methods=["GET"])
@public
@blp.response(200, PublicResultOut)
def results(round_id: int):
    """The result as the public notice shows it: the underwriters of each county's lots and its backups."""
    rnd = db.session.get(SelectionRound, round_id)
    if rnd is None or rnd.status not in PUBLISHED_STATES:
        abort(404)
    return {"round": rnd, "counties": awards.by_county(rnd)}


@blp.route("/rounds/<int:round_id>/ocds", methods=["GET"])
@api_roles(Role.ADMIN, Role.CITY_AGRI)
@blp.response(200, OcdsPackage)
@blp.doc(security=SECURITY)
def ocds_package(round_id: int):
    """The round as an OCDS release package (the same document as the awards page's OCDS export)."""
    return ocds.release_package(scoped_get_or_404(SelectionRound, round_id))
