"""docs/api.md's journey script, run as it is written there against the app served on a local port: a claim
created, its list uploaded and imported, submitted, verified and paid through the API, with the tokens made as a
user makes them (on the token page)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import sqlalchemy as sa

from agri_insurance.audit.models import AuditEntry
from agri_insurance.subsidies.models import ClaimStatus, Payment, SubsidyClaim
from tests.factories import county
from tests.subsidies.factories import assign, product
from tests.underwriting.factories import rows, totals, write_xlsx

ROOT = Path(__file__).resolve().parents[2]


def journey_script() -> str:
    text = (ROOT / "docs" / "api.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```python\n(.*?)```", text, flags=re.S)
    assert len(blocks) == 1, "docs/api.md holds one Python journey"
    return blocks[0]


def token_from_page(app, username: str) -> str:
    client = app.test_client()
    assert client.post("/login", data={"username": username, "password": "demo1234"}).status_code == 302
    page = client.post("/account/tokens", data={"name": "journey"}).get_data(as_text=True)
    return re.search(r'<code id="new-token"[^>]*>([^<]+)</code>', page).group(1)


def test_the_documented_journey_runs_against_a_live_server(app, live_server, db, tmp_path):
    assign()
    db.session.commit()
    data = rows(30)
    t = totals(data)
    fields = {"region_id": county("361128").id, "product_id": product("rice").id, "year": 2026,
              "period": "2026年第一季度", "quantity": str(t["quantity"]), "unit": "亩",
              "sum_insured": str(t["sum_insured"]), "premium_rate": "5", "total_premium": str(t["premium"]),
              "farmer_premium": str(t["farmer"]), "households": t["households"], "list_rows": t["rows"]}
    (tmp_path / "claim.json").write_text(json.dumps(fields, ensure_ascii=False), encoding="utf-8")
    write_xlsx(tmp_path / "list.xlsx", data)
    (tmp_path / "journey.py").write_text(journey_script(), encoding="utf-8")
    env = {**os.environ, "AGRI_URL": live_server, "CLAIM_JSON": str(tmp_path / "claim.json"),
           "LIST_FILE": str(tmp_path / "list.xlsx"), "INSURER_TOKEN": token_from_page(app, "insurer"),
           "COUNTY_TOKEN": token_from_page(app, "county_agri"),
           "FINANCE_TOKEN": token_from_page(app, "county_finance")}
    done = subprocess.run([sys.executable, str(tmp_path / "journey.py")], env=env, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "paid" in done.stdout

    db.session.expire_all()
    claim = db.session.scalar(sa.select(SubsidyClaim))
    assert claim.status is ClaimStatus.PAYING and claim.list_rows == 30
    assert claim.verification_opinion == "经核验，承保清单与申请一致，同意拨付。"
    assert db.session.scalar(sa.select(sa.func.count(Payment.id))) == 1
    tokens = db.session.scalars(sa.select(AuditEntry.details["api_token"].as_string()).where(
        AuditEntry.action.in_(("claim.created", "claim.submitted", "claim.verified", "payment.confirmed")))).all()
    assert tokens == ["journey"] * 4
