"""``hwtrial demo``: a fresh SQLite database with the example studies, demo staff and a participant."""

from __future__ import annotations

import glob
import os
from dataclasses import dataclass, field
from pathlib import Path

from flask import Flask
from flask_migrate import upgrade

from .extensions import get_session, state

DEMO_PASSWORD = "demo-password-123"


@dataclass
class DemoInfo:
    base_url: str
    prefix: str
    studies: list[str] = field(default_factory=list)
    accounts: list[tuple[str, str, str]] = field(default_factory=list)  # role, email, token
    participant_links: list[tuple[str, str]] = field(default_factory=list)

    def lines(self) -> list[str]:
        root = self.base_url + self.prefix
        out = [f"hwtrial demo at {root}/", f"  staff sign-in:  {root}/login  (password {DEMO_PASSWORD})",
               f"  API document:   {root}/api/v1/openapi.json", "  studies: " + ", ".join(self.studies)]
        out += [f"  {role:<12} {email}  API token: {token}" for role, email, token in self.accounts]
        out += [f"  participant link ({study}): {link}" for study, link in self.participant_links]
        return out


def _fresh_sqlite(app: Flask) -> None:
    engine = state().db.engine
    if engine.dialect.name != "sqlite":
        raise RuntimeError("hwtrial demo runs on SQLite only; unset HWTRIAL_DATABASE_URL")
    engine.dispose()
    path = engine.url.database
    for stale in (path, path + "-wal", path + "-shm"):
        if stale and os.path.exists(stale):
            os.remove(stale)
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    upgrade(directory=app.config["HWTRIAL_MIGRATIONS_DIR"])


def prepare_demo(app: Flask, base_url: str) -> DemoInfo:
    from .services import users
    from .services.loading import load_study_from_file

    _fresh_sqlite(app)
    session = get_session()
    info = DemoInfo(base_url=base_url, prefix=state().url_prefix)
    for role in ("admin", "coordinator", "statistician", "therapist"):
        user = users.create_user(session, "demo", email=f"{role}@demo.hwtrial", role=role,
                                 password=DEMO_PASSWORD)
        info.accounts.append((role, user.email, users.issue_token(session, "demo", user).secret))
    for path in sorted(glob.glob(os.path.join(app.config["HWTRIAL_STUDIES_DIR"], "*.yaml"))):
        study = load_study_from_file(session, "demo", path, activate=True)
        info.studies.append(study.key)
        link = _demo_participant_link(session, study, base_url)
        if link:
            info.participant_links.append((study.key, link))
    session.commit()
    return info


def _demo_participant_link(session, study, base_url: str) -> str:
    from .services.enrolment import demo_enrolment

    return demo_enrolment(session, study, base_url)
