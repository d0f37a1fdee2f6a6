"""All cross-field checks, in document order."""

from __future__ import annotations

from .checks_content import (
    check_analysis,
    check_homework,
    check_locales,
    check_questionnaires,
    check_support,
)
from .checks_design import (
    check_allocation,
    check_balancing,
    check_blocks,
    check_design,
    check_strata,
)
from .checks_features import check_features, check_framing

CHECKS = (check_locales, check_design, check_strata, check_features, check_framing,
          check_allocation, check_blocks, check_balancing,
          check_homework, check_questionnaires, check_analysis, check_support)


def cross_check(d: dict) -> list[tuple]:
    """Run every check on a normalised definition; returns ``(path, message)`` pairs."""
    return [problem for check in CHECKS for problem in check(d)]
