"""Studies API: list, read, create from a definition, validate, status changes, amendments."""

from __future__ import annotations

import marshmallow as ma
from flask.views import MethodView

from ..errors import ServiceError
from ..services import studies as service
from ..services.blinding import can_see_arms, definition_for
from ..studydef import StudyDefinitionError, load_study_data, load_study_text, problems_as_errors
from . import examples
from .common import Blueprint, current_principal, get_session
from .fields import Text

blp = Blueprint("hwtrial_studies", __name__, description="Study definitions and lifecycle")


class DefinitionInSchema(ma.Schema):
    """Exactly one of ``definition`` (a JSON object) or ``yaml`` (the study file's text)."""

    OPENAPI = {"oneOf": [{"required": ["definition"]}, {"required": ["yaml"]}]}

    definition = ma.fields.Dict()
    yaml = Text(max_length=1024 * 1024)  # the study file limit (hwtrial.studydef) says more
    reason = Text(load_default="")

    @ma.validates_schema
    def _one_source(self, data, **_kwargs):
        if ("definition" in data) == ("yaml" in data):
            raise ma.ValidationError("give exactly one of 'definition' or 'yaml'", "definition")


class TransitionInSchema(ma.Schema):
    status = Text(required=True, validate=ma.validate.OneOf(["active", "closed"]))
    reason = Text(load_default="")


class ArmOutSchema(ma.Schema):
    code = ma.fields.String()
    key = ma.fields.String()
    label = ma.fields.String()
    ratio = ma.fields.Integer()
    features = ma.fields.Dict()


class StudyOutSchema(ma.Schema):
    key = ma.fields.String()
    title = ma.fields.String()
    status = ma.fields.String()
    version = ma.fields.Integer(attribute="current_version")
    created_at = ma.fields.DateTime()
    activated_at = ma.fields.DateTime(allow_none=True)
    closed_at = ma.fields.DateTime(allow_none=True)
    arms = ma.fields.Method("_arms")
    definition = ma.fields.Method("_definition")

    def _arms(self, study):
        arms = study.definition.get("arms", [])
        if can_see_arms(current_principal(), study):
            return ArmOutSchema(many=True).dump(arms)
        return [{"code": arm.get("code")} for arm in arms]  # blinded: codes only

    def _definition(self, study):
        # Blinded callers get the plan without arm names, features or framed texts.
        return definition_for(current_principal(), study)


class ValidationOutSchema(ma.Schema):
    valid = ma.fields.Boolean()
    key = ma.fields.String()
    errors = ma.fields.Dict()


def parse_definition(data: dict, source: str = "<request>"):
    """Load a definition from a request body; a bad one becomes a 422 naming each path."""
    try:
        if "yaml" in data:
            return load_study_text(data["yaml"], source)
        return load_study_data(data["definition"], source)
    except StudyDefinitionError as error:
        raise ServiceError(422, "the study definition is invalid",
                           problems_as_errors(error.problems)) from None


@blp.route("/")
class StudyList(MethodView):
    @blp.response(200, StudyOutSchema(many=True))
    def get(self):
        """Studies the caller may see."""
        return service.list_studies(get_session(), current_principal())

    @blp.arguments(DefinitionInSchema, examples=examples.of("DefinitionInSchema"))
    @blp.response(201, StudyOutSchema)
    @blp.alt_response(409, response="CONFLICT", description="a study with this key exists")
    def post(self, body):
        """Create a draft study from a definition (JSON object or YAML text)."""
        definition = parse_definition(body)
        return service.create_study(get_session(), current_principal(), definition, source_text=body.get("yaml"))


@blp.route("/validate")
class StudyValidation(MethodView):
    @blp.arguments(DefinitionInSchema, examples=examples.of("DefinitionInSchema"))
    @blp.response(200, ValidationOutSchema)
    def post(self, body):
        """Validate a definition without storing it (422 with every problem when invalid)."""
        definition = parse_definition(body)
        return {"valid": True, "key": definition.key, "errors": {}}


@blp.route("/<study_key>")
class StudyItem(MethodView):
    @blp.response(200, StudyOutSchema)
    def get(self, study_key):
        return service.get_study(get_session(), current_principal(), study_key)


@blp.route("/<study_key>/status")
class StudyTransition(MethodView):
    @blp.arguments(TransitionInSchema, examples=examples.of("TransitionInSchema"))
    @blp.response(200, StudyOutSchema)
    @blp.alt_response(409, response="CONFLICT", description="not allowed from the current status")
    def post(self, body, study_key):
        """draft → active (locks the design) → closed."""
        session, principal = get_session(), current_principal()
        study = service.get_study(session, principal, study_key)
        return service.transition(session, principal, study, body["status"], body["reason"])


@blp.route("/<study_key>/amendments")
class StudyAmendment(MethodView):
    @blp.arguments(DefinitionInSchema, examples=examples.of("DefinitionInSchema"))
    @blp.response(201, StudyOutSchema)
    @blp.alt_response(409, response="CONFLICT", description="the study is closed")
    def post(self, body, study_key):
        """A new version of an active study (reason required), or an edit of a draft."""
        session, principal = get_session(), current_principal()
        study = service.get_study(session, principal, study_key)
        return service.amend(session, principal, study, parse_definition(body), body["reason"],
                             source_text=body.get("yaml"))
