"""Micro-randomisation: a treatment decision at each decision point of a participant.

A participant who is unavailable at a decision point (e.g. already doing homework, or
notifications paused) is not randomised at all: no draw is made, so availability can
never be influenced by, or leak, the would-be allocation.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Decision:
    """Outcome of one micro-randomised decision point.

    Attributes
    ----------
    treated : bool or None
        Whether the intervention is delivered; ``None`` when unavailable (no draw).
    probability : float
        Randomisation probability of treatment at this point (kept for weighting
        in the analysis even when unavailable).
    available : bool
        Whether the participant was available for randomisation.
    """

    treated: bool | None
    probability: float
    available: bool


def _check_probability(probability: float, name: str = "probability") -> float:
    p = float(probability)
    if not (math.isfinite(p) and 0.0 <= p <= 1.0):
        raise ValueError(f"{name} must be in [0, 1], got {probability!r}")
    return p


def decide(probability: float, available: bool, rng=None) -> Decision:
    """Randomise one decision point.

    Parameters
    ----------
    probability : float
        Probability of treatment, in [0, 1].
    available : bool
        Availability; when false no random number is drawn.
    rng : None, int, sequence of int or numpy.random.Generator
        Source of randomness; the service passes ``micro_rng(seed, participant, t)``.

    Returns
    -------
    Decision
    """
    rng = np.random.default_rng(rng)
    p = _check_probability(probability)
    if not available:
        return Decision(treated=None, probability=p, available=False)
    return Decision(treated=bool(rng.random() < p), probability=p, available=True)


#: Accepted names of a piece's start; the study file uses ``from_day``.
_START_KEYS = ("from", "from_day", "from_decision")


def _pieces(schedule) -> list[tuple[float, float]]:
    """Validated ``(start, probability)`` pieces, sorted, the first starting at 0."""
    if isinstance(schedule, Mapping):
        schedule = schedule.get("pieces", ())
    if not isinstance(schedule, Sequence) or not schedule:
        raise ValueError(f"schedule must be a probability or a non-empty list of (start, probability), got {schedule!r}")
    pieces = []
    for piece in schedule:
        if isinstance(piece, Mapping):
            keys = [k for k in _START_KEYS if k in piece]
            if len(keys) != 1 or "probability" not in piece:
                raise ValueError(f"schedule pieces need one of {_START_KEYS} and probability, got {dict(piece)!r}")
            start, p = piece[keys[0]], piece["probability"]
        else:
            start, p = piece
        pieces.append((float(start), _check_probability(p, "schedule probability")))
    pieces.sort()
    if pieces[0][0] != 0 or len({s for s, _ in pieces}) != len(pieces):
        raise ValueError("schedule pieces must start at 0 and have distinct starts")
    return pieces


def probability_at(schedule, t: float) -> float:
    """Treatment probability at decision point (or day) ``t``.

    Parameters
    ----------
    schedule : float, sequence or mapping
        A constant probability; or pieces ``[(start, p), ...]`` meaning ``p`` applies from
        ``start`` until the next start (units are the caller's: decision-point index or
        study day); or the study file's ``[{"from_day": 0, "probability": 0.6}, ...]``
        (``from`` and ``from_decision`` are accepted too), bare or under ``"pieces"``.
    t : float
        Decision-point index or day, ``>= 0``.

    Returns
    -------
    float
    """
    if isinstance(schedule, (int, float)) and not isinstance(schedule, bool):
        return _check_probability(schedule, "schedule")
    if not t >= 0:
        raise ValueError(f"t must be >= 0, got {t!r}")
    current = None
    for start, p in _pieces(schedule):
        if start > t:
            break
        current = p
    return current
