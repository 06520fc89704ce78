"""The one exception type business rules raise; views turn it into a message for the user."""

from __future__ import annotations


class DomainError(Exception):
    """A business rule refused the action. The message is already translated for the user."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field

    def __str__(self) -> str:
        return self.message


def require(condition: object, message: str, field: str | None = None) -> None:
    if not condition:
        raise DomainError(message, field)
