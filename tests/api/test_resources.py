"""The API's resources keep the pages' rules: the organisation scope (another one's id → 404), the seal on bids
before their opening, the same refusals in the same words as problem details, cursor paging and the change
feed, idempotent writes (a retried payment or submission writes once) and the token's name in the audit log."""

import tempfile
import threading
from decimal import Decimal
from pathlib import Path

import pytest
import sqlalchemy as sa

from agri_insurance.audit.models import AuditEntry
from agri_insurance.jobs import service as jobs
from agri_insurance.subsidies.models import Payment, ShareLevel, SubsidyClaim
from tests.api.conftest import bearer
from tests.factories import county
from tests.subsidies.factories import assign, make_claim
from tests.underwriting.conftest import claim_for
from tests.underwriting.factories import rows, write_xlsx


@pytest.fixture
def world(demo, db):
    assign()
    assign(county_code="361130")
    db.session.commit()
    return db


def other_insurer_user(tokens) -> str:
    """A token of a user of another insurer than the demo insurer's."""
    from agri_insurance.auth.models import Role
    from agri_insurance.extensions import db
    from agri_insurance.reference.models import Insurer
    from tests.factories import make_user
    from tests.subsidies.factories import demo_insurer

    other = db.session.scalar(sa.select(Insurer).where(Insurer.id != demo_insurer().id).limit(1))
    make_user("other_insurer", Role.INSURER, insurer=other)
    return tokens("other_insurer")


def api(app, secret, method, url, **kwargs):
    headers = bearer(secret, **kwargs.pop("headers", {}))
    return app.test_client().open(url, method=method, headers=headers, **kwargs)


def test_another_organisations_claim_is_not_found(app, world, tokens, db):
    mine = make_claim(status="submitted")
    other_county = make_claim(status="submitted", county_code="361130")
    county_agri = tokens("county_agri")
    assert api(app, county_agri, "GET", f"/api/v1/subsidies/claims/{mine.id}").status_code == 200
    response = api(app, county_agri, "GET", f"/api/v1/subsidies/claims/{other_county.id}")
    assert response.status_code == 404 and response.mimetype == "application/problem+json"
    listed = api(app, county_agri, "GET", "/api/v1/subsidies/claims").get_json()
    assert [c["id"] for c in listed["items"]] == [mine.id]
    # nor can it act on it: the same 404 before any rule is checked
    refused = api(app, county_agri, "POST", f"/api/v1/subsidies/claims/{other_county.id}/verify",
                  json={"opinion": "同意"})
    assert refused.status_code == 404
    # another insurer sees neither
    insurer2 = other_insurer_user(tokens)
    assert api(app, insurer2, "GET", f"/api/v1/subsidies/claims/{mine.id}").status_code == 404
    assert api(app, insurer2, "GET", "/api/v1/subsidies/claims").get_json()["items"] == []


def test_a_bid_is_sealed_until_its_round_is_opened(app, demo, tokens, db):
    from tests.tenders.factories import make_bid, make_round

    rnd = make_round(publish=True)
    bid = make_bid(rnd)
    for username in ("insurer", "city_agri"):
        secret = tokens(username, f"{username} before")
        assert api(app, secret, "GET", f"/api/v1/bids/{bid.id}").status_code == 404, username
        assert api(app, secret, "GET", "/api/v1/bids").get_json()["items"] == [], username


def test_an_opened_bid_is_read_by_its_insurer_and_the_city_bureau_only(app, demo, tokens, db):
    from tests.tenders.factories import make_opened_round_with_bid

    _rnd, bid = make_opened_round_with_bid()
    other = other_insurer_user(tokens)
    for username, status in (("insurer", 200), ("city_agri", 200), ("other_insurer", 404)):
        secret = other if username == "other_insurer" else tokens(username)
        assert api(app, secret, "GET", f"/api/v1/bids/{bid.id}").status_code == status, username


def test_refusals_are_the_pages_words_naming_the_field(app, world, tokens, db):
    secret = tokens("insurer")
    bad = {"region_id": county("361128").id, "product_id": 1, "year": 2026, "period": "全年", "quantity": "0",
           "unit": "亩", "sum_insured": "100", "premium_rate": "5", "total_premium": "5", "farmer_premium": "1", "households": 1, "list_rows": 1}
    response = api(app, secret, "POST", "/api/v1/subsidies/claims", json=bad)
    body = response.get_json()
    assert response.status_code == 422 and response.mimetype == "application/problem+json"
    assert body["errors"][0]["field"] == "quantity" and body["detail"] == body["errors"][0]["message"]
    # a form's own field message (the page's required-field check)
    missing = api(app, secret, "POST", "/api/v1/subsidies/claims", json={**bad, "period": None}).get_json()
    assert any(e["field"] == "period" for e in missing["errors"])
    # and English on request
    english = api(app, secret, "POST", "/api/v1/subsidies/claims", json=bad, headers={"Accept-Language": "en"})
    assert english.get_json()["detail"] != body["detail"]
    assert db.session.scalar(sa.select(sa.func.count(SubsidyClaim.id))) == 0


