"""Warnings about the data stop a computation; warnings about code do not (hwtrial.strict_warnings)."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from hwtrial.strict_warnings import CODE_WARNINGS, data_warnings_as_errors


def test_a_warning_about_the_data_is_raised():
    with pytest.raises(RuntimeWarning), data_warnings_as_errors():
        np.log(np.array([-1.0]))
    with pytest.raises(UserWarning), data_warnings_as_errors():
        warnings.warn("the model did not converge", UserWarning, stacklevel=1)


@pytest.mark.parametrize("category", CODE_WARNINGS)
def test_a_warning_about_code_is_issued_again_after_the_block(category):
    done = []
    with pytest.warns(category, match="a deprecated name"):
        with data_warnings_as_errors():
            warnings.warn("a deprecated name", category, stacklevel=1)
            done.append("after the warning")
    assert done == ["after the warning"]  # the block ran to its end

