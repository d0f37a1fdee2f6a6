"""Staff accounts and API tokens (admins only): the same services as ``api/users.py``.

A temporary password or a new token is shown once, in the answer to the POST that made it
(never in a URL or a redirect; every answer is ``no-store``); only hashes are stored.
"""

from __future__ import annotations

import marshmallow as ma
from flask import redirect, render_template, request, url_for
from werkzeug.datastructures import MultiDict

from ...api.users import TokenInSchema, UserInSchema, UserPatchSchema
from ...auth.load import current_principal
from ...auth.policy import ADMIN, register
from ...errors import ServiceError
from ...extensions import get_session
from ...models import STAFF_ROLES
from ...services import studies
from ...services import users as service
from ..csrf import check_csrf
from . import bp
from .people_forms import form_errors, load

register({
    "hwtrial_staff.user_list": ADMIN,
    "hwtrial_staff.user_page": ADMIN,
    "hwtrial_staff.user_active": ADMIN,
    "hwtrial_staff.user_password": ADMIN,
    "hwtrial_staff.user_scopes": ADMIN,
    "hwtrial_staff.token_issue": ADMIN,
    "hwtrial_staff.token_revoke": ADMIN,
})

DONE = {"disabled": "The account was disabled; its sessions and tokens stop working at once.",
        "enabled": "The account was enabled again.", "revoked": "The token was revoked.",
        "password": "The new password was set.",
        "scopes": "The account's studies were saved; its sessions and tokens follow them at once."}


class UserFormSchema(UserInSchema):
    """The API's body plus how the first password is chosen."""

    password_mode = ma.fields.String(load_default="none", validate=ma.validate.OneOf(("none", "temporary", "set")))


@bp.route("/users", methods=["GET", "POST"])
def user_list():
    session = get_session()
    if request.method in ("GET", "HEAD"):
        return _list_page(session, MultiDict(), {})
    check_csrf()
    form = request.form
    try:
        body = load(UserFormSchema(), _user_body(form))
        mode = body.pop("password_mode")
        if mode == "set" and not body.get("password"):
            raise ServiceError(422, "give the password to set", {"password": ["required"]})
        temporary = service.temporary_password() if mode == "temporary" else None
        user = service.create_user(session, current_principal(), **{**body, "password": body.get("password")
                                                                     if mode == "set" else temporary})
    except ServiceError as error:
        if error.status not in (409, 422):
            raise
        return _list_page(session, form, form_errors(error)), error.status
    return render_template("hwtrial/staff/users/secret.html", user=user, password=temporary,
                           created=True)


def _user_body(form) -> dict:
    body = {"email": form.get("email", "").strip(), "role": form.get("role", ""),
            "display_name": form.get("display_name", "").strip(),
            "may_unblind": form.get("may_unblind") == "yes",
            "password_mode": form.get("password_mode", "none")}
    if body["password_mode"] == "set":
        body["password"] = form.get("password", "")
    return body


def _list_page(session, values, errors):
    return render_template("hwtrial/staff/users/list.html", users=service.list_users(session),
                           roles=STAFF_ROLES, values=values, errors=errors)


@bp.route("/users/<int:user_id>")
def user_page(user_id):
    session = get_session()
    return _user_page(session, service.get_user(session, user_id), MultiDict(), {})


def _user_page(session, user, values, errors, status=200):
    return render_template(
        "hwtrial/staff/users/page.html", user=user, tokens=service.list_tokens(session, user),
        studies=studies.list_studies(session, current_principal()), roles=STAFF_ROLES,
        values=values, errors=errors, notice=DONE.get(request.args.get("done", ""))), status


@bp.route("/users/<int:user_id>/active", methods=["POST"])
def user_active(user_id):
    check_csrf()
    session = get_session()
    user = service.get_user(session, user_id)
    try:
        body = load(UserPatchSchema(), {"active": request.form.get("active") == "yes",
                                        "reason": request.form.get("reason", "").strip()})
    except ServiceError as error:
        return _user_page(session, user, request.form, {"active." + k: v for k, v in error.errors.items()}, 422)
    if user.id == current_principal().user.id and not body["active"]:
        # A page-only guard: an admin must not lock themselves out from the browser they are using.
        return _user_page(session, user, request.form,
                          {"active.reason": ["you cannot disable your own account"]}, 409)
    service.set_active(session, current_principal(), user, body["active"], body["reason"])
    return redirect(url_for(".user_page", user_id=user.id, done="enabled" if body["active"] else "disabled"), 303)


@bp.route("/users/<int:user_id>/password", methods=["POST"])
def user_password(user_id):
    check_csrf()
    session = get_session()
    user = service.get_user(session, user_id)
    chosen = request.form.get("password", "") if request.form.get("mode") == "set" else None
    try:
        temporary = service.reset_password(session, current_principal(), user, chosen)
    except ServiceError as error:
        if error.status != 422:
            raise
        return _user_page(session, user, request.form,
                          {"reset." + k: v for k, v in form_errors(error).items()}, 422)
    if temporary is None:
        return redirect(url_for(".user_page", user_id=user.id, done="password"), 303)
    return render_template("hwtrial/staff/users/secret.html", user=user, password=temporary)


@bp.route("/users/<int:user_id>/scopes", methods=["POST"])
def user_scopes(user_id):
    check_csrf()
    session = get_session()
    user = service.get_user(session, user_id)
    keys = [] if request.form.get("scope") == "all" else request.form.getlist("study_keys")
    try:
        service.set_study_scopes(session, current_principal(), user, keys or None)
    except ServiceError as error:
        if error.status != 422:
            raise
        return _user_page(session, user, request.form,
                          {"scopes." + k: v for k, v in form_errors(error).items()}, 422)
    return redirect(url_for(".user_page", user_id=user.id, done="scopes"), 303)


@bp.route("/users/<int:user_id>/tokens", methods=["POST"])
def token_issue(user_id):
    check_csrf()
    session = get_session()
    user = service.get_user(session, user_id)
    form = request.form
    try:
        body = load(TokenInSchema(), {"role": form.get("role") or None, "label": form.get("label", "").strip(),
                                      "study_keys": form.getlist("study_keys") or None})
        issued = service.issue_token(session, current_principal(), user, **body)
    except ServiceError as error:
        if error.status not in (403, 422):
            raise
        return _user_page(session, user, form, {"token." + k: v for k, v in form_errors(error).items()},
                          error.status)
    return render_template("hwtrial/staff/users/secret.html", user=user, token=issued.secret,
                           issued=issued.token)


@bp.route("/users/<int:user_id>/tokens/<int:token_id>/revoke", methods=["POST"])
def token_revoke(user_id, token_id):
    check_csrf()
    session = get_session()
    token = service.get_token(session, token_id)
    if token.user_id != user_id:
        service.get_token(session, -1)  # 404: the token is not this user's (as the API)
    service.revoke_token(session, current_principal(), token)
    return redirect(url_for(".user_page", user_id=user_id, done="revoked"), 303)