def test_lists_are_paged_with_a_cursor_and_the_change_feed_follows_modification(app, world, tokens, db):
    claims = [make_claim(period=f"第{n}期") for n in range(5)]
    secret = tokens("insurer")
    first = api(app, secret, "GET", "/api/v1/subsidies/claims?limit=2").get_json()
    second = api(app, secret, "GET", f"/api/v1/subsidies/claims?limit=2&cursor={first['next']}").get_json()
    third = api(app, secret, "GET", f"/api/v1/subsidies/claims?limit=2&cursor={second['next']}").get_json()
    assert [c["id"] for c in first["items"] + second["items"] + third["items"]] == [c.id for c in claims]
    assert third["next"] is None
    bad = api(app, secret, "GET", "/api/v1/subsidies/claims?cursor=%%%")
    assert bad.status_code == 400 and bad.get_json()["errors"][0]["field"] == "cursor"

    feed = api(app, secret, "GET", "/api/v1/subsidies/claims/changes?limit=10").get_json()
    assert len(feed["items"]) == 5
    again = api(app, secret, "GET", f"/api/v1/subsidies/claims/changes?since={feed['next']}").get_json()
    assert again["items"] == []
    # a change moves the claim to the feed's end
    from datetime import timedelta

    import time_machine

    from agri_insurance.clock import utcnow

    with time_machine.travel(utcnow() + timedelta(minutes=5), tick=False):
        from agri_insurance.subsidies import service
        from tests.subsidies.factories import user

        claims[1] = db.session.get(SubsidyClaim, claims[1].id)
        service.delete_draft(claims[2], user("insurer"))
        claims[1].notes = "改"
        db.session.commit()
    changed = api(app, secret, "GET", f"/api/v1/subsidies/claims/changes?since={feed['next']}").get_json()
    assert [c["id"] for c in changed["items"]] == [claims[1].id]


def _upload(app, secret, claim_id, data, key=None):
    with tempfile.TemporaryDirectory() as folder:
        path = write_xlsx(Path(folder) / "清单.xlsx", data)
        with path.open("rb") as fh:
            headers = {"Idempotency-Key": key} if key else {}
            return api(app, secret, "POST", f"/api/v1/subsidies/claims/{claim_id}/list",
                       data={"file": (fh, "清单.xlsx")}, content_type="multipart/form-data", headers=headers)


def test_an_uploaded_list_runs_the_same_job_whose_errors_name_their_rows(app, world, tokens, db):
    data = rows(20)
    claim = claim_for(data)
    secret = tokens("insurer")
    broken = [list(r) for r in data]
    broken[3][1] = "123"   # an ID number that is none
    response = _upload(app, secret, claim.id, broken)
    assert response.status_code == 202
    job = jobs.wait(response.get_json()["id"], timeout=30)
    assert job.status.value == "failed"
    answer = api(app, secret, "GET", f"/api/v1/jobs/{job.id}").get_json()
    assert answer["status"] == "failed" and answer["errors"]
    assert answer["errors"][0]["row"] == 5 and answer["error_report"].endswith("errors.xlsx")
    good = _upload(app, secret, claim.id, data)
    assert jobs.wait(good.get_json()["id"], timeout=30).status.value == "done"
    done = api(app, secret, "GET", f"/api/v1/jobs/{good.get_json()['id']}").get_json()
    assert done["status"] == "done" and done["progress"] == 100


