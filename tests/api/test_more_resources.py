"""The API's ledgers, budgets, awards and backups within scope, the filters of its lists, a claim returned by a county
system and one created from its underwriting list by an insurer's, a retried submission arriving twice at once, and
the rate limit's counts shared through Redis."""

import tempfile
import threading
from pathlib import Path

import pytest
import sqlalchemy as sa

from agri_insurance.audit.models import AuditEntry
from agri_insurance.jobs import service as jobs
from agri_insurance.subsidies import service
from agri_insurance.subsidies.models import ClaimStatus, ShareLevel, SubsidyClaim
from tests.api.conftest import bearer
from tests.api.test_resources import api
from tests.factories import county
from tests.subsidies.factories import assign, make_claim, user
from tests.underwriting.conftest import claim_for
from tests.underwriting.factories import rows, write_xlsx


@pytest.fixture
def world(demo, db):
    assign()
    assign(county_code="361130")
    db.session.commit()
    return db


def test_the_ledger_and_budgets_within_scope_with_the_pages_filters(app, world, tokens, db):
    make_claim(status="verified", premium="100000.00", year=2026, period="早稻")         # 361128: 80,000 due
    make_claim(status="submitted", premium="50000.00", year=2026, period="晚稻")          # 40,000 due
    make_claim(status="draft", premium="70000.00", year=2026, period="草稿")              # not in a ledger
    make_claim(status="verified", premium="10000.00", year=2026, period="早稻", county_code="361130")
    claim = db.session.scalar(sa.select(SubsidyClaim).where(SubsidyClaim.period == "早稻",
                                                            SubsidyClaim.region_id == county().id))
    service.confirm_payment(claim, ShareLevel.COUNTY, service.ZERO + 5000, claim.verified_at.date(), "KF-1",
                            user("county_finance"))
    db.session.commit()
    city_secret = tokens("city_finance")
    city = api(app, city_secret, "GET", "/api/v1/subsidies/ledger?year=2026").get_json()
    assert city["totals"] == {"claims": 3, "premium": "160000.00", "due": "128000.00", "paid": "5000.00",
                              "outstanding": "123000.00"}
    one = api(app, tokens("city_agri"), "GET",
              f"/api/v1/subsidies/ledger?year=2026&region_id={county().id}&status=paying").get_json()
    assert [(line["claim_id"], line["due"], line["paid"], line["outstanding"]) for line in one["items"]] == \
        [(claim.id, "80000.00", "5000.00", "75000.00")]
    # a county's system reads its county only, whatever it asks for
    county_secret = tokens("county_finance")
    own = api(app, county_secret, "GET", "/api/v1/subsidies/ledger?year=2026").get_json()
    assert own["totals"]["claims"] == 2
    other = api(app, county_secret, "GET", f"/api/v1/subsidies/ledger?year=2026&region_id={county('361130').id}")
    assert other.get_json()["totals"]["claims"] == 0
    text = api(app, city_secret, "GET", "/api/v1/subsidies/claims?q=晚稻").get_json()
    assert [c["period"] for c in text["items"]] == ["晚稻"]
    payments = api(app, city_secret, "GET", "/api/v1/subsidies/payments?level=city").get_json()
    assert payments["items"] == []
    assert len(api(app, city_secret, "GET",
                   "/api/v1/subsidies/payments?level=county&year=2026").get_json()["items"]) == 1
    budgets = api(app, county_secret, "GET", "/api/v1/subsidies/budgets?year=2026").get_json()["items"]
    assert [(b["region_code"], b["level"], b["committed_unpaid"], b["paid"]) for b in budgets] == \
        [("361128", "county", "0.00", "5000.00")]
    city_budgets = api(app, city_secret, "GET", "/api/v1/subsidies/budgets?year=2026").get_json()
    assert len(city_budgets["items"]) > 2 and city_budgets["items"][0]["level"] == "city"


def test_awards_and_backups_once_published_filtered_by_round_and_county(app, demo, tokens, db):
    from tests.awards.factories import make_finalised_round

    round_id = make_finalised_round().id
    insurer = tokens("insurer")
    awards = api(app, insurer, "GET", f"/api/v1/awards?round_id={round_id}").get_json()["items"]
    assert awards and {a["round_id"] for a in awards} == {round_id}
    region_code = awards[0]["region_code"]
    region_id = county(region_code).id
    in_county = api(app, insurer, "GET", f"/api/v1/awards?region_id={region_id}").get_json()["items"]
    assert in_county and {a["region_code"] for a in in_county} == {region_code}
    assert api(app, insurer, "GET", f"/api/v1/awards/{awards[0]['id']}").get_json()["id"] == awards[0]["id"]
    backups = api(app, insurer, "GET", f"/api/v1/awards/backups?round_id={round_id}").get_json()["items"]
    assert all(b["round_id"] == round_id and b["rank"] >= 1 for b in backups)
    assert api(app, insurer, "GET", "/api/v1/awards?round_id=999999").get_json()["items"] == []


