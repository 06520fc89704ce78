"""Allocation scenarios: dataclasses with Decimal money, loading and validation.

The JSON format is described in ``docs/formats/allocation-scenario.md``. Every violation of the format is
reported as a :class:`~optimization.findings.Diagnostic` naming the offending entry; :func:`load_scenario`
raises :class:`ScenarioError` carrying all of them at once (not just the first).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from .findings import N_, Diagnostic, finding

SCENARIO_FORMAT = "agri-insurance-allocation-scenario/1"
RESULT_FORMAT = "agri-insurance-allocation-result/1"


@dataclass(frozen=True)
class Settings:
    min_insurers_per_county: int = 2
    max_insurers_per_county: int = 3
    market_share_cap: Decimal | None = None
    time_limit_s: float | None = 60.0
    mip_gap: Decimal = Decimal(0)


@dataclass(frozen=True)
class Round:
    id: str
    name: str = ""
    term_start_year: int | None = None


@dataclass(frozen=True)
class County:
    id: str
    name: str
    max_insurers: int | None = None
    approval_ref: str | None = None


@dataclass(frozen=True)
class Lot:
    id: str
    county_id: str
    expected_premium: Decimal
    name: str = ""
    products: tuple[str, ...] = ()
    loss_ratio: Decimal | None = None


@dataclass(frozen=True)
class Insurer:
    id: str
    name: str
    premium_capacity: Decimal | None = None


@dataclass(frozen=True)
class Bid:
    insurer_id: str
    lot_id: str
    score: Decimal


@dataclass(frozen=True)
class Pair:
    lot_id: str
    insurer_id: str


@dataclass(frozen=True)
class Scenario:
    round: Round
    settings: Settings
    counties: tuple[County, ...]
    lots: tuple[Lot, ...]
    insurers: tuple[Insurer, ...]
    bids: tuple[Bid, ...]
    fixed: tuple[Pair, ...] = ()
    forbidden: tuple[Pair, ...] = ()
    # lookups, built in __post_init__
    county_by_id: dict[str, County] = field(default_factory=dict, compare=False, repr=False)
    lot_by_id: dict[str, Lot] = field(default_factory=dict, compare=False, repr=False)
    insurer_by_id: dict[str, Insurer] = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        self.county_by_id.update({c.id: c for c in self.counties})
        self.lot_by_id.update({lot.id: lot for lot in self.lots})
        self.insurer_by_id.update({i.id: i for i in self.insurers})

    def county_max(self, county_id: str) -> int:
        county = self.county_by_id[county_id]
        if county.max_insurers is not None:
            return county.max_insurers
        return self.settings.max_insurers_per_county

    def county_min(self, county_id: str) -> int:
        return min(self.settings.min_insurers_per_county, self.county_max(county_id))

    @property
    def total_premium(self) -> Decimal:
        return sum((lot.expected_premium for lot in self.lots), Decimal(0))

    def capacity(self, insurer_id: str) -> Decimal | None:
        """The effective premium capacity: the insurer's own and the market-share cap, whichever is lower."""
        caps = []
        own = self.insurer_by_id[insurer_id].premium_capacity
        if own is not None:
            caps.append(own)
        if self.settings.market_share_cap is not None:
            caps.append(self.settings.market_share_cap * self.total_premium)
        return min(caps) if caps else None

    def county_label(self, county_id: str) -> str:
        county = self.county_by_id.get(county_id)
        return county.name if county and county.name else county_id

    def lot_label(self, lot_id: str) -> str:
        lot = self.lot_by_id.get(lot_id)
        return f"{lot.name}（{lot_id}）" if lot and lot.name else lot_id

    def insurer_label(self, insurer_id: str) -> str:
        insurer = self.insurer_by_id.get(insurer_id)
        return insurer.name if insurer and insurer.name else insurer_id


class ScenarioError(ValueError):
    """The scenario breaks a rule of the format; ``diagnostics`` names every offending entry."""

    def __init__(self, diagnostics: list[Diagnostic]):
        self.diagnostics = diagnostics
        super().__init__("; ".join(d.message for d in diagnostics))


# --------------------------------------------------------------------------------------------------- parsing


