"""Tools for study-definition tests: a minimal valid study and a loader that expects failure."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from hwtrial.studydef import StudyDefinitionError, load_study_text

STUDIES = Path(__file__).resolve().parents[2] / "studies"
EXAMPLES = sorted(STUDIES.glob("*.yaml"))

#: The smallest valid study; tests splice their own blocks into it.
MINIMAL = """\
key: mini
title: Minimal study
consent:
  version: "1"
  text: {en: "I agree."}
arms:
  - key: control
  - key: treated
    features:
      reminders:
        policy: fixed
        times: ["18:00"]
allocation:
  method: simple
"""


@pytest.fixture
def study_text():
    """Return ``make(extra="", replace=None)``: MINIMAL plus ``extra`` YAML, edited by ``replace``."""

    def make(extra: str = "", replace: dict | None = None) -> str:
        text = MINIMAL + textwrap.dedent(extra)
        for old, new in (replace or {}).items():
            assert old in text, old
            text = text.replace(old, new)
        return text

    return make


@pytest.fixture
def problems_of():
    """Return ``load(text) -> list[Problem]``, failing the test if the text loads."""

    def load(text: str, source: str = "studies/x.yaml"):
        with pytest.raises(StudyDefinitionError) as info:
            load_study_text(text, source)
        return info.value.problems

    return load


def line_of(text: str, marker: str, nth: int = 1) -> int:
    """1-based line of the ``nth`` line containing ``marker``."""
    hits = [i for i, line in enumerate(text.splitlines(), 1) if marker in line]
    return hits[nth - 1]
