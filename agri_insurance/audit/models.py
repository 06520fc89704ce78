"""The append-only audit log."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from flask_babel import gettext, lazy_pgettext
from sqlalchemy import event
from sqlalchemy.orm import Mapped, mapped_column

from agri_insurance.clock import utcnow
from agri_insurance.extensions import db

# What each kind of audited record is called on the audit page (the stored object_type is the model's name);
# in their own context: a menu says "Selection rounds", an entry's object is one "Selection round".

OBJECT_TYPE_LABELS = {
    "AllocationRun": lazy_pgettext("audit object", "分配方案"),
    "InsurerCapacity": lazy_pgettext("audit object", "承保能力上限"),
    "Award": lazy_pgettext("audit object", "中标"),
    "Holiday": lazy_pgettext("audit object", "节假日"),
    "PublicNotice": lazy_pgettext("audit object", "公示"),
    "Objection": lazy_pgettext("audit object", "质疑"),
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
}


def object_type_label(object_type: str | None) -> str:
    return str(OBJECT_TYPE_LABELS.get(object_type, object_type or ""))


class AuditEntry(db.Model):
    __tablename__ = "audit_entries"
    __table_args__ = (sa.Index("ix_audit_entries_object", "object_type", "object_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    # The actor's id and name are copied so the entry survives a renamed or deactivated user.
    actor_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"), index=True)
    actor_name: Mapped[str] = mapped_column(sa.String(64))
    action: Mapped[str] = mapped_column(sa.String(64), index=True)
    object_type: Mapped[str] = mapped_column(sa.String(64))
    object_id: Mapped[str | None] = mapped_column(sa.String(64))
    summary: Mapped[str] = mapped_column(sa.String(500))  # in Chinese when summary_message is set
    # {"msgid", "params"}: the summary as a message, shown in each reader's language (None: entries written
    # before it was kept, and summaries given as plain text)
    summary_message: Mapped[dict[str, Any] | None] = mapped_column(sa.JSON)
    details: Mapped[dict[str, Any]] = mapped_column(sa.JSON, default=dict)

    @property
    def object_label(self) -> str:
        return object_type_label(self.object_type)

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
