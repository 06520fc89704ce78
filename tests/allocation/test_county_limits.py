"""Adoption holds every county to the round's maximum number of underwriters (or its approved exception's) as
the round stands at adoption, whatever the run was computed from."""


import pytest
import sqlalchemy as sa

from agri_insurance.allocation import service
from agri_insurance.allocation.models import AllocationRun
from agri_insurance.awards.models import Award
from agri_insurance.errors import DomainError
from agri_insurance.extensions import db as _db
from agri_insurance.tenders import service as tenders
from tests.allocation.factories import finished_run
from tests.tenders.factories import make_exception, user


def _imported_run(rnd, insurers, spread: str) -> AllocationRun:
    """A finished run as an imported scenario file would leave it: 鄱阳县's four lots go to `spread` insurers
    (one lot each, the rest to the first), 婺源县's to the first two."""
    awards = {}
    for lot in sorted(rnd.lots, key=lambda lot: lot.code):
        n = int(lot.code[-1]) - 1
        if lot.region.code == "361128":
            awards[lot.code] = insurers[n if n < int(spread) else 0]
        else:
            awards[lot.code] = insurers[n % 2]
    return finished_run(rnd, awards)


def _awards() -> int:
    return _db.session.scalar(sa.select(sa.func.count(Award.id)))


def test_an_imported_run_giving_an_ordinary_county_four_insurers_is_refused(wide_round, db):
    rnd = wide_round.round
    run = _imported_run(rnd, wide_round.insurers, "4")
    assert service.adoption_problem(run) == "鄱阳县 有 4 家承保机构，本轮要求 2–3 家"
    with pytest.raises(DomainError, match="本轮要求 2–3 家"):
        service.adopt(run, user("city_agri"))
    db.session.rollback()
    assert not db.session.get(AllocationRun, run.id).adopted and _awards() == 0


def test_three_insurers_the_rounds_maximum_are_adopted(wide_round, db):
    run = _imported_run(wide_round.round, wide_round.insurers, "3")
    assert service.adoption_problem(run) is None
    service.adopt(run, user("city_agri"))
    db.session.commit()
    assert _awards() == 8


def test_a_run_computed_under_a_county_exception_deleted_before_adoption_is_refused(wide_round, db):
    rnd = wide_round.round
    exception = make_exception(rnd, "361128", 4)
    run = _imported_run(rnd, wide_round.insurers, "4")
    assert service.adoption_problem(run) is None  # the exception allows 鄱阳县 four insurers
    tenders.delete_exception(exception, user("city_agri"))
    db.session.commit()
    db.session.expire_all()
    run = db.session.get(AllocationRun, run.id)
    with pytest.raises(DomainError, match="鄱阳县 有 4 家承保机构，本轮要求 2–3 家"):
        service.adopt(run, user("city_agri"))
    db.session.rollback()
    assert _awards() == 0


def test_a_county_with_an_exception_but_no_lot_has_its_limit_too(demo, db):
    """county_limits covers the round's counties and any county given an exception, even one without a lot yet."""
    from tests.tenders.factories import make_round, region

    rnd = make_round(actor=user("city_agri"))                          # lots in 鄱阳县 and 婺源县 only
    make_exception(rnd, "361127", 4)                                   # 余干县
    limits = tenders.county_limits(rnd)
    assert [limit.region.code for limit in limits.values()] == ["361127", "361128", "361130"]
    yugan = limits[region("361127").id]
    assert (yugan.min_insurers, yugan.max_insurers, yugan.exception.approval_doc_no) == (2, 4, "赣农险组〔2025〕3号")
    assert limits[region("361128").id].max_insurers == 3 and limits[region("361128").id].exception is None


def test_counties_are_listed_by_code_whatever_order_they_were_created_in(demo, db):
    """A county created after the others (so with a higher id) but with a lower code comes first."""
    from agri_insurance.reference.models import Region, RegionLevel
    from tests.tenders.factories import make_round, region

    newer = Region(code="361101", name="新设县", level=RegionLevel.COUNTY, parent_id=region("361128").parent_id)
    db.session.add(newer)
    db.session.commit()
    assert newer.id > region("361128").id
    rnd = make_round(actor=user("city_agri"))
    make_exception(rnd, "361101", 4)
    assert [limit.region.code for limit in tenders.county_limits(rnd).values()] == ["361101", "361128", "361130"]
