"""Use cases: export one table, or a bundle, of a study (API and CLI call these).

Load (the study, in the caller's scope), authorise (arm keys need the unblinding right,
direct identifiers the identified-export permission), act (write the file, hash it, audit
it). The file is complete, hashed and audited *before* anyone reads a byte of it: the API
then streams it from disk, so the audit's SHA-256 is always that of the file handed out,
and an interrupted download is still on record. Only :func:`audit.record` is flushed.
"""

from __future__ import annotations

import secrets
import shutil
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.orm import Session

from ..auth.principal import Principal
from ..errors import ServiceError
from ..exports import bundle
from ..exports.privacy import DEFAULT_SHIFT_DAYS, MAX_SHIFT_DAYS, Scope
from ..exports.tables import REGISTRY
from ..exports.writers import FORMATS
from . import audit
from .blinding import can_see_arms, sees_external_ids
from .studies import get_study


@dataclass(frozen=True)
class ExportOptions:
    """What the caller asked for (all off by default: blinded, de-identified, true dates)."""

    unblinded: bool = False
    identified: bool = False
    date_shift_days: int | None = None


@dataclass(frozen=True)
class ExportFile:
    """A written export: where it is, what to call it, and what was audited about it."""

    path: Path
    filename: str
    media_type: str
    sha256: str
    size: int
    manifest: dict | None = None


def may_export_identified(principal: Principal | None) -> bool:
    """The identified-export permission: admins and coordinators (who already see external
    ids), and the installation's operator on the command line."""
    return principal is None or sees_external_ids(principal)


def parse_formats(formats: str | list[str] | None) -> list[str]:
    names = formats.split(",") if isinstance(formats, str) else list(formats or ["csv"])
    names = [n.strip() for n in names if n.strip()]
    bad = [n for n in names if n not in FORMATS]
    if bad or not names:
        raise ServiceError(422, "unknown export format", {
            "formats": [f"choose from {', '.join(FORMATS)}; got {', '.join(bad) or '-'}"]})
    return list(dict.fromkeys(names))


def _scope(principal: Principal | None, study, options: ExportOptions) -> Scope:
    if options.unblinded and principal is not None and not can_see_arms(principal, study):
        raise ServiceError(403, "arm keys need the unblinding right", {"unblinded": ["not allowed for you"]})
    if options.identified and not may_export_identified(principal):
        raise ServiceError(403, "direct identifiers need the identified-export permission",
                           {"identified": ["not allowed for you"]})
    days = options.date_shift_days
    if days is not None and not 1 <= days <= MAX_SHIFT_DAYS:
        raise ServiceError(422, "date shift out of range", {"date_shift_days": [f"1 to {MAX_SHIFT_DAYS}"]})
    key = secrets.token_bytes(32) if days is not None else None
    return Scope(sees_arms=options.unblinded, single_arm=len(study.definition.get("arms") or []) == 1,
                 identified=options.identified, shift_key=key,
                 max_shift_days=days or DEFAULT_SHIFT_DAYS)


def _part_rows() -> int | None:
    from flask import current_app, has_app_context

    return int(current_app.config.get("HWTRIAL_EXPORT_PART_ROWS") or 0) or None if has_app_context() else None


def _actor(principal: Principal | None) -> str:
    return "cli" if principal is None else principal.actor


def _record(session: Session, principal, study, what: str, scope: Scope, formats, sha256: str, rows) -> None:
    audit.record(session, actor=_actor(principal), action="study.export", target=f"study:{study.key}",
                 study_key=study.key, after={"export": what, "formats": formats, "filters": scope.filters,
                                             "rows": rows, "sha256": sha256})


def export_table(session: Session, principal: Principal | None, study_key: str, table: str, fmt: str,
                 options: ExportOptions = ExportOptions(), workdir: Path | None = None) -> ExportFile:
    """One table in one format, written to a file in ``workdir`` (a new temporary directory)."""
    study = get_study(session, principal, study_key)
    if table not in REGISTRY or fmt not in FORMATS:
        raise ServiceError(404, f"no export {table}.{fmt}")
    scope = _scope(principal, study, options)
    plan = bundle.plan(study, scope, [table], part_rows=_part_rows())
    if not plan.tables:
        raise ServiceError(403, f"the {table} table tells arms apart: it needs the unblinding right")
    own = workdir is None
    workdir = Path(workdir or tempfile.mkdtemp(prefix="hwtrial-export-"))
    try:
        return _write_one(session, principal, study, plan, scope, table, fmt, workdir)
    except BaseException:
        if own:  # nothing of a failed export stays on disk
            shutil.rmtree(workdir, ignore_errors=True)
        raise


def _write_one(session, principal, study, plan, scope, table, fmt, workdir: Path) -> ExportFile:
    name = f"{study.key}-{table}.{FORMATS[fmt][0]}"
    path = workdir / name
    (t, columns), = plan.tables
    n = bundle.write_table(session, plan, t, columns, fmt, path)
    media = FORMATS[fmt][1]
    files = bundle.table_files(path, fmt)
    if files != [path]:  # a .sav/.dta table in parts: one zip of the parts
        name = f"{study.key}-{table}-{fmt}-parts.zip"
        path = workdir / name
        with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            for part in files:
                archive.write(part, part.name)
                part.unlink()
        media = "application/zip"
    sha = bundle.sha256_file(path)
    _record(session, principal, study, table, scope, [fmt], sha, {table: n})
    return ExportFile(path, name, media, sha, path.stat().st_size)


def export_bundle(session: Session, principal: Principal | None, study_key: str, formats, *,
                  options: ExportOptions = ExportOptions(), out: Path | None = None,
                  progress: bundle.Progress | None = None) -> ExportFile:
    """The bundle as a zip (``out`` ends in .zip, or a new temporary file) or as a directory.

    The audit entry holds the zip's SHA-256 (for a directory: the manifest's, which holds
    every file's).
    """
    study = get_study(session, principal, study_key)
    formats = parse_formats(formats)
    scope = _scope(principal, study, options)
    plan = bundle.plan(study, scope, part_rows=_part_rows())
    as_dir = out is not None and out.suffix != ".zip"
    staging = out if as_dir else Path(tempfile.mkdtemp(prefix="hwtrial-bundle-"))
    path = None
    try:
        manifest = bundle.write_bundle_dir(session, plan, formats, staging, _actor(principal), progress)
        if as_dir:
            path, name, media = staging / "manifest.json", staging.name, "application/json"
        else:
            name = out.name if out is not None else f"{study.key}-export.zip"
            path = out if out is not None else Path(tempfile.mkdtemp(prefix="hwtrial-export-")) / name
            bundle.zip_dir(staging, path)
            media = "application/zip"
        sha = bundle.sha256_file(path)
        _record(session, principal, study, "bundle", scope, formats, sha, manifest["rows"])
    except BaseException:
        if out is None and not as_dir and path is not None:  # our temporary zip of a failed export
            shutil.rmtree(path.parent, ignore_errors=True)
        raise
    finally:
        if not as_dir:
            shutil.rmtree(staging, ignore_errors=True)
    return ExportFile(path, name, media, sha, path.stat().st_size, manifest)
