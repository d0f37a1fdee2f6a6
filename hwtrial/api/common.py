"""Small helpers every API module uses."""

from __future__ import annotations

import marshmallow as ma

from ..auth.load import current_principal
from ..extensions import get_session

__all__ = ["ErrorSchema", "current_principal", "get_session"]


class ErrorSchema(ma.Schema):
    """The one error shape of every 4xx/5xx answer."""

    code = ma.fields.Integer(required=True)
    status = ma.fields.String(required=True)
    message = ma.fields.String(required=True)
    errors = ma.fields.Dict(keys=ma.fields.String(), values=ma.fields.List(ma.fields.String()))