class _Reader:
    """Collects every format violation instead of stopping at the first."""

    def __init__(self) -> None:
        self.errors: list[Diagnostic] = []

    def error(self, entry: str, template: str, code: str = "format", **params) -> None:
        """Record a violation; ``template`` (marked ``N_``, starting with the entry's id) is filled with
        ``params`` and ``entry``."""
        self.errors.append(finding(code, "error", "entry", entry, template, entry=entry, **params))

    def obj(self, value: Any, entry: str, required: set[str], optional: set[str]) -> dict | None:
        if not isinstance(value, dict):
            self.error(entry, N_("%(entry)s：应为对象（JSON object）"))
            return None
        for key in sorted(set(value) - required - optional):
            self.error(entry, N_("%(entry)s：未知字段 “%(key)s”"), key=key)
        for key in sorted(required - set(value)):
            self.error(entry, N_("%(entry)s：缺少必填字段 “%(key)s”"), key=key)
        return value

    def string(self, value: Any, entry: str, key: str, required: bool = True) -> str | None:
        if value is None and not required:
            return None
        if not isinstance(value, str) or (required and not value.strip()):
            self.error(entry, N_("%(entry)s：字段 “%(key)s” 应为非空字符串"), key=key)
            return None
        return value

    def decimal(self, value: Any, entry: str, key: str, *, allow_none: bool = False,
                low: Decimal | None = None, high: Decimal | None = None) -> Decimal | None:
        if value is None and allow_none:
            return None
        if isinstance(value, bool) or not isinstance(value, (int, float, str, Decimal)):
            self.error(entry, N_("%(entry)s：字段 “%(key)s” 应为数字或数字字符串"), key=key)
            return None
        try:
            # floats go through repr so 0.1 stays 0.1
            number = Decimal(repr(value)) if isinstance(value, float) else Decimal(str(value).strip())
        except InvalidOperation:
            self.error(entry, N_("%(entry)s：字段 “%(key)s” 不是有效数字：%(value)s"), key=key, value=repr(value))
            return None
        if not number.is_finite():
            self.error(entry, N_("%(entry)s：字段 “%(key)s” 不是有限数字：%(value)s"), key=key, value=repr(value))
            return None
        if low is not None and number < low:
            self.error(entry, N_("%(entry)s：字段 “%(key)s” 不能小于 %(low)s（当前 %(value)s）"), key=key, low=str(low), value=str(number))
            return None
        if high is not None and number > high:
            self.error(entry, N_("%(entry)s：字段 “%(key)s” 不能大于 %(high)s（当前 %(value)s）"), key=key, high=str(high), value=str(number))
            return None
        return number

    def integer(self, value: Any, entry: str, key: str, low: int = 0) -> int | None:
        if isinstance(value, bool) or not isinstance(value, int):
            self.error(entry, N_("%(entry)s：字段 “%(key)s” 应为整数"), key=key)
            return None
        if value < low:
            self.error(entry, N_("%(entry)s：字段 “%(key)s” 不能小于 %(low)s（当前 %(value)s）"), key=key, low=str(low), value=str(value))
            return None
        return value

    def array(self, value: Any, entry: str) -> list:
        if value is None:
            return []
        if not isinstance(value, list):
            self.error(entry, N_("%(entry)s：应为数组（JSON array）"))
            return []
        return value


def _parse_settings(r: _Reader, raw: Any) -> Settings:
    if raw is None:
        return Settings()
    keys = {"min_insurers_per_county", "max_insurers_per_county", "market_share_cap", "time_limit_s", "mip_gap"}
    data = r.obj(raw, "settings", set(), keys)
    if data is None:
        return Settings()
    defaults = Settings()
    lo = r.integer(data.get("min_insurers_per_county", 2), "settings", "min_insurers_per_county", low=1)
    hi = r.integer(data.get("max_insurers_per_county", 3), "settings", "max_insurers_per_county", low=1)
    if lo is not None and hi is not None and lo > hi:
        r.error("settings", N_("%(entry)s：每县最少承保机构数（%(min)s）大于最多承保机构数（%(max)s）"), min=lo, max=hi)
    cap = r.decimal(data.get("market_share_cap"), "settings", "market_share_cap", allow_none=True,
                    low=Decimal(0), high=Decimal(1))
    if cap is not None and cap == 0:
        r.error("settings", N_("%(entry)s：字段 “%(key)s” 必须大于 0"), key="market_share_cap")
        cap = None
    time_limit = r.decimal(data.get("time_limit_s", 60), "settings", "time_limit_s", allow_none=True,
                           low=Decimal(0))
    gap = r.decimal(data.get("mip_gap", 0), "settings", "mip_gap", low=Decimal(0), high=Decimal(1))
    return Settings(
        min_insurers_per_county=lo if lo is not None else defaults.min_insurers_per_county,
        max_insurers_per_county=hi if hi is not None else defaults.max_insurers_per_county,
        market_share_cap=cap,
        time_limit_s=float(time_limit) if time_limit is not None else None,
        mip_gap=gap if gap is not None else Decimal(0),
    )


