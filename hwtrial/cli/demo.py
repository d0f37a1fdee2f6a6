"""``hwtrial demo``: a fresh SQLite demo database, printed links, then serve."""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import with_appcontext


@click.command("demo")
@click.option("--host", default="127.0.0.1")
@click.option("--port", default=5000, type=int)
@click.option("--no-serve", is_flag=True, help="Prepare the demo and exit.")
@with_appcontext
def demo(host, port, no_serve):
    """Fresh SQLite demo: migrate, load example studies, create demo users, print links, serve."""
    from ..demo import prepare_demo

    info = prepare_demo(current_app._get_current_object(), base_url=f"http://{host}:{port}")
    for line in info.lines():
        click.echo(line)
    if not no_serve:
        # Flask ignores app.run() inside a CLI command; serve with werkzeug directly.
        from werkzeug.serving import run_simple

        run_simple(host, port, current_app._get_current_object(), threaded=True)
