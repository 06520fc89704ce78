"""Both catalogues are complete: every user-facing string has an English translation."""

import subprocess
import sys

from tests.factories import ROOT


def test_catalogues_are_up_to_date_and_complete(tmp_path):
    from babel.messages.pofile import read_po

    pot = tmp_path / "messages.pot"
    subprocess.run([sys.executable, "-m", "babel.messages.frontend", "extract", "-F", "babel.cfg", "-k", "_l",
                    "-k", "lazy_gettext", "-k", "lazy_pgettext:1c,2", "--no-location", "-o", str(pot), "."],
                   cwd=ROOT, check=True, capture_output=True)
    with pot.open("rb") as fh:
        wanted = {(m.context, m.id) for m in read_po(fh) if m.id}
    for locale in ("en", "zh_CN"):
        with (ROOT / "agri_insurance/translations" / locale / "LC_MESSAGES/messages.po").open("rb") as fh:
            catalogue = read_po(fh)
        have = {(m.context, m.id) for m in catalogue if m.id and m.string and "fuzzy" not in m.flags}
        missing = sorted(str(i) for _c, i in wanted - have)
        assert not missing, f"{locale}: untranslated (run tools/i18n.py update, then translate): {missing[:20]}"


def test_english_pages_show_no_chinese_in_the_navigation(login):
    client = login("admin")
    client.get("/lang/en")
    page = client.get("/").get_data(as_text=True)
    nav = page.split('id="mainNav"')[1].split("</nav>")[0]
    user_menu_start = nav.find('id="user-menu"')
    chrome = nav[:user_menu_start]  # names of people and organisations stay as they are
    assert not any("\u4e00" <= ch <= "\u9fff" for ch in chrome.replace("中文", "")), chrome


def test_lists_and_notes_are_punctuated_for_the_reader(app):
    from flask_babel import force_locale

    from agri_insurance.i18n import join_names, with_note

    with app.test_request_context():
        with force_locale("zh_CN"):
            assert join_names(["水稻", "油菜"]) == "水稻、油菜" and with_note("能繁母猪", "中央政策性") == "能繁母猪（中央政策性）"
        with force_locale("en"):
            assert join_names(["Rice", "Rapeseed"]) == "Rice, Rapeseed"
            assert with_note("Breeding sows", "Central policy") == "Breeding sows (Central policy)"
