"""Locale helpers shared by models and templates."""

from __future__ import annotations

from flask import has_request_context
from flask_babel import get_locale


def is_english() -> bool:
    if not has_request_context():
        return False
    locale = get_locale()
    return locale is not None and locale.language == "en"


def pick(zh: str, en: str | None) -> str:
    """The English name when the user reads English and one exists, else the Chinese one."""
    return en if en and is_english() else zh
