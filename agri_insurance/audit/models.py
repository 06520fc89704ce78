"""The append-only audit log."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from flask_babel import gettext, lazy_pgettext
from sqlalchemy import event
from sqlalchemy.orm import Mapped, mapped_column, relationship

from agri_insurance.clock import utcnow
from agri_insurance.extensions import db
from agri_insurance.i18n import with_note
from agri_insurance.roles import ROLE_LABELS

# What each kind of audited record is called on the audit page (the stored object_type is the model's name);
# in their own context: a menu says "Selection rounds", an entry's object is one "Selection round".

OBJECT_TYPE_LABELS = {
    "AllocationRun": lazy_pgettext("audit object", "分配方案"),
    "InsurerCapacity": lazy_pgettext("audit object", "承保能力上限"),
    "Award": lazy_pgettext("audit object", "中标"),
    "Holiday": lazy_pgettext("audit object", "节假日"),
    "PublicNotice": lazy_pgettext("audit object", "公示"),
    "Objection": lazy_pgettext("audit object", "质疑"),
    "AwardChange": lazy_pgettext("audit object", "中标变更"),
    "Bid": lazy_pgettext("audit object", "投标"),
    "BidOpening": lazy_pgettext("audit object", "开标"),
    "ScoringScheme": lazy_pgettext("audit object", "评分方案"),
    "EvaluationPanel": lazy_pgettext("audit object", "评审委员会"),
    "EligibilityCheck": lazy_pgettext("audit object", "资格审查"),
    "PanelMember": lazy_pgettext("audit object", "评审专家"),
    "ExpertScore": lazy_pgettext("audit object", "专家评分"),
    "Region": lazy_pgettext("audit object", "行政区划"),
    "Product": lazy_pgettext("audit object", "险种"),
    "Insurer": lazy_pgettext("audit object", "承保机构"),
    "SubsidyScheme": lazy_pgettext("audit object", "补贴方案"),
    "UnderwritingAssignment": lazy_pgettext("audit object", "承保安排"),
    "SubsidyClaim": lazy_pgettext("audit object", "补贴申请"),
    "Payment": lazy_pgettext("audit object", "拨付"),
    "Budget": lazy_pgettext("audit object", "预算"),
    "SelectionRound": lazy_pgettext("audit object", "遴选轮次"),
    "Lot": lazy_pgettext("audit object", "标段"),
    "CountyException": lazy_pgettext("audit object", "县级例外"),
    "UnderwritingList": lazy_pgettext("audit object", "承保清单"),
    "User": lazy_pgettext("audit object", "用户"),
    "Job": lazy_pgettext("audit object", "后台作业"),
    "RuleDeparture": lazy_pgettext("audit object", "规则偏离"),
    "ApiToken": lazy_pgettext("audit object", "接口令牌"),
    "Criterion": lazy_pgettext("audit object", "评分项"),
    "PayoutList": lazy_pgettext("audit object", "理赔清单"),
    "Advance": lazy_pgettext("audit object", "预拨"),
    "Settlement": lazy_pgettext("audit object", "清算单"),
    "UnderwritingNoticeRule": lazy_pgettext("audit object", "承保公示要求"),
    "AuditSetting": lazy_pgettext("audit object", "审计日志设置"),
    "FundAllocation": lazy_pgettext("audit object", "资金下达"),
    "AnnualReview": lazy_pgettext("audit object", "年度考评"),
    "ReviewResult": lazy_pgettext("audit object", "考评结果"),
    "Complaint": lazy_pgettext("audit object", "投诉"),
}
# The audit page's filter offers these kinds (a constant, not a DISTINCT over a log of millions):
# tests/audit/test_audit.py holds every class the code passes to audit.record to having a label here.


# Object types stored under another name by older versions: password changes were recorded with the request's
# user proxy as their object ("LocalProxy"); the object was the user itself.
LEGACY_OBJECT_TYPES = {"LocalProxy": "User"}


def object_type_of(stored: str | None) -> str:
    """The object type an entry names, whatever name an older version stored it under."""
    return LEGACY_OBJECT_TYPES.get(stored or "", stored or "")


def stored_object_types(object_type: str) -> list[str]:
    """The names entries of `object_type` may be stored under (for the audit page's filter)."""
    return [object_type, *(old for old, new in LEGACY_OBJECT_TYPES.items() if new == object_type)]


SYSTEM_ACTOR = "system"  # the actor name of entries the system writes (the clock, jobs without a user)
ROLE_NAMES = {role.value: label for role, label in ROLE_LABELS.items()}


def object_type_label(object_type: str | None) -> str:
    object_type = object_type_of(object_type)
    return str(OBJECT_TYPE_LABELS.get(object_type, object_type))


class AuditEntry(db.Model):
    __tablename__ = "audit_entries"
    __table_args__ = (sa.Index("ix_audit_entries_object", "object_type", "object_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    # The actor's id and login name are copied so the entry survives a renamed or deactivated user; so are the
    # person's name, role and organisation (county or insurer) at the time, which pages show (None: entries
    # written before they were kept, the system, and actors who stay unnamed such as a sealed bidder).
    actor_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"), index=True)
    actor_name: Mapped[str] = mapped_column(sa.String(64))
    actor_display_name: Mapped[str | None] = mapped_column(sa.String(100))
    actor_role: Mapped[str | None] = mapped_column(sa.String(32))
    actor_organisation: Mapped[str | None] = mapped_column(sa.String(200))
    action: Mapped[str] = mapped_column(sa.String(64), index=True)
    object_type: Mapped[str] = mapped_column(sa.String(64))
    object_id: Mapped[str | None] = mapped_column(sa.String(64))
    summary: Mapped[str] = mapped_column(sa.String(500))  # in Chinese when summary_message is set
    # {"msgid", "params"}: the summary as a message, shown in each reader's language (None: entries written
    # before it was kept, and summaries given as plain text)
    summary_message: Mapped[dict[str, Any] | None] = mapped_column(sa.JSON)
    details: Mapped[dict[str, Any]] = mapped_column(sa.JSON, default=dict)

    # The user as they are now: only to name the actor of an entry written before the name was copied (read
    # only, by its login name: the log never learns more about an actor than the entry recorded).
    actor = relationship("User", viewonly=True, lazy="select")

    @property
    def object_label(self) -> str:
        return object_type_label(self.object_type)

    @property
    def _person(self) -> tuple[str, str | None, str | None] | None:
        """(name, role, organisation) of the person who acted, if the entry may name them."""
        if self.actor_display_name:
            return self.actor_display_name, self.actor_role, self.actor_organisation
        actor = self.actor if self.actor_id is not None else None
        # an older entry: the user it names by login name (never an actor recorded under another name, such as
        # a sealed bidder, whose id is kept for accountability only)
        if actor is not None and actor.username == self.actor_name:
            role = getattr(actor, "role", None)
            return actor.display_name, getattr(role, "value", None), actor.organisation_name or None
        return None

    @property
    def actor_label(self) -> str:
        """Who acted, for the reader: the person's name, or the login name the entry kept, or the system."""
        person = self._person
        if person is not None:
            return person[0]
        if self.actor_id is None and self.actor_name == SYSTEM_ACTOR:
            return gettext("系统")
        return self.actor_name

    @property
    def actor_unit(self) -> str:
        """The actor's unit: their role (市农业农村局, 承保机构…) and the county or insurer they belong to."""
        person = self._person
        if person is None:
            return ""
        _name, role, organisation = person
        parts = [ROLE_NAMES[role] if role in ROLE_NAMES else role, organisation]
        return " · ".join(str(p) for p in parts if p)

    @property
    def actor_with_unit(self) -> str:
        """"张三（县农业农村局 · 鄱阳县）": who acted and for which unit, on one line (timelines)."""
        unit = self.actor_unit
        return with_note(self.actor_label, unit) if unit else self.actor_label

    @property
    def display_summary(self) -> str:
        """The summary in the reader's language where it was kept as a message, else as stored."""
        if not self.summary_message:
            return self.summary
        try:
            return _render(self.summary_message)[:500]
        except (KeyError, TypeError, ValueError):  # a message whose parameters changed since: the stored text
            return self.summary


def _render(message: dict[str, Any]) -> str:
    params = {name: _render(value) if isinstance(value, dict) and "msgid" in value else value
              for name, value in (message.get("params") or {}).items()}
    return gettext(message["msgid"], **params)


class AuditLogIsAppendOnly(RuntimeError):
    pass


@event.listens_for(AuditEntry, "before_update")
@event.listens_for(AuditEntry, "before_delete")
def _refuse_change(mapper, connection, target) -> None:  # noqa: ARG001 - SQLAlchemy's signature
    raise AuditLogIsAppendOnly("audit entries are never updated or deleted")


# The shortest retention of the audit log GB/T 22239-2019 names (8.1.4.3: at least six months); a longer one may be
# set (flask audit-retention DAYS), never a shorter one: the table's check and the database's trigger hold it.
MINIMUM_RETENTION_DAYS = 180


class AuditSetting(db.Model):
    """The audit log's settings, one row (id 1): how many days an entry is kept before it may be deleted. The
    database reads it in the trigger that refuses an earlier delete (migration 0031); no row means the minimum."""

    __tablename__ = "audit_settings"
    __table_args__ = (
        sa.CheckConstraint(f"retention_days >= {MINIMUM_RETENTION_DAYS}", name="retention_minimum"),
        sa.CheckConstraint("id = 1", name="single_row"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    retention_days: Mapped[int] = mapped_column(default=MINIMUM_RETENTION_DAYS)


class PersonalDataView(db.Model):
    """One showing of unmasked personal data (ID numbers, bank accounts): who, which list or object, when and why
    (the role and the relation that allowed it). 个人信息保护法 art. 51 and GB/T 22239 8.1.4.3 ask that access to
    personal information be traceable; the audit administrator reads these. Written in a transaction of its own
    (a GET writes nothing else); never changed."""

    __tablename__ = "personal_data_views"

    id: Mapped[int] = mapped_column(primary_key=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"), index=True)
    username: Mapped[str] = mapped_column(sa.String(64))
    role: Mapped[str] = mapped_column(sa.String(32))
    what: Mapped[str] = mapped_column(sa.String(64))          # the page, export or API call (its endpoint)
    object_type: Mapped[str] = mapped_column(sa.String(64))   # the list shown
    object_id: Mapped[str | None] = mapped_column(sa.String(64))
    rows: Mapped[int] = mapped_column(default=0)              # how many people's data the answer showed
    reason: Mapped[str] = mapped_column(sa.String(200))       # why the role may see it in full

    @property
    def role_label(self) -> str:
        return str(ROLE_NAMES.get(self.role, self.role))

    @property
    def object_label(self) -> str:
        return object_type_label(self.object_type)
