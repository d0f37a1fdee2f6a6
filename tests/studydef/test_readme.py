"""The YAML examples in studies/README.md are valid (spliced into a minimal study)."""

from __future__ import annotations

import re

import pytest

from hwtrial.studydef import load_study_text

from .conftest import STUDIES

BLOCKS = re.findall(r"```yaml\n(.*?)```", (STUDIES / "README.md").read_text(encoding="utf-8"), re.S)
HEAD = 'key: readme\ntitle: README example\nconsent: {version: "1", text: {en: "I agree."}}\n'
#: PHQ-9's safety rule needs crisis contacts (unless the block gives its own support section).
SUPPORT = "support:\n  crisis_contacts:\n    en: [{name: Helpline, phone: '116 123'}]\n"
#: What the analysis example refers to.
CONTEXT = """\
stratification: [{key: site, levels: [a, b]}, {key: severity, levels: [mild, severe]}]
questionnaires:
  instruments: [{key: phq9, builtin: phq9}]
  timepoints:
    - {key: baseline, day: 0, instruments: [phq9]}
    - {key: week8, day: 56, instruments: [phq9]}
"""


def test_readme_has_examples():
    assert len(BLOCKS) >= 6


@pytest.mark.parametrize("block", BLOCKS, ids=[b.split(":")[0] for b in BLOCKS])
def test_readme_example_validates(block):
    text = HEAD + block
    if "arms:" not in block and "factors:" not in block:
        text += "arms: [{key: a}, {key: b}]\n"
    if "allocation:" not in block:
        text += "allocation: {method: simple}\n"
    if block.startswith("analysis:"):
        text += CONTEXT
    if "support:" not in block:
        text += SUPPORT
    assert load_study_text(text, "README.md").key == "readme"
