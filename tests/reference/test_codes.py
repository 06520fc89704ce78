import pytest

from agri_insurance.reference.codes import credit_code_check_char, is_valid_credit_code


@pytest.mark.parametrize("code", [
    "91330100799655058B",   # published codes of large companies
    "9144030071526726XG",
    "91110108551385082Q",
])
def test_published_credit_codes_are_valid(code):
    assert is_valid_credit_code(code)


@pytest.mark.parametrize("code, why", [
    ("91330100799655058C", "wrong check character"),
    ("9133010079965505B", "17 characters"),
    ("91330100799655058BX", "19 characters"),
    ("91330100799655O58B", "letter O is not in the alphabet"),
    ("91330100799655058b", "lower case"),
    ("", "empty"),
])
def test_invalid_credit_codes_are_refused(code, why):
    assert not is_valid_credit_code(code), why


def test_check_character_that_computes_to_31_maps_to_zero():
    # Search a prefix whose weighted sum is a multiple of 31: the check character is then "0", not out of range.
    for n in range(10_000):
        prefix = f"91361100{n:09d}"
        if credit_code_check_char(prefix) == "0":
            assert is_valid_credit_code(prefix + "0")
            return
    pytest.fail("no prefix with check character 0 found")
