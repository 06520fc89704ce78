"""What each role's landing dashboard shows."""

from __future__ import annotations

import sqlalchemy as sa

from agri_insurance.access import scope_clause
from agri_insurance.audit.models import AuditEntry
from agri_insurance.auth.models import User
from agri_insurance.bids.service import invalidated_bids_of
from agri_insurance.evaluation.service import assigned_rounds
from agri_insurance.extensions import db
from agri_insurance.reference.models import (
    Insurer,
    Product,
    ProductCategory,
    Region,
    RegionLevel,
    SubsidyScheme,
)
from agri_insurance.roles import Role
from agri_insurance.subsidies.models import SubsidyClaim
from agri_insurance.subsidies.service import overdue_items
from agri_insurance.tenders.models import RoundStatus, SelectionRound

OVERDUE_WATCHERS = (Role.ADMIN, Role.CITY_AGRI, Role.CITY_FINANCE, Role.COUNTY_AGRI, Role.COUNTY_FINANCE,
                    Role.INSURER)


def dashboard_figures(user) -> dict:
    count = lambda stmt: db.session.scalar(stmt) or 0  # noqa: E731
    figures = {
        "counties": count(sa.select(sa.func.count(Region.id)).where(Region.level == RegionLevel.COUNTY)),
        "central_products": count(sa.select(sa.func.count(Product.id)).where(
            Product.category == ProductCategory.CENTRAL, Product.active)),
        "specialty_products": count(sa.select(sa.func.count(Product.id)).where(
            Product.category == ProductCategory.SPECIALTY, Product.active)),
        "insurers": count(sa.select(sa.func.count(Insurer.id)).where(Insurer.active)),
        "schemes": count(sa.select(sa.func.count(SubsidyScheme.id))),
        "latest_scheme_year": db.session.scalar(sa.select(sa.func.max(SubsidyScheme.year))),
    }
    if user.role is Role.ADMIN:
        figures["users"] = count(sa.select(sa.func.count(User.id)).where(User.active))
    if user.role in (Role.ADMIN, Role.CITY_AGRI):
        figures["recent_audit"] = db.session.scalars(
            sa.select(AuditEntry).order_by(AuditEntry.id.desc()).limit(8)
        ).all()
    if user.role in OVERDUE_WATCHERS:
        # R7: finance and agriculture bureaus see what is late before anything else.
        figures["overdue"] = overdue_items(scope_clause(SubsidyClaim, user))
    if user.role.needs_county:
        figures["county_schemes"] = count(sa.select(sa.func.count(SubsidyScheme.id)).where(
            SubsidyScheme.region_id == user.region_id))
    figures.update(_tender_figures(user))
    if user.role is Role.EXPERT:
        figures["expert_rounds"] = assigned_rounds(user)
    return figures


def _tender_figures(user) -> dict:
    """Open rounds for everyone; an insurer's bids that must be re-confirmed (rules changed after submission)."""
    open_rounds = db.session.scalars(sa.select(SelectionRound).where(
        SelectionRound.status == RoundStatus.OPEN).order_by(SelectionRound.bid_deadline)).all()
    return {"open_rounds": open_rounds, "invalidated_bids": invalidated_bids_of(user)}
