import pytest

from agri_insurance.auth.service import password_problems


@pytest.mark.parametrize("password", ["abc12345", "Shangrao2026", "长度足够的密码abc1"])
def test_acceptable_passwords(app, password):
    with app.test_request_context():
        assert password_problems(password, "wang") == []


@pytest.mark.parametrize("password, expected", [
    ("abc1234", "至少需要8个字符"),
    ("abcdefgh", "字母和数字"),
    ("12345678", "字母和数字"),
    ("wang12345", "不能包含用户名"),
    ("xxWANG1234", "不能包含用户名"),
])
def test_weak_passwords_are_refused_with_a_reason(app, password, expected):
    with app.test_request_context():
        problems = password_problems(password, "wang")
        assert any(expected in p for p in problems), problems
