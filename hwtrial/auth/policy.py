"""The route policy: one row per endpoint says which roles may call it.

A route missing from this table is refused (fail closed), and a test walks ``app.url_map``
to make sure no hwtrial route lacks a row. Object-level checks (is this *your* participant?)
are made by the service that loads the object.
"""

from __future__ import annotations

ANYONE = frozenset({"anonymous", "participant", "admin", "coordinator", "therapist", "statistician"})
STAFF = frozenset({"admin", "coordinator", "therapist", "statistician"})
PARTICIPANT = frozenset({"participant"})
ADMIN = frozenset({"admin"})
COORDINATION = frozenset({"admin", "coordinator"})
ANALYSIS = frozenset({"admin", "coordinator", "statistician"})
CARE = frozenset({"admin", "coordinator", "therapist"})
# Roles that can hold the unblinding permission (statisticians only with may_unblind: the
# service checks the permission itself).
UNBLINDING = frozenset({"admin", "coordinator", "statistician"})
# Host platforms enrol and ask for features with a coordinator-scoped token.
HOST = COORDINATION

#: endpoint → roles allowed, for every method of the route; a row "endpoint METHOD" overrides it
#: for that method (e.g. anyone on staff may list studies, only coordination may create one).
#: Keep sorted by blueprint; add a row with every new route.
POLICY: dict[str, frozenset[str]] = {
    # public
    "static": ANYONE,
    "hwtrial_web.static": ANYONE,
    "hwtrial-api-docs.openapi_json": ANYONE,
    "hwtrial_apidocs.page": ANYONE,
    "hwtrial_apidocs.asset": ANYONE,
    "hwtrial_web.index": ANYONE,
    "hwtrial_web.healthz": ANYONE,
    "hwtrial_auth.login": ANYONE,
    "hwtrial_auth.logout": ANYONE,
    "hwtrial_auth.participant_start": ANYONE,
    # staff pages
    "hwtrial_web.staff_home": STAFF,
    # participant pages (homework): each service loads only the signed-in participant's rows
    "hwtrial_participant.home": PARTICIPANT,
    "hwtrial_participant.consent": PARTICIPANT,
    "hwtrial_participant.questionnaire": PARTICIPANT,
    "hwtrial_participant.task": PARTICIPANT,
    "hwtrial_participant.draft": PARTICIPANT,
    "hwtrial_participant.review": PARTICIPANT,
    "hwtrial_participant.done": PARTICIPANT,
    "hwtrial_participant.leave": PARTICIPANT,
    "hwtrial_participant.reminders": PARTICIPANT,
    # the participant's own: support after a safety item, a submitted entry, language, time zone
    "hwtrial_participant.support": PARTICIPANT,
    "hwtrial_participant.entry": PARTICIPANT,
    "hwtrial_participant.language": PARTICIPANT,
    "hwtrial_participant.preferences": PARTICIPANT,
    # studies API
    "hwtrial_studies.StudyList": frozenset({"admin", "coordinator", "therapist", "statistician"}),
    "hwtrial_studies.StudyList POST": COORDINATION,
    "hwtrial_studies.StudyItem": frozenset({"admin", "coordinator", "therapist", "statistician"}),
    "hwtrial_studies.StudyTransition": COORDINATION,
    "hwtrial_studies.StudyAmendment": COORDINATION,
    "hwtrial_studies.StudyValidation": COORDINATION,
    # users and tokens API
    "hwtrial_users.UserList": ADMIN,
    "hwtrial_users.UserItem": ADMIN,
    "hwtrial_users.UserScopes": ADMIN,
    "hwtrial_users.TokenList": ADMIN,
    "hwtrial_users.TokenItem": ADMIN,
    "hwtrial_users.Me": STAFF,
    # engagement events: host platforms, and participants for their own events (checked in the service)
    "hwtrial_events.EventBatch": HOST | PARTICIPANT,
    # homework for care staff (a therapist only for their own clients, checked in the service)
    "hwtrial_homework.ClientHomework": CARE,
    "hwtrial_homework.HomeworkList": CARE,
    "hwtrial_homework.HomeworkReview": CARE,
    "hwtrial_homework.SafetyAlertList": COORDINATION,
    "hwtrial_homework.SafetyAlertAcknowledge": COORDINATION,
    # participants API (enrolment, flags, withdrawal); object checks in the services
    "hwtrial_participants.ParticipantList": STAFF,
    "hwtrial_participants.ParticipantList POST": HOST,
    "hwtrial_participants.ParticipantItem": STAFF,
    "hwtrial_participants.ParticipantByExternalId": STAFF,
    "hwtrial_participants.ParticipantFeatures": HOST,
    "hwtrial_participants.ParticipantLink": HOST,  # revokes old links, issues a new one
    "hwtrial_participants.ParticipantUnblind": UNBLINDING,  # service: coordinator or may_unblind
    "hwtrial_participants.ParticipantWithdraw": COORDINATION,
    # allocation list and study-level unblinding; service: the unblinding right
    "hwtrial_allocations.AllocationList": UNBLINDING,
    "hwtrial_allocations.UnblindingRequestList": UNBLINDING,
    "hwtrial_allocations.UnblindingApproval": UNBLINDING,
    # results: statisticians, coordinators, admins; arm labels blinded by the service
    "hwtrial_results.StudyResults": ANALYSIS,
    # exports: the same people; arm keys and identifiers need their permissions (the service)
    "hwtrial_exports.TableExport": ANALYSIS,
    "hwtrial_exports.BundleExport": ANALYSIS,
    # deliveries (reminders reveal the arm: coordination only)
    "hwtrial_reminders.ReminderList": COORDINATION,
    "hwtrial_reminders.ReminderRequeue": COORDINATION,
    # recruitment
    "hwtrial_recruitment.prolific_entry": ANYONE,
    "hwtrial_recruitment.complete": PARTICIPANT,
}


def allowed_roles(endpoint: str | None, method: str = "GET") -> frozenset[str]:
    """Roles allowed to call ``endpoint`` with ``method``; empty (nobody) without a row."""
    if endpoint is None:
        return frozenset()
    method = "GET" if method == "HEAD" else method
    return POLICY.get(f"{endpoint} {method}", POLICY.get(endpoint, frozenset()))


def register(rows: dict[str, frozenset[str]]) -> None:
    """Add rows for routes defined in another module (kept next to this table's import)."""
    POLICY.update(rows)
