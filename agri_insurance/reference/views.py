from decimal import Decimal

import sqlalchemy as sa
from flask import Blueprint, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from agri_insurance.access import ALL_ROLES, roles_required, scoped_get_or_404, scoped_query
from agri_insurance.extensions import db
from agri_insurance.forms_util import commit_or_flash, int_arg
from agri_insurance.reference import service
from agri_insurance.reference.forms import InsurerForm, ProductForm, RegionForm, SubsidySchemeForm
from agri_insurance.reference.models import (
    SHARE_LEVELS,
    Insurer,
    Product,
    ProductCategory,
    ProductKind,
    Region,
    RegionLevel,
    SubsidyScheme,
)
from agri_insurance.reference.signals import organisation_page_parts
from agri_insurance.roles import Role

bp = Blueprint("reference", __name__, url_prefix="/reference")
EDITORS = (Role.ADMIN, Role.CITY_AGRI)
COUNTY_VIEWERS = (Role.ADMIN, Role.CITY_AGRI, Role.CITY_FINANCE, Role.COUNTY_AGRI, Role.COUNTY_FINANCE)


def _counties():
    return db.session.scalars(sa.select(Region).where(Region.level == RegionLevel.COUNTY).order_by(Region.code)).all()


def _edit(form, obj, save, list_endpoint: str, template: str, to_data=lambda f: f.data, **context):
    """The create/edit form cycle shared by the reference pages: validate, save, commit, redirect."""
    if form.validate_on_submit():
        data = {k: v for k, v in to_data(form).items() if k not in ("csrf_token", "submit")}
        done = commit_or_flash(lambda: save(obj, data, current_user), _("已保存"), form)
        if done:
            return redirect(url_for(list_endpoint))
    return render_template(template, form=form, obj=obj, **context), 400 if form.errors else 200


# --- regions -----------------------------------------------------------------------------------

@bp.get("/regions")
@roles_required(*ALL_ROLES)
def regions():
    rows = db.session.scalars(sa.select(Region).order_by(Region.level, Region.code)).all()
    # the regions whose page this user may open (region_detail's rule: its role, and its own county only)
    openable = set(db.session.scalars(scoped_query(Region).with_only_columns(Region.id))) \
        if current_user.role in COUNTY_VIEWERS else set()
    return render_template("reference/regions.html", regions=rows, editable=current_user.role in EDITORS,
                           openable=openable)


@bp.get("/regions/<int:region_id>")
@roles_required(*COUNTY_VIEWERS)
def region_detail(region_id: int):
    region = scoped_get_or_404(Region, region_id)
    schemes = db.session.scalars(
        sa.select(SubsidyScheme).where(SubsidyScheme.region_id == region.id).order_by(SubsidyScheme.year.desc())
    ).all()
    return render_template("reference/region_detail.html", region=region, schemes=schemes,
                           parts=organisation_page_parts.collect(region, user=current_user))


def _region_form(region=None):
    parents = db.session.scalars(sa.select(Region).where(Region.level == RegionLevel.CITY)).all()
    return RegionForm(obj=region, parents=parents)


def _region_data(form):
    data = dict(form.data)
    data["level"] = RegionLevel(data["level"])
    return data


@bp.route("/regions/new", methods=["GET", "POST"])
@roles_required(*EDITORS)
def new_region():
    return _edit(_region_form(), None, service.save_region, "reference.regions", "reference/region_form.html",
                 _region_data)


@bp.route("/regions/<int:region_id>/edit", methods=["GET", "POST"])
@roles_required(*EDITORS)
def edit_region(region_id: int):
    region = db.get_or_404(Region, region_id)
    form = _region_form(region)
    if request.method == "GET":
        form.level.data = region.level.value
    return _edit(form, region, service.save_region, "reference.regions", "reference/region_form.html",
                 _region_data)


# --- products ----------------------------------------------------------------------------------

@bp.get("/products")
@roles_required(*ALL_ROLES)
def products():
    rows = db.session.scalars(sa.select(Product).order_by(Product.category, Product.kind, Product.code)).all()
    return render_template("reference/products.html", products=rows, editable=current_user.role in EDITORS)


def _product_data(form):
    data = dict(form.data)
    data["category"] = ProductCategory(data["category"])
    data["kind"] = ProductKind(data["kind"])
    return data


