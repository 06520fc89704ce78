"""Helpers shared by views: put a DomainError on the form field it names."""

from __future__ import annotations

from collections.abc import Callable

from flask import flash
from wtforms.fields.choices import SelectChoice

from agri_insurance.errors import DomainError
from agri_insurance.extensions import db


def show_domain_error(form, error: DomainError) -> None:
    field = getattr(form, error.field, None) if error.field else None
    if field is not None:
        field.errors = [*field.errors, error.message] if isinstance(field.errors, list) else [error.message]
    else:
        flash(error.message, "danger")


def choices(pairs) -> list[SelectChoice]:
    """(value, label) pairs as WTForms select choices."""
    return [SelectChoice(value, label) for value, label in pairs]


def commit_or_flash(action: Callable[[], object], success: str) -> bool:
    """Run a service action and commit, flashing `success`; on a DomainError roll back and flash its message.

    The one place a view's 'try the rule, commit or undo, tell the user' lives. Returns True on success.
    """
    try:
        action()
        db.session.commit()
    except DomainError as e:
        db.session.rollback()
        flash(e.message, "danger")
        return False
    flash(success, "success")
    return True
