"""optimization/ is plain Python: importing every one of its modules loads neither Flask nor SQLAlchemy nor the web
application (checked in a fresh interpreter, so nothing the test session imported earlier can hide an import)."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

CHECK = """
import importlib, pkgutil, sys
import optimization
for module in pkgutil.iter_modules(optimization.__path__):
    importlib.import_module("optimization." + module.name)
loaded = sorted(name for name in sys.modules
                if name.split(".")[0] in ("flask", "flask_babel", "flask_sqlalchemy", "sqlalchemy", "agri_insurance"))
print(len([m for m in sys.modules if m.startswith("optimization.")]), loaded)
"""


def test_optimization_loads_no_web_application_and_no_database_layer():
    done = subprocess.run([sys.executable, "-c", CHECK], cwd=ROOT, capture_output=True, text=True, check=True)
    count, loaded = done.stdout.split(" ", 1)
    assert int(count) >= 10 and loaded.strip() == "[]", done.stdout