def parse_scenario(raw: Any) -> Scenario:
    """Validate a decoded JSON document and build the :class:`Scenario`; raise :class:`ScenarioError`."""
    r = _Reader()
    top = r.obj(raw, "scenario", {"format", "round", "counties", "lots", "insurers", "bids"},
                {"settings", "fixed", "forbidden"})
    if top is None:
        raise ScenarioError(r.errors)
    if "format" in top and top.get("format") != SCENARIO_FORMAT:
        r.error("scenario", N_("%(entry)s：format 应为 “%(expected)s”，实际为 %(actual)s"), expected=SCENARIO_FORMAT,
                actual=repr(top.get("format")))

    round_ = Round(id="")
    raw_round = top.get("round")
    if raw_round is not None:
        data = r.obj(raw_round, "round", {"id"}, {"name", "term_start_year"})
        if data is not None:
            year = data.get("term_start_year")
            if year is not None:
                year = r.integer(year, "round", "term_start_year", low=1900)
            round_ = Round(id=r.string(data.get("id"), "round", "id") or "",
                           name=r.string(data.get("name", ""), "round", "name", required=False) or "",
                           term_start_year=year)
    settings = _parse_settings(r, top.get("settings"))

    counties: list[County] = []
    seen: set[str] = set()
    for n, item in enumerate(r.array(top.get("counties"), "counties")):
        entry = _entry_name("counties", n, item, "id")
        data = r.obj(item, entry, {"id", "name"}, {"max_insurers", "approval_ref"})
        if data is None:
            continue
        cid = r.string(data.get("id"), entry, "id")
        name = r.string(data.get("name"), entry, "name")
        max_ins = data.get("max_insurers")
        if max_ins is not None:
            max_ins = r.integer(max_ins, entry, "max_insurers", low=1)
        ref = r.string(data.get("approval_ref"), entry, "approval_ref", required=False)
        if max_ins is not None and max_ins > settings.max_insurers_per_county and not ref:
            r.error(entry, N_("%(entry)s：县级承保机构上限 %(max)s 超过 %(default)s 家，须经省农业工作领导小组批准并填写批准文号"
                              "（approval_ref）"), code="approval_missing", max=max_ins,
                    default=settings.max_insurers_per_county)
        if max_ins is not None and max_ins < settings.min_insurers_per_county:
            r.error(entry, N_("%(entry)s：县级承保机构上限 %(max)s 小于每县最少 %(min)s 家"), max=max_ins,
                    min=settings.min_insurers_per_county)
        if cid is None:
            continue
        if cid in seen:
            r.error(entry, N_("%(entry)s：县（区）编号重复"), code="duplicate")
            continue
        seen.add(cid)
        counties.append(County(id=cid, name=name or "", max_insurers=max_ins, approval_ref=ref))
    county_ids = {c.id for c in counties}

    lots: list[Lot] = []
    seen = set()
    for n, item in enumerate(r.array(top.get("lots"), "lots")):
        entry = _entry_name("lots", n, item, "id")
        data = r.obj(item, entry, {"id", "county_id", "expected_premium"}, {"name", "products", "loss_ratio"})
        if data is None:
            continue
        lid = r.string(data.get("id"), entry, "id")
        cid = r.string(data.get("county_id"), entry, "county_id")
        if cid is not None and cid not in county_ids:
            r.error(entry, N_("%(entry)s：county_id “%(id)s” 不在 counties 中"), code="unknown_reference", id=cid)
        premium = r.decimal(data.get("expected_premium"), entry, "expected_premium", low=Decimal(0))
        products = r.array(data.get("products"), entry)
        if not all(isinstance(p, str) for p in products):
            r.error(entry, N_("%(entry)s：字段 “%(key)s” 应为字符串数组"), key="products")
            products = []
        loss = r.decimal(data.get("loss_ratio"), entry, "loss_ratio", allow_none=True, low=Decimal(0))
        name = r.string(data.get("name", ""), entry, "name", required=False) or ""
        if lid is None:
            continue
        if lid in seen:
            r.error(entry, N_("%(entry)s：标段编号重复"), code="duplicate")
            continue
        seen.add(lid)
        if cid is not None and premium is not None:
            lots.append(Lot(id=lid, county_id=cid, expected_premium=premium, name=name,
                            products=tuple(products), loss_ratio=loss))
    lot_ids = seen

    insurers: list[Insurer] = []
    seen = set()
    for n, item in enumerate(r.array(top.get("insurers"), "insurers")):
        entry = _entry_name("insurers", n, item, "id")
        data = r.obj(item, entry, {"id", "name"}, {"premium_capacity"})
        if data is None:
            continue
        iid = r.string(data.get("id"), entry, "id")
        name = r.string(data.get("name"), entry, "name")
        cap = r.decimal(data.get("premium_capacity"), entry, "premium_capacity", allow_none=True, low=Decimal(0))
        if iid is None:
            continue
        if iid in seen:
            r.error(entry, N_("%(entry)s：承保机构编号重复"), code="duplicate")
            continue
        seen.add(iid)
        insurers.append(Insurer(id=iid, name=name or "", premium_capacity=cap))
    insurer_ids = seen

    bids: list[Bid] = []
    seen_pairs: set[tuple[str, str]] = set()
    for n, item in enumerate(r.array(top.get("bids"), "bids")):
        entry = _pair_entry_name("bids", n, item)
        data = r.obj(item, entry, {"insurer_id", "lot_id", "score"}, set())
        if data is None:
            continue
        iid, lid = _pair_refs(r, data, entry, lot_ids, insurer_ids)
        score = r.decimal(data.get("score"), entry, "score", low=Decimal(0), high=Decimal(100))
        if iid is None or lid is None or score is None:
            continue
        if (lid, iid) in seen_pairs:
            r.error(entry, N_("%(entry)s：同一承保机构对同一标段重复投标"), code="duplicate")
            continue
        seen_pairs.add((lid, iid))
        bids.append(Bid(insurer_id=iid, lot_id=lid, score=score))

    pairs: dict[str, list[Pair]] = {"fixed": [], "forbidden": []}
    for key in ("fixed", "forbidden"):
        seen_here: set[tuple[str, str]] = set()
        for n, item in enumerate(r.array(top.get(key), key)):
            entry = _pair_entry_name(key, n, item)
            data = r.obj(item, entry, {"lot_id", "insurer_id"}, set())
            if data is None:
                continue
            iid, lid = _pair_refs(r, data, entry, lot_ids, insurer_ids)
            if iid is None or lid is None:
                continue
            if (lid, iid) in seen_here:
                r.error(entry, N_("%(entry)s：重复"), code="duplicate")
                continue
            seen_here.add((lid, iid))
            if key == "fixed" and (lid, iid) not in seen_pairs:
                r.error(entry, N_("%(entry)s：指定的承保机构没有该标段的合格投标"), code="fixed_without_bid")
                continue
            pairs[key].append(Pair(lot_id=lid, insurer_id=iid))
    fixed_lot: dict[str, str] = {}
    for p in pairs["fixed"]:
        if p.lot_id in fixed_lot:
            r.error(f"fixed[{p.lot_id}]", N_("%(entry)s：标段被指定给两家承保机构（%(first)s、%(second)s）"), code="fixed_conflict",
                    first=fixed_lot[p.lot_id], second=p.insurer_id)
        fixed_lot[p.lot_id] = p.insurer_id
    fixed_pairs = {(p.lot_id, p.insurer_id) for p in pairs["fixed"]}
    for p in pairs["forbidden"]:
        if (p.lot_id, p.insurer_id) in fixed_pairs:
            r.error(f"forbidden[{p.lot_id}/{p.insurer_id}]", N_("%(entry)s：同一标段与承保机构既被指定又被禁止"),
                    code="fixed_conflict")

    if r.errors:
        raise ScenarioError(r.errors)
    return Scenario(round=round_, settings=settings, counties=tuple(counties), lots=tuple(lots),
                    insurers=tuple(insurers), bids=tuple(bids), fixed=tuple(pairs["fixed"]),
                    forbidden=tuple(pairs["forbidden"]))


