"""Report tests reuse the results factory (a generated trial inserted as rows)."""

from ..results.conftest import make_trial  # noqa: F401
