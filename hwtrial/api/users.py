"""Users and API tokens (admins), and ``/me`` for any staff member."""

from __future__ import annotations

from types import SimpleNamespace

import marshmallow as ma
from flask.views import MethodView

from ..models import STAFF_ROLES
from ..services import users as service
from . import examples
from .common import Blueprint, current_principal, get_session
from .fields import Text

blp = Blueprint("hwtrial_users", __name__, description="Staff accounts and API tokens")


class UserInSchema(ma.Schema):
    email = ma.fields.Email(required=True)
    role = Text(required=True, validate=ma.validate.OneOf(STAFF_ROLES))
    password = Text(validate=ma.validate.Length(min=12), max_length=1024, load_default=None)
    display_name = Text(load_default="", max_length=200)
    may_unblind = ma.fields.Boolean(load_default=False)


class UserPatchSchema(ma.Schema):
    active = ma.fields.Boolean(required=True)
    reason = Text(required=True, validate=ma.validate.Length(min=1))


class UserOutSchema(ma.Schema):
    id = ma.fields.Integer()
    email = ma.fields.String()
    role = ma.fields.String()
    display_name = ma.fields.String()
    active = ma.fields.Boolean()
    may_unblind = ma.fields.Boolean()
    study_keys = ma.fields.List(ma.fields.String(), allow_none=True, metadata={
        "description": "studies the account may touch; null: every study"})
    created_at = ma.fields.DateTime()


class UserScopesSchema(ma.Schema):
    #: Null or empty: every study.
    study_keys = ma.fields.List(Text(max_length=200), required=True, allow_none=True)


class TokenInSchema(ma.Schema):
    role = Text(validate=ma.validate.OneOf(STAFF_ROLES), load_default=None)
    study_keys = ma.fields.List(Text(max_length=200), load_default=None)
    label = Text(load_default="", max_length=200)


class TokenOutSchema(ma.Schema):
    id = ma.fields.Integer()
    prefix = ma.fields.String()
    label = ma.fields.String()
    role = ma.fields.String()
    study_keys = ma.fields.List(ma.fields.String(), allow_none=True)
    created_at = ma.fields.DateTime()
    revoked_at = ma.fields.DateTime(allow_none=True)
    last_used_at = ma.fields.DateTime(allow_none=True)


class IssuedTokenOutSchema(TokenOutSchema):
    #: Shown once.
    token = ma.fields.String()


@blp.route("/users")
class UserList(MethodView):
    @blp.response(200, UserOutSchema(many=True))
    def get(self):
        return service.list_users(get_session())

    @blp.arguments(UserInSchema, examples=examples.of("UserInSchema"))
    @blp.response(201, UserOutSchema)
    @blp.alt_response(409, response="CONFLICT", description="a user with this email exists")
    def post(self, body):
        return service.create_user(get_session(), current_principal(), **body)


@blp.route("/users/<int:user_id>")
class UserItem(MethodView):
    @blp.response(200, UserOutSchema)
    def get(self, user_id):
        return service.get_user(get_session(), user_id)

    @blp.arguments(UserPatchSchema, examples=examples.of("UserPatchSchema"))
    @blp.response(200, UserOutSchema)
    def patch(self, body, user_id):
        """Disable or re-enable an account (reason required, audited)."""
        session = get_session()
        user = service.get_user(session, user_id)
        return service.set_active(session, current_principal(), user, body["active"], body["reason"])


@blp.route("/users/<int:user_id>/scopes")
class UserScopes(MethodView):
    @blp.arguments(UserScopesSchema, examples=examples.of("UserScopesSchema"))
    @blp.response(200, UserOutSchema)
    def put(self, body, user_id):
        """Limit a coordinator, therapist or statistician to some studies (null: every study;
        audited). Other studies then answer 404 to the account and to its tokens."""
        session = get_session()
        user = service.get_user(session, user_id)
        return service.set_study_scopes(session, current_principal(), user, body["study_keys"])


@blp.route("/users/<int:user_id>/tokens")
class TokenList(MethodView):
    @blp.response(200, TokenOutSchema(many=True))
    def get(self, user_id):
        session = get_session()
        return service.list_tokens(session, service.get_user(session, user_id))

    @blp.arguments(TokenInSchema, examples=examples.of("TokenInSchema"))
    @blp.response(201, IssuedTokenOutSchema)
    def post(self, body, user_id):
        """Issue a token; the secret is in this answer and nowhere else."""
        session = get_session()
        user = service.get_user(session, user_id)
        issued = service.issue_token(session, current_principal(), user, **body)
        fields = {name: getattr(issued.token, name) for name in TokenOutSchema().fields}
        return SimpleNamespace(**fields, token=issued.secret)


@blp.route("/users/<int:user_id>/tokens/<int:token_id>")
class TokenItem(MethodView):
    @blp.response(200, TokenOutSchema)
    def delete(self, user_id, token_id):
        """Revoke a token (it stops working at once)."""
        session = get_session()
        token = service.get_token(session, token_id)
        if token.user_id != user_id:
            service.get_token(session, -1)  # 404: the token is not this user's
        return service.revoke_token(session, current_principal(), token)


@blp.route("/me")
class Me(MethodView):
    @blp.response(200, UserOutSchema)
    def get(self):
        return current_principal().user
