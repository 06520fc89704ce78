"""Generate realistic underwriting lists for the import benchmark (seeded, fictional people).

    python bench/underwriting/generate.py 1000000 [--format xlsx|csv] [--errors N] [--duplicates N]

Rows: rice, 3–60 亩 per household, 5 % rate on 1,000 元/亩, farmer 20 %; names from common surnames; ID numbers
with correct check characters in the county's region code. Planted: N duplicated people (double insurance
inside the list) and, with --errors, N bad cells spread over the file (wrong check character, a unit in the
quantity column, an ID stored as a number) so the import must fail and store nothing.
"""

from __future__ import annotations

import argparse
import csv
import random
from decimal import Decimal
from pathlib import Path

from agri_insurance.reference.codes import id_number_check_char
from agri_insurance.underwriting.parsing import COLUMNS

OUT = Path(__file__).resolve().parent.parent / "out"
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢"
GIVEN = "国华建平明志海强军文春林晓红英兰秀玉芳云伟敏静丽勇艳杰娟涛超斌霞辉鹏"
TOWNS = ["饶丰镇", "鄱阳镇", "谢家滩镇", "石门街镇", "田畈街镇", "古县渡镇", "油墩街镇", "凰岗镇", "双港镇", "高家岭镇"]


def person(n: int, rng: random.Random) -> tuple[str, str]:
    first17 = f"361128{1940 + n % 60:04d}{1 + (n // 60) % 12:02d}{1 + (n // 720) % 28:02d}{(n // 20160) % 1000:03d}"
    name = rng.choice(SURNAMES) + rng.choice(GIVEN) + (rng.choice(GIVEN) if rng.random() < 0.7 else "")
    return name, first17 + id_number_check_char(first17)


def rows(count: int, duplicates: int, seed: int = 1):
    rng = random.Random(seed)
    dup_at = set(rng.sample(range(1, count), min(duplicates, count - 1)))
    previous_ids = []
    for n in range(count):
        name, pid = person(n, rng)
        if n in dup_at:
            name, pid = previous_ids[rng.randrange(len(previous_ids))]
        if len(previous_ids) < 10_000:
            previous_ids.append((name, pid))
        quantity = Decimal(rng.randint(300, 6000)) / 100          # 3.00–60.00 亩
        sum_insured = quantity * 1000
        premium = sum_insured * Decimal("0.05")
        farmer = (premium * Decimal("0.2")).quantize(Decimal("0.01"))
        bank = "".join(rng.choice("0123456789") for _ in range(19)) if rng.random() < 0.6 else ""
        yield [name, pid, rng.choice(TOWNS), f"第{rng.randint(1, 12)}村", "水稻", f"{quantity:.2f}", "亩",
               f"{sum_insured:.2f}", f"{premium:.2f}", f"{farmer:.2f}", bank]


def plant_errors(data: list[list], errors: int, seed: int = 2) -> None:
    rng = random.Random(seed)
    for k, index in enumerate(sorted(rng.sample(range(len(data)), errors))):
        row = data[index]
        if k % 3 == 0:
            row[1] = row[1][:17] + ("0" if row[1][17] != "0" else "1")
        elif k % 3 == 1:
            row[5] = f"{row[5]}亩"
        else:
            row[1] = float(row[1][:17])


def write(path: Path, data, fmt: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    headers = [header for _key, header in COLUMNS]
    if fmt == "csv":
        with path.open("w", newline="", encoding="utf-8") as fh:
            writer = csv.writer(fh)
            writer.writerow(headers)
            writer.writerows(data)
    else:
        from openpyxl import Workbook

        wb = Workbook(write_only=True)
        ws = wb.create_sheet("承保清单")
        ws.append(headers)
        for row in data:
            # Numbers as numbers, as a spreadsheet user would type them; ID and account as text.
            ws.append([row[0], row[1], row[2], row[3], row[4], _num(row[5]), row[6], _num(row[7]), _num(row[8]),
                       _num(row[9]), row[10] or None])
        wb.save(path)
    return path


def _num(text):
    try:
        return float(text)
    except (TypeError, ValueError):
        return text


def generate(count: int, fmt: str = "xlsx", errors: int = 0, duplicates: int = 20) -> Path:
    suffix = f"-{errors}err" if errors else ""
    path = OUT / f"list-{count}{suffix}.{fmt}"
    if path.exists():
        return path
    data = list(rows(count, duplicates))
    if errors:
        plant_errors(data, errors)
    return write(path, data, fmt)


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("count", type=int)
    parser.add_argument("--format", default="xlsx", choices=("xlsx", "csv"))
    parser.add_argument("--errors", type=int, default=0)
    parser.add_argument("--duplicates", type=int, default=20)
    args = parser.parse_args()
    print(generate(args.count, args.format, args.errors, args.duplicates))
