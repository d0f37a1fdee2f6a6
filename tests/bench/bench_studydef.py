"""Time hostile study files through ``load_study_text`` (issue 9: small uploads pinned a worker).

Run: ``python tests/bench/bench_studydef.py [timeout_seconds]`` (not a pytest test). Each case
runs in its own subprocess, killed after the timeout (default 20 s), so the script also runs on
code that never finishes a case (e.g. ``git archive`` an older commit and run it there).
Printed per case: seconds inside ``load_study_text`` (best of 3; start-up excluded) and how it
ended (the first problem, shortened), or ``TIMEOUT``.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

MINIMAL = """\
key: mini
title: Minimal study
consent:
  version: "1"
  text: {en: "I agree."}
arms:
  - key: control
  - key: treated
allocation:
  method: simple
"""


def alias_bomb() -> str:
    """Billion laughs: nine levels of nine aliases, ~523 bytes, 10^9 nodes once expanded."""
    lines = ['a0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for i in range(1, 9):
        refs = ",".join([f"*a{i - 1}"] * 9)
        lines.append(f"a{i}: &a{i} [{refs}]")
    return "\n".join(lines) + "\n" + MINIMAL


def merge_bomb() -> str:
    """Merge keys doubling a mapping per level (~1 KB)."""
    lines = ["m0: &m0 {k0: 0, k1: 1}"]
    for i in range(1, 24):
        lines.append(f"m{i}: &m{i} {{<<: [*m{i - 1}], x{i}: *m{i - 1}}}")
    return "\n".join(lines) + "\n" + MINIMAL


def unknown_keys(n: int) -> str:
    """A valid study plus ``n`` unknown top-level keys (one problem each)."""
    return MINIMAL + "".join(f"u{i}: 0\n" for i in range(n))


def unknown_nested_keys(n: int) -> str:
    """``n`` unknown keys inside the first arm (stays under the node cap)."""
    extra = "".join(f"    u{i}: 0\n" for i in range(n))
    return MINIMAL.replace("  - key: control\n", "  - key: control\n" + extra)


def deep_yaml(depth: int) -> str:
    return MINIMAL + "deep: " + "[" * depth + "]" * depth + "\n"


def deep_json(depth: int) -> str:
    return '{"key": "mini", "deep": ' + "[" * depth + "]" * depth + "}"


CASES = {
    "alias bomb": alias_bomb,
    "merge-key bomb": merge_bomb,
    "100k unknown top-level keys": lambda: unknown_keys(100_000),
    "20k unknown keys in arms[0]": lambda: unknown_nested_keys(20_000),
    "40k unknown keys in arms[0]": lambda: unknown_nested_keys(40_000),
    "YAML nested 10k deep": lambda: deep_yaml(10_000),
    "JSON nested 10k deep": lambda: deep_json(10_000),
}

_CHILD = """
import sys, time
from hwtrial.studydef import StudyDefinitionError, load_study_text
text = sys.stdin.read()
start = time.perf_counter()
try:
    load_study_text(text, "bench.yaml")
    outcome = "loaded"
except StudyDefinitionError as exc:
    outcome = f"{len(exc.problems)} problems; first: {exc.problems[0]}"
except BaseException as exc:
    outcome = f"CRASH {type(exc).__name__}: {exc}"
print(f"{time.perf_counter() - start:.3f}", outcome[:100])
"""


def run(text: str, timeout: float) -> tuple[float, str]:
    """Seconds spent in ``load_study_text`` (start-up excluded) and how it ended."""
    try:
        done = subprocess.run([sys.executable, "-c", _CHILD], input=text, capture_output=True,
                              text=True, timeout=timeout, cwd=ROOT)
    except subprocess.TimeoutExpired:
        return float("inf"), "TIMEOUT"
    seconds, _, outcome = done.stdout.strip().partition(" ")
    if not seconds:
        return float("inf"), done.stderr.strip()[-100:]
    return float(seconds), outcome


def main() -> None:
    timeout = float(sys.argv[1]) if len(sys.argv) > 1 else 20.0
    print(f"cpus {os.cpu_count()}, load average {os.getloadavg()[0]:.1f}; "
          f"seconds inside load_study_text, best of 3 (bombs: 1 run, killed after {timeout:.0f} s)")
    for name, make in CASES.items():
        text = make()
        best, outcome = min(run(text, timeout) for _ in range(1 if "bomb" in name else 3))
        shown = f">{timeout:.0f}" if best == float("inf") else f"{best:.3f}"
        print(f"{name:30s} {len(text.encode()):>9,d} B {shown:>7s} s  {outcome}")


if __name__ == "__main__":
    main()
