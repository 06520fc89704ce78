"""The mutation driver's targets name functions that exist (tools/mutation.py, docs/testing.md).

A function renamed or moved would leave its target mutating nothing, and a score over nothing reads as a pass."""

from __future__ import annotations

import ast
import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _targets() -> dict:
    spec = importlib.util.spec_from_file_location("mutation_driver", ROOT / "tools" / "mutation.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.TARGETS


def _functions(path: Path) -> set[str]:
    """Module-level functions and methods ("Class.method"), as the targets name them."""
    names = set()
    for node in ast.parse(path.read_text(encoding="utf-8")).body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            names.add(node.name)
        elif isinstance(node, ast.ClassDef):
            names.update(f"{node.name}.{item.name}" for item in node.body
                         if isinstance(item, ast.FunctionDef | ast.AsyncFunctionDef))
    return names


def test_every_target_names_its_modules_functions_and_existing_tests():
    for target, (functions, tests) in _targets().items():
        module = ROOT / "agri_insurance" / target.split(":")[0]
        assert module.is_file(), target
        missing = set(functions or ()) - _functions(module)
        assert not missing, f"{target}: no such function {sorted(missing)}"
        for test in tests:
            assert (ROOT / test).exists(), f"{target}: no such test path {test}"


def test_the_parts_of_the_subsidies_service_cover_each_function_once():
    parts = [functions for target, (functions, _tests) in _targets().items()
             if target.startswith("subsidies/service.py:")]
    named = [name for functions in parts for name in functions]
    assert len(named) == len(set(named)), "a function in two parts"
    defined = _functions(ROOT / "agri_insurance" / "subsidies" / "service.py")
    assert set(named) == defined, (f"not in a part: {sorted(defined - set(named))}; "
                                   f"not in the module: {sorted(set(named) - defined)}")
