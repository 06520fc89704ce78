"""Settings, read from environment variables.

DATABASE_URL  SQLAlchemy URL; default: an SQLite file under instance/.
SECRET_KEY    signing key; when unset, generated once into instance/secret_key (never committed).
REDIS_URL     optional; when set, long jobs run on RQ workers instead of in-process.
PREFERRED_URL_SCHEME  "https" for a deployment served over TLS: session cookies are then Secure (override with
              SESSION_COOKIE_SECURE=0/1), links built outside a request use https, and pages send HSTS.
TRUSTED_PROXIES  how many reverse proxies (nginx) stand in front: their X-Forwarded-For/-Proto/-Host are believed
              (0, the default: none are).
HSTS_MAX_AGE  seconds browsers keep to HTTPS once told (Strict-Transport-Security, on HTTPS requests only).
ISSUING_BODY  the unit that publishes the selection result and issues the notices.
NOTICE_NUMBER_PREFIX  the prefix of the notices' document numbers (饶农险遴 → 饶农险遴〔2026〕3号).
SESSION_IDLE_MINUTES  a session unused this long ends (default 30).
SESSION_MAX_HOURS     a session ends this long after its login, used or not (default 12).
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from agri_insurance.clock import LOCAL_TZ

PROJECT_ROOT = Path(__file__).resolve().parent.parent
INSTANCE_DIR = Path(os.environ.get("AGRI_INSTANCE_DIR", PROJECT_ROOT / "instance"))
DEFAULT_ISSUING_BODY = "上饶市农业农村局"
DEFAULT_NOTICE_NUMBER_PREFIX = "饶农险遴"


def _secret_key() -> str:
    key = os.environ.get("SECRET_KEY")
    if key:
        return key
    INSTANCE_DIR.mkdir(parents=True, exist_ok=True)
    path = INSTANCE_DIR / "secret_key"
    if not path.exists():
        # Written once with owner-only permissions so restarts keep sessions valid.
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(secrets.token_hex(32))
    return path.read_text().strip()


def _flag(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None or not value.strip():
        return default
    return value.strip().lower() in ("1", "true", "yes", "on")


def normalise_database_url(url: str) -> str:
    """Let users write postgresql://… and still get the psycopg 3 driver."""
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://"):]
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://"):]
    return url


def parse_factors(text: str) -> dict[str, str]:
    """ "excellent=1.1,fail=0.8" → {"excellent": "1.1", "fail": "0.8"} (grade → capacity factor)."""
    pairs = [part.split("=", 1) for part in text.split(",") if "=" in part]
    return {k.strip(): v.strip() for k, v in pairs}


