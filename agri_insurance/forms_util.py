"""Helpers shared by views: put a DomainError on the form field it names."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

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


@dataclass
class Attempt:
    """What `commit_or_flash` did: truthy when the action passed; `value` is what it returned."""

    ok: bool
    value: object = None

    def __bool__(self) -> bool:
        return self.ok


def flash_form_errors(form) -> None:
    """A form posted from a page that does not show it again: every field's errors as one message."""
    flash("；".join(f"{form[name].label.text}：{'，'.join(errors)}" for name, errors in form.errors.items()),
          "danger")


def refuse(error: DomainError, form=None) -> None:
    """Undo the request's changes and tell the user why: on the form field it names, else as a message."""
    db.session.rollback()
    if form is not None:
        show_domain_error(form, error)
    else:
        flash(error.message, "danger")


def commit_or_flash(action: Callable[[], object], success: str, form=None) -> Attempt:
    """Run a service action and commit, flashing `success`; on a DomainError roll back and show its message
    (on `form`'s field when a form is given).

    The one place a view's 'try the rule, commit or undo, tell the user' lives.
    """
    try:
        value = action()
        db.session.commit()
    except DomainError as e:
        refuse(e, form)
        return Attempt(False)
    flash(success, "success")
    return Attempt(True, value)
