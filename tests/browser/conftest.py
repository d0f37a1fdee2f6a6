"""Browser tests reuse the homework factories (enrol, test studies, moving a schedule in time)."""

from ..homework.conftest import enrol, load_test_study, shift, shift_past  # noqa: F401
