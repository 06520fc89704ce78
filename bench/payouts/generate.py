"""Generate payout lists for the import benchmark: one payout per farmer of the underwriting benchmark's list of
the same size (bench/underwriting/generate.py, seeded), so every row matches a stored underwriting row.

    python -m bench.payouts.generate 1000000 [--format xlsx|csv]

Rows: the farmer's name and ID, a loss in June 2026, reported 1–3 days later, surveyed 1–5 days after that, agreed
5–40 days after the survey, paid 1–12 days after the agreement (a sixth late: flags) or, for 5 %, not yet paid;
amounts 100–3,000 元, at most the farmer's sum insured.
"""

from __future__ import annotations

import argparse
import csv
import random
from datetime import date, timedelta
from pathlib import Path

from agri_insurance.payouts.parsing import COLUMNS
from bench.underwriting.generate import rows as underwriting_rows

OUT = Path(__file__).resolve().parent.parent / "out"
LOSS = date(2026, 6, 10)


def rows(count: int, seed: int = 3):
    rng = random.Random(seed)
    seen = set()
    for uw in underwriting_rows(count, 20):
        name, pid = uw[0], uw[1]
        if pid in seen:      # the underwriting list's planted duplicates: one payout per farmer
            continue
        seen.add(pid)
        loss = LOSS + timedelta(days=rng.randint(0, 5))
        reported = loss + timedelta(days=rng.randint(1, 3))
        surveyed = reported + timedelta(days=rng.randint(1, 5))
        agreed_on = surveyed + timedelta(days=rng.randint(5, 40))
        agreed = f"{rng.randint(10000, 300000) / 100:.2f}"
        if rng.random() < 0.05:
            paid, paid_on = None, None
        else:
            paid, paid_on = agreed, agreed_on + timedelta(days=rng.randint(1, 12))
        bank = "".join(rng.choice("0123456789") for _ in range(19))
        yield [name, pid, loss, reported, surveyed, agreed, agreed_on, paid, paid_on, bank]


def write(path: Path, data, fmt: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    headers = [header for _key, header in COLUMNS]
    if fmt == "csv":
        with path.open("w", newline="", encoding="utf-8") as fh:
            writer = csv.writer(fh)
            writer.writerow(headers)
            writer.writerows([["" if c is None else c.isoformat() if isinstance(c, date) else c for c in row]
                              for row in data])
    else:
        from openpyxl import Workbook

        wb = Workbook(write_only=True)
        ws = wb.create_sheet("理赔清单")
        ws.append(headers)
        for row in data:
            # dates as dates and amounts as numbers, as typed in a spreadsheet; ID and account as text
            ws.append([row[0], row[1], row[2], row[3], row[4], float(row[5]), row[6],
                       None if row[7] is None else float(row[7]), row[8], row[9]])
        wb.save(path)
    return path


def generate(count: int, fmt: str = "xlsx") -> Path:
    path = OUT / f"payouts-{count}.{fmt}"
    if path.exists():
        return path
    return write(path, rows(count), fmt)


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("count", type=int)
    parser.add_argument("--format", default="xlsx", choices=("xlsx", "csv"))
    args = parser.parse_args()
    print(generate(args.count, args.format))
