import json
import os
import subprocess
import sys
from pathlib import Path

from opt_checker import check_result
from opt_factory import two_county

ROOT = Path(__file__).resolve().parents[2]


def cli(*args, cwd=None):
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    return subprocess.run([sys.executable, "-m", "optimization.allocate", *map(str, args)], cwd=cwd or ROOT,
                          env=env, capture_output=True, text=True, timeout=120)


def test_feasible_writes_result_and_exits_0_with_nothing_on_stdout(tmp_path):
    raw = two_county()
    src, out = tmp_path / "s.json", tmp_path / "r.json"
    src.write_text(json.dumps(raw, ensure_ascii=False), encoding="utf-8")
    proc = cli(src, "-o", out, "--time-limit", "10", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == ""  # no solver banner or log
    result = json.loads(out.read_text(encoding="utf-8"))
    assert result["status"] == "optimal"
    check_result(raw, result)
    assert sorted(os.listdir(tmp_path)) == ["r.json", "s.json"]  # no temporary files left behind
    assert result["phase"]  # which phase produced the allocation, also in the summary line
    assert f"allocation from phase {result['phase']}" in proc.stderr
    assert "first allocation after" in proc.stderr


def test_without_output_file_stdout_is_exactly_the_result(tmp_path):
    raw = two_county()
    src = tmp_path / "s.json"
    src.write_text(json.dumps(raw), encoding="utf-8")
    for solver in ("highs", "cbc"):
        proc = cli(src, "--solver", solver, "--gap", "0", cwd=tmp_path)
        assert proc.returncode == 0, proc.stderr
        result = json.loads(proc.stdout)
        check_result(raw, result)
    assert os.listdir(tmp_path) == ["s.json"]


def test_infeasible_exits_1(tmp_path):
    raw = two_county()
    raw["bids"] = [b for b in raw["bids"] if b["insurer_id"] == "X"]
    src = tmp_path / "s.json"
    src.write_text(json.dumps(raw), encoding="utf-8")
    proc = cli(src)
    assert proc.returncode == 1
    result = json.loads(proc.stdout)
    assert result["status"] == "infeasible" and result["awards"] == []
    assert "仅1家合格投标人" in proc.stderr


def test_invalid_exits_2_and_names_the_entry(tmp_path):
    raw = two_county()
    raw["bids"][0]["weight"] = 3
    src = tmp_path / "s.json"
    src.write_text(json.dumps(raw), encoding="utf-8")
    proc = cli(src, "-o", tmp_path / "r.json")
    assert proc.returncode == 2
    result = json.loads((tmp_path / "r.json").read_text(encoding="utf-8"))
    assert result["status"] == "invalid"
    assert result["diagnostics"][0]["subject_id"] == "bids[A1/X]"


def test_unreadable_file_is_invalid(tmp_path):
    proc = cli(tmp_path / "missing.json")
    assert proc.returncode == 2
    assert json.loads(proc.stdout)["status"] == "invalid"
