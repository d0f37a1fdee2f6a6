"""Seeds and deterministic generator derivation.

Production seeds come from :mod:`secrets` (a CSPRNG) so that no one can predict the next
allocation; every generator used for an allocation is then derived from that stored seed
and integers that are themselves stored, so any allocation can be replayed offline.
Python's ``hash()`` is salted per process and must never enter a derivation.
"""

from __future__ import annotations

import hashlib
import secrets

import numpy as np

#: Stream tags keep the generators of different rules apart for one study seed.
MINIMISATION_STREAM = 0xA11C
SIMPLE_STREAM = 0x51F1E
MICRO_STREAM = 0x3D1C


def new_seed() -> int:
    """Fresh 128-bit study seed from the operating system's CSPRNG.

    Returns
    -------
    int
        Non-negative integer below ``2**128``; store it with the study.
    """
    return secrets.randbits(128)


def stable_int(text: str) -> int:
    """Process-independent 256-bit integer for a string (SHA-256, big-endian)."""
    return int.from_bytes(hashlib.sha256(text.encode("utf-8")).digest(), "big")


def _check_seed(seed: int) -> int:
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    return int(seed)


def block_rng(seed: int, stratum: str, block_no: int) -> np.random.Generator:
    """Generator for block ``block_no`` of ``stratum``: ``default_rng([seed, sha256(stratum), block_no])``."""
    return np.random.default_rng([_check_seed(seed), stable_int(stratum), int(block_no)])


def stream_rng(seed: int, stream: int, sequence_no: int) -> np.random.Generator:
    """Generator for draw ``sequence_no`` of a rule: ``default_rng([seed, stream, sequence_no])``.

    Minimisation uses ``stream=MINIMISATION_STREAM`` (``0xA11C``), simple randomisation
    ``SIMPLE_STREAM``; ``sequence_no`` is the study-wide allocation counter.
    """
    return np.random.default_rng([_check_seed(seed), int(stream), int(sequence_no)])


def micro_rng(seed: int, participant: str, decision_no: int) -> np.random.Generator:
    """Generator for one micro-randomised decision point of one participant."""
    return np.random.default_rng(
        [_check_seed(seed), MICRO_STREAM, stable_int(participant), int(decision_no)]
    )