@bp.route("/products/new", methods=["GET", "POST"])
@roles_required(*EDITORS)
def new_product():
    return _edit(ProductForm(), None, service.save_product, "reference.products", "reference/product_form.html",
                 _product_data)


@bp.route("/products/<int:product_id>/edit", methods=["GET", "POST"])
@roles_required(*EDITORS)
def edit_product(product_id: int):
    product = db.get_or_404(Product, product_id)
    form = ProductForm(obj=product)
    if request.method == "GET":
        form.category.data, form.kind.data = product.category.value, product.kind.value
    return _edit(form, product, service.save_product, "reference.products", "reference/product_form.html",
                 _product_data)


# --- insurers ----------------------------------------------------------------------------------

@bp.get("/insurers")
@roles_required(*ALL_ROLES)
def insurers():
    rows = db.session.scalars(sa.select(Insurer).order_by(Insurer.active.desc(), Insurer.name)).all()
    own = current_user.insurer_id if current_user.role is Role.INSURER else None
    return render_template("reference/insurers.html", insurers=rows, editable=current_user.role in EDITORS,
                           own_insurer_id=own)


@bp.get("/insurers/<int:insurer_id>")
@roles_required(*ALL_ROLES)
def insurer_detail(insurer_id: int):
    insurer = scoped_get_or_404(Insurer, insurer_id)
    return render_template("reference/insurer_detail.html", insurer=insurer,
                           parts=organisation_page_parts.collect(insurer, user=current_user))


@bp.route("/insurers/new", methods=["GET", "POST"])
@roles_required(*EDITORS)
def new_insurer():
    return _edit(InsurerForm(), None, service.save_insurer, "reference.insurers", "reference/insurer_form.html")


@bp.route("/insurers/<int:insurer_id>/edit", methods=["GET", "POST"])
@roles_required(*EDITORS)
def edit_insurer(insurer_id: int):
    insurer = db.get_or_404(Insurer, insurer_id)
    return _edit(InsurerForm(obj=insurer), insurer, service.save_insurer, "reference.insurers",
                 "reference/insurer_form.html")


# --- subsidy schemes -----------------------------------------------------------------------------

@bp.get("/schemes")
@roles_required(*ALL_ROLES)
def schemes():
    year = request.args.get("year", type=int_arg)
    stmt = sa.select(SubsidyScheme).join(Product).order_by(
        SubsidyScheme.year.desc(), Product.category, Product.code, SubsidyScheme.region_id.nulls_first())
    if year:
        stmt = stmt.where(SubsidyScheme.year == year)
    years = db.session.scalars(sa.select(SubsidyScheme.year).distinct().order_by(SubsidyScheme.year.desc())).all()
    return render_template("reference/schemes.html", schemes=db.session.scalars(stmt).all(), years=years,
                           selected_year=year, editable=current_user.role in EDITORS, levels=SHARE_LEVELS)


def _scheme_form(scheme=None):
    products = db.session.scalars(sa.select(Product).where(Product.active).order_by(Product.category,
                                                                                    Product.code)).all()
    form = SubsidySchemeForm(obj=scheme, products=products, counties=_counties())
    if scheme is None and request.method == "GET":
        product_id = request.args.get("product_id", type=int_arg)
        product = db.session.get(Product, product_id) if product_id else None
        if product is not None:
            form.product_id.data = product.id
            for level, value in service.scheme_defaults(product).items():
                getattr(form, f"{level}_pct").data = value
    return form


def _scheme_data(form):
    data = dict(form.data)
    for level in SHARE_LEVELS:
        data[f"{level}_pct"] = Decimal(data[f"{level}_pct"])
    return data


@bp.route("/schemes/new", methods=["GET", "POST"])
@roles_required(*EDITORS)
def new_scheme():
    return _edit(_scheme_form(), None, service.save_scheme, "reference.schemes", "reference/scheme_form.html",
                 _scheme_data)


@bp.route("/schemes/<int:scheme_id>/edit", methods=["GET", "POST"])
@roles_required(*EDITORS)
def edit_scheme(scheme_id: int):
    scheme = db.get_or_404(SubsidyScheme, scheme_id)
    return _edit(_scheme_form(scheme), scheme, service.save_scheme, "reference.schemes",
                 "reference/scheme_form.html", _scheme_data)
