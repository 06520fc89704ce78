"""Helpers shared by views: put a DomainError on the form field it names; keep redirects on this site."""

from __future__ import annotations

import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

from flask import flash
from flask_babel import gettext as _
from flask_wtf.i18n import translations as flask_wtf_translations
from werkzeug.routing import IntegerConverter
from wtforms import Form
from wtforms.fields.choices import SelectChoice
from wtforms.validators import StopValidation

from agri_insurance.db_types import MAX_MONEY
from agri_insurance.errors import DomainError
from agri_insurance.extensions import db
from agri_insurance.spreadsheets import CONTROL_CHARACTERS, CONTROL_CHARACTERS_REFUSED


class SubForm(Form):
    """A repeated part of a FlaskForm (in a FormField): WTForms' own messages ("Number must be at least 0.")
    in the reader's language, as in the FlaskForm around it; a plain wtforms.Form gives them in English."""

    class Meta:
        def get_translations(self, form):
            return flask_wtf_translations


LARGEST_ID = 2**63 - 1  # SQLite's INTEGER (PostgreSQL compares larger numbers, SQLite's driver overflows: a 500)


class RecordIdConverter(IntegerConverter):
    """<int:...> in routes: a number a database id can be; a larger one is simply not found (404)."""

    def __init__(self, url_map, *args, **kwargs):
        kwargs.setdefault("max", LARGEST_ID)
        super().__init__(url_map, *args, **kwargs)


def int_arg(text: str) -> int:
    """`request.args.get(name, type=int_arg)`: a whole number a database can compare, else the default."""
    number = int(text)
    if abs(number) > LARGEST_ID:
        raise ValueError(text)
    return number


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
    """A form posted from a page that does not show it again: one message per error, naming its field."""
    for name, errors in form.errors.items():
        for error in errors:
            flash(_("%(field)s：%(error)s", field=form[name].label.text, error=error), "danger")


def refuse(error: DomainError, form=None) -> None:
    """Undo the request's changes and tell the user why: on the form field it names, else as a message (of the
    error's `category` if it has one: a refusal the page offers a way past is a warning)."""
    db.session.rollback()
    if form is not None:
        show_domain_error(form, error)
    else:
        flash(error.message, getattr(error, "category", "danger"))


def commit_or_flash(action: Callable[[], object], success: str | None = None, form=None,
                    problems: list[str] | dict[str, str] | None = None) -> Attempt:
    """Run a service action and commit, flashing `success` (if any); on a DomainError roll back and show its
    message: on `form`'s field when a form is given; in `problems` when the page shows them itself (a list: an
    import's findings; a dict: by the field the error names, for hand-made forms); else as a flash message.

    The one way a view refuses an action: every view that changes something calls its service through this,
    then redirects or renders by the returned Attempt. No view writes its own `try/except DomainError`.
    """
    try:
        value = action()
        db.session.commit()
    except DomainError as e:
        if isinstance(problems, dict):
            db.session.rollback()
            problems[e.field or ""] = e.message
        elif problems is not None:
            db.session.rollback()
            problems.append(e.message)
        else:
            refuse(e, form)
        return Attempt(False)
    if success:
        flash(success, "success")
    return Attempt(True, value)


def safe_next(target: str | None, default: str) -> str:
    """`target` when it is a path on this site, else `default`: the one check for `?next=` redirects.

    Refused: anything with a control or format character, whitespace or a backslash (browsers drop tabs
    and newlines and read a backslash as "/", so "/<tab>/evil.com" becomes "//evil.com"), a scheme or host,
    and anything not starting with exactly one "/".
    """
    if not target or not target.startswith("/") or target.startswith("//"):
        return default
    if any(c.isspace() or c == "\\" or unicodedata.category(c).startswith("C") for c in target):
        return default
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return default
    return target


def one_line(form, field) -> None:
    """Refuse control characters (a tab or vertical tab pasted from Word) in a one-line text: stored, they
    would reach every page, file and notice."""
    if field.data and CONTROL_CHARACTERS.search(field.data):
        raise StopValidation(str(CONTROL_CHARACTERS_REFUSED))


def finite_amount(form, field) -> None:
    """Refuse NaN and ±Infinity (Decimal parses "Infinity") and what a Money column (Numeric(18, 2)) cannot
    hold, as a form error on the field instead of a failure further on."""
    if field.data is None:
        return
    if not field.data.is_finite():
        raise StopValidation(_("应为数字"))
    if abs(field.data) > MAX_MONEY:
        raise StopValidation(_("数值过大"))