def test_a_county_system_returns_a_claim_with_its_reason(app, world, tokens, db):
    claim = make_claim(status="submitted")
    other = make_claim(status="submitted", county_code="361130", period="另一县")
    secret = tokens("county_agri", "县级系统")
    missing = api(app, secret, "POST", f"/api/v1/subsidies/claims/{claim.id}/return", json={})
    assert missing.status_code == 422 and missing.get_json()["errors"][0]["field"] == "reason"
    assert api(app, secret, "POST", f"/api/v1/subsidies/claims/{other.id}/return",
               json={"reason": "清单不符"}).status_code == 404
    answer = api(app, secret, "POST", f"/api/v1/subsidies/claims/{claim.id}/return", json={"reason": "清单不符"})
    assert answer.status_code == 200
    assert (answer.get_json()["status"], answer.get_json()["returned_reason"]) == ("returned", "清单不符")
    entry = db.session.scalar(sa.select(AuditEntry).where(AuditEntry.action == "claim.returned"))
    assert entry.details["api_token"] == "县级系统"
    again = api(app, secret, "POST", f"/api/v1/subsidies/claims/{claim.id}/return", json={"reason": "再退"})
    assert again.status_code == 422


def _from_list(app, secret, data, **fields):
    with tempfile.TemporaryDirectory() as folder:
        path = write_xlsx(Path(folder) / "清单.xlsx", data)
        with path.open("rb") as fh:
            return api(app, secret, "POST", "/api/v1/subsidies/claims/from-list",
                       data={**fields, "file": (fh, "清单.xlsx")}, content_type="multipart/form-data")


def test_an_insurers_system_creates_a_claim_from_its_list_through_the_same_job(app, world, tokens, db):
    data = rows(10)
    template = claim_for(data)   # the list's county, product and rate (a draft of its own: another period)
    fields = {"region_id": template.region_id, "product_id": template.product_id, "year": template.year,
              "period": "API清单", "premium_rate": str(template.premium_rate)}
    secret = tokens("insurer")
    refused = _from_list(app, secret, data, **{**fields, "period": ""})
    assert refused.status_code == 422 and refused.get_json()["errors"][0]["field"] == "period"
    started = _from_list(app, secret, data, **fields)
    assert started.status_code == 202, started.get_json()
    job = jobs.wait(started.get_json()["id"], timeout=30)
    assert job.status.value == "done", job.error
    created = db.session.scalar(sa.select(SubsidyClaim).where(SubsidyClaim.period == "API清单"))
    assert created.status is ClaimStatus.DRAFT and created.list_rows == 10
    assert created.total_premium == template.total_premium


def test_a_retried_submission_arriving_twice_at_once_submits_once(app, world, tokens, db, monkeypatch):
    if db.engine.dialect.name != "postgresql":
        pytest.skip("a waiting unique index: PostgreSQL")
    data = rows(10)
    claim = claim_for(data)
    claim_id = claim.id
    secret = tokens("insurer")
    assert jobs.wait(_upload_list(app, secret, claim_id, data).get_json()["id"], timeout=30).status.value == "done"
    submitted, hold = threading.Event(), threading.Event()
    real_submit = service.submit_claim

    def slow_submit(*args, **kwargs):   # the first request keeps its transaction (and its key) open
        real_submit(*args, **kwargs)
        submitted.set()
        hold.wait(timeout=10)

    monkeypatch.setattr(service, "submit_claim", slow_submit)
    answers: dict[str, object] = {}

    def send(name):
        answers[name] = api(app, secret, "POST", f"/api/v1/subsidies/claims/{claim_id}/submit",
                            headers={"Idempotency-Key": "twice"})

    first = threading.Thread(target=send, args=("first",))
    first.start()
    assert submitted.wait(timeout=10)
    second = threading.Thread(target=send, args=("second",))
    second.start()
    second.join(timeout=1.0)
    assert second.is_alive(), "the retry did not wait for the first request's key"
    hold.set()
    first.join(timeout=10)
    second.join(timeout=10)
    assert answers["first"].status_code == answers["second"].status_code == 200
    assert answers["second"].get_json() == answers["first"].get_json()
    assert answers["second"].headers["Idempotent-Replayed"] == "true"
    db.session.expire_all()
    assert db.session.scalar(sa.select(sa.func.count(AuditEntry.id)).where(
        AuditEntry.action == "claim.submitted")) == 1


