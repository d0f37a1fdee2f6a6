"""The participant and user page tests reuse the homework factories (enrol, sign a participant in)."""

from ..homework.conftest import enrol, sign_in  # noqa: F401
