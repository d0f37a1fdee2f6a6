"""All cross-field checks, in document order."""

from __future__ import annotations

from .checks_content import check_analysis, check_homework, check_locales, check_questionnaires
from .checks_design import check_allocation, check_design
from .checks_features import check_features

CHECKS = (check_locales, check_design, check_features, check_allocation,
          check_homework, check_questionnaires, check_analysis)


def cross_check(d: dict) -> list[tuple]:
    """Run every check on a normalised definition; returns ``(path, message)`` pairs."""
    return [problem for check in CHECKS for problem in check(d)]