def _entry_name(kind: str, n: int, item: Any, key: str) -> str:
    if isinstance(item, dict) and isinstance(item.get(key), str):
        return f"{kind}[{item[key]}]"
    return f"{kind}[#{n}]"


def _pair_entry_name(kind: str, n: int, item: Any) -> str:
    if isinstance(item, dict) and isinstance(item.get("lot_id"), str) and isinstance(item.get("insurer_id"), str):
        return f"{kind}[{item['lot_id']}/{item['insurer_id']}]"
    return f"{kind}[#{n}]"


def _pair_refs(r: _Reader, data: dict, entry: str, lot_ids: set[str],
               insurer_ids: set[str]) -> tuple[str | None, str | None]:
    iid = r.string(data.get("insurer_id"), entry, "insurer_id")
    lid = r.string(data.get("lot_id"), entry, "lot_id")
    if iid is not None and iid not in insurer_ids:
        r.error(entry, N_("%(entry)s：insurer_id “%(id)s” 不在 insurers 中"), code="unknown_reference", id=iid)
        iid = None
    if lid is not None and lid not in lot_ids:
        r.error(entry, N_("%(entry)s：lot_id “%(id)s” 不在 lots 中"), code="unknown_reference", id=lid)
        lid = None
    return iid, lid


def load_scenario(source: str | Path | dict) -> Scenario:
    """Read a scenario from a path, a JSON string or an already decoded dict."""
    if isinstance(source, dict):
        return parse_scenario(source)
    if isinstance(source, Path) or (isinstance(source, str) and not source.lstrip().startswith("{")):
        try:
            text = Path(source).read_text(encoding="utf-8")
        except OSError as exc:
            raise ScenarioError([finding("unreadable", "error", "entry", str(source), N_("无法读取文件：%(reason)s"),
                                         reason=str(exc))]) from exc
    else:
        text = source
    try:
        raw = json.loads(text, parse_float=Decimal)
    except json.JSONDecodeError as exc:
        raise ScenarioError([finding("json", "error", "entry", "scenario",
                                     N_("scenario：不是有效的 JSON（第%(line)s行第%(column)s列：%(reason)s）"),
                                     line=exc.lineno, column=exc.colno, reason=exc.msg)]) from exc
    return parse_scenario(raw)


