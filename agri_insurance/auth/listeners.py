"""What auth shows when reference asks what other modules add to an organisation's page."""

from __future__ import annotations

import sqlalchemy as sa

from agri_insurance.actions import PagePart
from agri_insurance.auth.models import User
from agri_insurance.extensions import db
from agri_insurance.reference.models import Insurer, Region
from agri_insurance.reference.signals import organisation_page_parts
from agri_insurance.roles import Role

# An insurer's users are shown to the administrator and to the insurers (a county's to whoever sees the county).
INSURER_USER_READERS = frozenset({Role.ADMIN, Role.INSURER})


@organisation_page_parts.listen(order=10)
def _users_of_the_organisation(organisation, user, **_):
    if isinstance(organisation, Region):
        users = db.session.scalars(sa.select(User).where(User.region_id == organisation.id)
                                   .order_by(User.username)).all()
        return [PagePart("users", "auth/_region_users.html", {"users": users})]
    if isinstance(organisation, Insurer) and user.role in INSURER_USER_READERS:
        users = db.session.scalars(sa.select(User).where(User.insurer_id == organisation.id)
                                   .order_by(User.username)).all()
        return [PagePart("users", "auth/_insurer_users.html", {"users": users})] if users else []
    return []
