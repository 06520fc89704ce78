"""A round as an OCDS 1.1 release package, with the lots and bids extensions.

Tender with lots; bid statistics and details only once the bids have been opened (sealing); awards with
their suppliers and related lots once a run has been adopted; parties with their roles. An approved departure
from the round's allocation rules that the adopted allocation rests on is published with the awards: a document
of the tender and of each award (its decision on file), and the rationale in the tender's award criteria details
and each award's description. A mid-term change of an award (终止 / 替补) is an amendment of the award and of its
contract (whose period starts on the change's effective date); the old underwriter's contract is listed as
terminated the day before. `validate()` checks a
package against the release-package schema patched with both extensions, from the files committed beside this
module (no network)."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import sqlalchemy as sa

from agri_insurance.awards import exports, replacement, service
from agri_insurance.bids.models import Bid, BidStatus
from agri_insurance.clock import utcnow
from agri_insurance.extensions import db
from agri_insurance.i18n import in_record_language
from agri_insurance.subsidies import reports as subsidy_reports
from agri_insurance.subsidies.service import FinanceBureau
from agri_insurance.tenders.models import RoundStatus, SelectionRound

SCHEMA_DIR = Path(__file__).resolve().parent / "ocds_schema"
OCID_PREFIX = "ocds-sragri"
EXTENSIONS = [
    "https://raw.githubusercontent.com/open-contracting-extensions/ocds_lots_extension/v1.1.5/extension.json",
    "https://raw.githubusercontent.com/open-contracting-extensions/ocds_bid_extension/v1.1.5/extension.json",
]
S = RoundStatus
TENDER_STATUS = {S.DRAFT: "planning", S.OPEN: "active", S.CLOSED: "active", S.OPENED: "active",
                 S.EVALUATION: "active", S.ALLOCATED: "active", S.PUBLICISED: "active", S.AWARDED: "complete",
                 S.IN_FORCE: "complete", S.EXPIRED: "complete", S.CANCELLED: "cancelled"}
BUYER_ID = "CN-SR-AGRI"


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.replace(tzinfo=UTC).isoformat().replace("+00:00", "Z")


def _amount(value: Decimal) -> dict:
    return {"amount": float(value), "currency": "CNY"}


def _org_ref(insurer) -> dict:
    return {"id": f"CN-USCC-{insurer.credit_code}", "name": insurer.name}


def _departures(rnd: SelectionRound) -> tuple[list[dict], str | None]:
    """The departures the adopted allocation rests on: as OCDS documents, and as one rationale sentence."""
    used = service.departures_used(rnd)
    if not used:
        return [], None
    with in_record_language():
        texts = [service.departure_text(d) for d in used]
    documents = [{"id": f"departure-{d.id}", "documentType": "evaluationReports",
                  "title": f"规则偏离批准文件：{d.doc_no}", "description": f"{text}。理由：{d.reason}",
                  "datePublished": _iso(rnd.publicised_at or d.recorded_at), "format": "application/pdf",
                  "language": "zh"} for d, text in zip(used, texts, strict=True)]
    rationale = "分配依据经批准的规则偏离：" + "；".join(texts)
    return documents, rationale


def release(rnd: SelectionRound) -> dict:
    ocid = f"{OCID_PREFIX}-{rnd.id}"
    now = utcnow()
    body = exports.issuing_body()
    lots = [{"id": lot.code, "title": lot.name,
             "description": f"{lot.region.name}：{'、'.join(p.name for p in lot.products)}",
             "status": TENDER_STATUS[rnd.status], "value": _amount(lot.expected_premium)} for lot in rnd.lots]
    items = [{"id": f"{lot.code}-{p.code}", "description": f"{p.name}（{lot.region.name}）", "relatedLot": lot.code,
              "classification": {"scheme": "agri-insurance-product", "id": p.code, "description": p.name}}
             for lot in rnd.lots for p in lot.products]
    tender = {
        "id": str(rnd.id), "title": rnd.name, "status": TENDER_STATUS[rnd.status], "statusDetails": rnd.status.label,
        "procuringEntity": {"id": BUYER_ID, "name": body}, "procurementMethod": "open",
        "awardCriteria": "ratedCriteria", "mainProcurementCategory": "services",
        "tenderPeriod": {"endDate": _iso(rnd.bid_deadline)},
        "contractPeriod": {"startDate": f"{rnd.term_start_year}-01-01T00:00:00+08:00",
                           "endDate": f"{rnd.term_end_year}-12-31T23:59:59+08:00"},
        "value": _amount(sum((lot.expected_premium for lot in rnd.lots), Decimal(0))),
        "items": items, "lots": lots,
    }
    parties = {BUYER_ID: {"id": BUYER_ID, "name": body, "roles": ["buyer", "procuringEntity"]}}
    tags = ["tender"]
    result = {"ocid": ocid, "id": f"{ocid}-{now.strftime('%Y%m%dT%H%M%S')}", "date": _iso(now), "tag": tags,
              "initiationType": "tender", "language": "zh", "buyer": {"id": BUYER_ID, "name": body},
              "tender": tender}
    if rnd.bids_opened:
        bids = list(db.session.scalars(sa.select(Bid).where(Bid.round_id == rnd.id, Bid.status == BidStatus.SUBMITTED)
                                       .order_by(Bid.id)))
        tender["numberOfTenderers"] = len(bids)
        tender["tenderers"] = [_org_ref(b.insurer) for b in bids]
        stats = [{"id": "bids", "measure": "bids", "value": len(bids), "date": _iso(rnd.opened_at)}]
        for lot in rnd.lots:
            n = sum(1 for b in bids if lot in b.lots)
            stats.append({"id": f"bids-{lot.code}", "measure": "bids", "value": n, "relatedLot": lot.code})
        result["bids"] = {"statistics": stats, "details": [
            {"id": str(b.id), "date": _iso(b.submitted_at), "status": "valid", "tenderers": [_org_ref(b.insurer)],
             "relatedLots": [lot.code for lot in b.lots]} for b in bids]}
        for b in bids:
            ref = _org_ref(b.insurer)
            parties.setdefault(ref["id"], {**ref, "identifier": {"scheme": "CN-USCC", "id": b.insurer.credit_code,
                                                                 "legalName": b.insurer.name}, "roles": []})
            parties[ref["id"]]["roles"].append("tenderer")
        bid_of = {b.insurer_id: str(b.id) for b in bids}
        awards = service.awards_of(rnd)
        if awards:
            tags.append("award")
            final = rnd.status in (S.AWARDED, S.IN_FORCE, S.EXPIRED)
            documents, rationale = _departures(rnd)
            if documents:
                tender["documents"] = documents
                tender["awardCriteriaDetails"] = rationale
            result["awards"] = []
            changes: dict[int, list] = {}
            for change in replacement.changes_of(rnd):
                changes.setdefault(change.award_id, []).append(change)
            for award in awards:
                ref = _org_ref(award.insurer)
                entry = {"id": f"{rnd.id}-{award.lot.code}", "title": f"{award.lot.name} 中标",
                         "status": "active" if final else "pending", "date": _iso(award.created_at),
                         "value": _amount(award.lot.expected_premium), "suppliers": [ref],
                         "relatedLots": [award.lot.code],
                         "contractPeriod": tender["contractPeriod"]}
                if award.insurer_id in bid_of:
                    entry["relatedBid"] = bid_of[award.insurer_id]  # bid extension v1.1.5 (relatedBids came later)
                if documents:
                    entry["description"] = rationale
                    entry["documents"] = documents
                if award.id in changes:
                    entry["amendments"] = [_amendment(c) for c in changes[award.id]]
                result["awards"].append(entry)
                party = parties.setdefault(ref["id"], {**ref, "roles": []})
                if "supplier" not in party["roles"]:
                    party["roles"].append("supplier")
            if final:
                result["contracts"] = [_contract(rnd, award, parties, changes.get(award.id, [])) for award in awards]
                result["contracts"] += [_terminated_contract(rnd, c, parties) for award in awards
                                        for c in changes.get(award.id, [])]
                tags.append("contract")
                if any(c.get("implementation") for c in result["contracts"]):
                    tags.append("implementation")
    result["parties"] = list(parties.values())
    return result


def _amendment(change) -> dict:
    """A mid-term change of an award as an OCDS amendment: the decision, the old and the new underwriter."""
    new = change.new_insurer.name if change.new_insurer is not None else "替补机构待定"
    return {"id": f"change-{change.id}", "date": _iso(change.replaced_at or change.terminated_at),
            "rationale": f"{change.reason}（{change.doc_no}）",
            "description": f"{change.lot.code}：{change.old_insurer.name} → {new}，"
                           f"{change.effective_on.isoformat()}起生效"}


def _terminated_contract(rnd: SelectionRound, change, parties: dict) -> dict:
    """The old underwriter's contract for the lot, terminated the day before the change took effect."""
    ref = _org_ref(change.old_insurer)
    parties.setdefault(ref["id"], {**ref, "roles": []})
    end = change.effective_on - timedelta(days=1)
    return {"id": f"{rnd.id}-{change.lot.code}-change-{change.id}", "awardID": f"{rnd.id}-{change.lot.code}",
            "title": f"{change.lot.name} 承保（{change.old_insurer.name}，已终止）", "status": "terminated",
            "period": {"startDate": f"{rnd.term_start_year}-01-01T00:00:00+08:00",
                       "endDate": f"{end.isoformat()}T23:59:59+08:00"},
            "amendments": [_amendment(change)]}