def _num(d: Decimal) -> str:
    return format(d, "f")


def scenario_to_dict(s: Scenario) -> dict:
    """The scenario in the JSON format (money as decimal strings), e.g. for export."""
    settings = {
        "min_insurers_per_county": s.settings.min_insurers_per_county,
        "max_insurers_per_county": s.settings.max_insurers_per_county,
        "market_share_cap": None if s.settings.market_share_cap is None else _num(s.settings.market_share_cap),
        "time_limit_s": s.settings.time_limit_s,
        "mip_gap": _num(s.settings.mip_gap),
    }
    rnd: dict[str, Any] = {"id": s.round.id, "name": s.round.name}
    if s.round.term_start_year is not None:
        rnd["term_start_year"] = s.round.term_start_year
    counties = []
    for c in s.counties:
        d: dict[str, Any] = {"id": c.id, "name": c.name}
        if c.max_insurers is not None:
            d["max_insurers"] = c.max_insurers
        if c.approval_ref:
            d["approval_ref"] = c.approval_ref
        counties.append(d)
    lots = []
    for lot in s.lots:
        d = {"id": lot.id, "county_id": lot.county_id, "name": lot.name, "products": list(lot.products),
             "expected_premium": _num(lot.expected_premium)}
        if lot.loss_ratio is not None:
            d["loss_ratio"] = _num(lot.loss_ratio)
        lots.append(d)
    insurers = []
    for i in s.insurers:
        d = {"id": i.id, "name": i.name}
        if i.premium_capacity is not None:
            d["premium_capacity"] = _num(i.premium_capacity)
        insurers.append(d)
    return {
        "format": SCENARIO_FORMAT,
        "round": rnd,
        "settings": settings,
        "counties": counties,
        "lots": lots,
        "insurers": insurers,
        "bids": [{"insurer_id": b.insurer_id, "lot_id": b.lot_id, "score": _num(b.score)} for b in s.bids],
        "fixed": [{"lot_id": p.lot_id, "insurer_id": p.insurer_id} for p in s.fixed],
        "forbidden": [{"lot_id": p.lot_id, "insurer_id": p.insurer_id} for p in s.forbidden],
    }
