"""Check characters of Chinese identification codes.

GB 32100-2015 unified social credit code (统一社会信用代码): 18 characters from a 31-character alphabet
(digits and capitals without I, O, Z, S, V); the 18th is a mod-31 check character over the first 17.
"""

from __future__ import annotations

CREDIT_CODE_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
CREDIT_CODE_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)


def credit_code_check_char(first17: str) -> str:
    """The check character for the first 17 characters; ValueError for a character outside the alphabet."""
    if len(first17) != 17:
        raise ValueError("need 17 characters")
    total = 0
    for char, weight in zip(first17, CREDIT_CODE_WEIGHTS, strict=True):
        index = CREDIT_CODE_ALPHABET.find(char)
        if index < 0:
            raise ValueError(f"invalid character {char!r}")
        total += index * weight
    return CREDIT_CODE_ALPHABET[(31 - total % 31) % 31]


def is_valid_credit_code(code: str) -> bool:
    """True when `code` is 18 upper-case characters of the alphabet with the right check character."""
    if len(code) != 18 or any(c not in CREDIT_CODE_ALPHABET for c in code):
        return False
    return credit_code_check_char(code[:17]) == code[17]
