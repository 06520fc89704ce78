import pytest

from agri_insurance.reference.codes import id_number_check_char, is_valid_id_number
from agri_insurance.underwriting.parsing import mask_id


def test_published_example_is_valid():
    assert is_valid_id_number("11010519491231002X")


@pytest.mark.parametrize("number, why", [
    ("110105194912310021", "wrong check character"),
    ("11010519491231002x", "lower-case x is not the canonical form (the importer upper-cases it first)"),
    ("11010519491331002X", "month 13"),
    ("1101051949123100", "16 digits"),
    ("11010519491231002Y", "Y is not a check character"),
])
def test_invalid_ids(number, why):
    assert not is_valid_id_number(number), why


def test_check_character_10_is_x():
    for n in range(1000):
        first17 = f"36112819800101{n:03d}"
        if id_number_check_char(first17) == "X":
            assert is_valid_id_number(first17 + "X")
            return
    pytest.fail("no X found")


def test_masking_keeps_region_and_last_four():
    assert mask_id("36112819800101123X") == "361128********123X"
    assert mask_id("91361100MA35XXXX0T") == "913611********XX0T"
