"""Column types shared by every module: money, percentages, enums, timestamps."""

from __future__ import annotations

import enum
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

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


def jsonable(value: Any) -> Any:
    """A value as a JSON column stores it: Decimals as strings (no float rounding), dates in ISO form, enums by
    value, containers element by element."""
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set):
        return [jsonable(v) for v in value]
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if hasattr(value, "value") and not isinstance(value, str | int | float | bool):
        return value.value  # enums
    return value
