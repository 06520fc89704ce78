"""Check characters of Chinese identification codes.

GB 32100-2015 unified social credit code (统一社会信用代码): 18 characters from a 31-character alphabet
(digits and capitals without I, O, Z, S, V); the 18th is a mod-31 check character over the first 17.
"""

from __future__ import annotations

from datetime import date
from operator import mul

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


# GB 11643-1999 citizen identity number (居民身份证号码): 6-digit region, 8-digit birth date, 3-digit sequence,
# and a mod-11 check character (0-9 or X) over the first 17 digits.
ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
ID_CHECK_CHARS = "10X98765432"


_ZEROS_WEIGHED = ord("0") * sum(ID_WEIGHTS)


def id_number_check_char(first17: str) -> str:
    if first17.isascii() and first17.isdigit():
        # the digits' character codes, weighed, less the weighed code of "0": no int() per digit (every row of a
        # list import checks one)
        total = sum(map(mul, first17.encode(), ID_WEIGHTS)) - _ZEROS_WEIGHED
    else:
        total = sum(map(mul, map(int, first17), ID_WEIGHTS))
    return ID_CHECK_CHARS[total % 11]


def is_valid_id_number(number: str) -> bool:
    """True for an 18-character resident ID with a real birth date and the right check character (X upper case)."""
    if len(number) != 18 or not number[:17].isdigit() or not (number[17].isdigit() or number[17] == "X"):
        return False
    if not _valid_birth_date(number[6:14]):
        return False
    return id_number_check_char(number[:17]) == number[17]


def _valid_birth_date(yyyymmdd: str) -> bool:
    try:
        born = date(int(yyyymmdd[:4]), int(yyyymmdd[4:6]), int(yyyymmdd[6:]))
    except ValueError:
        return False
    return 1900 <= born.year <= 2100
