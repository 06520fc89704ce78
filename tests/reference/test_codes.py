import pytest

from agri_insurance.reference.codes import (
    credit_code_check_char,
    id_number_check_char,
    is_valid_credit_code,
    is_valid_id_number,
)


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


def test_check_character_of_a_wrong_prefix_is_a_value_error_naming_the_problem():
    with pytest.raises(ValueError, match=r"^need 17 characters$"):
        credit_code_check_char("9133010079965505")
    with pytest.raises(ValueError, match=r"^invalid character 'O'$"):
        credit_code_check_char("91330100799655O58")


def test_check_character_that_computes_to_31_maps_to_zero():
    # Search a prefix whose weighted sum is a multiple of 31: the check character is then "0", not out of range.
    for n in range(10_000):
        prefix = f"91361100{n:09d}"
        if credit_code_check_char(prefix) == "0":
            assert is_valid_credit_code(prefix + "0")
            return
    pytest.fail("no prefix with check character 0 found")


# Resident IDs whose check characters were worked out by hand with ISO 7064 MOD 11-2 (weights 2^(17-i) mod 11,
# check = (12 - sum mod 11) mod 11, 10 written X), not with the function under test: one for each remainder of
# the weighted sum, so every entry of the check-character table is read.
IDS_BY_REMAINDER = {
    0: "361128198001010181",
    1: "361128198001010050",
    2: "36112819800101000X",
    3: "361128198001010069",
    4: "361128198001010018",
    5: "361128198001010077",
    6: "361128198001010026",
    7: "361128198001010085",
    8: "361128198001010034",
    9: "361128198001010093",
    10: "361128198001010042",
}


@pytest.mark.parametrize("remainder, number", sorted(IDS_BY_REMAINDER.items()))
def test_every_id_check_character(remainder, number):
    assert id_number_check_char(number[:17]) == number[17]
    assert is_valid_id_number(number)
    for other in "0123456789X".replace(number[17], ""):
        assert not is_valid_id_number(number[:17] + other), other


def test_the_published_example_ending_in_x():
    assert is_valid_id_number("11010519491231002X")
    assert not is_valid_id_number("110105194912310020")


@pytest.mark.parametrize("number, why", [
    ("361128190001010089", "born 1900-01-01, the first year accepted"),
    ("361128210012310015", "born 2100-12-31, the last year accepted"),
    ("361128198001100013", "born on the 10th: the day is both digits"),
])
def test_birth_dates_at_the_edges_are_accepted(number, why):
    assert is_valid_id_number(number), why


@pytest.mark.parametrize("number, why", [
    ("361128189912310017", "born 1899 (check character right)"),
    ("361128210101010014", "born 2101"),
    ("361128198002300017", "30 February"),
    ("361128198004310016", "31 April"),
    ("36112819800101004", "17 characters"),
    ("3611281980010100421", "19 characters"),
    ("36112819800101A042", "a letter among the first 17"),
])
def test_ids_refused_for_their_shape_or_birth_date(number, why):
    assert not is_valid_id_number(number), why
