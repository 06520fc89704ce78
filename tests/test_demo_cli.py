"""`flask demo-data` on an empty database: everything a new user sees after `make run`, loaded once."""

import sqlalchemy as sa

from agri_insurance.demo import load_everything
from agri_insurance.subsidies.models import SubsidyClaim
from agri_insurance.tenders.models import SelectionRound


def test_the_whole_demo_loads_on_an_empty_database_and_only_once(db):
    created = load_everything(with_rounds=True)   # what the CLI does outside tests
    db.session.commit()
    assert created["rounds"] == 3 and created["claims"] == 10 and created["award_changes"] == 1
    assert db.session.scalar(sa.select(sa.func.count(SelectionRound.id))) == 3
    assert db.session.scalar(sa.select(sa.func.count(SubsidyClaim.id))) == 10
    assert created["annual_reviews"] == 2   # 2023 and 2024 of the 2023–2025 term, finalised, one complaint upheld
    from agri_insurance.annual_review.models import Complaint, ComplaintStatus, ResultStatus, ReviewResult

    assert db.session.scalar(sa.select(sa.func.count(ReviewResult.id)).where(
        ReviewResult.status == ResultStatus.FINAL)) > 0
    assert db.session.scalar(sa.select(Complaint.status)) is ComplaintStatus.UPHELD
    again = load_everything(with_rounds=True)
    db.session.commit()
    assert again["claims"] == 0 and again.get("rounds", 0) == 0 and again["annual_reviews"] == 0 \
        and again.get("award_changes", 0) == 0


def test_demo_data_command_reports_what_it_loaded(app, db):
    result = app.test_cli_runner().invoke(args=["demo-data"])
    assert result.exit_code == 0, result.output
    assert "Demo data loaded" in result.output and "'claims': 10" in result.output
