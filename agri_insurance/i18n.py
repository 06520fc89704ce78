"""Locale helpers shared by models and templates."""

from __future__ import annotations

from flask import current_app, has_request_context
from flask_babel import force_locale, get_locale


def is_english() -> bool:
    if not has_request_context():
        return False
    locale = get_locale()
    return locale is not None and locale.language == "en"


def pick(zh: str, en: str | None) -> str:
    """The English name when the user reads English and one exists, else the Chinese one."""
    return en if en and is_english() else zh


def join_names(names) -> str:
    """Names listed for the reader: 水稻、油菜 in Chinese, "Rice, Rapeseed" in English."""
    return (", " if is_english() else "、").join(str(n) for n in names)


def with_note(text: str, note: str) -> str:
    """A name with a note in brackets: 能繁母猪（中央政策性）, "Breeding sows (Central policy)"."""
    return f"{text} ({note})" if is_english() else f"{text}（{note}）"


def colon() -> str:
    """Between a label and its value: "现承保机构：…" in Chinese, "Current underwriter: …" in English."""
    return ": " if is_english() else "："


def join_sentences(parts) -> str:
    """Messages run together for the reader: "；" between them in Chinese, "; " in English."""
    return ("; " if is_english() else "；").join(str(p) for p in parts)


def in_record_language():
    """`with in_record_language():` text stored as a record (an audit summary, an answer, a reason) is written in
    the system's default language, Chinese, as the bureau writes it, whoever's request writes it."""
    return force_locale(current_app.config["BABEL_DEFAULT_LOCALE"])
