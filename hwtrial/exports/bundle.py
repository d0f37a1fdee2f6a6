"""Write one table, or a whole bundle, to files; pack a bundle as a zip.

A bundle directory holds ``tables/<name>.<format>``, ``codebook.csv``, ``codebook.html``,
``study/version-<n>.json`` (the normalised study definition of every version, blinded for
blinded exports) and ``manifest.json`` (study, versions, who, when, filters, row counts,
withdrawn participants left out, and the SHA-256 of every other file). Reading rows needs
the session; everything else here is files.
"""

from __future__ import annotations

import hashlib
import json
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from importlib.metadata import version as package_version
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.orm import Session

from ..models import Participant, Study, StudyVersion, utcnow
from ..studydef.blind import blind_definition
from . import codebook, rows
from .privacy import Scope
from .spec import Column, StudyFacts, Table
from .tables import REGISTRY
from .writers import FORMATS, TEXT_TIMES, writer_for

#: ``progress(table, rows_written, rows_total)`` after every chunk.
Progress = Callable[[str, int, int], None]
MANIFEST_FORMAT = "hwtrial-export/1"


@dataclass(frozen=True)
class Plan:
    """What one export writes: the study, the scope and the tables with their visible columns."""

    study: Study
    scope: Scope
    tables: list[tuple[Table, list[Column]]]


def facts_of(study: Study) -> StudyFacts:
    definition = study.definition
    return StudyFacts(definition, {a["key"]: a["code"] for a in definition.get("arms", [])})


def plan(study: Study, scope: Scope, names: list[str] | None = None) -> Plan:
    facts = facts_of(study)
    chosen = [REGISTRY[n] for n in (names or REGISTRY)]
    return Plan(study, scope, [(t, scope.visible(t.columns(facts))) for t in chosen if scope.includes(t)])


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def write_table(session: Session, p: Plan, table: Table, columns: list[Column], fmt: str, path: Path,
                progress: Progress | None = None) -> int:
    total = rows.count(session, table, p.scope, p.study.id) if progress else 0
    done = 0

    def chunks():
        nonlocal done
        for chunk in rows.stream(session, table, columns, p.scope, p.study.id, text_times=fmt in TEXT_TIMES):
            done += len(next(iter(chunk.values()))) if chunk else 0
            if progress:
                progress(table.name, done, total)
            yield chunk

    return writer_for(fmt)(path, columns, chunks(), {"label": f"{p.study.key} {table.name}"})


def excluded(session: Session, study: Study, codes: dict[str, str], sees_arms: bool) -> dict:
    """Participants left out for withdrawn data-use consent: count, and per arm label and status
    (the results' flow section counts them)."""
    from ..models import Allocation

    got = session.execute(
        sa.select(Allocation.arm_key, Participant.status, sa.func.count())
        .select_from(Participant).outerjoin(Allocation, Allocation.participant_id == Participant.id)
        .where(Participant.study_id == study.id, Participant.exclude_data.is_(True))
        .group_by(Allocation.arm_key, Participant.status)).all()
    by_arm: dict[str, dict[str, int]] = {}
    for arm, status, n in got:
        label = "unallocated" if arm is None else arm if sees_arms else codes[arm]
        by_arm.setdefault(label, {})[status] = int(n)
    return {"count": sum(int(n) for *_, n in got), "by_arm": dict(sorted(by_arm.items()))}


def _study_files(session: Session, p: Plan, dest: Path) -> list[str]:
    (dest / "study").mkdir(exist_ok=True)
    out = []
    versions = session.scalars(sa.select(StudyVersion).where(StudyVersion.study_id == p.study.id)
                               .order_by(StudyVersion.version))
    for v in versions:
        definition = v.definition
        if not p.scope.sees_arms:
            definition = blind_definition(definition, {a["key"]: a["code"] for a in definition.get("arms", [])})
        name = f"study/version-{v.version}.json"
        body = {"version": v.version, "created_at": v.created_at.isoformat(), "reason": v.reason,
                "definition": definition}
        (dest / name).write_text(json.dumps(body, indent=2, sort_keys=True, ensure_ascii=False) + "\n",
                                 encoding="utf-8")
        out.append(name)
    return out


def write_bundle_dir(session: Session, p: Plan, formats: list[str], dest: Path, actor: str,
                     progress: Progress | None = None) -> dict:
    """Every file of the bundle into ``dest``; returns the manifest (also written there)."""
    (dest / "tables").mkdir(parents=True, exist_ok=True)
    counts, files = {}, []
    for table, columns in p.tables:
        for fmt in formats:
            name = f"tables/{table.name}.{FORMATS[fmt][0]}"
            counts[table.name] = write_table(session, p, table, columns, fmt, dest / name, progress)
            files.append(name)
    codebook.write_csv(dest / "codebook.csv", p.tables)
    codebook.write_html(dest / "codebook.html", p.tables, f"Codebook: {p.study.key} ({p.study.title})")
    files += ["codebook.csv", "codebook.html", *_study_files(session, p, dest)]
    codes = facts_of(p.study).arm_codes
    manifest = {
        "format": MANIFEST_FORMAT, "study": p.study.key, "title": p.study.title,
        "study_version": p.study.current_version, "hwtrial_version": package_version("hwtrial"),
        "exported_at": utcnow().isoformat(), "exported_by": actor, "filters": p.scope.filters,
        "formats": formats, "rows": counts,
        "excluded_withdrawn": excluded(session, p.study, codes, p.scope.sees_arms),
        "files": {name: sha256_file(dest / name) for name in files},
    }
    (dest / "manifest.json").write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return manifest


def zip_dir(src: Path, zip_path: Path) -> None:
    """Pack the bundle directory (files are streamed into the zip, not read whole)."""
    with zipfile.ZipFile(zip_path, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=6) as archive:
        for path in sorted(src.rglob("*")):
            if path.is_file():
                archive.write(path, path.relative_to(src).as_posix())
