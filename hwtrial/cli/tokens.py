"""``hwtrial tokens issue|revoke|list``: API tokens of staff accounts."""

from __future__ import annotations

import click
from flask.cli import with_appcontext

from ..extensions import get_session
from ..models import STAFF_ROLES
from .common import ACTOR, committed, read_only


@click.group("tokens", help="API tokens: issue (shown once), revoke, list.")
def tokens_group():
    pass


@tokens_group.command("issue")
@click.argument("email")
@click.option("--label", default="", help="What the token is for (shown in lists).")
@click.option("--study", "study_keys", multiple=True, help="Limit the token to this study (repeatable).")
@click.option("--role", type=click.Choice(STAFF_ROLES), default=None,
              help="A narrower role than the user's (admins only).")
@with_appcontext
def tokens_issue(email, label, study_keys, role):
    """Issue an API token for EMAIL and print it once (only its hash is stored)."""
    from ..services import users

    def work():
        user = users.user_by_email(get_session(), email)
        issued = users.issue_token(get_session(), ACTOR, user, role=role,
                                   study_keys=list(study_keys) or None, label=label)
        return issued.token.id, issued.secret

    token_id, secret = committed(work)
    click.echo(f"token {token_id} for {email}")
    click.echo(f"API token (shown once): {secret}")


@tokens_group.command("revoke")
@click.argument("token_id", type=int)
@with_appcontext
def tokens_revoke(token_id):
    """Revoke a token by its id (see `tokens list`); it stops working at once."""
    from ..services import users

    committed(lambda: users.revoke_token(get_session(), ACTOR, users.get_token(get_session(), token_id)))
    click.echo(f"token {token_id} revoked")


@tokens_group.command("list")
@click.argument("email")
@with_appcontext
def tokens_list(email):
    """The tokens of EMAIL: id, prefix, role, studies, label, revoked or last used."""
    from ..services import users

    def rows():
        tokens = users.list_tokens(get_session(), users.user_by_email(get_session(), email))
        return [(t.id, t.prefix, t.role, ",".join(t.study_keys or []) or "all studies", t.label,
                 f"revoked {t.revoked_at:%Y-%m-%d}" if t.revoked_at else
                 f"last used {t.last_used_at:%Y-%m-%d}" if t.last_used_at else "never used")
                for t in tokens]

    for token_id, prefix, role, scope, label, state in read_only(rows):
        click.echo(f"{token_id:>4} {prefix}…  {role:<13} {scope:<24} {state:<20} {label}".rstrip())
