"""Form and query parsing for the participant and user pages (no Flask views here).

Forms are loaded with the API's own marshmallow schemas where there is one, so a page and
the API accept and refuse the same values; a refusal becomes a ``ServiceError`` whose
``errors`` name the form fields, and the page shows each problem next to its field.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from zoneinfo import available_timezones

import marshmallow as ma
from flask import url_for
from werkzeug.datastructures import MultiDict

from ...api.errors import flatten_errors
from ...api.fields import whole_number
from ...api.participants import EnrolConsentInSchema, EnrolInSchema
from ...errors import ServiceError
from ...models import Study
from ...services import users
from ...services.allocation import design_of


class EnrolFormSchema(EnrolInSchema):
    """The API's enrolment body; consent is optional here (the participant then consents on
    their own pages when they open the link)."""

    consent = ma.fields.Nested(EnrolConsentInSchema, load_default=None)


@dataclass(frozen=True)
class EnrolOptions:
    #: Factor key → its levels (stratification and minimisation factors, cluster covariates).
    factors: dict[str, tuple[str, ...]]
    cluster_unit: str | None
    locales: tuple[str, ...]
    default_locale: str
    consent_version: str
    #: (user id, label) of every active therapist.
    therapists: tuple[tuple[int, str], ...]
    active: bool


def enrol_options(session, study: Study) -> EnrolOptions:
    design = design_of(study)
    data = design.data
    therapists = tuple((u.id, f"{u.display_name} ({u.email})" if u.display_name else u.email)
                       for u in users.list_therapists(session))
    return EnrolOptions(dict(design.levels), design.cluster_unit, tuple(data["locales"]),
                        data["default_locale"], str(data["consent"]["version"]), therapists,
                        study.status == "active")


@cache
def timezone_names() -> tuple[str, ...]:
    return tuple(sorted(available_timezones()))


def enrol_data(form: MultiDict, options: EnrolOptions) -> dict:
    """The enrolment body from the form, validated by the API's schema (422 naming fields)."""
    def optional(name):
        return form.get(name, "").strip() or None

    body = {"external_id": form.get("external_id", "").strip(),
            "strata": {f: form.get(f"strata.{f}", "") for f in options.factors},
            "cluster": optional("cluster"), "locale": optional("locale"),
            "timezone": optional("timezone"), "email": optional("email"),
            "therapist_id": _int_or_text(optional("therapist_id"))}
    if form.get("consent_taken") == "yes":
        body["consent"] = {"version": options.consent_version, "method": "paper"}
    return load(EnrolFormSchema(), body)


def _int_or_text(value: str | None) -> int | str | None:
    """A select's id as the integer the API's ``Id`` field takes (anything else it refuses)."""
    number = whole_number(value, 10)
    return value if number is None else number


def load(schema: ma.Schema, body: dict) -> dict:
    try:
        return schema.load(body)
    except ma.ValidationError as error:
        raise ServiceError(422, "some fields need attention", flatten_errors(error.messages)) from None


def form_errors(error: ServiceError) -> dict[str, list[str]]:
    """Problems by form field; one without a field goes under ``_form``."""
    return dict(error.errors) or {"_form": [error.message]}


def list_filters(args: MultiDict) -> dict:
    """``q``, ``status``, ``stratum`` and ``page`` of the participant list (422 on a bad page)."""
    page = args.get("page", "1").strip() or "1"
    number = whole_number(page)
    if number is None:
        raise ServiceError(422, "page must be a whole number", {"page": ["a whole number from 1"]})
    return {"q": args.get("q", ""), "status": args.get("status") or None,
            "stratum": args.get("stratum") or None, "page": number}


def qr_data_uri(link: str) -> str:
    """The link as a QR code, an SVG data URI for an ``<img>`` (allowed by the CSP)."""
    import segno

    return segno.make(link, error="m").svg_data_uri(scale=5, border=2)


def study_page_path(study_key: str) -> str:
    """``<prefix>/staff/studies/<key>``, the study page (built as a path: that page's endpoint
    belongs to another module)."""
    return url_for("hwtrial_staff.participant_list", study_key=study_key).rsplit("/participants", 1)[0]
