"""The measured figures at their edges, per group: two underwriters' lists in one county are two groups, each with
its own percentiles, shares and loss ratio; SQLite's percentiles (computed in Python) equal PostgreSQL's
percentile_cont for every group; who sees which figures. Written from mutmut's survivors of
payouts/service.py:measured (docs/testing.md)."""

from decimal import Decimal as D

from agri_insurance.auth.models import Role
from agri_insurance.payouts import service
from tests.factories import county, make_insurer, make_user
from tests.payouts.factories import import_file, insured, payout, write_csv
from tests.subsidies.factories import assign, user


def _two_underwriters(tmp_path):
    """Ours: report → payment 4, 6, 20 days (one paid 12 days after the agreement), premium 3 × 50.00, paid 150.00;
    the rival: 7 and 30 days, both within 10 days, premium 2 × 50.00, paid 40.00 of one agreed row."""
    rival = make_insurer()
    assign(insurer=rival)
    make_user("rival_ins", Role.INSURER, insurer=rival)
    ours, theirs = insured(tmp_path, count=3), insured(tmp_path, count=2, insurer_username="rival_ins", start=300)
    import_file(write_csv(tmp_path / "ours.csv", [payout(ours[0], 20, 12), payout(ours[1], 4, 1),
                                                  payout(ours[2], 6, 2)]))
    import_file(write_csv(tmp_path / "theirs.csv", [payout(theirs[0], 30, 3, paid="40.00", agreed="40.00"),
                                                    payout(theirs[1], 7, 0)]), insurer_username="rival_ins")
    return user("insurer").insurer_id, rival.id


def test_two_underwriters_in_one_county_have_their_own_figures(world, tmp_path):
    ours, rival = _two_underwriters(tmp_path)
    figures = {m.insurer_id: m for m in service.measured(region_ids=[county().id], years=[2026])}
    assert set(figures) == {ours, rival}
    mine, other = figures[ours], figures[rival]
    assert (mine.settle_median, mine.settle_p90) == (6.0, 17.2)        # 4, 6, 20: 6; 6 + 0.8 × 14
    assert (other.settle_median, other.settle_p90) == (18.5, 27.7)     # 7, 30: 7 + 0.5 × 23; 7 + 0.9 × 23
    assert (mine.claims_paid, mine.premium, mine.loss_ratio) == (D("150.00"), D("150.00"), D("1.0000"))
    assert (other.claims_paid, other.premium, other.loss_ratio) == (D("90.00"), D("100.00"), D("0.9000"))
    assert (mine.paid_within_10, mine.paid_rows, mine.within_10_share) == (2, 3, D("0.6667"))
    assert (other.paid_within_10, other.within_10_share) == (2, D("1.0000"))
    assert (mine.flagged_rows, mine.payout_rows, mine.flagged_share) == (1, 3, D("0.3333"))
    assert other.flagged_share == D("0.0000")


def test_the_python_percentiles_equal_postgresqls_for_every_group(world, tmp_path):
    """On PostgreSQL `measured` asks percentile_cont; SQLite has none and `_percentiles_in_python` walks the rows
    group by group. Run it here on the same rows: the same figures for both groups, and a group without rows
    (only premium) keeps none."""
    ours, rival = _two_underwriters(tmp_path)
    expected = {m.key: (m.settle_median, m.settle_p90) for m in service.measured(years=[2026])}
    region, product = county().id, next(iter(expected))[2]
    figures = {key: service.MeasuredService(*key) for key in expected}
    empty = service.MeasuredService(ours, region, product, 2025)
    figures[empty.key] = empty

    def everything(stmt, *_columns):
        return stmt

    service._percentiles_in_python(figures, everything)
    assert {key: (m.settle_median, m.settle_p90) for key, m in figures.items() if key in expected} == expected
    assert (empty.settle_median, empty.settle_p90) == (None, None)
    assert expected[(rival, region, product, 2026)] == (18.5, 27.7)


