"""Study files on the staff pages: problems with their lines, draft, activate, amend with a
reason and the diff between versions, close; CSRF and roles."""

from __future__ import annotations

import io
import re

import sqlalchemy as sa

from hwtrial.models import AuditEntry, Study
from tests.conftest import STUDIES

ORIGINAL = (STUDIES / "reminder-rct.yaml").read_text().replace("key: reminder-rct", "key: upload-rct")
BROKEN = ORIGINAL.replace("block_sizes: [2, 4]", "block_sizes: [2, four]")
BROKEN_LINE = BROKEN.splitlines().index("  block_sizes: [2, four]") + 1


def _study(app, key="upload-rct"):
    with app.app_context():
        session = app.extensions["hwtrial"].db.session
        study = session.scalar(sa.select(Study).where(Study.key == key))
        out = None if study is None else (study.status, study.current_version,
                                          [(v.version, v.reason, v.source_text) for v in study.versions])
        session.rollback()
        return out


def test_pasted_file_with_a_mistake_shows_the_problem_with_its_line(app, signed_in):
    coordinator, token, _ = signed_in("coordinator")
    answer = coordinator.post("/staff/study-files/new", data={"csrf_token": token, "text": BROKEN, "action": "save"})
    html = answer.get_data(as_text=True)
    assert answer.status_code == 422
    assert f'<span class="line">line {BROKEN_LINE}</span>: <code>allocation.block_sizes[1]</code>: Not a valid integer.' in html
    assert "block_sizes: [2, four]" in html  # the text is kept in the form, to fix it there
    assert _study(app) is None  # nothing saved


def test_uploaded_file_syntax_error_has_line_and_column(signed_in):
    coordinator, token, _ = signed_in("coordinator")
    upload = (io.BytesIO(b"key: x\narms: [1,\n"), "broken.yaml")
    answer = coordinator.post("/staff/study-files/new", data={"csrf_token": token, "file": upload, "action": "check"},
                              content_type="multipart/form-data")
    html = answer.get_data(as_text=True)
    assert answer.status_code == 422 and re.search(r'<span class="line">line \d+</span>, column \d+', html)
    binary = (io.BytesIO(b"\xff\xfe\x00bad"), "x.yaml")
    answer = coordinator.post("/staff/study-files/new", data={"csrf_token": token, "file": binary, "action": "check"},
                              content_type="multipart/form-data")
    assert answer.status_code == 422 and "the file is not UTF-8 text" in answer.get_data(as_text=True)
    empty = coordinator.post("/staff/study-files/new", data={"csrf_token": token, "text": " ", "action": "check"})
    assert empty.status_code == 422 and "the study file is empty" in empty.get_data(as_text=True)


