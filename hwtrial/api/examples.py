"""Request examples of the OpenAPI document (``examples`` of each JSON request body).

One entry per input schema, keyed by its class name; :func:`of` hands them to
``blp.arguments(..., examples=of("SchemaName"))``. A test loads every example through its schema,
so the document never shows a body the API refuses. The enrolment examples live beside their
schema (``api.participants.ENROL_EXAMPLES``).
"""

from __future__ import annotations

STUDY_YAML = "key: my-study\ntitle: My study\n…  # the study file's text (see studies/README.md)\n"

EXAMPLES: dict[str, dict] = {
    "DefinitionInSchema": {
        "yaml": {"summary": "the study file's text", "value": {"yaml": STUDY_YAML}},
        "amendment": {"summary": "an amendment of an active study (reason required there)",
                      "value": {"yaml": STUDY_YAML, "reason": "clearer consent text"}},
    },
    "TransitionInSchema": {
        "activate": {"summary": "open enrolment (locks the design)", "value": {"status": "active"}},
        "close": {"summary": "close the study",
                  "value": {"status": "closed", "reason": "recruitment complete"}},
    },
    "UserInSchema": {
        "api_only": {"summary": "an API-only statistician", "value": {
            "email": "s@example.org", "role": "statistician", "display_name": "Sam Stat"}},
        "web": {"summary": "a coordinator who signs in on the web", "value": {
            "email": "c@example.org", "role": "coordinator", "password": "a long passphrase here"}},
    },
    "UserPatchSchema": {
        "disable": {"summary": "disable an account", "value": {"active": False, "reason": "left the team"}},
    },
    "UserScopesSchema": {
        "some": {"summary": "limit the account to two studies", "value": {
            "study_keys": ["reminder-rct", "mrt-reminders"]}},
        "every": {"summary": "lift the limit (every study)", "value": {"study_keys": None}},
    },
    "TokenInSchema": {
        "scoped": {"summary": "a token for one study", "value": {
            "label": "analysis laptop", "study_keys": ["reminder-rct"]}},
    },
    "EventBatchSchema": {
        "batch": {"summary": "engagement events from a host app", "value": {"events": [
            {"id": "e-1", "participant": 12, "type": "opened", "client_time": "2026-03-02T09:00:00Z"},
            {"id": "e-2", "participant": 12, "instance": 345, "type": "field_changed",
             "client_time": "2026-03-02T09:01:30Z", "payload": {"field": "situation"}}]}},
    },
    "AssignInSchema": {
        "template": {"summary": "a template of the study, due in two days", "value": {
            "template": "thought_record", "due_at": "2026-03-04T19:00:00+01:00"}},
        "tailored": {"summary": "with the therapist's wording", "value": {
            "template": "thought_record", "due_at": "2026-03-04T19:00:00+01:00",
            "tailoring": {"intro": "Pick one moment at work this week.",
                          "fields": {"situation": {"label": "What happened at work?"}}}}},
    },
    "ReviewInSchema": {
        "therapist": {"summary": "reviewed in session", "value": {
            "reviewer_role": "therapist", "answers": {"reflection": "We went through it together",
                                                      "usefulness": 7}}},
    },
    "AcknowledgeInSchema": {
        "note": {"summary": "what was done", "value": {"note": "called the participant; safety plan in place"}},
    },
    "LinkReissueInSchema": {
        "lost": {"summary": "the old link was lost", "value": {"reason": "participant lost the email"}},
    },
    "UnblindReasonInSchema": {
        "emergency": {"summary": "emergency unblinding (audited)", "value": {"reason": "serious adverse event"}},
    },
    "WithdrawalInSchema": {
        "keep": {"summary": "withdrawal; the answers given so far stay in the analysis",
                 "value": {"reason": "moved away"}},
        "remove": {"summary": "withdrawal of data use too",
                   "value": {"reason": "asked that their answers not be used", "data_use_withdrawn": True}},
    },
    "StudyUnblindingInSchema": {
        "final": {"summary": "study-level unblinding (needs a second person)",
                  "value": {"reason": "final analysis done"}},
    },
}


def of(schema_name: str) -> dict:
    """The ``examples`` of ``schema_name``'s request body."""
    return EXAMPLES[schema_name]