def test_a_retried_submission_returns_the_first_answer_and_submits_once(app, world, tokens, db):
    data = rows(10)
    claim = claim_for(data)
    secret = tokens("insurer", "核心系统")
    assert jobs.wait(_upload(app, secret, claim.id, data).get_json()["id"], timeout=30).status.value == "done"
    headers = {"Idempotency-Key": "submit-1"}
    first = api(app, secret, "POST", f"/api/v1/subsidies/claims/{claim.id}/submit", headers=headers)
    assert first.status_code == 200 and first.get_json()["status"] == "submitted"
    retry = api(app, secret, "POST", f"/api/v1/subsidies/claims/{claim.id}/submit", headers=headers)
    assert retry.status_code == 200 and retry.get_json() == first.get_json()
    assert retry.headers["Idempotent-Replayed"] == "true"
    # without the key the second submission is refused by the service, in its words
    again = api(app, secret, "POST", f"/api/v1/subsidies/claims/{claim.id}/submit")
    assert again.status_code == 422 and again.get_json()["detail"] == "只有草稿可以提交"
    entries = db.session.scalars(sa.select(AuditEntry).where(AuditEntry.action == "claim.submitted")).all()
    assert len(entries) == 1 and entries[0].details["api_token"] == "核心系统"
    # the same key on another request is refused
    another = make_claim(period="另一期")
    other = api(app, secret, "POST", f"/api/v1/subsidies/claims/{another.id}/submit", headers=headers)
    assert other.status_code == 422 and other.get_json()["errors"][0]["field"] == "Idempotency-Key"


def _pay(app, secret, claim_id, key, voucher="PZ-001", amount="100.00"):
    return api(app, secret, "POST", f"/api/v1/subsidies/claims/{claim_id}/payments",
               json={"level": "county", "amount": amount, "paid_on": "2026-12-01", "voucher_no": voucher},
               headers={"Idempotency-Key": key} if key else {})


def test_a_retried_payment_pays_once(app, world, tokens, db):
    claim = make_claim(status="verified")
    secret = tokens("county_finance", "财政系统")
    first = _pay(app, secret, claim.id, "pay-1")
    assert first.status_code == 201
    retry = _pay(app, secret, claim.id, "pay-1")
    assert retry.status_code == 201 and retry.get_json() == first.get_json()
    assert db.session.scalar(sa.select(sa.func.count(Payment.id))) == 1
    entry = db.session.scalar(sa.select(AuditEntry).where(AuditEntry.action == "payment.confirmed"))
    assert entry.details["api_token"] == "财政系统" and entry.details["voucher_no"] == "PZ-001"
    # a refusal stores no key: the corrected retry with the same key is tried afresh
    too_much = _pay(app, secret, claim.id, "pay-2", voucher="PZ-002", amount="99999999.00")
    assert too_much.status_code == 422 and too_much.get_json()["errors"][0]["field"] == "amount"
    assert _pay(app, secret, claim.id, "pay-2", voucher="PZ-002").status_code == 201
    assert db.session.scalar(sa.select(sa.func.count(Payment.id))) == 2


def test_concurrent_retries_of_a_payment_pay_once(app, world, tokens, db):
    if db.engine.dialect.name != "postgresql":
        pytest.skip("row locks and a waiting unique index: PostgreSQL")
    claim_id = make_claim(status="verified").id
    secret = tokens("county_finance")
    answers = []

    def send():
        answers.append(_pay(app, secret, claim_id, "same-key"))

    threads = [threading.Thread(target=send) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert [a.status_code for a in answers] == [201] * 4
    assert len({a.get_json()["id"] for a in answers}) == 1
    db.session.expire_all()
    assert db.session.scalar(sa.select(sa.func.count(Payment.id))) == 1
    assert db.session.get(SubsidyClaim, claim_id).share(ShareLevel.COUNTY).paid == Decimal("100.00")


def test_public_rounds_and_results_need_no_token_but_drafts_stay_hidden(app, demo, db):
    from tests.tenders.factories import make_round

    draft = make_round()
    client = app.test_client()
    assert client.get(f"/api/v1/tenders/rounds/{draft.id}").status_code == 404
    assert client.get(f"/api/v1/tenders/rounds/{draft.id}/results").status_code == 404
    assert draft.id not in [r["id"] for r in client.get("/api/v1/tenders/rounds").get_json()["items"]]


def test_a_rounds_ocds_release_package_is_the_awards_pages_export(app, demo, tokens, db):
    from agri_insurance.awards import ocds
    from tests.test_access import fill_url

    url = fill_url("/api/v1/tenders/rounds/{award_round}/ocds", db)   # a finalised round, as the access table's
    round_id = int(url.split("/")[-2])
    response = api(app, tokens("city_agri"), "GET", url)
    assert response.status_code == 200
    package = response.get_json()
    assert package["releases"] and not ocds.validation_errors(package)
    assert api(app, tokens("insurer"), "GET", f"/api/v1/tenders/rounds/{round_id}/ocds").status_code == 403
    # the public result of the same round, without a token
    public = app.test_client().get(f"/api/v1/tenders/rounds/{round_id}/results").get_json()
    assert public["round"]["id"] == round_id and public["counties"][0]["awards"]
