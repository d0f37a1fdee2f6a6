"""Sign-in experience of the staff pages: the form again after a wrong password, the way back
after sign-in (same-site staff paths only), a 404 page with a link back, ``/staff`` kept."""

from __future__ import annotations

import pytest

from .conftest import csrf_in

PASSWORD = "correct horse battery"


def login(client, email, password, next_=None):
    page = client.get("/login" + (f"?next={next_}" if next_ else ""))
    data = {"email": email, "password": password, "csrf_token": csrf_in(page.get_data(as_text=True))}
    if next_ is not None:
        data["next"] = next_
    return client.post("/login", data=data)


def test_wrong_password_shows_the_form_again_with_the_email_kept(client, make_user):
    make_user("coordinator", email="coord@test.example", password=PASSWORD)
    answer = login(client, "coord@test.example", "wrong")
    html = answer.get_data(as_text=True)
    assert answer.status_code == 401
    assert '<form method="post"' in html and 'value="coord@test.example"' in html
    assert "Wrong email or password." in html and 'aria-invalid="true"' in html
    assert client.get_cookie("hwtrial_session") is None
    # The form it shows works: the right password signs in, to the study list.
    retry = client.post("/login", data={"email": "coord@test.example", "password": PASSWORD,
                                        "csrf_token": csrf_in(html)})
    assert retry.status_code == 302 and retry.headers["Location"] == "/staff/studies"
    assert client.get("/staff/studies").status_code == 200


def test_signed_out_staff_page_goes_to_sign_in_and_back(client, make_user, load_study):
    key = load_study("reminder-rct")
    make_user("coordinator", email="back@test.example", password=PASSWORD)
    answer = client.get(f"/staff/studies/{key}?tab=1")
    assert answer.status_code == 302
    assert answer.headers["Location"] == f"/login?next=/staff/studies/{key}?tab%3D1"
    page = client.get(answer.headers["Location"]).get_data(as_text=True)
    assert f'name="next" value="/staff/studies/{key}?tab=1"' in page
    signed = login(client, "back@test.example", PASSWORD, next_=f"/staff/studies/{key}?tab=1")
    assert signed.status_code == 302 and signed.headers["Location"] == f"/staff/studies/{key}?tab=1"
    assert client.get(signed.headers["Location"]).status_code == 200


@pytest.mark.parametrize("target", ["//evil.example/staff/studies", "https://evil.example/staff/studies",
                                    "/\\evil.example", "javascript:alert(1)", "/api/v1/studies/",
                                    "/staffing", "evil.example/staff", "/staff/studies\r\nX: y",
                                    "http:/staff/studies"])
def test_no_open_redirect(client, make_user, target):
    make_user("coordinator", email="redir@test.example", password=PASSWORD)
    page = client.get("/login", query_string={"next": target}).get_data(as_text=True)
    assert 'name="next"' not in page
    answer = login(client, "redir@test.example", PASSWORD, next_=target)
    assert answer.status_code == 302 and answer.headers["Location"] == "/staff/studies"


def test_unknown_staff_urls_get_a_404_page_with_the_way_back(client, signed_in):
    for who in (client, signed_in("coordinator")[0]):
        answer = who.get("/staff/no-such-page/at/all")
        html = answer.get_data(as_text=True)
        assert answer.status_code == 404 and "text/html" in answer.content_type
        assert '<a href="/staff/studies">Back to the studies</a>' in html
    # An unknown study is a 404 page too (not found, whatever the reason), with the way back.
    answer = signed_in("statistician")[0].get("/staff/studies/no-such-study")
    assert answer.status_code == 404 and "Back to the studies" in answer.get_data(as_text=True)


def test_staff_home_is_the_study_list(client, signed_in):
    staff = signed_in("therapist")[0]
    answer = staff.get("/staff")
    assert answer.status_code == 302 and answer.headers["Location"] == "/staff/studies"
    assert client.get("/staff").headers["Location"].startswith("/login?next=/staff")


def test_disabled_account_is_refused_not_redirected(app, signed_in, session):
    from hwtrial.models import User

    staff, _token, user_id = signed_in("coordinator")
    session.get(User, user_id).active = False
    session.commit()
    assert staff.get("/staff/studies").status_code == 403
