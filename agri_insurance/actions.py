"""What a user may do now on an object, as the services decide it and the pages offer it.

Each stateful object's service has `available_actions(obj, user) -> Actions`, derived from its transition
table and the permission rules. Templates render that list (`templates/_actions.html`) and compare no status
and no role: whether a button shows is the same rule that lets the request through.

    actions = tenders.available_actions(rnd, current_user)
    {{ action_button(actions["publish"]) }}          {% if "cancel" in actions %}...{% endif %}
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from flask import url_for


@dataclass(frozen=True)
class Action:
    """One thing to do: a link (GET) or a button in a small POST form (with the CSRF token).

    `name` is stable (templates and tests look actions up by it); `order` places it among the others on a page
    (actions contributed by several modules are sorted by it); `element_id` keeps the page's element ids."""

    name: str
    label: Any
    endpoint: str
    params: Mapping[str, Any] = field(default_factory=dict)
    post: bool = False
    style: str = "outline-secondary"
    element_id: str | None = None
    confirm: Any = None
    order: int = 100
    disabled: bool = False  # shown but not yet possible (the page says why)
    css_class: str | None = None  # a class the page's scripts or tests find it by

    @property
    def url(self) -> str:
        return url_for(self.endpoint, **self.params)


class Actions(tuple):
    """The actions available now, in page order: `"publish" in actions`, `actions["publish"]`, `actions.get()`."""

    def __new__(cls, actions: Iterable[Action] = ()):
        return super().__new__(cls, sorted(actions, key=lambda a: a.order))

    def __contains__(self, name: object) -> bool:
        if isinstance(name, Action):
            return super().__contains__(name)
        return any(a.name == name for a in self)

    def __getitem__(self, key):  # type: ignore[override]
        if isinstance(key, str):
            found = self.get(key)
            if found is None:
                raise KeyError(key)
            return found
        return super().__getitem__(key)

    def get(self, name: str) -> Action | None:
        return next((a for a in self if a.name == name), None)

    def only(self, *names: str) -> Actions:
        """These actions, if available, in page order (a page places groups of actions in different spots)."""
        return Actions(a for a in self if a.name in names)

    def names(self) -> list[str]:
        return [a.name for a in self]


@dataclass(frozen=True)
class PagePart:
    """A piece another module adds to an owner's page (the round page shows the bids' count, the insurer's own
    bid, the end of the public notice): `template` is rendered where the page has the `slot`, with `context`.
    The owner's page stays ignorant of the modules that add to it, as its service is of those that listen."""

    slot: str
    template: str
    context: Mapping[str, Any] = field(default_factory=dict)
    order: int = 100


def parts_for(parts: Iterable[PagePart], slot: str) -> list[PagePart]:
    return sorted((p for p in parts if p.slot == slot), key=lambda p: p.order)
