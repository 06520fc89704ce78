"""Keep the translation catalogues in step with the code.

    python tools/i18n.py update    extract messages, update both catalogues, fill zh_CN (msgid is Chinese)
    python tools/i18n.py missing   list msgids without an English translation (exit 1 if any)
    python tools/i18n.py compile   compile .po to .mo (run by `make run` and `make test`)
    python tools/i18n.py apply F   merge a JSON file {"中文": "English", ...} into the English catalogue
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from babel.messages.pofile import read_po, write_po

ROOT = Path(__file__).resolve().parent.parent
TRANSLATIONS = ROOT / "agri_insurance" / "translations"
POT = ROOT / "instance" / "messages.pot"
KEYWORDS = ["-k", "_l", "-k", "lazy_gettext", "-k", "lazy_pgettext:1c,2", "-k", "N_"]


def _pybabel(*args: str) -> None:
    done = subprocess.run([sys.executable, "-m", "babel.messages.frontend", *args], cwd=ROOT,
                          capture_output=True, text=True)
    if done.returncode != 0:
        sys.exit(done.stdout + done.stderr)


def _catalogue(locale: str) -> Path:
    return TRANSLATIONS / locale / "LC_MESSAGES" / "messages.po"


def _load(path: Path):
    with path.open("rb") as fh:
        return read_po(fh)


def _save(catalog, path: Path) -> None:
    with path.open("wb") as fh:
        write_po(fh, catalog, width=0, omit_header=False, sort_output=True)


def update() -> None:
    POT.parent.mkdir(exist_ok=True)
    _pybabel("extract", "-F", "babel.cfg", *KEYWORDS, "--no-location", "-o", str(POT), ".")
    _pybabel("update", "-i", str(POT), "-d", str(TRANSLATIONS), "--no-fuzzy-matching", "--ignore-obsolete")
    zh = _load(_catalogue("zh_CN"))
    for message in zh:
        if message.id and not message.string:
            message.string = message.id
        message.flags.discard("fuzzy")
    _save(zh, _catalogue("zh_CN"))
    en = _load(_catalogue("en"))
    _save(en, _catalogue("en"))


def missing(locale: str = "en") -> list[str]:
    catalog = _load(_catalogue(locale))
    return [m.id for m in catalog if m.id and (not m.string or "fuzzy" in m.flags)]


def apply(path: str) -> None:
    mapping = json.loads(Path(path).read_text(encoding="utf-8"))
    en = _load(_catalogue("en"))
    for message in en:
        key = f"{message.context}|{message.id}" if message.context else message.id
        if key in mapping:
            message.string = mapping[key]
            message.flags.discard("fuzzy")
    _save(en, _catalogue("en"))


def compile_all() -> None:
    _pybabel("compile", "-d", str(TRANSLATIONS), "--statistics")


if __name__ == "__main__":
    command = sys.argv[1] if len(sys.argv) > 1 else "update"
    if command == "update":
        update()
    elif command == "missing":
        ids = missing()
        print("\n".join(ids))
        sys.exit(1 if ids else 0)
    elif command == "apply":
        apply(sys.argv[2])
    elif command == "compile":
        compile_all()
    else:
        sys.exit(__doc__)