def _contract(rnd: SelectionRound, award, parties: dict, changes: list | None = None) -> dict:
    """An award's contract: the term's subsidy payments to its underwriter for the lot's county and products, as
    implementation transactions (payer: the finance bureau that paid; payee: the underwriter). After a mid-term
    change it starts on the change's effective date and carries the change as an amendment."""
    ref = _org_ref(award.insurer)
    start = f"{rnd.term_start_year}-01-01T00:00:00+08:00"
    done = [c for c in changes or [] if c.new_insurer_id is not None]
    if done:
        start = f"{max(c.effective_on for c in done).isoformat()}T00:00:00+08:00"
    contract = {"id": f"{rnd.id}-{award.lot.code}", "awardID": f"{rnd.id}-{award.lot.code}",
                "title": f"{award.lot.name} 承保", "status": "active", "period": {
                    "startDate": start,
                    "endDate": f"{rnd.term_end_year}-12-31T23:59:59+08:00"}}
    if changes:
        contract["amendments"] = [_amendment(c) for c in changes]
    payments = subsidy_reports.payments_under(award.insurer_id, award.lot.region_id,
                                              [p.id for p in award.lot.products], rnd.term_start_year,
                                              rnd.term_end_year)
    transactions = []
    for payment in payments:
        region = subsidy_reports.payer_of(payment)
        with in_record_language():
            payer = {"id": f"CN-SR-FIN-{region.code}", "name": FinanceBureau(region).name}
        parties.setdefault(payer["id"], {**payer, "roles": []})
        if "payer" not in parties[payer["id"]]["roles"]:
            parties[payer["id"]]["roles"].append("payer")
        if "payee" not in parties[ref["id"]]["roles"]:
            parties[ref["id"]]["roles"].append("payee")
        transactions.append({
            "id": f"payment-{payment.id}", "date": f"{payment.paid_on.isoformat()}T00:00:00+08:00", "value": _amount(payment.amount),
            "payer": payer, "payee": ref})
    if transactions:
        contract["implementation"] = {"transactions": transactions}
    return contract


