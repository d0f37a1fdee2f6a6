"""Cost per minimisation allocation: hwtrial vs smallerize, on the same state.

Run: ``python tests/bench/bench_minimisation.py`` (not a pytest test). Design: 4 factors x
3 levels, 3 arms (1:1:1), Pocock-Simon range, p = 0.8. Both implementations are loaded with
the same enrolled history (1,000 / 10,000 / 100,000 participants), then allocate the same
stream of new participants, each allocation updating its state. The repeats of the two
implementations are interleaved (so machine load hits both alike) and the best repeat's
mean time per allocation is reported, as ``timeit`` does.

hwtrial columns: ``core`` is ``minimise`` + ``MinimisationCounts.add`` with one generator;
``+seed`` also derives the per-allocation generator ``stream_rng(seed, 0xA11C, n)`` as the
service does. smallerize keeps its own count table (keyed by full level combination) and
draws from the global ``random`` module, seeded here for repeatability.
"""

from __future__ import annotations

import contextlib
import io
import random
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from smallerize import Arm, Factor, Minimizer  # noqa: E402

from hwtrial.randomisation import MinimisationCounts, minimise, stream_rng  # noqa: E402

ARMS = ["A", "B", "C"]
RATIOS = [1, 1, 1]
FACTORS = {f"f{i}": ["l0", "l1", "l2"] for i in range(4)}
SIZES = (1_000, 10_000, 100_000)
NEW, REPEATS, P = 1_000, 5, 0.8


def _participants(n: int, rng: np.random.Generator) -> list[dict[str, str]]:
    idx = rng.integers(3, size=(n, len(FACTORS)))
    names = list(FACTORS)
    return [{names[j]: f"l{row[j]}" for j in range(len(names))} for row in idx]


def _history(n: int, rng: np.random.Generator):
    arms = rng.integers(3, size=n)
    return list(zip(_participants(n, rng), (ARMS[a] for a in arms), strict=True))


def _ours(history, new, derive_seed: bool) -> float:
    counts = MinimisationCounts.empty(ARMS)
    for levels, arm in history:
        counts = counts.add(levels, arm)
    rng = np.random.default_rng(1)
    start = time.perf_counter()
    for i, levels in enumerate(new):
        g = stream_rng(12345, 0xA11C, len(history) + i) if derive_seed else rng
        a = minimise(ARMS, RATIOS, levels, counts, imbalance="range", p=P, rng=g)
        counts = counts.add(levels, a.arm)
    return (time.perf_counter() - start) / len(new)


def _smallerize(history, new) -> float:
    with contextlib.redirect_stdout(io.StringIO()):  # it prints notes about its options
        m = Minimizer(
            [Factor(f, lv) for f, lv in FACTORS.items()], [Arm(a, 1) for a in ARMS],
            d_imbalance_method="range", probability_method="best_only", preferred_p=P,
        )
    for levels, arm in history:
        m.add_existing_participant(levels, arm)
    random.seed(1)
    start = time.perf_counter()
    for levels in new:
        m.assign_participant(levels)
    return (time.perf_counter() - start) / len(new)


def main() -> None:
    rng = np.random.default_rng(20240601)
    print(f"{'enrolled':>9} | {'hwtrial core':>12} | {'hwtrial +seed':>13} | {'smallerize':>10} | "
          f"{'speed-up core':>13} | {'speed-up +seed':>14}")
    print("-" * 86)
    for n in SIZES:
        history, new = _history(n, rng), _participants(NEW, rng)
        runs = [(_ours(history, new, False), _ours(history, new, True), _smallerize(history, new))
                for _ in range(REPEATS)]
        core, seeded, ref = (min(col) for col in zip(*runs, strict=True))
        print(f"{n:>9,} | {core * 1e6:>9.1f} us | {seeded * 1e6:>10.1f} us | {ref * 1e6:>7.1f} us | "
              f"{ref / core:>12.1f}x | {ref / seeded:>13.1f}x")


if __name__ == "__main__":
    main()