def test_a_percentile_of_one_two_or_the_ends_of_the_rows():
    assert service.percentile_cont([12], 0.9) == 12.0
    assert service.percentile_cont([10, 20], 0.5) == 15.0
    assert service.percentile_cont([10, 20, 40], 0.0) == 10.0
    assert service.percentile_cont([10, 20, 40], 1.0) == 40.0
    assert service.percentile_cont([10, 20, 40], 0.75) == 30.0     # 20 + 0.5 × 20


def test_each_reader_gets_the_figures_that_are_theirs(world, tmp_path):
    ours, rival = _two_underwriters(tmp_path)

    def insurers(username, **narrowed):
        return {m.insurer_id for m in service.measured_for(user(username), **narrowed)}
    assert insurers("insurer") == {ours}                          # an underwriter its own, whatever it asks
    assert insurers("insurer", insurer_id=rival) == {ours}
    assert insurers("county_agri") == {ours, rival}               # its county: both
    assert insurers("city_agri") == {ours, rival}
    assert insurers("city_agri", insurer_id=rival) == {rival}     # narrowed
    assert insurers("city_agri", year=2025) == set()
    assert insurers("city_agri", year=2026, region_id=county().id) == {ours, rival}
    other = county("361130")                                      # 婺源县
    make_user("other_county", Role.COUNTY_AGRI, region=other)
    assert insurers("other_county") == set()                      # another county sees nothing of this one
    assert insurers("city_agri", region_id=other.id) == set()


def test_a_group_not_paid_yet_and_a_group_with_premium_only(world, tmp_path):
    """Ours: two payouts agreed, neither paid: nothing paid (0.00, not missing), no settlement figures, none within
    10 days; the rival: an underwriting list and no payout list: its premium, a loss ratio of 0 and no shares."""
    rival = make_insurer()
    assign(insurer=rival)
    make_user("rival_ins", Role.INSURER, insurer=rival)
    ours = insured(tmp_path, count=2)
    insured(tmp_path, count=2, insurer_username="rival_ins", start=300)
    import_file(write_csv(tmp_path / "ours.csv", [payout(ours[0], 5, None), payout(ours[1], 8, None)]))
    figures = {m.insurer_id: m for m in service.measured(years=[2026])}
    mine, other = figures[user("insurer").insurer_id], figures[rival.id]
    assert (mine.payout_rows, mine.paid_rows, mine.claims_paid, mine.paid_within_10) == (2, 0, D("0.00"), 0)
    assert (mine.settle_median, mine.settle_p90, mine.within_10_share, mine.loss_ratio) == (None, None, None, D("0"))
    assert (other.premium, other.premium_rows, other.payout_rows, other.claims_paid) == (D("100.00"), 2, 0, D("0"))
    assert (other.loss_ratio, other.flagged_share, other.within_10_share, other.settle_median) == (
        D("0.0000"), None, None, None)


def test_the_python_percentiles_read_only_what_the_scope_allows(world, tmp_path):
    """`_percentiles_in_python` is given the same narrowing as the figures (insurer, county, year) and fills only
    the groups it was asked for."""
    ours, rival = _two_underwriters(tmp_path)
    region = county().id
    product = next(m.product_id for m in service.measured(years=[2026]))
    theirs_key = (rival, region, product, 2026)

    def only_the_rival(stmt, insurer, county_column, year):
        return stmt.where(insurer == rival, county_column == region, year == 2026)

    figures = {theirs_key: service.MeasuredService(*theirs_key)}
    service._percentiles_in_python(figures, only_the_rival)
    assert (figures[theirs_key].settle_median, figures[theirs_key].settle_p90) == (18.5, 27.7)

    def everything(stmt, *_columns):
        return stmt

    figures = {theirs_key: service.MeasuredService(*theirs_key)}    # our group's rows are read but not asked for
    service._percentiles_in_python(figures, everything)
    assert set(figures) == {theirs_key} and figures[theirs_key].settle_median == 18.5


def test_a_median_between_two_of_four_rows():
    assert service.percentile_cont([10, 20, 40, 80], 0.5) == 30.0    # position 1.5: 20 + 0.5 × 20
