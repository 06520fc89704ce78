"""Entry point for `flask --app wsgi` and WSGI servers."""

from agri_insurance import create_app

app = create_app()
