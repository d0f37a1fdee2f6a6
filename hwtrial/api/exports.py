"""Statistician exports: one table in one format, or the bundle (zip), streamed from disk.

The service writes, hashes and audits the file before the response starts; the view only
streams it and removes it when the response is closed.
"""

from __future__ import annotations

import shutil

import marshmallow as ma
from flask import Response
from flask.views import MethodView

from ..exports.writers import FORMATS
from ..services import exports as service
from .common import Blueprint, current_principal, get_session

blp = Blueprint("hwtrial_exports", __name__, description="Statistician exports (CSV, Parquet, SPSS, Stata)")

_FORMATS = "|".join(FORMATS)
BLOCK = 1 << 16


class ExportArgsSchema(ma.Schema):
    unblinded = ma.fields.Boolean(load_default=False, metadata={
        "description": "arm keys and arm-revealing tables (needs the unblinding right)"})
    identified = ma.fields.Boolean(load_default=False, metadata={
        "description": "direct identifiers and free text (admins and coordinators)"})
    date_shift_days = ma.fields.Integer(load_default=None, validate=ma.validate.Range(1, 3650), metadata={
        "description": "shift each participant's dates back by 1..N whole days"})


class BundleArgsSchema(ExportArgsSchema):
    formats = ma.fields.String(load_default="csv,parquet", validate=ma.validate.Regexp(
        f"^({_FORMATS})(,({_FORMATS}))*$", error=f"comma-separated, from: {', '.join(FORMATS)}"))


def _options(args) -> service.ExportOptions:
    return service.ExportOptions(args["unblinded"], args["identified"], args["date_shift_days"])


def _stream(exported: service.ExportFile) -> Response:
    """Stream the file from an open handle. Its temporary folder goes at once where the system
    lets an open file be removed (POSIX), so no export is left on disk by a client that never
    finishes reading; elsewhere when the response closes."""
    handle = open(exported.path, "rb")
    folder = exported.path.parent
    try:
        shutil.rmtree(folder)
        folder = None
    except OSError:
        pass

    def blocks():
        with handle:
            while block := handle.read(BLOCK):
                yield block

    response = Response(blocks(), mimetype=exported.media_type, headers={
        "Content-Disposition": f'attachment; filename="{exported.filename}"',
        "Content-Length": str(exported.size), "X-Hwtrial-SHA256": exported.sha256,
        "Cache-Control": "no-store"})
    response.call_on_close(handle.close)
    if folder is not None:
        response.call_on_close(lambda: shutil.rmtree(folder, ignore_errors=True))
    return response


@blp.route("/<study_key>/exports/bundle.zip")
class BundleExport(MethodView):
    @blp.arguments(BundleArgsSchema, location="query")
    @blp.response(200, content_type="application/zip")
    def get(self, args, study_key):
        """Tables in the chosen formats, codebook, study versions and manifest (audited)."""
        return _stream(service.export_bundle(get_session(), current_principal(), study_key, args["formats"],
                                             options=_options(args)))


@blp.route("/<study_key>/exports/<table>.<fmt>")
class TableExport(MethodView):
    @blp.arguments(ExportArgsSchema, location="query")
    @blp.response(200)
    def get(self, args, study_key, table, fmt):
        """One table (participants, allocations, homework, ...) as csv, parquet, sav or dta (audited)."""
        return _stream(service.export_table(get_session(), current_principal(), study_key, table, fmt,
                                            _options(args)))
