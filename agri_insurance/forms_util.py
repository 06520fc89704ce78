"""Helpers shared by views: put a DomainError on the form field it names."""

from __future__ import annotations

from flask import flash
from wtforms.fields.choices import SelectChoice

from agri_insurance.errors import DomainError


def show_domain_error(form, error: DomainError) -> None:
    field = getattr(form, error.field, None) if error.field else None
    if field is not None:
        field.errors = [*field.errors, error.message] if isinstance(field.errors, list) else [error.message]
    else:
        flash(error.message, "danger")


def choices(pairs) -> list[SelectChoice]:
    """(value, label) pairs as WTForms select choices."""
    return [SelectChoice(value, label) for value, label in pairs]
