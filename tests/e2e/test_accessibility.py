"""Every HTML page of the role × route table, in Chinese and in English, checked by axe-core (WCAG 2.1 A and AA).

The pages come from `tests/test_access.py`'s table, so a page added later is checked as soon as it has its row there.
Each page is opened by every role on a dashboard (they differ by role) and otherwise by one role allowed to see it;
all violations are gathered, so one run lists everything to fix.
"""

import pytest
from axe_playwright_python.sync_playwright import Axe

from agri_insurance.auth.models import Role
from tests.e2e.conftest import log_in
from tests.test_access import ROUTES, fill_url

pytestmark = pytest.mark.browser
WCAG = {"runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]},
        "resultTypes": ["violations"]}
# The role that opens a page many roles may see: the one with the most on it.
PREFERENCE = ("city_agri", "county_agri", "insurer", "county_finance", "city_finance", "expert", "admin", "security_admin",
              "audit_admin")


def _pages():
    """(role or None for anonymous, url template) for every GET route that may answer with a page."""
    for endpoint, (method, url, allowed) in ROUTES.items():
        if method != "GET" or url.split("?")[0].endswith((".json", ".xlsx", ".pdf", ".zip", ".docx")):
            continue
        if allowed == "public":
            yield None, url
        elif endpoint == "main.dashboard":
            yield from ((role.value, url) for role in sorted(allowed, key=lambda r: PREFERENCE.index(r.value)))
        else:
            yield next(name for name in PREFERENCE if any(r.value == name for r in allowed)), url


@pytest.mark.parametrize("language", ["zh_CN", "en"])
def test_every_page_meets_wcag_21_aa(browser, live_server, db, language):
    axe = Axe()
    contexts, found, checked = {}, [], 0
    for role, template in _pages():
        if role not in contexts:
            context = browser.new_context(base_url=live_server, locale="zh-CN")
            page = context.new_page()
            page.set_default_timeout(15_000)
            if role:
                log_in(page, role)
            if language == "en":
                page.goto("/lang/en?next=/")
            contexts[role] = page
        page = contexts[role]
        url = fill_url(template, db, Role(role) if role else None)
        # files (documents, photos, exports) are not pages: ask first, with the page's own session
        if "text/html" not in page.request.get(url).headers.get("content-type", ""):
            continue
        page.goto(url)
        checked += 1
        for violation in axe.run(page, options=WCAG).response["violations"]:
            targets = [" ".join(node["target"]) for node in violation["nodes"]][:3]
            found.append(f"{role or 'anonymous'} {url}: {violation['id']} ({len(violation['nodes'])}) {targets}")
    for page in contexts.values():
        page.context.close()
    assert checked > 40
    assert not found, "\n".join(found)


@pytest.fixture
def demo_world(db, demo):
    """What `make run` shows: the demo rounds (open, publicised, …) and claims in every state, overdue ones too."""
    from agri_insurance.demo import load_everything

    load_everything(with_rounds=True)
    db.session.commit()
    return db


def test_the_demo_pages_in_every_state_meet_wcag_21_aa(browser, live_server, demo_world):
    """Coloured rows, badges and notices appear only in some states (an overdue share, a publicised result): the
    demo data has them all."""
    import sqlalchemy as sa

    from agri_insurance.tenders.models import SelectionRound

    rounds = demo_world.session.scalars(sa.select(SelectionRound.id)).all()
    visits = {
        None: ["/awards/public", *(f"/awards/public/{r}" for r in rounds)],
        "city_agri": ["/", "/subsidies/claims", "/subsidies/overdue", "/subsidies/ledger", "/subsidies/overview",
                      *(f"/tenders/{r}" for r in rounds), *(f"/awards/rounds/{r}" for r in rounds),
                      *(f"/evaluation/rounds/{r}" for r in rounds), *(f"/allocation/rounds/{r}" for r in rounds),
                      "/annual-review/2024", "/annual-review/complaints"],
        "county_agri": ["/", "/subsidies/claims", "/subsidies/overdue"],
        "county_finance": ["/", "/subsidies/overdue", "/subsidies/payment-list"],
        "city_finance": ["/", "/subsidies/overdue", "/subsidies/ledger"],
        "insurer": ["/", "/subsidies/claims", "/bids/", "/awards/"],
        "expert": ["/", "/evaluation/"],
    }
    axe, found = Axe(), []
    for role, urls in visits.items():
        context = browser.new_context(base_url=live_server, locale="zh-CN")
        page = context.new_page()
        if role:
            log_in(page, role)
        for url in urls:
            response = page.goto(url)
            if response.status != 200:
                continue  # e.g. a round's evaluation before its bids are opened
            for violation in axe.run(page, options=WCAG).response["violations"]:
                targets = [" ".join(node["target"]) for node in violation["nodes"]][:3]
                found.append(f"{role or 'anonymous'} {url}: {violation['id']} ({len(violation['nodes'])}) {targets}")
        context.close()
    assert not found, "\n".join(found)
