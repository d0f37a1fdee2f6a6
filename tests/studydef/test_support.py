"""``support``: crisis contacts are required (per locale) when a questionnaire has a safety rule."""

from __future__ import annotations

import pytest

from hwtrial.studydef import StudyDefinitionError, load_study_text

PHQ9 = """\
locales: [en, es]
questionnaires:
  instruments:
    - {key: phq9, builtin: phq9}
  timepoints:
    - {key: baseline, day: 0, instruments: [phq9]}
"""
CONTACTS = """\
support:
  contact: {en: "Study team: team@example.org"}
  crisis_contacts:
    en:
      - {name: Samaritans, phone: "116 123", hours: "24 hours"}
"""
ES = """\
    es:
      - {name: "Línea 024", phone: "024"}
"""


def problems(text: str) -> list:
    with pytest.raises(StudyDefinitionError) as failed:
        load_study_text(text, "studies/x.yaml")
    return failed.value.problems


def test_phq9_safety_rule_without_crisis_contacts_is_refused(study_text):
    found = problems(study_text(PHQ9, {'text: {en: "I agree."}': 'text: {en: "I agree.", es: "Acepto."}'}))
    assert [p.path for p in found] == ["support.crisis_contacts"]
    assert "safety rule (phq9_9 >= 1)" in found[0].message and "(en, es)" in found[0].message
    assert found[0].line is not None


def test_a_missing_locale_is_named_with_its_line(study_text):
    text = study_text(PHQ9 + CONTACTS, {'text: {en: "I agree."}': 'text: {en: "I agree.", es: "Acepto."}'})
    found = problems(text)
    assert [(p.path, p.message) for p in found] == [
        ("support.crisis_contacts", "no crisis contacts for locale 'es' (questionnaire 'phq9' has a safety rule)")]
    assert found[0].line == text.splitlines().index("  crisis_contacts:") + 1


def test_complete_contacts_load_and_are_kept(study_text):
    text = study_text(PHQ9 + CONTACTS + ES, {'text: {en: "I agree."}': 'text: {en: "I agree.", es: "Acepto."}'})
    support = load_study_text(text).data["support"]
    assert support["crisis_contacts"]["es"][0] == {"name": "Línea 024", "phone": "024", "sms": None,
                                                   "url": None, "hours": None}
    assert support["contact"] == {"en": "Study team: team@example.org"}


def test_no_safety_rule_needs_no_contacts(study_text):
    text = study_text(PHQ9.replace("builtin: phq9}", "builtin: phq9, safety: null}").replace("locales: [en, es]\n", ""))
    assert load_study_text(text).data["support"] is None


def test_a_contact_needs_a_way_to_reach_it_and_a_study_locale(study_text):
    text = study_text(PHQ9.replace("locales: [en, es]\n", "") + """\
support:
  crisis_contacts:
    en: [{name: Nobody}]
""")
    assert [(p.path, p.message) for p in problems(text)] == [
        ("support.crisis_contacts.en[0].name", "give a phone, sms or url to reach it")]
    text = study_text(PHQ9.replace("locales: [en, es]\n", "") + CONTACTS + '    fr: [{name: SOS, phone: "01 00"}]\n')
    assert [(p.path, p.message) for p in problems(text)] == [("support.crisis_contacts.fr", "'fr' is not in locales")]
