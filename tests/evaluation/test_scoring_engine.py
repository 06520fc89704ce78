"""The scoring engine (evaluation.scoring) works on what it is given: it imports no database layer and no request
machinery, and scores, ranks and computes lot scores for plain objects without an application or a database."""

import ast
import inspect
from datetime import datetime
from decimal import Decimal
from types import SimpleNamespace

import flask
import grimp

from agri_insurance.evaluation import scoring
from agri_insurance.evaluation.models import CriterionKind, Factor

D = Decimal


def test_the_engine_imports_no_database_layer_and_no_request_machinery():
    """What scoring.py itself imports (grimp; type-checking-only imports left out). Its one project import is
    evaluation.models, for the enums Factor and CriterionKind: that module also declares the tables, so loading the
    engine still loads SQLAlchemy through it, but the engine reaches no session or query through it."""
    graph = grimp.build_graph("agri_insurance", include_external_packages=True, exclude_type_checking_imports=True)
    imported = graph.find_modules_directly_imported_by("agri_insurance.evaluation.scoring")
    assert {m for m in imported if m.startswith("agri_insurance")} == {"agri_insurance.evaluation.models"}
    assert not imported & {"flask", "flask_login", "flask_sqlalchemy", "flask_wtf", "sqlalchemy", "werkzeug"}
    names = {(node.module, alias.name) for node in ast.walk(ast.parse(inspect.getsource(scoring)))
             if isinstance(node, ast.ImportFrom) and node.module.split(".")[0] in ("agri_insurance", "flask_babel")
             for alias in node.names}
    assert names - {("agri_insurance.bids.models", "Bid"), ("agri_insurance.evaluation.models", "Criterion")} == {
        ("flask_babel", "lazy_gettext"),   # the metrics' labels, translated when shown
        ("agri_insurance.evaluation.models", "CriterionKind"), ("agri_insurance.evaluation.models", "Factor")}


def _criterion(id, factor, kind, points, metric=None):
    return SimpleNamespace(id=id, factor=factor, kind=kind, max_points=D(points), metric=metric,
                           higher_is_better=True, bands=None, deduction_per_count=None)


def _bid(id, insurer_id, innovations, lots, stations):
    return SimpleNamespace(id=id, insurer_id=insurer_id, innovations=[object()] * innovations,
                           lots=[SimpleNamespace(id=lot_id, region_id=region_id) for lot_id, region_id in lots],
                           county_setups=[SimpleNamespace(region_id=r, township_stations=n) for r, n in stations.items()],
                           comprehensive_solvency_pct=D(150), latest_receipt=None, submitted_at=datetime(2024, 1, 1))


def test_the_engine_scores_plain_objects_without_an_application():
    assert not flask.has_app_context()
    criteria = [_criterion(1, Factor.INNOVATION, CriterionKind.LINEAR, "5", "innovation_count"),
                _criterion(2, Factor.SETUP, CriterionKind.LINEAR, "8", "township_stations"),
                _criterion(3, Factor.CLAIMS, CriterionKind.SUBJECTIVE, "5")]
    a = _bid(10, 1, 3, [(100, 7), (101, 8)], {7: 4, 8: 10})
    b = _bid(11, 2, 1, [(102, 7)], {7: 8})
    scores = scoring.compute_bid_scores(criteria, [a, b], {(10, 3): [D(4), D(5)], (11, 3): [D(3)]}, 5)
    # innovation: 3 vs 1 → 5 and 0; stations per county: county 7 4 vs 8 → 0 and 8, county 8 alone → 8,
    # so a's set-up points are (0 + 8) / 2 = 4; experts: a (4 + 5) / 2 = 4.5, b 3
    assert scores[10].points == {1: D("5.00"), 2: D("4.00"), 3: D("4.50")}
    assert scores[10].county_points == {7: {2: D("0.00")}, 8: {2: D("8.00")}}
    assert scores[11].points == {1: D("0.00"), 2: D("8.00"), 3: D("3.00")}
    by_id = {c.id: c for c in criteria}
    c = SimpleNamespace(id=12, insurer_id=3)
    ranked = scoring.rank_bids(scores, [b, a], [(c, ["不合格"])], lambda s: s.total, by_id)
    assert [(r.bid_id, r.score, r.rank, r.eligible, r.reasons) for r in ranked] == [
        (10, D("13.50"), 1, True, []), (11, D("11.00"), 2, True, []), (12, D("0.00"), 3, False, ["不合格"])]
    setup = scoring.setup_criterion_ids(criteria)
    county_7 = scoring.rank_bids(scores, [a, b], [], lambda s: s.county_total(7, setup), by_id)
    assert [(r.bid_id, r.score) for r in county_7] == [(11, D("11.00")), (10, D("9.50"))]
    assert scoring.lot_scores_of(scores, setup) == [
        scoring.LotScore(1, 10, 100, D("9.50")), scoring.LotScore(1, 10, 101, D("17.50")),
        scoring.LotScore(2, 11, 102, D("11.00"))]
    assert not flask.has_app_context()


def test_a_rounded_zero_has_no_sign():
    """Decimal keeps the sign of −0 (0 divided by a negative spread: the worst bid of a lower-is-better linear
    criterion); the one rounding gives 0.00, so no score reads "-0.00"."""
    worst = SimpleNamespace(kind=CriterionKind.LINEAR, max_points=D("6"), higher_is_better=False)
    raw = scoring.objective_points(worst, D("25"), [D("18.5"), D("25")])
    assert raw == 0 and raw.is_signed()  # what the rounding is given
    assert [str(scoring.round_points(v)) for v in (raw, D("-0.004"), D("0"), D("0.005"))] == [
        "0.00", "0.00", "0.00", "0.01"]
