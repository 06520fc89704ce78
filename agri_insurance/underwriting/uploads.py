"""An uploaded underwriting list, kept and queued for its import job: the one way in for the list page and the
API (/api/v1/subsidies/claims/<id>/list), so both run the same job with the same checks."""

from __future__ import annotations

from pathlib import Path

from flask_babel import gettext as _

from agri_insurance import storage
from agri_insurance.errors import DomainError
from agri_insurance.i18n import join_sentences
from agri_insurance.jobs import service as jobs
from agri_insurance.jobs.models import Job
from agri_insurance.subsidies import service as subsidies
from agri_insurance.subsidies.models import SubsidyClaim
from agri_insurance.underwriting import service
from agri_insurance.underwriting.forms import NewClaimFromListForm, UploadListForm
from agri_insurance.underwriting.jobs import IMPORT_KIND, new_claim_params


def start_import(claim: SubsidyClaim, form: UploadListForm, actor) -> Job:
    """Keep the uploaded file and queue its import (the job checks and stores it). Caller commits."""
    jobs.reap_orphans(IMPORT_KIND, claim.id)  # an import whose process was killed: failed, its file removed
    service.require_uploadable(claim)
    if not form.validate_on_submit():   # the page that posted it does not show the form's errors: say them
        raise DomainError(join_sentences(form.file.errors) or _("请选择文件"), "file")
    path = keep_upload(form.file.data)
    return jobs.submit(IMPORT_KIND, {"claim_id": claim.id, "path": str(path), "filename": form.file.data.filename},
                       actor, subject_id=claim.id)


def start_new_claim_import(form: NewClaimFromListForm, returned: SubsidyClaim | None, actor) -> Job:
    """A new claim from its underwriting list (the page 按承保清单新建申请 and the API): check the choices (all that
    can be checked before the list is read), keep the file, queue the import that creates the claim with its list
    (filing `returned` again, if given). Caller commits."""
    data = subsidies.check_claim_from_list({**form.data, "corrects_id": returned.id if returned else None},
                                           actor.insurer)
    path = keep_upload(form.file.data)
    return jobs.submit(IMPORT_KIND, {"new_claim": new_claim_params(data), "path": str(path),
                                     "filename": form.file.data.filename}, actor)


def keep_upload(upload_file) -> Path:
    """The uploaded file, kept for the import job (which deletes it when done); a full or read-only disk is
    refused in words (storage.keep_upload)."""
    return storage.keep_upload(upload_file, "incoming")