class Config:
    SQLALCHEMY_ENGINE_OPTIONS = {"pool_pre_ping": True}
    BABEL_DEFAULT_LOCALE = "zh_CN"
    BABEL_DEFAULT_TIMEZONE = LOCAL_TZ.key  # pages show times as the clock counts them
    LANGUAGES = ("zh_CN", "en")
    WTF_CSRF_TIME_LIMIT = None
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    MAX_CONTENT_LENGTH = 64 * 1024 * 1024
    # Login throttling: this many consecutive failures lock the account for LOCKOUT_MINUTES.
    LOGIN_MAX_FAILURES = 5
    LOCKOUT_MINUTES = 15
    PASSWORD_HASH_METHOD = "scrypt"
    TESTING = False
    # An advance (预拨) defaults to this percentage of the scope's verified shares of the year before (the bureau
    # may type another amount). PMFBY advances 50 % of 80 % of the last season's subsidy; Chinese practice varies.
    ADVANCE_DEFAULT_PCT = "50"
    # Payout-rate checkpoints of a subsidy year (R15): month-days in order (a smaller one is in the next year), the
    # share of the verified subsidy that must be paid by each, and how many days ahead a bureau is warned.
    PAYOUT_CHECKPOINTS = "07-31,10-31,03-31"
    PAYOUT_THRESHOLD_PCT = "90"
    PAYOUT_WARNING_DAYS = 30
    # Optional interest on shares paid late (R15), shown on the overdue list, never paid by the system.
    LATE_INTEREST_ENABLED = os.environ.get("LATE_INTEREST_ENABLED", "") == "1"
    LATE_INTEREST_RATE_PCT = os.environ.get("LATE_INTEREST_RATE_PCT", "12")
    LATE_INTEREST_GRACE_DAYS = int(os.environ.get("LATE_INTEREST_GRACE_DAYS", "90"))

    def __init__(self) -> None:
        self.SECRET_KEY = _secret_key()
        self.SQLALCHEMY_DATABASE_URI = normalise_database_url(
            os.environ.get("DATABASE_URL") or f"sqlite:///{INSTANCE_DIR / 'agri_insurance.sqlite'}"
        )
        self.REDIS_URL = os.environ.get("REDIS_URL") or None
        self.UPLOAD_DIR = str(Path(os.environ.get("UPLOAD_DIR", INSTANCE_DIR / "uploads")))
        # HTTPS deployments (docs/deploy.md): cookies only over TLS, https links, HSTS. `make run` stays on http.
        self.PREFERRED_URL_SCHEME = (os.environ.get("PREFERRED_URL_SCHEME") or "http").strip().lower()
        https = self.PREFERRED_URL_SCHEME == "https"
        self.SESSION_COOKIE_SECURE = _flag("SESSION_COOKIE_SECURE", https)
        self.REMEMBER_COOKIE_SECURE = self.SESSION_COOKIE_SECURE
        self.TRUSTED_PROXIES = int(os.environ.get("TRUSTED_PROXIES", "0"))
        self.HSTS_MAX_AGE = int(os.environ.get("HSTS_MAX_AGE", str(365 * 24 * 3600)))
        # R7: each level's subsidy payment falls due this many days after the county verifies the claim.
        self.PAYMENT_DUE_DAYS = int(os.environ.get("PAYMENT_DUE_DAYS", "30"))
        # An underwriting list with more rows than this is exported by a background job (DESIGN.md: bulk exports
        # run as jobs); a smaller one is written in the request.
        self.DIRECT_EXPORT_ROWS = int(os.environ.get("DIRECT_EXPORT_ROWS", "20000"))
        # The village notices of a list (承保公示) with more rows than this are written by a background job (a PDF
        # takes about a second per 2,500 rows); one village's notice is always written in the request.
        self.DIRECT_NOTICE_ROWS = int(os.environ.get("DIRECT_NOTICE_ROWS", "5000"))
        # A claim payout settled more than this many days after the farmer reported the loss is flagged for the
        # county bureau (理赔清单: settled long after the report).
        self.PAYOUT_SETTLEMENT_DAYS = int(os.environ.get("PAYOUT_SETTLEMENT_DAYS", "60"))
        # The defaults of a new year's evaluation scheme for its consequences (R12, annual_review/service.py; the
        # city changes them per year on the scheme page, frozen with it): this many consecutive 不合格 years in
        # a county (0: never) among the final evaluations of the LOOKBACK years before a round's term exclude the
        # underwriter from that county in the round; the evaluated service level replaces the declared rating in
        # the 服务业绩和评级 criterion (SERVICE_INPUT); a grade may scale the underwriter's premium capacity
        # (CAPACITY_FACTORS, e.g. "excellent=1.1,fail=0.8"; empty: no scaling). An underwriter answers a complaint
        # within COMPLAINT_DEFENCE_WORKING_DAYS working days.
        self.ANNUAL_REVIEW_EXCLUDE_AFTER = int(os.environ.get("ANNUAL_REVIEW_EXCLUDE_AFTER", "2"))
        self.ANNUAL_REVIEW_LOOKBACK_YEARS = int(os.environ.get("ANNUAL_REVIEW_LOOKBACK_YEARS", "3"))
        self.ANNUAL_REVIEW_SERVICE_INPUT = os.environ.get("ANNUAL_REVIEW_SERVICE_INPUT", "1") not in ("0", "")
        self.ANNUAL_REVIEW_CAPACITY_FACTORS = parse_factors(os.environ.get("ANNUAL_REVIEW_CAPACITY_FACTORS", ""))
        self.COMPLAINT_DEFENCE_WORKING_DAYS = int(os.environ.get("COMPLAINT_DEFENCE_WORKING_DAYS", "10"))
        # The unit that publishes the selection result and issues the award notices, and the prefix of the
        # notices' document numbers in its convention: 饶农险遴〔2026〕3号 (prefix, year of finalisation, sequence).
        self.ISSUING_BODY = os.environ.get("ISSUING_BODY") or DEFAULT_ISSUING_BODY
        self.NOTICE_NUMBER_PREFIX = os.environ.get("NOTICE_NUMBER_PREFIX") or DEFAULT_NOTICE_NUMBER_PREFIX
        # GB/T 22239-2019 (level 3) asks that an idle session end: after SESSION_IDLE_MINUTES without a request,
        # and in any case SESSION_MAX_HOURS after the login (auth.views.enforce_session_lifetime)
        self.SESSION_IDLE_MINUTES = int(os.environ.get("SESSION_IDLE_MINUTES", "30"))
        self.SESSION_MAX_HOURS = int(os.environ.get("SESSION_MAX_HOURS", "12"))


class TestingConfig(Config):
    __test__ = False  # not a pytest test class
    TESTING = True
    # A cheap hash keeps the suite fast; production keeps scrypt.
    PASSWORD_HASH_METHOD = "pbkdf2:sha256:1000"
    # Tests build unfinished jobs dated before the app started: the first request must not record them as lost.
    JOBS_REAP_AT_START_UP = False

    def __init__(self, database_url: str, instance_dir: str | None = None) -> None:
        self.SECRET_KEY = "test-secret"
        self.SQLALCHEMY_DATABASE_URI = normalise_database_url(database_url)
        self.REDIS_URL = None
        self.UPLOAD_DIR = str(Path(instance_dir or INSTANCE_DIR) / "uploads")
        self.PREFERRED_URL_SCHEME = "http"
        self.SESSION_COOKIE_SECURE = self.REMEMBER_COOKIE_SECURE = False
        self.TRUSTED_PROXIES = 0
        self.HSTS_MAX_AGE = 365 * 24 * 3600
        self.PAYMENT_DUE_DAYS = 30
        self.DIRECT_EXPORT_ROWS = 20000
        self.DIRECT_NOTICE_ROWS = 5000
        self.PAYOUT_SETTLEMENT_DAYS = 60
        self.ANNUAL_REVIEW_EXCLUDE_AFTER = 2
        self.ANNUAL_REVIEW_LOOKBACK_YEARS = 3
        self.ANNUAL_REVIEW_SERVICE_INPUT = True
        self.ANNUAL_REVIEW_CAPACITY_FACTORS = {}
        self.COMPLAINT_DEFENCE_WORKING_DAYS = 10
        self.ISSUING_BODY = DEFAULT_ISSUING_BODY
        self.NOTICE_NUMBER_PREFIX = DEFAULT_NOTICE_NUMBER_PREFIX
        # tests move the clock by days within one login (a bid deadline passing): sessions do not expire under
        # test unless a test sets these (tests/auth/test_sessions.py sets the production defaults)
        self.SESSION_IDLE_MINUTES = 10 * 365 * 24 * 60
        self.SESSION_MAX_HOURS = 10 * 365 * 24
