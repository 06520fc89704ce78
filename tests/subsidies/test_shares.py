"""Shares per level: hand-computed examples; the five always add up exactly to the premium, none is negative,
and the rounding remainder goes to the government level with the largest percentage."""

from decimal import Decimal as D

from hypothesis import given, settings
from hypothesis import strategies as st

from agri_insurance.subsidies.models import ShareLevel as L
from agri_insurance.subsidies.service import split_premium

RICE = {L.CENTRAL: D(45), L.PROVINCIAL: D(25), L.CITY: D(5), L.COUNTY: D(5), L.FARMER: D(20)}
CAMELLIA = {L.CENTRAL: D(0), L.PROVINCIAL: D(0), L.CITY: D(15), L.COUNTY: D(30), L.FARMER: D(55)}
NO_COUNTY = {L.CENTRAL: D(45), L.PROVINCIAL: D(25), L.CITY: D(10), L.COUNTY: D(0), L.FARMER: D(20)}
GOVERNMENT = (L.CENTRAL, L.PROVINCIAL, L.CITY, L.COUNTY)


def test_rice_central_scheme_hand_computed():
    shares = split_premium(D("1000000.00"), RICE)
    assert shares == {L.CENTRAL: D("450000.00"), L.PROVINCIAL: D("250000.00"), L.CITY: D("50000.00"),
                      L.COUNTY: D("50000.00"), L.FARMER: D("200000.00")}


def test_camellia_specialty_scheme_city_15_county_30():
    shares = split_premium(D("86400.00"), CAMELLIA)
    assert shares[L.CITY] == D("12960.00") and shares[L.COUNTY] == D("25920.00")
    assert shares[L.FARMER] == D("47520.00") and shares[L.CENTRAL] == 0


def test_odd_premium_rounds_each_level_and_still_sums_exactly():
    premium = D("1234567.89")
    shares = split_premium(premium, RICE)
    # 45 % = 555555.5505 → 555555.55; 25 % = 308641.9725 → 308641.97; 5 % = 61728.3945 → 61728.39;
    # farmer 20 % = 246913.578 → 246913.58; county 61728.3945 → 61728.39. Together 1234567.88: the fen left
    # over goes to the largest government share, the central one.
    assert shares[L.CENTRAL] == D("555555.56")  # 555555.55 + the remainder
    assert shares[L.PROVINCIAL] == D("308641.97")
    assert shares[L.CITY] == D("61728.39")
    assert shares[L.FARMER] == D("246913.58")
    assert shares[L.COUNTY] == D("61728.39")
    assert sum(shares.values()) == premium


def test_half_fen_rounds_up():
    shares = split_premium(D("0.10"), RICE)
    assert shares[L.PROVINCIAL] == D("0.03")   # 0.025 → 0.03 (half up), not banker's 0.02
    # Rounded up everywhere, the levels come to 0.12: the largest one (central, 0.045 → 0.05) gives back 0.02.
    assert shares[L.CENTRAL] == D("0.03")
    assert sum(shares.values()) == D("0.10")


def test_a_county_with_no_share_owes_nothing_and_no_share_is_negative():
    # Before: the county absorbed the remainder whatever its percentage: −0.01 (the database refused the
    # claim), or 0.01 owed on a 0 % share, so the claim could never be settled.
    shares = split_premium(D("1000.06"), NO_COUNTY)
    # 450.027 → 450.03, 250.015 → 250.02, 100.006 → 100.01, farmer 200.012 → 200.01: 1000.07, a fen too much,
    # which the central share gives back.
    assert shares == {L.CENTRAL: D("450.02"), L.PROVINCIAL: D("250.02"), L.CITY: D("100.01"), L.COUNTY: D("0.00"),
                      L.FARMER: D("200.01")}
    shares = split_premium(D("1000.01"), NO_COUNTY)
    assert shares[L.COUNTY] == 0 and shares[L.CENTRAL] == D("450.01")   # 450.0045 → 450.00, + the fen left over
    assert sum(shares.values()) == D("1000.01")


def test_ties_go_to_the_higher_level():
    even = {L.CENTRAL: D(0), L.PROVINCIAL: D(0), L.CITY: D(15), L.COUNTY: D(15), L.FARMER: D(70)}
    shares = split_premium(D("0.05"), even)   # 0.0075 → 0.01 twice, farmer 0.035 → 0.04: 0.01 too much
    assert (shares[L.CITY], shares[L.COUNTY], shares[L.FARMER]) == (D("0.00"), D("0.01"), D("0.04"))


def test_tiny_premium_takes_back_from_the_next_level_rather_than_go_negative():
    quarters = {L.CENTRAL: D(25), L.PROVINCIAL: D(25), L.CITY: D(25), L.COUNTY: D(0), L.FARMER: D(25)}
    shares = split_premium(D("0.02"), quarters)   # 0.005 → 0.01 four times: 0.02 too much
    assert shares == {L.CENTRAL: D("0.00"), L.PROVINCIAL: D("0.00"), L.CITY: D("0.01"), L.COUNTY: D("0.00"),
                      L.FARMER: D("0.01")}


def test_the_farmer_premium_entered_is_the_farmers_share_and_the_government_shares_the_rest():
    shares = split_premium(D("1000.03"), RICE, farmer=D("200.02"))   # the scheme's farmer share is 200.01
    assert shares[L.FARMER] == D("200.02")
    assert sum(shares[level] for level in GOVERNMENT) == D("800.01")


@settings(max_examples=300, deadline=None)
@given(cents=st.integers(min_value=1, max_value=10**12),
       pcts=st.lists(st.integers(min_value=0, max_value=1_000_000), min_size=4, max_size=4),
       farmer_offset=st.sampled_from([None, -1, 0, 1]))
def test_any_premium_and_scheme_sums_exactly(cents, pcts, farmer_offset):
    # Four government percentages with four decimals whose total stays ≤ 100 %; the farmer takes the rest.
    total = sum(pcts)
    scale = D(1_000_000) / max(total, 1_000_000)
    gov = [(D(p) * scale / D(10_000)).quantize(D("0.0001"), rounding="ROUND_DOWN") for p in pcts]
    levels = dict(zip((L.CENTRAL, L.PROVINCIAL, L.CITY, L.COUNTY), gov, strict=True))
    levels[L.FARMER] = D(100) - sum(gov)
    premium = D(cents) / 100
    farmer = None
    if farmer_offset is not None:   # an entered farmer premium within a fen of the scheme's farmer share
        farmer = split_premium(premium, levels)[L.FARMER] + D(farmer_offset) / 100
        farmer = min(max(farmer, D("0.00")), premium)
    shares = split_premium(premium, levels, farmer=farmer)
    assert sum(shares.values()) == premium
    assert all(v == v.quantize(D("0.01")) and v >= 0 for v in shares.values())
    assert all(shares[lvl] == 0 for lvl in GOVERNMENT if levels[lvl] == 0 and any(levels[g] for g in GOVERNMENT))
    if farmer is not None:
        assert shares[L.FARMER] == farmer
    absorber = max(GOVERNMENT, key=lambda lvl: levels[lvl])   # max() keeps the first of equals, as the rule does
    slack = D("0.025") if farmer is None else D("0.035")
    for lvl in GOVERNMENT:
        exact = premium * levels[lvl] / 100
        assert abs(shares[lvl] - exact) <= (slack if lvl is absorber or exact < slack else D("0.005"))
