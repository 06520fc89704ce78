"""Shares per level: hand-computed examples; the five always add up exactly to the premium."""

from decimal import Decimal as D

from hypothesis import given, settings
from hypothesis import strategies as st

from agri_insurance.subsidies.models import ShareLevel as L
from agri_insurance.subsidies.service import split_premium

RICE = {L.CENTRAL: D(45), L.PROVINCIAL: D(25), L.CITY: D(5), L.COUNTY: D(5), L.FARMER: D(20)}
CAMELLIA = {L.CENTRAL: D(0), L.PROVINCIAL: D(0), L.CITY: D(15), L.COUNTY: D(30), L.FARMER: D(55)}


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
    # farmer 20 % = 246913.578 → 246913.58; the county takes the remainder: 61728.3945 → 61728.40.
    assert shares[L.CENTRAL] == D("555555.55")
    assert shares[L.PROVINCIAL] == D("308641.97")
    assert shares[L.CITY] == D("61728.39")
    assert shares[L.FARMER] == D("246913.58")
    assert shares[L.COUNTY] == D("61728.40")  # the remainder absorbs the rounding
    assert sum(shares.values()) == premium


def test_half_fen_rounds_up():
    shares = split_premium(D("0.10"), {L.CENTRAL: D(45), L.PROVINCIAL: D(25), L.CITY: D(5), L.COUNTY: D(5),
                                        L.FARMER: D(20)})
    assert shares[L.CENTRAL] == D("0.05")   # 0.045 → 0.05 (half up), not banker's 0.04
    assert sum(shares.values()) == D("0.10")


@settings(max_examples=300, deadline=None)
@given(cents=st.integers(min_value=1, max_value=10**12),
       pcts=st.lists(st.integers(min_value=0, max_value=1_000_000), min_size=4, max_size=4))
def test_any_premium_and_scheme_sums_exactly(cents, pcts):
    # Four government percentages with four decimals whose total stays ≤ 100 %; the farmer takes the rest.
    total = sum(pcts)
    scale = D(1_000_000) / max(total, 1_000_000)
    gov = [(D(p) * scale / D(10_000)).quantize(D("0.0001"), rounding="ROUND_DOWN") for p in pcts]
    levels = dict(zip((L.CENTRAL, L.PROVINCIAL, L.CITY, L.COUNTY), gov, strict=True))
    levels[L.FARMER] = D(100) - sum(gov)
    premium = D(cents) / 100
    shares = split_premium(premium, levels)
    assert sum(shares.values()) == premium
    assert all(v == v.quantize(D("0.01")) for v in shares.values())
    assert all(abs(shares[lvl] - premium * levels[lvl] / 100) <= D("0.005") for lvl in levels if lvl is not L.COUNTY)
    assert abs(shares[L.COUNTY] - premium * levels[L.COUNTY] / 100) <= D("0.02")
