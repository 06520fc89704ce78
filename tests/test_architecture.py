"""The structure the code promises (docs/architecture.md), checked on the code itself:

- no circle in the import graph of agri_insurance/ and optimization/, between modules (agri_insurance.tenders,
  agri_insurance.bids, …) or between files; function-level imports count (grimp reads them all);
- no module imports another module's private name;
- templates render the actions the services decide: no status and no role is compared in a template;
- the owners of a life announce, the listeners run in a declared order.
"""

from __future__ import annotations

import ast
import re
from collections import defaultdict
from pathlib import Path

import grimp
import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("agri_insurance", "optimization")


@pytest.fixture(scope="module")
def graph():
    return grimp.build_graph(*PACKAGES, cache_dir=None)


def _module_of(name: str) -> str:
    """agri_insurance.tenders.service → agri_insurance.tenders; optimization.scenario → optimization."""
    parts = name.split(".")
    return ".".join(parts[:2]) if parts[0] == "agri_insurance" and len(parts) > 1 else parts[0]


def _circles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one member (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = 0
    for start in sorted(edges):
        if start in index:
            continue
        work = [(start, iter(sorted(edges.get(start, ()))))]
        index[start] = low[start] = counter
        counter += 1
        stack.append(start)
        on_stack.add(start)
        while work:
            node, successors = work[-1]
            nxt = next(successors, None)
            if nxt is not None:
                if nxt not in index:
                    index[nxt] = low[nxt] = counter
                    counter += 1
                    stack.append(nxt)
                    on_stack.add(nxt)
                    work.append((nxt, iter(sorted(edges.get(nxt, ())))))
                elif nxt in on_stack:
                    low[node] = min(low[node], index[nxt])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                members = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    members.append(member)
                    if member == node:
                        break
                if len(members) > 1:
                    found.append(sorted(members))
    return found


def _edges(graph, key) -> dict[str, set[str]]:
    edges: dict[str, set[str]] = defaultdict(set)
    for importer in graph.modules:
        for imported in graph.find_modules_directly_imported_by(importer):
            a, b = key(importer), key(imported)
            if a != b:
                edges[a].add(b)
    return edges


def test_no_circle_between_modules(graph):
    circles = _circles(_edges(graph, _module_of))
    assert not circles, f"modules importing each other (a module announces, the others listen): {circles}"


def test_no_circle_between_files(graph):
    assert not _circles(_edges(graph, lambda name: name)), "files importing each other"


def test_the_owners_of_a_life_import_none_of_their_listeners(graph):
    for owner, listeners in (("agri_insurance.tenders", ("bids", "evaluation", "allocation", "awards")),
                             ("agri_insurance.subsidies", ("underwriting",)),
                             ("agri_insurance.reference", ("auth", "bids", "tenders"))):
        for listener in listeners:
            assert not graph.chain_exists(owner, f"agri_insurance.{listener}", as_packages=True), (owner, listener)


def test_the_circle_check_bites():
    assert _circles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert _circles({"a": {"b"}, "b": set()}) == []


def _python_files():
    for package in PACKAGES:
        yield from sorted((ROOT / package).rglob("*.py"))


def test_no_module_imports_another_modules_private_name():
    borrowed = []
    for path in _python_files():
        here = _module_of(".".join(path.relative_to(ROOT).with_suffix("").parts))
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                private = [a.name for a in node.names if a.name.startswith("_") and not a.name.startswith("__")]
                if private and _module_of(node.module) != here:
                    borrowed.append(f"{path.relative_to(ROOT)}: {node.module} {private}")
    assert not borrowed, borrowed


# A comparison of a status or a role in a template decides who may do what: services decide that.
TEMPLATE_RULES = [
    re.compile(r"(status|role)(\.value)?\s*(==|!=|\bin\b|\bnot\s+in\b|\bis\b)"),
    re.compile(r"(==|!=)\s*['\"]?[\w.]*\b(status|role)\b"),
    re.compile(r"current_user\.role\.(value|needs_\w+)"),
    re.compile(r"\.(status|role)\.value\s*(==|!=|\bin\b)"),
]


def _template_violations(text: str) -> list[str]:
    found = []
    for code in re.findall(r"{[{%](.*?)[%}]}", text, flags=re.S):
        if any(rule.search(code) for rule in TEMPLATE_RULES):
            found.append(code.strip()[:120])
    return found


def test_templates_compare_no_status_and_no_role():
    violations = {str(p.relative_to(ROOT)): _template_violations(p.read_text(encoding="utf-8"))
                  for p in sorted((ROOT / "templates").rglob("*.html"))}
    assert not {k: v for k, v in violations.items() if v}


@pytest.mark.parametrize("snippet", [
    "{% if rnd.status.value == 'draft' %}", "{% if current_user.role.value in ('admin',) %}",
    "{% if claim.status is draft %}", "{{ 'x' if job.status.value == 'done' else 'y' }}",
    "{% if current_user.role.needs_county %}", "{% if 'open' == rnd.status.value %}",
    "{% if selected_role == r.value %}",
])
def test_the_template_rule_bites(snippet):
    assert _template_violations(snippet)


@pytest.mark.parametrize("snippet", [
    "{{ rnd.status.label }}", "{% if 'publish' in actions %}", "{{ job.status.badge }}",
    "<span class=\"status-{{ r.status.value }}\">", "{% if rnd.cancelled_at %}",
])
def test_the_template_rule_lets_pages_show_a_status(snippet):
    assert not _template_violations(snippet)
