"""``hwtrial analyze STUDY|EXPORT.zip``: the results document as a readable table, or ``--json``.

``--json`` prints the document with the app's own JSON provider, so the text is the same
as the body of ``GET /api/v1/studies/<key>/results`` for an unblinded caller. Given an
export bundle (a ``.zip`` or its unpacked directory) instead of a study key, the document
is recomputed from the bundle alone: no database, no configuration, no server.
"""

from __future__ import annotations

from pathlib import Path

import click
from flask import Flask, current_app
from flask.cli import ScriptInfo

from ..errors import ServiceError
from ..extensions import get_session


def _fmt(value, digits: int = 3) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.{digits}g}" if abs(value) < 1e-3 and value else f"{value:.{digits}f}"
    return str(value)


def _estimate_line(label: str, est: dict) -> str:
    ci = f"[{_fmt(est['ci_low'])}, {_fmt(est['ci_high'])}]"
    p = f"p={_fmt(est['p_value'], 3)}" if est.get("p_value") is not None else ""
    return f"  {label:<34} {_fmt(est['estimate']):>10} {ci:>22} {p:<12} n={est['n']} {est['method']}"


def _status_line(name: str, section: dict) -> str | None:
    if section.get("status") == "ok":
        return None
    return f"  {name}: {section['status']} - {section.get('reason', '')}"


def _flow_lines(s: dict) -> list[str]:
    lines = [f"  {'arm':<20}{'randomised':>11}{'withdrawn':>10}{'excluded':>9}{'ITT':>6}{'PP':>6}"]
    for r in s["arms"]:
        lines.append(f"  {r['arm']:<20}{r['randomised']:>11}{r['withdrawn']:>10}"
                     f"{r['data_excluded']:>9}{r['analysed_itt']:>6}{r['analysed_per_protocol']:>6}")
    return lines


def _srm_lines(s: dict) -> list[str]:
    a = s["allocation"]
    flag = "  FLAGGED" if a["flagged"] else ""
    return [f"  allocation ({s['unit']}s): observed {a['observed']} expected "
            f"{[round(e, 1) for e in a['expected']]} chi2={_fmt(a['chi2'])} "
            f"p={_fmt(a['p_value'])}{flag}"]


def _adherence_lines(s: dict) -> list[str]:
    lines = [_estimate_line(f"completion {r['arm']}", r["completion"]) for r in s["by_arm"]]
    for c in s.get("comparisons", []):
        if c.get("status", "ok") != "ok":
            lines.append(f"  {c['arm']} vs {c['reference']}: {c.get('reason', c['status'])}")
            continue
        for k in ("risk_difference", "risk_ratio", "odds_ratio"):
            lines.append(_estimate_line(f"{k} {c['arm']} vs {c['reference']}", c["completion"][k]))
    for m in s.get("models", []):
        if m["status"] == "ok":
            lines += [_estimate_line(f"OR {o['name']} ({'+'.join(m['cluster'])})", o)
                      for o in m["result"]["odds_ratios"]]
    return lines


def _engagement_lines(s: dict) -> list[str]:
    lines = []
    for metric, parts in s["metrics"].items():
        if parts["by_arm"]["status"] == "ok":
            lines += [_estimate_line(f"{metric} {e['name']}", e) for e in parts["by_arm"]["result"]]
    return lines


def _outcome_lines(s: dict) -> list[str]:
    lines = []
    for m in s["measures"]:
        for pop, parts in m["populations"].items():
            if parts["ancova"]["status"] == "ok":
                lines += [_estimate_line(f"{m['instrument']}@{m['timepoint']} {pop} {e['name']}", e)
                          for e in parts["ancova"]["result"]["effects"]]
            else:
                lines.append(f"  {m['instrument']} {pop}: {parts['ancova']['reason']}")
    mult = s["multiplicity"]
    for row in mult.get("family", []):
        lines.append(f"  adjusted ({mult['method']}) {row['measure']} {row['effect']}: "
                     f"p={_fmt(row['p_value'])} -> {_fmt(row['p_adjusted'])}")
    return lines


