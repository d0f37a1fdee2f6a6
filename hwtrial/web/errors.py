"""Render a refused use case as a page (the API renders the same error as JSON)."""

from __future__ import annotations

from flask import redirect, render_template, request, url_for

#: Endpoints of staff pages: a signed-out visitor is sent to sign in and brought back.
STAFF_PAGES = ("hwtrial_staff.", "hwtrial_web.staff_home")


def _is_staff_page() -> bool:
    return bool(request.endpoint) and request.endpoint.startswith(STAFF_PAGES)


def render_service_error(error, name: str):
    if error.status == 401 and request.method in ("GET", "HEAD") and _is_staff_page():
        target = request.full_path.rstrip("?")
        return redirect(url_for("hwtrial_auth.login", next=target))
    back = url_for("hwtrial_staff.study_list") if _is_staff_page() else None
    return render_template("hwtrial/error.html", error=error, name=name, back=back), error.status


def render_staff_not_found():
    """An unknown URL under ``/staff``: a 404 page with the way back to the studies."""
    from ..errors import ServiceError

    error = ServiceError(404, "There is no such staff page.")
    return render_template("hwtrial/error.html", error=error, name="Not Found",
                           back=url_for("hwtrial_staff.study_list")), 404
