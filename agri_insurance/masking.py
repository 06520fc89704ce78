"""Personal data masked where a list travels beyond those who need it in full: exports, pages of the bureaus that
do not verify, and the notices posted in the villages (承保公示, 理赔公示: 《农业保险条例》第十条).

One rule per kind of datum, so an underwriting list, a payout list and their notices mask alike:

    mask_id("36112819800101123X")   -> "361128********123X"   region and last four kept
    mask_account("6228480012345678") -> "************5678"
    mask_name("张三华") -> "张*华"; mask_name("张三") -> "张*"; mask_name("欧阳明华") -> "欧**华"
    mask_name("鄱阳县丰收水稻专业合作社", organisation=True) -> shown as it is
"""

from __future__ import annotations


def mask_id(number: str) -> str:
    """361128********123X: region and last four kept, the birth date and sequence hidden."""
    if not number:
        return ""
    if len(number) <= 10:
        return number[:2] + "*" * max(0, len(number) - 4) + number[-2:]
    return number[:6] + "*" * (len(number) - 10) + number[-4:]


def mask_account(account: str | None) -> str:
    if not account:
        return ""
    return "*" * (len(account) - 4) + account[-4:]


def mask_name(name: str | None, organisation: bool = False) -> str:
    """A person's name with what lies between its first and last character hidden, one * per character (张*华,
    欧**华, 阿****提); a two-character name keeps its surname (张*); a one-character name is hidden altogether.

    An organisation's name (a cooperative, a family farm or a company, insured under its unified social credit
    code) is the registered name the public registry shows: it stays as it is, so the village can recognise it.
    """
    text = " ".join((name or "").split())
    if organisation or not text:
        return text
    if len(text) == 1:
        return "*"
    if len(text) == 2:
        return text[0] + "*"
    return text[0] + "*" * (len(text) - 2) + text[-1]
