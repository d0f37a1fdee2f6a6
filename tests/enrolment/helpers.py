"""Small request helpers shared by the enrolment tests."""

from __future__ import annotations

CONSENTS = {"reminder-rct": "2.1", "therapist-cluster": "3", "factorial-screening": "1.0",
            "mrt-reminders": "1.0"}


def enrol(client, headers, study, external_id, strata, **extra):
    body = {"external_id": external_id, "strata": strata, **extra}
    version = CONSENTS.get(study)
    body["consent"] = {"version": version or "x", "locale": "en"}
    return client.post(f"/api/v1/studies/{study}/participants", json=body, headers=headers)


def rct(client, headers, external_id="p-1", site="north"):
    return enrol(client, headers, "reminder-rct", external_id, {"site": site, "severity": "mild"})
