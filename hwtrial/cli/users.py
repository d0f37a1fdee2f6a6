"""``hwtrial users create|list|disable|enable|reset-password|scope``: staff accounts."""

from __future__ import annotations

import sys

import click
from flask.cli import with_appcontext

from ..extensions import get_session
from ..models import STAFF_ROLES
from .common import ACTOR, committed, fail, read_only


@click.group("users", help="Staff accounts.")
def users_group():
    pass


def password_options(func):
    """``--password`` (alone: a hidden, confirmed prompt) or ``--password-stdin`` (scripts)."""
    func = click.option("--password-stdin", is_flag=True,
                        help="Read the password from the first line of standard input.")(func)
    return click.option("--password", default=None, prompt="Password", prompt_required=False,
                        hide_input=True, confirmation_prompt=True,
                        help="Web sign-in password; give the option alone to be prompted "
                             "(hidden). Omit it for an API-only account.")(func)


def read_password(password: str | None, from_stdin: bool) -> str | None:
    if from_stdin:
        if password is not None:
            fail("give --password or --password-stdin, not both")
        password = sys.stdin.readline().rstrip("\r\n")
    return password


@users_group.command("create")
@click.option("--role", required=True, type=click.Choice(STAFF_ROLES))
@click.option("--email", required=True)
@password_options
@click.option("--may-unblind", is_flag=True, help="Let this user see arm labels.")
@with_appcontext
def users_create(role, email, password, password_stdin, may_unblind):
    """Create a staff account and print a one-time API token."""
    from ..services import users

    password = read_password(password, password_stdin)

    def work():
        user = users.create_user(get_session(), ACTOR, email=email, role=role, password=password,
                                 may_unblind=may_unblind)
        return user.email, users.issue_token(get_session(), ACTOR, user, label="created by CLI")

    address, issued = committed(work)
    click.echo(f"created {role} {address}")
    click.echo(f"API token (shown once): {issued.secret}")


@users_group.command("list")
@with_appcontext
def users_list():
    """Every account: id, email, role, active, unblinding right, web password set."""
    from ..services import users

    rows = read_only(lambda: [(u.id, u.email, u.role, u.active, u.may_unblind, bool(u.password_hash),
                               u.study_keys) for u in users.list_users(get_session())])
    for uid, email, role, active, unblind, has_password, scope in rows:
        flags = [w for w, on in (("disabled", not active), ("may-unblind", unblind),
                                 ("api-only", not has_password)) if on]
        if scope:
            flags.append("studies=" + ",".join(scope))
        click.echo(f"{uid:>4} {email:<36} {role:<13} {' '.join(flags)}".rstrip())


def _set_active(email: str, active: bool, reason: str):
    from ..services import users

    def work():
        user = users.user_by_email(get_session(), email)
        return users.set_active(get_session(), ACTOR, user, active, reason).email

    return committed(work)


@users_group.command("disable")
@click.argument("email")
@click.option("--reason", default="disabled from the command line", help="Recorded in the audit trail.")
@with_appcontext
def users_disable(email, reason):
    """Disable an account: no sign-in, its API tokens stop working."""
    click.echo(f"disabled {_set_active(email, False, reason)}")


@users_group.command("enable")
@click.argument("email")
@click.option("--reason", default="enabled from the command line", help="Recorded in the audit trail.")
@with_appcontext
def users_enable(email, reason):
    """Re-enable a disabled account."""
    click.echo(f"enabled {_set_active(email, True, reason)}")


@users_group.command("reset-password")
@click.argument("email")
@click.option("--password", default=None, hide_input=True, help="Scripts only; prompted (hidden) by default.")
@click.option("--password-stdin", is_flag=True, help="Read the password from the first line of standard input.")
@with_appcontext
def users_reset_password(email, password, password_stdin):
    """Set a new web sign-in password (prompted, hidden, with confirmation)."""
    from ..services import users

    password = read_password(password, password_stdin)
    if password is None:
        password = click.prompt("New password", hide_input=True, confirmation_prompt=True)

    def work():
        return users.set_password(get_session(), ACTOR, users.user_by_email(get_session(), email),
                                  password).email

    click.echo(f"password of {committed(work)} changed")


@users_group.command("scope")
@click.argument("email")
@click.option("--study", "study_keys", multiple=True, help="A study the account may touch (repeatable).")
@click.option("--all-studies", is_flag=True, help="Lift the limit: every study.")
@with_appcontext
def users_scope(email, study_keys, all_studies):
    """Limit an account (coordinator, therapist, statistician) to studies, or lift the limit.

    Other studies then answer 404 to the account's sessions and tokens (audited).
    """
    from ..services import users

    if bool(study_keys) == all_studies:
        fail("give --study (one or more) or --all-studies")

    def work():
        user = users.user_by_email(get_session(), email)
        return users.set_study_scopes(get_session(), ACTOR, user, list(study_keys) or None).study_keys

    scope = committed(work)
    click.echo(f"{email}: {', '.join(scope) if scope else 'every study'}")
