"""Announcements: the module that owns a life (tenders a round's, subsidies a claim's) says what happened, and
the modules that must react listen. The owner imports none of its listeners, so the import graph has no circle.

    # tenders/signals.py: what can happen to a round
    round_cancelled = Announcement("round-cancelled", "sender: the round; actor, reason")

    # tenders/service.py
    round_cancelled.send(rnd, actor=actor, reason=reason)

    # awards/listeners.py (imported once by the application, see agri_insurance.listeners)
    @round_cancelled.listen(order=10)
    def _withdraw_result(rnd, actor, reason): ...

A blinker signal (Flask's own) with one rule added: listeners run in the `order` they declare (then by
module and name), never in the order Python happened to import them, so what follows an announcement can be
read off `listeners()`. They run at once, inside the caller's transaction: a listener does its own module's
part (flushing, never committing) or refuses with a DomainError, and the caller commits or rolls back once.
`send` returns (listener, value) pairs; announcements that collect something (the actions a module offers on
a round) read the values.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable, Iterator
from typing import Any

from blinker import NamedSignal

DEFAULT_ORDER = 100


def _order(listener: Callable[..., Any]) -> tuple[int, str, str]:
    return (getattr(listener, "listener_order", DEFAULT_ORDER), getattr(listener, "__module__", ""),
            getattr(listener, "__qualname__", ""))


class Announcement(NamedSignal):
    """A signal whose listeners run in their declared order."""

    def listen(self, order: int = DEFAULT_ORDER) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        """Decorator: connect a module-level function (held strongly) that runs at `order` (lower first)."""

        def decorator(func: Callable[..., Any]) -> Callable[..., Any]:
            func.listener_order = order
            self.connect(func, weak=False)
            return func

        return decorator

    def receivers_for(self, sender: Any) -> Iterator[Callable[..., Any]]:
        yield from sorted(super().receivers_for(sender), key=_order)

    def listeners(self) -> list[str]:
        """'module.function' of every listener, in the order they run (for tests and the architecture notes)."""
        live = [r() if isinstance(r, weakref.ref) else r for r in self.receivers.values()]
        return [f"{r.__module__}.{r.__qualname__}" for r in sorted((r for r in live if r is not None), key=_order)]

    def collect(self, sender: Any, **kwargs: Any) -> list[Any]:
        """Send, and concatenate what the listeners return (lists; None counts as nothing)."""
        gathered: list[Any] = []
        for _listener, value in self.send(sender, **kwargs):
            if value:
                gathered.extend(value)
        return gathered
