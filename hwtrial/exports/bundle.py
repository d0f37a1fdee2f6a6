"""Write one table, or a whole bundle, to files; pack a bundle as a zip.

A bundle directory holds ``tables/<name>.<format>`` (a .sav/.dta table longer than the
plan's ``part_rows`` as ``tables/<name>.part001.<format>``, …, listed under ``parts`` in the
manifest and in the codebook with the commands that combine them), ``codebook.csv``, ``codebook.html``,
``study/version-<n>.json`` (the normalised study definition of every version, blinded for
blinded exports) and ``manifest.json`` (study, versions, who, when, filters, row counts,
withdrawn participants left out, and the SHA-256 of every other file). Reading rows needs
the session; everything else here is files.
"""

from __future__ import annotations

import hashlib
import json
import string
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from importlib.metadata import version as package_version
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.orm import Session

from ..models import Participant, Study, StudyVersion, utcnow
from ..studydef.blind import blind_definition
from . import codebook, labelled, rows
from .privacy import Scope
from .spec import Column, StudyFacts, Table
from .tables import REGISTRY
from .writers import FORMATS, ROW_CHUNKS, writer_for

#: ``progress(table, rows_written, rows_total)`` after every chunk.
Progress = Callable[[str, int, int], None]
MANIFEST_FORMAT = "hwtrial-export/1"


@dataclass(frozen=True)
class Plan:
    """What one export writes: the study, the scope and the tables with their visible columns."""

    study: Study
    scope: Scope
    tables: list[tuple[Table, list[Column]]]
    #: Rows per .sav/.dta file (``HWTRIAL_EXPORT_PART_ROWS``): larger tables are numbered parts.
    part_rows: int = labelled.PART_ROWS


def facts_of(study: Study) -> StudyFacts:
    definition = study.definition
    return StudyFacts(definition, {a["key"]: a["code"] for a in definition.get("arms", [])})


def plan(study: Study, scope: Scope, names: list[str] | None = None, part_rows: int | None = None) -> Plan:
    facts = facts_of(study)
    chosen = [REGISTRY[n] for n in (names or REGISTRY)]
    return Plan(study, scope, [(t, scope.visible(t.columns(facts))) for t in chosen if scope.includes(t)],
                part_rows or labelled.PART_ROWS)


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
        source = rows.csv_rows if fmt in ROW_CHUNKS else rows.stream
        for chunk in source(session, table, columns, p.scope, p.study.id):
            done += len(chunk) if fmt in ROW_CHUNKS else len(next(iter(chunk.values()))) if chunk else 0
            if progress:
                progress(table.name, done, total)
            yield chunk

    return writer_for(fmt)(path, columns, chunks(), {"label": f"{p.study.key} {table.name}",
                                                     "part_rows": p.part_rows})


def table_files(path: Path, fmt: str) -> list[Path]:
    """The files :func:`write_table` wrote for ``path``: itself, or numbered .sav/.dta parts."""
    return labelled.written_files(path) if fmt in ("sav", "dta") else [path]


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


def blinded_with_cells(definition: dict) -> dict:
    """The blinded definition; in a factorial study each arm also carries its blinded cell
    (factor letters and level numbers, ``{"A": "1", "B": "2"}``, as the blinded results'
    factorial section codes them), so the factorial effects can be recomputed offline."""
    arms = definition.get("arms", [])
    out = blind_definition(definition, {a["key"]: a["code"] for a in arms})
    if len(arms) == 1:  # one arm conceals nothing: keep its features (an MRT's window, say)
        out["arms"][0]["features"] = arms[0].get("features") or {}
    factors = definition.get("factors") or []
    if factors:
        for arm, blinded in zip(arms, out["arms"], strict=True):
            cell = dict(part.split("=", 1) for part in arm["key"].split("|"))
            levels = [[str(lv["key"]) for lv in f["levels"]] for f in factors]
            blinded["cell"] = {string.ascii_uppercase[i]: str(levels[i].index(cell[f["key"]]) + 1)
                               for i, f in enumerate(factors)}
    return out


def _study_files(session: Session, p: Plan, dest: Path) -> list[str]:
    (dest / "study").mkdir(exist_ok=True)
    out = []
    versions = session.scalars(sa.select(StudyVersion).where(StudyVersion.study_id == p.study.id)
                               .order_by(StudyVersion.version))
    for v in versions:
        definition = v.definition
        if not p.scope.sees_arms:
            definition = blinded_with_cells(definition)
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
    counts, files, parts = {}, [], {}
    for table, columns in p.tables:
        for fmt in formats:
            name = f"tables/{table.name}.{FORMATS[fmt][0]}"
            counts[table.name] = write_table(session, p, table, columns, fmt, dest / name, progress)
            written = [f"tables/{f.name}" for f in table_files(dest / name, fmt)]
            files += written
            if len(written) > 1:
                parts.setdefault(table.name, {})[fmt] = written
    codebook.write_csv(dest / "codebook.csv", p.tables)
    codebook.write_html(dest / "codebook.html", p.tables, f"Codebook: {p.study.key} ({p.study.title})", parts)
    files += ["codebook.csv", "codebook.html", *_study_files(session, p, dest)]
    codes = facts_of(p.study).arm_codes
    manifest = {
        "format": MANIFEST_FORMAT, "study": p.study.key, "title": p.study.title,
        "study_version": p.study.current_version, "hwtrial_version": package_version("hwtrial"),
        "exported_at": utcnow().isoformat(), "exported_by": actor, "filters": p.scope.filters,
        "formats": formats, "rows": counts, "part_rows": p.part_rows, "parts": parts,
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
