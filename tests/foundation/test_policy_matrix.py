"""Every route has a policy row, and every route is tried by every kind of principal.

Principals: anonymous, participant A, participant B, A's therapist, another therapist,
coordinator, statistician, admin and a disabled account. A principal whose role the policy
row does not list must get 401/403; one it lists must not — except for object-level checks:
B using A's ids, or a therapist using another therapist's client's ids, gets 403/404.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from hwtrial.auth.policy import POLICY, allowed_roles
from hwtrial.models import (
    Allocation,
    HomeworkInstance,
    Participant,
    Study,
    UnblindingRequest,
    User,
    utcnow,
)
from hwtrial.services import sessions

#: Routes whose answer depends on the body (credentials, links), not on who calls.
BODY_DECIDES = {"hwtrial_auth.login", "hwtrial_auth.logout", "hwtrial_auth.participant_start"}
#: URL variables that point at participant A's data (object-level checks apply).
PARTICIPANT_SCOPED = {"participant_id", "instance_id"}
SKIP_METHODS = {"HEAD", "OPTIONS"}
#: Routes a role may call but that also need the unblinding permission, which the world's
#: statistician lacks: a 403 for that statistician is the permission check working.
#: Routes that end participant A's sessions (a new sign-in link revokes the old ones): tried
#: last, so the other routes still see participant A signed in.
ENDS_SESSIONS = {"hwtrial_participants.ParticipantLink"}
PERMISSION_GATED = {"hwtrial_participants.ParticipantUnblind", "hwtrial_allocations.AllocationList",
                    "hwtrial_allocations.UnblindingRequestList", "hwtrial_allocations.UnblindingApproval"}


@pytest.fixture
def world(app, session, load_study, make_user):
    """A study with participants A and B, their therapists, staff of every role, and sessions."""
    # Factories first: each commits in its own context (SQLite takes the write lock at BEGIN).
    staff = {role: make_user(role)[0] for role in ("admin", "coordinator", "statistician")}
    staff["therapist_a"] = make_user("therapist")[0]
    staff["therapist_b"] = make_user("therapist")[0]
    staff["disabled"] = make_user("coordinator")[0]
    key = load_study("reminder-rct")
    study = session.query(Study).filter_by(key=key).one()
    session.get(User, staff["disabled"]).active = False
    people = {}
    for name, therapist in (("a", staff["therapist_a"]), ("b", staff["therapist_b"])):
        participant = Participant(study_id=study.id, external_id=f"ext-{name}", therapist_id=therapist,
                                  strata={"site": "north", "severity": "mild"}, timezone="Europe/London")
        session.add(participant)
        session.flush()
        session.add(Allocation(study_id=study.id, participant_id=participant.id, sequence_no=len(people) + 1,
                               arm_key="control", method="test", probability=0.5, study_version=1))
        now = utcnow()
        instance = HomeworkInstance(study_id=study.id, participant_id=participant.id,
                                    template_key="thought_record", slot_key=f"slot-{name}", open_at=now,
                                    scheduled_at=now, due_at=now + timedelta(days=1),
                                    expire_at=now + timedelta(days=2))
        session.add(instance)
        session.flush()
        people[name] = (participant, instance)
    request = UnblindingRequest(study_id=study.id, requested_by=staff["coordinator"], reason="lock")
    session.add(request)
    session.flush()
    cookies = {"anonymous": None}
    life = timedelta(hours=1)
    for name, user_id in staff.items():
        cookies[name] = sessions.open_session(session, life, user=session.get(User, user_id))
    for name in ("a", "b"):
        cookies[f"participant_{name}"] = sessions.open_session(session, life, participant=people[name][0])
    token_id = session.get(User, staff["coordinator"]).tokens[0].id
    session.commit()
    values = {"study_key": key, "participant_id": people["a"][0].id, "instance_id": people["a"][1].id,
              "user_id": staff["coordinator"], "token_id": token_id, "request_id": request.id,
              "filename": "hwtrial.css", "table": "participants", "fmt": "csv"}
    return {"cookies": cookies, "values": values}


ROLE_OF = {"anonymous": "anonymous", "participant_a": "participant", "participant_b": "participant",
           "therapist_a": "therapist", "therapist_b": "therapist", "coordinator": "coordinator",
           "statistician": "statistician", "admin": "admin", "disabled": "disabled"}


def build_url(rule, values) -> str:
    """Fill the rule's variables; an id the world does not hold (e.g. an alert) gets 1,
    which the allowed roles see as 404 and the others must still see refused."""
    from flask import url_for

    return url_for(rule.endpoint, **{arg: values.get(arg, 1) for arg in rule.arguments})


def test_every_route_has_a_policy_row(app):
    missing = sorted({rule.endpoint for rule in app.url_map.iter_rules()} - set(POLICY))
    assert missing == [], f"routes without a policy row: {missing}"


def call(client, method, url, cookie):
    client.delete_cookie("hwtrial_session")
    headers = {}
    if cookie:
        client.set_cookie("hwtrial_session", cookie)
        # The page's token, as participant.js sends it (cookie-authenticated API writes need it).
        from hwtrial.web.csrf import _sign

        with client.application.app_context():
            headers["X-CSRF-Token"] = _sign(cookie)
    kwargs = {"json": {}} if method in ("POST", "PUT", "PATCH") else {}
    answer = client.open(url, method=method, headers=headers, **kwargs)
    answer.close()  # static files are streamed from an open file
    return answer


def expected_denied(endpoint, method, principal, rule) -> bool:
    role = ROLE_OF[principal]
    if role not in allowed_roles(endpoint, method):
        return True
    scoped = bool(set(rule.arguments) & PARTICIPANT_SCOPED)
    return scoped and principal in ("participant_b", "therapist_b")


def signed_out_to_login(principal, method, answer) -> bool:
    """A staff page read while signed out answers with the sign-in page (and ``next``)."""
    location = answer.headers.get("Location", "")
    return (principal == "anonymous" and method == "GET" and answer.status_code == 302
            and location.startswith("/login?next="))


def test_route_matrix(app, client, world):
    failures = []
    rules = sorted((r for r in app.url_map.iter_rules() if r.endpoint not in BODY_DECIDES),
                   key=lambda r: r.endpoint in ENDS_SESSIONS)
    with app.test_request_context():
        urls = [build_url(r, world["values"]) for r in rules]
    for rule, url in zip(rules, urls, strict=True):
        for method in sorted(rule.methods - SKIP_METHODS):
            for principal, cookie in world["cookies"].items():
                answer = call(client, method, url, cookie)
                denied = expected_denied(rule.endpoint, method, principal, rule)
                refused = answer.status_code in (401, 403) or (
                    answer.status_code == 404 and set(rule.arguments) & PARTICIPANT_SCOPED) or (
                    signed_out_to_login(principal, method, answer))
                if denied and not refused:
                    failures.append(f"{method} {url} as {principal}: {answer.status_code}, expected 401/403/404")
                gated = rule.endpoint in PERMISSION_GATED and principal == "statistician"
                if not denied and answer.status_code in (401, 403) and not gated:
                    failures.append(f"{method} {url} as {principal}: {answer.status_code}, expected access")
    assert failures == [], "\n".join(failures)


#: Views that redirect before reading the form when their object is not in the right state
#: (self-review of a submitted task in an arm with self-review; reminder-rct has none).
PRECONDITION_FIRST = {"hwtrial_participant.review"}


def test_every_form_post_needs_the_csrf_token(app, client, world):
    # Each page view calls check_csrf itself, so a new form route that forgot it would act on
    # a cross-site POST with the visitor's cookie: every non-API POST, by every principal the
    # policy lets in, is refused (400) without the form's token (issue 9, "CSRF on every form").
    import re

    from hwtrial.services.recruitment import entry_token
    from hwtrial.services.studies import get_study

    rules = sorted((r for r in app.url_map.iter_rules()
                    if "POST" in r.methods and not r.rule.startswith("/api/")), key=lambda r: r.endpoint)
    with app.test_request_context():
        urls = [build_url(r, {**world["values"], "timepoint": "baseline", "instrument": "phq9"}) for r in rules]
        token = entry_token(get_study(app.extensions["hwtrial"].db.session, None, world["values"]["study_key"]))
    urls = [f"{u}?PROLIFIC_PID=p&SESSION_ID=s&site=north&severity=mild&entry={token}" if u.startswith("/r/") else u
            for u in urls]
    # Participant A consents (with the token), so the pages reach their CSRF check, not the consent page.
    client.set_cookie("hwtrial_session", world["cookies"]["participant_a"])
    form = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/p/consent").get_data(as_text=True))
    assert client.post("/p/consent", data={"csrf_token": form.group(1), "agree": "yes"}).status_code == 302
    failures = []
    for rule, url in zip(rules, urls, strict=True):
        if rule.endpoint in PRECONDITION_FIRST:
            continue
        # Participant B has not consented: the consent form is theirs to post; A's for the rest.
        skip = ("participant_a" if rule.endpoint == "hwtrial_participant.consent" else "participant_b", "therapist_b")
        allowed = [p for p in world["cookies"] if ROLE_OF[p] in allowed_roles(rule.endpoint, "POST")
                   and p not in skip]
        for principal in allowed:
            client.delete_cookie("hwtrial_session")
            if world["cookies"][principal]:
                client.set_cookie("hwtrial_session", world["cookies"][principal])
            answer = client.post(url, data={"reason": "x", "action": "stop", "locale": "es", "agree": "yes",
                                            "token": "x", "email": "a@b.example", "password": "x"})
            if answer.status_code != 400:
                failures.append(f"POST {url} as {principal} without csrf_token: {answer.status_code}")
    assert failures == [], "\n".join(failures)
