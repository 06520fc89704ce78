"""A made-up underwriting list matching a claim's figures, for the demo data (fictional people)."""

from __future__ import annotations

import csv
import tempfile
from decimal import ROUND_DOWN, Decimal
from pathlib import Path

from agri_insurance.reference.codes import id_number_check_char
from agri_insurance.underwriting.parsing import COLUMNS
from agri_insurance.underwriting.service import import_list

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
GIVEN = "国华建平明志海强军文春林晓红英兰秀玉芳云"


def fictional_person_id(n: int, region_code: str) -> str:
    """A well-formed resident ID (right check character, real birth date) for fictional person `n`."""
    first17 = f"{region_code}{1950 + n % 50:04d}{1 + n % 12:02d}{1 + n % 28:02d}{n % 1000:03d}"
    return first17 + id_number_check_char(first17)


def matching_rows(claim, seed: int = 0) -> list[list]:
    """One row per household whose totals equal the claim's quantity, sum insured, premium and farmer premium."""
    n = max(1, claim.households)
    totals = [claim.quantity, claim.sum_insured, claim.total_premium, claim.farmer_premium]
    each = [(v / n).quantize(Decimal("0.01"), rounding=ROUND_DOWN) for v in totals]
    last = [v - e * (n - 1) for v, e in zip(totals, each, strict=True)]
    rows = []
    for i in range(n):
        quantity, sum_insured, premium, farmer = last if i == n - 1 else each
        k = seed * 100_003 + i
        name = SURNAMES[k % len(SURNAMES)] + GIVEN[(k // 7) % len(GIVEN)] + GIVEN[(k // 3) % len(GIVEN)]
        rows.append([name, fictional_person_id(k, claim.region.code), "城关镇", f"第{i % 9 + 1}村",
                     claim.product.name, str(quantity), claim.unit, str(sum_insured), str(premium), str(farmer), ""])
    return rows


def attach_matching_list(claim, actor, seed: int | None = None) -> None:
    """Import a matching list for the claim (through the real importer) from a temporary csv file."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "list.csv"
        with path.open("w", newline="", encoding="utf-8") as fh:
            writer = csv.writer(fh)
            writer.writerow([header for _key, header in COLUMNS])
            writer.writerows(matching_rows(claim, claim.id if seed is None else seed))
        import_list(claim, path, "list.csv", actor)