def _upload_list(app, secret, claim_id, data):
    with tempfile.TemporaryDirectory() as folder:
        path = write_xlsx(Path(folder) / "清单.xlsx", data)
        with path.open("rb") as fh:
            return api(app, secret, "POST", f"/api/v1/subsidies/claims/{claim_id}/list",
                       data={"file": (fh, "清单.xlsx")}, content_type="multipart/form-data")


REDIS = "redis://127.0.0.1:6379/15"


def _redis_available() -> bool:
    try:
        import redis

        return bool(redis.Redis.from_url(REDIS, socket_connect_timeout=0.5).ping())
    except Exception:   # noqa: BLE001 - any failure to reach it: skip
        return False


def test_with_redis_url_the_rate_limit_counts_in_redis(app, tokens, db):
    """REDIS_URL set: the limiter's storage is Redis (the count every web process shares), so the count is there for
    another process to read, and the fourth request of three a minute is refused."""
    if not _redis_available():
        pytest.skip("no Redis at 127.0.0.1:6379")
    import redis

    from agri_insurance import create_app
    from agri_insurance.api import limiter
    from agri_insurance.config import TestingConfig

    store = redis.Redis.from_url(REDIS)
    store.flushdb()
    secret = tokens("insurer")
    config = TestingConfig(app.config["SQLALCHEMY_DATABASE_URI"], app.instance_path)
    config.REDIS_URL = REDIS
    config.API_RATE_LIMIT = "3 per minute"
    # the limiter is one object for every application of the process: the test's own application gets its
    # storage back afterwards
    saved = limiter._storage, limiter._limiter
    try:
        with_redis = create_app(config)
        assert with_redis.config["RATELIMIT_STORAGE_URI"] == REDIS
        assert type(limiter._storage).__name__ == "RedisStorage"
        client = with_redis.test_client()
        codes = [client.get("/api/v1/reference/products", headers=bearer(secret)).status_code for _ in range(4)]
        assert codes == [200, 200, 200, 429]
        counted = [key for key in store.scan_iter() if b"token:" in key]
        assert counted and int(store.get(counted[0])) >= 3
    finally:
        limiter._storage, limiter._limiter = saved
        store.flushdb()


def test_funds_advances_and_settlements_within_scope(app, world, tokens, db, other_insurer):
    from datetime import date
    from decimal import Decimal

    from agri_insurance.subsidies import funds
    from tests.subsidies.factories import money_objects

    money_objects()   # the demo insurer's advances of 2025 and 2026 in the demo county, 2025 closed
    funds.record_allocation({"year": 2026, "level": "provincial", "to_region_id": county("361130").id,
                             "document_no": "赣财金〔2026〕1号", "issued_on": date(2026, 3, 1),
                             "amount": Decimal("1234.56")}, user("city_finance"))
    db.session.commit()
    city = api(app, tokens("city_finance"), "GET", "/api/v1/subsidies/funds?year=2026&level=provincial").get_json()
    assert [(f["document_no"], f["amount"], f["from_region_id"]) for f in city["items"]] == \
        [("赣财金〔2026〕1号", "1234.56", None)]
    assert api(app, tokens("county_finance"), "GET", "/api/v1/subsidies/funds").get_json()["items"] == []
    insurer = tokens("insurer")
    own = api(app, insurer, "GET", "/api/v1/subsidies/advances?year=2026").get_json()["items"]
    assert [(a["amount"], a["drawn"], a["undrawn"]) for a in own] == [("1000.00", "0.00", "1000.00")]
    settlement = api(app, insurer, "GET", "/api/v1/subsidies/settlements?year=2025&level=county").get_json()
    assert [(s["advanced"], s["balance"], s["status"]) for s in settlement["items"]] == \
        [("1000.00", "-1000.00", "awaiting")]
    assert api(app, other_insurer, "GET", "/api/v1/subsidies/advances").get_json()["items"] == []
    assert api(app, other_insurer, "GET", "/api/v1/subsidies/settlements").get_json()["items"] == []


@pytest.fixture
def other_insurer(tokens):
    from tests.api.test_resources import other_insurer_user

    return other_insurer_user(tokens)
