"""Underwriting list files for tests: valid people, xlsx and csv writers, a claim that matches its list."""

from __future__ import annotations

import csv
from decimal import Decimal
from pathlib import Path

from openpyxl import Workbook

from agri_insurance.reference.codes import id_number_check_char
from agri_insurance.underwriting.parsing import COLUMNS

HEADERS = [header for _key, header in COLUMNS]


def person_id(n: int, region: str = "361128") -> str:
    first17 = f"{region}{19600101 + (n % 28)}{n % 1000:03d}"
    return first17 + id_number_check_char(first17)


def rows(count: int, start: int = 0, product: str = "水稻", unit: str = "亩", quantity: str = "10.00",
         premium: str = "50.00", farmer: str = "10.00", region: str = "361128") -> list[list]:
    """`count` distinct farmers (person ids never repeat for distinct n below 28,000)."""
    out = []
    for n in range(start, start + count):
        pid = f"{region}{1960 + n % 40:04d}{1 + n % 12:02d}{1 + n % 28:02d}{n % 1000:03d}"
        pid += id_number_check_char(pid)
        out.append([f"农户{n}", pid, "饶丰镇", f"第{n % 9}村", product, quantity, unit,
                    str(Decimal(premium) * 20), premium, farmer, None])
    return out


def write_xlsx(path: Path, data: list[list], headers=HEADERS) -> Path:
    wb = Workbook()
    ws = wb.active
    ws.append(headers)
    for row in data:
        ws.append(row)
    wb.save(path)
    return path


def write_csv(path: Path, data: list[list], headers=HEADERS, encoding="utf-8") -> Path:
    with path.open("w", newline="", encoding=encoding) as fh:
        writer = csv.writer(fh)
        writer.writerow(headers)
        writer.writerows([["" if c is None else c for c in row] for row in data])
    return path


def totals(data: list[list]) -> dict:
    q = sum(Decimal(str(r[5]).replace(",", "")) for r in data)
    s = sum(Decimal(str(r[7]).replace(",", "")) for r in data)
    p = sum(Decimal(str(r[8]).replace(",", "")) for r in data)
    f = sum(Decimal(str(r[9]).replace(",", "")) for r in data)
    return {"quantity": q, "sum_insured": s, "premium": p, "farmer": f, "households": len({r[1] for r in data}),
            "rows": len(data)}
