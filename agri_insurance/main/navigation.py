"""The navigation bar, by role: one place lists every page a user reaches from the menu, and how many things wait
for the user on each (the badge: the to-do list's counts, see main.service)."""

from __future__ import annotations

from dataclasses import dataclass, field

from flask_babel import lazy_gettext as _l

from agri_insurance.access import ALL_ROLES
from agri_insurance.main.service import menu_counts
from agri_insurance.roles import Role

ALL = ALL_ROLES   # every role working with the business data (not the security and audit administrators)
EVERYONE = frozenset(Role)
SUBSIDY_OFFICIALS = frozenset({Role.ADMIN, Role.CITY_AGRI, Role.CITY_FINANCE, Role.COUNTY_AGRI, Role.COUNTY_FINANCE})
SUBSIDY_READERS = SUBSIDY_OFFICIALS | {Role.INSURER}
NOTICE_READERS = frozenset({Role.ADMIN, Role.CITY_AGRI, Role.COUNTY_AGRI, Role.INSURER})  # notices to farmers
PAYOUT_LIST_READERS = NOTICE_READERS  # farmers' payout rows: not finance (it reads the measured figures)


@dataclass(frozen=True)
class NavItem:
    label: object
    endpoint: str | None = None
    roles: frozenset = ALL
    children: tuple = field(default_factory=tuple)
    badge: int = 0  # things waiting for the user on this page (a group: on its pages)


MENU = (
    NavItem(_l("首页"), "main.dashboard", EVERYONE),
    NavItem(_l("遴选"), children=(
        NavItem(_l("遴选轮次"), "tenders.rounds"),
        NavItem(_l("本机构投标"), "bids.my_bids", frozenset({Role.INSURER})),
        NavItem(_l("评审"), "evaluation.rounds",
                frozenset({Role.ADMIN, Role.CITY_AGRI, Role.EXPERT, Role.INSURER})),
        NavItem(_l("中标结果"), "awards.rounds"),
        NavItem(_l("遴选结果公示"), "awards.public_list"),
    )),
    NavItem(_l("基础数据"), children=(
        NavItem(_l("行政区划"), "reference.regions"),
        NavItem(_l("险种"), "reference.products"),
        NavItem(_l("承保机构"), "reference.insurers"),
        NavItem(_l("补贴方案"), "reference.schemes"),
    )),
    NavItem(_l("保费补贴"), roles=SUBSIDY_READERS, children=(
        NavItem(_l("补贴申请"), "subsidies.claims", SUBSIDY_READERS),
        NavItem(_l("逾期未付"), "subsidies.overdue", SUBSIDY_READERS),
        NavItem(_l("补贴台账"), "subsidies.ledger", SUBSIDY_OFFICIALS),
        NavItem(_l("拨付清单"), "subsidies.payment_list", SUBSIDY_OFFICIALS),
        NavItem(_l("补贴概览"), "subsidies.overview", SUBSIDY_OFFICIALS),
        NavItem(_l("补贴预算"), "subsidies.budgets", SUBSIDY_OFFICIALS),
        NavItem(_l("资金下达与拨付"), "subsidies.fund_allocations", SUBSIDY_OFFICIALS),
        NavItem(_l("预拨与清算"), "subsidies.year_money", SUBSIDY_READERS),
        NavItem(_l("承保安排"), "subsidies.assignments", SUBSIDY_READERS),
        NavItem(_l("承保公示要求"), "underwriting.notice_rules", NOTICE_READERS),
    )),
    NavItem(_l("理赔"), roles=SUBSIDY_READERS, children=(
        NavItem(_l("理赔清单"), "payouts.lists", PAYOUT_LIST_READERS),
        NavItem(_l("待审核理赔标记"), "payouts.flags", frozenset({Role.ADMIN, Role.CITY_AGRI, Role.COUNTY_AGRI})),
        NavItem(_l("理赔服务指标"), "payouts.service_overview", SUBSIDY_READERS),
    )),
    NavItem(_l("考评"), roles=NOTICE_READERS, children=(
        NavItem(_l("承保机构年度考评"), "annual_review.index", NOTICE_READERS),
        NavItem(_l("投诉"), "annual_review.complaints", NOTICE_READERS),
    )),
    NavItem(_l("后台作业"), "jobs.jobs"),
    NavItem(_l("系统管理"), roles=frozenset({Role.ADMIN, Role.SECURITY_ADMIN, Role.AUDIT_ADMIN, Role.CITY_AGRI}),
            children=(
        NavItem(_l("用户管理"), "auth.users", frozenset({Role.ADMIN, Role.SECURITY_ADMIN})),
        NavItem(_l("安全策略"), "auth.security_settings", frozenset({Role.SECURITY_ADMIN})),
        NavItem(_l("审计日志"), "audit.entries", frozenset({Role.AUDIT_ADMIN, Role.CITY_AGRI})),
        NavItem(_l("个人信息查看记录"), "audit.data_views", frozenset({Role.AUDIT_ADMIN})),
        NavItem(_l("节假日"), "awards.holidays", frozenset({Role.ADMIN})),
    )),
)


def navigation_for(user, counts: dict[str, int] | None = None) -> list[NavItem]:
    """The menu items (and sub-items) the user's role may open, each with its badge (`counts`: {endpoint: things
    waiting}, the user's to-do counts unless given); empty groups are dropped."""
    counts = menu_counts(user) if counts is None else counts
    items = []
    for item in MENU:
        if user.role not in item.roles:
            continue
        if item.children:
            children = tuple(NavItem(c.label, c.endpoint, c.roles, badge=counts.get(c.endpoint, 0))
                             for c in item.children if user.role in c.roles)
            if children:
                items.append(NavItem(item.label, None, item.roles, children, sum(c.badge for c in children)))
        else:
            items.append(NavItem(item.label, item.endpoint, item.roles, badge=counts.get(item.endpoint, 0)))
    return items


def nav_endpoints(user) -> list[str]:
    result = []
    for item in navigation_for(user, counts={}):
        result.extend(c.endpoint for c in item.children) if item.children else result.append(item.endpoint)
    return result
