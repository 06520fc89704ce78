"""Jobs: long work run outside the request, with a progress record pages poll.

    from agri_insurance.jobs.context import JobContext
    from agri_insurance.jobs.registry import job_handler
    from agri_insurance.jobs import service as jobs

    job = jobs.submit("underwriting.import", {"claim_id": 3}, current_user)   # flushes
    db.session.commit()                                                       # dispatched after this commit
    return redirect(url_for("jobs.job_detail", job_id=job.id))

See registry.py (handlers), context.py (what a handler gets), service.py (submit/run/wait), runners.py (in-process and RQ runners).
"""
