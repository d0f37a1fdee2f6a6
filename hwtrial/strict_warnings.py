"""PURE: warnings about the data are errors, warnings about code are passed on unchanged.

Results sections and report plots run with warnings raised as errors: a RuntimeWarning from
numpy, a model's convergence or separation warning, a plotting warning on degenerate data all
mean "these data cannot support this number or this plot", reported as such. A library that
deprecates something hwtrial or another library calls (DeprecationWarning,
PendingDeprecationWarning, FutureWarning) says nothing about the data: turned into an error it
would report a sound result as "not estimable" on the next library release (pandas 2.0 beside
numpy 1.26 did that to the MRT section). Those are collected and issued again on leaving, to the
caller's own filters: ignored or shown in production, an error in hwtrial's tests.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from contextlib import contextmanager

#: Warnings about code, not about the data.
CODE_WARNINGS = (DeprecationWarning, PendingDeprecationWarning, FutureWarning)


@contextmanager
def data_warnings_as_errors() -> Iterator[None]:
    """Raise every warning inside as an error, except :data:`CODE_WARNINGS`, which are issued
    again after the block (not when it raises)."""
    with warnings.catch_warnings(record=True) as about_code:
        warnings.simplefilter("error")
        for category in CODE_WARNINGS:
            warnings.simplefilter("always", category)
        yield
    for caught in about_code:
        warnings.warn_explicit(caught.message, caught.category, caught.filename, caught.lineno,
                               source=caught.source)
