"""gunicorn settings for production (`make serve`, docs/deploy.md). Every value can be set from the environment.

Workers are processes (a crash takes one down, not the site), each with threads for pages that wait on the
database. Long work never runs in a request: it goes to the RQ workers (`flask worker`), so the request timeout
stays short. On SIGTERM gunicorn stops accepting, lets running requests finish for GRACEFUL_TIMEOUT seconds,
then stops (systemd's stop, a deploy).
"""

import os
import sys

bind = os.environ.get("BIND", "127.0.0.1:8000")
workers = int(os.environ.get("WEB_WORKERS", "2"))
threads = int(os.environ.get("WEB_THREADS", "4"))
timeout = int(os.environ.get("WEB_TIMEOUT", "120"))            # an upload of 64 MB on a slow line, an export
graceful_timeout = int(os.environ.get("GRACEFUL_TIMEOUT", "30"))
keepalive = 5
max_requests = int(os.environ.get("MAX_REQUESTS", "2000"))      # workers renewed now and then (memory)
max_requests_jitter = 200
limit_request_field_size = 16384
accesslog = None              # the app logs one JSON line per request, with its request id (agri_insurance/logs.py)
errorlog = "-"
wsgi_app = "wsgi:app"
os.environ.setdefault("LOG_FORMAT", "json")

if workers > 1 and not os.environ.get("REDIS_URL"):
    # in-process jobs live in one web process; with several, a job's page may be served by another, and a
    # restarted worker would take its siblings' jobs for lost
    sys.exit("gunicorn.conf.py: more than one worker needs REDIS_URL (jobs on RQ workers); set REDIS_URL or "
             "WEB_WORKERS=1")