def test_draft_activate_amend_with_diff_and_close(app, signed_in):
    coordinator, token, _ = signed_in("coordinator")
    checked = coordinator.post("/staff/study-files/new", data={"csrf_token": token, "text": ORIGINAL, "action": "check"})
    assert checked.status_code == 200 and "No problems found: upload-rct" in checked.get_data(as_text=True)
    assert _study(app) is None  # checking saves nothing
    upload = (io.BytesIO(ORIGINAL.encode()), "upload-rct.yaml")
    saved = coordinator.post("/staff/study-files/new", data={"csrf_token": token, "file": upload, "action": "save"},
                             content_type="multipart/form-data")
    assert saved.status_code == 302 and saved.headers["Location"] == "/staff/studies/upload-rct/file?saved=1"
    assert _study(app) == ("draft", 1, [(1, "created", ORIGINAL)])
    again = coordinator.post("/staff/study-files/new", data={"csrf_token": token, "text": ORIGINAL, "action": "save"})
    assert again.status_code == 409 and "exists" in again.get_data(as_text=True)
    # A draft is edited in place.
    edited = ORIGINAL.replace("title: Homework reminders in CBT for depression", "title: Reminders (draft 2)")
    answer = coordinator.post("/staff/studies/upload-rct/file", data={"csrf_token": token, "text": edited})
    assert answer.status_code == 302 and _study(app)[:2] == ("draft", 1)
    page = coordinator.get("/staff/studies/upload-rct/file").get_data(as_text=True)
    assert "Reminders (draft 2)" in page and "Activate the study" in page
    assert coordinator.post("/staff/studies/upload-rct/status",
                            data={"csrf_token": token, "status": "active"}).status_code == 302
    assert _study(app)[0] == "active"
    # Amending an active study needs a reason, keeps the design, and shows the diff.
    amended = edited.replace('intro: "Use this record', 'intro: "Please use this record')
    no_reason = coordinator.post("/staff/studies/upload-rct/file", data={"csrf_token": token, "text": amended})
    assert no_reason.status_code == 422 and "an amendment needs a reason" in no_reason.get_data(as_text=True)
    locked = coordinator.post("/staff/studies/upload-rct/file", data={
        "csrf_token": token, "text": amended.replace("block_sizes: [2, 4]", "block_sizes: [4]"), "reason": "r"})
    assert locked.status_code == 422 and "the design is locked" in locked.get_data(as_text=True)
    done = coordinator.post("/staff/studies/upload-rct/file",
                            data={"csrf_token": token, "text": amended, "reason": "clearer intro"})
    assert done.status_code == 302 and done.headers["Location"] == "/staff/studies/upload-rct/versions"
    assert _study(app)[1] == 2 and _study(app)[2][1][:2] == (2, "clearer intro")
    diff = coordinator.get("/staff/studies/upload-rct/versions").get_data(as_text=True)
    assert "clearer intro" in diff
    assert '<span class="del">-            intro: &#34;Use this record' in diff
    assert '<span class="add">+            intro: &#34;Please use this record' in diff
    assert coordinator.get("/staff/studies/upload-rct/versions?from=x").status_code == 400
    assert coordinator.get("/staff/studies/upload-rct/versions?from=9").status_code == 404
    same = coordinator.post("/staff/studies/upload-rct/file",
                            data={"csrf_token": token, "text": amended, "reason": "again"})
    assert same.status_code == 409 and "nothing to change" in same.get_data(as_text=True)
    assert coordinator.post("/staff/studies/upload-rct/status",
                            data={"csrf_token": token, "status": "closed", "reason": "finished"}).status_code == 302
    assert _study(app)[0] == "closed"
    assert "The study is closed" in coordinator.get("/staff/studies/upload-rct/file").get_data(as_text=True)
    assert coordinator.post("/staff/studies/upload-rct/status",
                            data={"csrf_token": token, "status": "active"}).status_code == 409
    with app.app_context():
        actions = app.extensions["hwtrial"].db.session.scalars(
            sa.select(AuditEntry.action).where(AuditEntry.study_key == "upload-rct").order_by(AuditEntry.seq)).all()
    assert actions == ["study.create", "study.amend", "study.active", "study.amend", "study.closed"]


def test_versions_stored_without_text_diff_as_yaml(app, signed_in, load_study):
    key = load_study("reminder-rct")  # loaded from a file by the CLI's service: no text kept
    coordinator, token, _ = signed_in("coordinator")
    page = coordinator.get(f"/staff/studies/{key}/file").get_data(as_text=True)
    assert "title: Homework reminders in CBT for depression" in page
    text = re.search(r'<textarea id="text" name="text" class="study-file" spellcheck="false">(.*?)</textarea>',
                     page, re.S).group(1)
    import html as html_lib

    changed = html_lib.unescape(text).replace("title: Homework reminders in CBT for depression", "title: Changed")
    answer = coordinator.post(f"/staff/studies/{key}/file", data={"csrf_token": token, "text": changed, "reason": "r"})
    assert answer.status_code == 302
    diff = coordinator.get(f"/staff/studies/{key}/versions").get_data(as_text=True)
    assert '<span class="add">+title: Changed</span>' in diff


def test_forms_refuse_without_csrf_and_for_other_roles(app, signed_in, load_study):
    key = load_study("reminder-rct", activate=False)
    coordinator, token, _ = signed_in("coordinator")
    for url, data in (("/staff/study-files/new", {"text": ORIGINAL, "action": "save"}),
                      (f"/staff/studies/{key}/file", {"text": ORIGINAL}),
                      (f"/staff/studies/{key}/status", {"status": "active"})):
        assert coordinator.post(url, data=data).status_code == 400
        assert coordinator.post(url, data={**data, "csrf_token": "forged"}).status_code == 400
    assert _study(app, key)[0] == "draft" and _study(app) is None
    for role in ("therapist", "statistician"):
        other, other_token, _ = signed_in(role)
        assert other.get("/staff/study-files/new").status_code == 403
        assert other.get(f"/staff/studies/{key}/versions").status_code == 403
        assert other.post(f"/staff/studies/{key}/status",
                          data={"csrf_token": other_token, "status": "active"}).status_code == 403
    assert coordinator.post(f"/staff/studies/{key}/status",
                            data={"csrf_token": token, "status": "sideways"}).status_code == 422
