"""The staff web app under ``/staff``: one blueprint, one module per area.

Each module adds its routes to :data:`bp` and its rows to the route policy
(``auth.policy.register``); every view calls the same service function the API calls.
Areas: ``dashboard`` (study list and study page), ``studies`` (study files), ``participants``,
``users`` (admin), ``audit``, ``caseload`` (therapists), ``results`` (statisticians).
"""

from __future__ import annotations

from flask import Blueprint, current_app

from ...auth.load import current_principal

bp = Blueprint("hwtrial_staff", __name__, template_folder="../../templates")

#: (endpoint, label, roles) of the navigation; entries whose endpoint is not registered are left out.
NAV = (
    ("hwtrial_staff.study_list", "Studies", {"admin", "coordinator", "therapist", "statistician"}),
    ("hwtrial_staff.caseload", "Caseload", {"therapist", "coordinator", "admin"}),
    ("hwtrial_staff.user_list", "Users", {"admin"}),
    ("hwtrial_staff.audit_log", "Audit log", {"admin", "coordinator"}),
)


@bp.app_context_processor
def staff_navigation():
    def staff_nav():
        role = current_principal().role
        return [(endpoint, label) for endpoint, label, roles in NAV
                if role in roles and endpoint in current_app.view_functions]
    return {"staff_nav": staff_nav}


def register_staff(app, prefix: str) -> None:
    from . import audit, caseload, dashboard, participants, results, studies, users  # noqa: F401  (routes)

    app.register_blueprint(bp, url_prefix=f"{prefix}/staff")