def release_package(rnd: SelectionRound) -> dict:
    return {"uri": f"urn:{OCID_PREFIX}:{rnd.id}", "version": "1.1", "extensions": EXTENSIONS,
            "publishedDate": _iso(utcnow()), "publisher": {"name": exports.issuing_body()},
            "releases": [release(rnd)]}


# --- validation (tests; jsonschema is a development dependency) ---------------------------------------

def merge_patch(target: dict, patch: dict) -> dict:
    """JSON Merge Patch (RFC 7386), as OCDS applies an extension's release-schema.json to the core schema."""
    result = copy.deepcopy(target)
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        elif isinstance(value, dict) and isinstance(result.get(key), dict):
            result[key] = merge_patch(result[key], value)
        else:
            result[key] = copy.deepcopy(value)
    return result


def _load(name: str) -> dict:
    return json.loads((SCHEMA_DIR / name).read_text(encoding="utf-8"))


def extended_release_schema() -> dict:
    schema = _load("release-schema.json")
    for name in ("lots-extension-release-schema.json", "bid-extension-release-schema.json"):
        schema = merge_patch(schema, _load(name))
    return schema


def validation_errors(package: dict) -> list[str]:
    """Every schema violation of `package` as 'path: message' (empty when it validates)."""
    from jsonschema import Draft4Validator, FormatChecker
    from referencing import Registry, Resource
    from referencing.jsonschema import DRAFT4

    package_schema = _load("release-package-schema.json")
    release_schema = extended_release_schema()
    release_uri = package_schema["properties"]["releases"]["items"]["$ref"]
    registry = Registry().with_resource(release_uri, Resource(release_schema, specification=DRAFT4))
    validator = Draft4Validator(package_schema, registry=registry, format_checker=FormatChecker())
    return [f"{'/'.join(str(p) for p in e.absolute_path)}: {e.message}" for e in validator.iter_errors(package)]
