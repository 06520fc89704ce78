"""Reference data: counties and other regions, products, insurers (as the reference pages show them)."""

from __future__ import annotations

from agri_insurance.access import ALL_ROLES, scoped_get_or_404, scoped_query
from agri_insurance.api import cursor
from agri_insurance.api.common import blueprint
from agri_insurance.api.schemas import InsurerList, InsurerOut, ProductList, RegionList, RegionOut
from agri_insurance.api.security import SECURITY, api_roles
from agri_insurance.reference.models import Insurer, Product, Region
from agri_insurance.roles import Role

# as the region page: the bureaus (an insurer or an expert reads the list)
REGION_READERS = (Role.ADMIN, Role.CITY_AGRI, Role.CITY_FINANCE, Role.COUNTY_AGRI, Role.COUNTY_FINANCE)
blp = blueprint("reference", "/reference", "Reference data: regions, products, insurers")


def _list(model, args):
    items, nxt = cursor.page(scoped_query(model), model, args)
    return {"items": items, "next": nxt}


@blp.route("/regions", methods=["GET"])
@api_roles(*ALL_ROLES)
@blp.arguments(cursor.PageArgs, location="query")
@blp.response(200, RegionList)
@blp.doc(security=SECURITY)
def regions(args):
    return _list(Region, args)


@blp.route("/regions/<int:region_id>", methods=["GET"])
@api_roles(*REGION_READERS)
@blp.response(200, RegionOut)
@blp.doc(security=SECURITY)
def region(region_id: int):
    return scoped_get_or_404(Region, region_id)


@blp.route("/products", methods=["GET"])
@api_roles(*ALL_ROLES)
@blp.arguments(cursor.PageArgs, location="query")
@blp.response(200, ProductList)
@blp.doc(security=SECURITY)
def products(args):
    return _list(Product, args)


@blp.route("/insurers", methods=["GET"])
@api_roles(*ALL_ROLES)
@blp.arguments(cursor.PageArgs, location="query")
@blp.response(200, InsurerList)
@blp.doc(security=SECURITY)
def insurers(args):
    return _list(Insurer, args)


@blp.route("/insurers/<int:insurer_id>", methods=["GET"])
@api_roles(*ALL_ROLES)
@blp.response(200, InsurerOut)
@blp.doc(security=SECURITY)
def insurer(insurer_id: int):
    return scoped_get_or_404(Insurer, insurer_id)
