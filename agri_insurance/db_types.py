"""Column types shared by every module: money, percentages, enums, timestamps."""

from __future__ import annotations

import enum
from decimal import ROUND_HALF_UP, Decimal

import sqlalchemy as sa

# Money is yuan with two decimals (fen); percentages keep four decimals (e.g. 12.5000 %).
Money = sa.Numeric(18, 2)
Percent = sa.Numeric(7, 4)
FEN = Decimal("0.01")
# The largest amount a Money column holds: forms and rules refuse anything above it.
MAX_MONEY = Decimal("9999999999999999.99")
MAX_RATIO_PCT = Decimal("999.99")  # a loss ratio in percent, within Percent (Numeric(7, 4))


def to_fen(amount: Decimal) -> Decimal:
    """Round a yuan amount to the fen, half away from zero (the accounting convention)."""
    return amount.quantize(FEN, rounding=ROUND_HALF_UP)


def enum_type(enum_cls: type[enum.Enum], length: int = 32) -> sa.Enum:
    """Store an Enum by its value as VARCHAR with a CHECK constraint (same on SQLite and PostgreSQL)."""
    return sa.Enum(
        enum_cls,
        native_enum=False,
        create_constraint=True,
        length=length,
        values_callable=lambda cls: [member.value for member in cls],
        name=enum_cls.__name__.lower(),
        validate_strings=True,
    )
