"""The ``hwtrial`` command group: what ``flask hwtrial …`` (mounted) and ``hwtrial …`` share."""

from __future__ import annotations

import click

from .allocation import allocation_group
from .analyze import analyze
from .audit import audit_group
from .demo import demo
from .export import export
from .homework import homework_group
from .participants import participants_group
from .recruitment import recruitment_group
from .report import report
from .studies import studies_group
from .tokens import tokens_group
from .users import users_group
from .worker import worker


@click.group("hwtrial", help="hwtrial: randomised trials of homework features.")
def hwtrial_group():
    pass


for _command in (studies_group, users_group, tokens_group, participants_group, audit_group,
                 allocation_group, homework_group, analyze, export, demo, recruitment_group, worker,
                 report):
    hwtrial_group.add_command(_command)
