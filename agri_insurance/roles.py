"""Roles: who a user is to the system. A foundation every module may use (permissions, scoping, menus);
users themselves live in agri_insurance.auth."""

from __future__ import annotations

import enum

from flask_babel import lazy_gettext as _l
from flask_babel import lazy_pgettext


class Role(enum.StrEnum):
    # 三员分立 (GB/T 22239-2019 level 3): three administrators, none of whom can do another's work or grant itself
    # another role. ADMIN is the system administrator (users, organisations, reference set-up; the stored value
    # "admin" is the one every administrator had before the split); SECURITY_ADMIN assigns roles, locks and
    # unlocks accounts, resets passwords and keeps the password and session policy; AUDIT_ADMIN reads and exports
    # the audit log and the log of views of unmasked personal data, nothing else.
    ADMIN = "admin"
    SECURITY_ADMIN = "security_admin"
    AUDIT_ADMIN = "audit_admin"
    CITY_AGRI = "city_agri"
    COUNTY_AGRI = "county_agri"
    INSURER = "insurer"
    EXPERT = "expert"
    COUNTY_FINANCE = "county_finance"
    CITY_FINANCE = "city_finance"

    @property
    def label(self) -> str:
        return str(ROLE_LABELS[self])

    @property
    def needs_county(self) -> bool:
        return self in COUNTY_ROLES

    @property
    def needs_insurer(self) -> bool:
        return self is Role.INSURER


ROLE_LABELS = {
    Role.ADMIN: _l("系统管理员"),
    Role.SECURITY_ADMIN: _l("安全管理员"),
    Role.AUDIT_ADMIN: _l("审计管理员"),
    Role.CITY_AGRI: _l("市农业农村局"),
    Role.COUNTY_AGRI: _l("县农业农村局"),
    Role.INSURER: lazy_pgettext("role", "承保机构"),
    Role.EXPERT: _l("评审专家"),
    Role.COUNTY_FINANCE: _l("县财政局"),
    Role.CITY_FINANCE: _l("市财政局"),
}
COUNTY_ROLES = frozenset({Role.COUNTY_AGRI, Role.COUNTY_FINANCE})
CITY_ROLES = frozenset({Role.ADMIN, Role.CITY_AGRI, Role.CITY_FINANCE})
# The three administrators' roles: only the security administrator grants them.
ADMINISTRATOR_ROLES = frozenset({Role.ADMIN, Role.SECURITY_ADMIN, Role.AUDIT_ADMIN})
# The security and audit administrators see no business data: pages open to "every role" are not theirs.
SEPARATED_ROLES = frozenset({Role.SECURITY_ADMIN, Role.AUDIT_ADMIN})
