"""What the participant's home page shows: open, late, upcoming and done homework, progress.

Task names are the template's title in the participant's language and framing (the task
page's own heading), and progress counts only what was due so far: "0 of 13" on the first
day tells a person nothing but how long the study is.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from ..errors import ServiceError
from ..homework import resolve_texts
from ..models import HomeworkInstance, Participant
from . import homework, questionnaires

#: How many not-yet-open tasks the home page lists.
UPCOMING = 5


@dataclass(frozen=True)
class TaskRow:
    """One homework on the home page."""

    instance: HomeworkInstance
    #: The template's title in the participant's locale and framing.
    name: str
    #: Past its due time but still accepted (before ``expire_at``).
    late: bool


@dataclass(frozen=True)
class QuestionnaireRow:
    """One due questionnaire, with its localised title."""

    due: questionnaires.DueQuestionnaire
    title: str


@dataclass(frozen=True)
class Home:
    """What the home page shows."""

    #: The study's title (the page's heading, instead of "Your study").
    title: str
    #: Open now, by due time (late ones first, as they are due earliest).
    today: list[TaskRow]
    upcoming: list[TaskRow]
    #: Submitted, newest first; each links to the participant's own entry.
    done: list[TaskRow]
    #: Submitted tasks, and tasks whose due time has passed or that are done (the "so far").
    done_count: int
    due_count: int
    #: Every scheduled task of the study, for "n of N planned".
    total: int
    questionnaires: list[QuestionnaireRow]


def localised(value: Any, locale: str, default: str) -> str:
    """A ``{locale: text}`` value in ``locale`` (then the default locale); plain text as is."""
    if isinstance(value, Mapping):
        return value.get(locale) or value.get(default) or ""
    return value or ""


def task_name(definition: Mapping[str, Any], template_key: str, locale: str, framing: str) -> str:
    """The title the task page shows for this template."""
    try:
        template = homework.template_spec(definition, template_key)
        return resolve_texts(template, locale, framing, definition["default_locale"])["title"]
    except (ServiceError, ValueError, KeyError):  # an ad-hoc template gone from the definition
        return template_key.replace("_", " ").capitalize()


def home(session: Session, participant: Participant, definition: Mapping[str, Any], now: datetime,
         locale: str, framing: str = "default") -> Home:
    """The home page's rows; open tasks are marked delivered (the participant sees them now)."""
    rows = list(session.scalars(sa.select(HomeworkInstance).where(
        HomeworkInstance.participant_id == participant.id).order_by(HomeworkInstance.due_at,
                                                                    HomeworkInstance.id)))
    names: dict[str, str] = {}

    def row_of(instance: HomeworkInstance) -> TaskRow:
        if instance.template_key not in names:
            names[instance.template_key] = task_name(definition, instance.template_key, locale, framing)
        return TaskRow(instance, names[instance.template_key], instance.due_at <= now)

    today, upcoming, done = [], [], []
    for row in rows:
        state = homework.refresh_state(row, now)
        if state == "submitted":
            done.append(row_of(row))
        elif state in homework.FINAL:
            continue
        elif row.open_at <= now:
            homework.advance(row, "delivered", now)
            today.append(row_of(row))
        elif len(upcoming) < UPCOMING:
            upcoming.append(row_of(row))
    session.flush()
    due_count = sum(1 for r in rows if r.due_at <= now or r.state == "submitted")
    default = definition.get("default_locale") or "en"
    titles = {i["key"]: localised(i.get("title"), locale, default) or i["key"].upper()
              for i in (definition.get("questionnaires") or {}).get("instruments") or []}
    due_q = [QuestionnaireRow(q, titles.get(q.instrument, q.instrument.upper()))
             for q in questionnaires.due(session, participant, definition, now)]
    done.sort(key=lambda r: r.instance.submitted_at or now, reverse=True)
    return Home(title=definition.get("title") or "", today=today, upcoming=upcoming, done=done,
                done_count=len(done), due_count=due_count, total=len(rows), questionnaires=due_q)