def _design_lines(s: dict) -> list[str]:
    lines = []
    for part in ("outcome", "adherence", "random_intercept", "cluster_robust_ols"):
        r = s.get(part, {})
        if r.get("status") == "ok":
            res = r["result"]
            ests = res.get("effects") or res.get("coefficients") or res.get("model", {}).get("fixed", [])
            lines += [_estimate_line(f"{part} {e['name']}", e) for e in ests]
            if "icc" in res:
                lines.append(_estimate_line("icc", res["icc"]))
    if s.get("result", {}).get("effects"):
        lines += [_estimate_line(e["name"], e) for e in s["result"]["effects"]]
    return lines


RENDERERS = {"flow": _flow_lines, "srm": _srm_lines, "adherence": _adherence_lines,
             "engagement": _engagement_lines, "outcomes": _outcome_lines,
             "factorial": _design_lines, "cluster": _design_lines, "mrt": _design_lines}


def render_table(doc: dict) -> str:
    """A readable summary of the results document (the JSON has every number)."""
    lines = [f"{doc['study']} (version {doc['version']}): {doc['title']}",
             f"arms: {', '.join(a['label'] for a in doc['arms'])}; reference {doc['reference_arm']}; "
             f"populations {', '.join(doc['populations'])}; CI level {doc['level']:.2f}"]
    lines += [f"FLAG: {f}" for f in doc["flags"]]
    for name, section in doc["sections"].items():
        lines.append(f"\n== {name}")
        status = _status_line(name, section)
        if status:
            lines.append(status)
        elif name in RENDERERS:
            lines += RENDERERS[name](section)
        else:
            lines.append("  (see --json)")
    return "\n".join(lines)


def is_bundle(argument: str) -> bool:
    """An export bundle: a zip file, or a directory holding a manifest."""
    path = Path(argument)
    return (path.is_file() and path.suffix == ".zip") or (path / "manifest.json").is_file()


def offline_results(path: str, population: str | None, sections: str | None) -> dict:
    """The results document recomputed from an export bundle (no app, no database)."""
    from ..exports.offline import load_input
    from ..services.results import results_document

    data, blinded = load_input(path)
    return results_document(data, blind=blinded, population=population, sections=sections)


def _database_results(study: str, population: str | None, sections: str | None) -> dict:
    from ..services.results import build_results

    try:
        return build_results(get_session(), None, study, population=population, sections=sections)
    except ServiceError as error:
        get_session().rollback()
        raise click.ClickException(error.message) from None
    finally:
        get_session().rollback()  # read-only: nothing to commit


def _json_text(doc: dict, app: Flask | None) -> str:
    """The API body exactly: same provider, separators and key order."""
    app = app or Flask("hwtrial")  # held: the provider keeps only a weak reference to it
    return app.json.response(doc).get_data(as_text=True).rstrip("\n")


@click.command("analyze")
@click.argument("study")
@click.option("--json", "as_json", is_flag=True, help="Print the API's JSON document.")
@click.option("--population", type=click.Choice(["itt", "per_protocol"]), default=None)
@click.option("--sections", default=None, help="Comma-separated sections (default: all).")
@click.pass_context
def analyze(ctx, study, as_json, population, sections):
    """Print the results of STUDY (unblinded: run by the installation's operator), or
    recompute them from an export bundle EXPORT.zip (or its directory) offline."""
    if is_bundle(study):
        from ..errors import ServiceError as _ServiceError
        from ..exports.offline import BundleError

        try:
            doc = offline_results(study, population, sections)
        except (BundleError, _ServiceError) as error:
            raise click.ClickException(str(getattr(error, "message", error))) from None
        app = None
    else:
        if not current_app:  # what flask.cli.with_appcontext does, only when a database is needed
            ctx.with_resource(ctx.ensure_object(ScriptInfo).load_app().app_context())
        doc = _database_results(study, population, sections)
        app = current_app._get_current_object()
    click.echo(_json_text(doc, app) if as_json else render_table(doc))
