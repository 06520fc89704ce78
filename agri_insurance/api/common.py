"""What every API blueprint shares: token authentication before each view, no CSRF (see security.py), and
input read through the pages' own forms so that a refusal is worded as on the page."""

from __future__ import annotations

import json
from decimal import Decimal

from flask import request
from flask_babel import gettext as _
from flask_smorest import Blueprint
from werkzeug.datastructures import MultiDict

from agri_insurance.api.problems import problem
from agri_insurance.api.security import authenticate
from agri_insurance.extensions import csrf


def blueprint(name: str, url_prefix: str, description: str) -> Blueprint:
    blp = Blueprint(f"api_{name}", __name__, url_prefix=url_prefix, description=description)
    blp.before_request(authenticate)
    csrf.exempt(blp)   # a bearer token, never a cookie, authenticates these routes
    return blp


class BadInput(Exception):
    """Input a form refused: answered as a 422 problem naming each field (or 400 for a body that is no JSON)."""

    def __init__(self, response):
        super().__init__("bad input")
        self.response = response


def json_form(form_class, **kwargs):
    """The page's form filled from a JSON object (numbers kept exact: decimals, not floats) and validated; BadInput
    with the form's own messages otherwise."""
    try:
        data = json.loads(request.get_data(as_text=True) or "{}", parse_float=Decimal)
    except ValueError:
        data = None
    if not isinstance(data, dict):
        raise BadInput(problem(400, _("请求体应为 JSON 对象")))
    formdata = MultiDict()
    for key, value in data.items():
        if value is None or value is False:
            continue   # as an empty or unticked field of the page's form
        formdata[key] = "y" if value is True else str(value)
    return validated(form_class(formdata=formdata, meta={"csrf": False}, **kwargs))


def validated(form):
    if not form.validate():
        errors = [{"field": name, "message": str(message)}
                  for name, messages in form.errors.items() for message in messages]
        raise BadInput(problem(422, errors[0]["message"], errors))
    return form
