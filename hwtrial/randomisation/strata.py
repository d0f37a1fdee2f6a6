"""Stratum keys: one stable string per combination of stratification factor levels."""

from __future__ import annotations

from collections.abc import Mapping, Sequence


class MissingStratumFactor(ValueError):
    """A stratification or minimisation factor is missing or empty for a participant.

    Attributes
    ----------
    factor : str
        Name of the factor that is missing.
    """

    def __init__(self, factor: str):
        super().__init__(f"factor {factor!r} is missing or empty")
        self.factor = factor


#: Key of the single stratum of an unstratified study.
UNSTRATIFIED = "*"


def level_of(values: Mapping[str, object], factor: str) -> str:
    """The participant's level of ``factor`` as a stripped string, or raise ``MissingStratumFactor``."""
    value = values.get(factor)
    text = "" if value is None else str(value).strip()
    if not text:
        raise MissingStratumFactor(factor)
    # These characters delimit keys; allowing them would make two strata share a key.
    if "|" in text or "=" in text:
        raise ValueError(f"level of factor {factor!r} must not contain '|' or '=', got {text!r}")
    return text


def stratum_key(strata_spec: Sequence[str], values: Mapping[str, object]) -> str:
    """Stable key of a participant's stratum, e.g. ``"site=leeds|severity=high"``.

    Parameters
    ----------
    strata_spec : sequence of str
        Stratification factor names, in the study's order (the order fixes the key).
    values : mapping
        The participant's factor values.

    Returns
    -------
    str
        ``"factor=level"`` pairs joined by ``"|"``; ``"*"`` when ``strata_spec`` is empty.

    Raises
    ------
    MissingStratumFactor
        When a factor is absent, ``None`` or blank.
    """
    if isinstance(strata_spec, str):
        raise ValueError("strata_spec must be a sequence of factor names, not a string")
    if not strata_spec:
        return UNSTRATIFIED
    return "|".join(f"{f}={level_of(values, f)}" for f in strata_spec)
