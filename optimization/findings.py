"""Findings: one problem with a scenario or an allocation, in words a bureau understands.

A leaf module: the scenario's validation, the cheap checks before solving and the explanations after an
infeasible solve all report :class:`Diagnostic` findings, and none of them needs to import the others for it.

The optimiser writes Chinese. Each finding also carries its message ``template`` (marked with ``N_`` so the web
application's catalogue extracts it) and the ``params`` it was filled with, so a user interface can show the
finding in the user's language without this package knowing about one.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field


@dataclass(frozen=True)
class Diagnostic:
    """One finding. ``subject`` is ``county``, ``lot``, ``insurer``, ``round`` or ``entry`` (a format entry)."""

    code: str
    severity: str  # "error" (makes the scenario infeasible or invalid) or "warning"
    subject: str
    subject_id: str
    message: str
    template: str = field(default="", compare=False)
    params: dict = field(default_factory=dict, compare=False, hash=False)

    def to_dict(self) -> dict:
        out = asdict(self)
        if not self.template:
            del out["template"], out["params"]
        return out


def N_(template: str) -> str:  # noqa: N802 - the usual gettext marker name
    """Marks a message template for the web application's translation catalogue; returns it unchanged."""
    return template


def finding(code: str, severity: str, subject: str, subject_id: str, template: str, **params) -> Diagnostic:
    """A diagnostic whose Chinese message is ``template % params``."""
    return Diagnostic(code, severity, subject, subject_id, template % params, template, params)
