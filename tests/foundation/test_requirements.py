"""The lock files follow pyproject.toml: what a newcomer installs is what CI tested, and the
declared lower bounds are the versions the minimum-versions run installs."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

REPO = Path(__file__).resolve().parents[2]
PROJECT = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
PIN = re.compile(r"^([A-Za-z0-9._-]+)==([^\s;]+)\s*(?:;\s*([^#]+?))?\s*(?:#.*)?$")


def pins(name: str) -> dict[str, str]:
    """``{package: version}`` of a uv-compiled file, for the pins whose marker holds here."""
    found = {}
    for line in (REPO / "requirements" / name).read_text().splitlines():
        match = PIN.match(line.strip())
        if not match:
            continue
        package, version, marker = match.groups()
        if marker and not Requirement(f"x; {marker}").marker.evaluate():
            continue
        found[canonicalize_name(package)] = version
    return found


def declared(extras: bool) -> list[Requirement]:
    reqs = [Requirement(r) for r in PROJECT["dependencies"]]
    if extras:
        reqs += [Requirement(r) for group in PROJECT["optional-dependencies"].values() for r in group]
    return [r for r in reqs if r.marker is None or r.marker.evaluate()]


@pytest.mark.parametrize("requirement", declared(extras=True), ids=str)
def test_lock_pins_a_version_pyproject_allows(requirement):
    locked = pins("constraints.txt")
    name = canonicalize_name(requirement.name)
    assert name in locked, f"{name} is declared in pyproject.toml but missing from requirements/constraints.txt"
    assert requirement.specifier.contains(locked[name], prereleases=True), (
        f"requirements/constraints.txt pins {name}=={locked[name]}, outside {requirement}: "
        "run requirements/compile.sh")


@pytest.mark.parametrize("requirement", declared(extras=False), ids=str)
def test_minimum_pins_the_declared_lower_bound(requirement):
    lower = [s.version for s in requirement.specifier if s.operator in (">=", "==", "~=")]
    assert lower, f"{requirement} has no lower bound: declare the oldest release hwtrial works with"
    minimum = pins("minimum.txt")
    name = canonicalize_name(requirement.name)
    assert name in minimum and Version(minimum[name]) == Version(lower[0]), (
        f"requirements/minimum.txt pins {name}=={minimum.get(name)}, not the lower bound {lower[0]} "
        "declared in pyproject.toml: run requirements/compile.sh")


# --- what the code imports is what pyproject.toml declares ----------------------------------

#: Declared for what they do at run time, not for an import: zoneinfo reads tzdata's files.
RUNTIME_ONLY = {"tzdata"}


def imported_distributions() -> dict[str, set[str]]:
    """``{distribution: {file, ...}}`` for every third-party module the package imports
    (the code under hwtrial/ and the migrations the wheel ships), wherever in a file."""
    import ast
    import sys
    from importlib.metadata import packages_distributions

    owners = packages_distributions()
    found: dict[str, set[str]] = {}
    for path in [*(REPO / "hwtrial").rglob("*.py"), *(REPO / "migrations").rglob("*.py")]:
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            for name in names:
                top = name.split(".")[0]
                if top in sys.stdlib_module_names or top == "hwtrial":
                    continue
                assert top in owners, f"{path.relative_to(REPO)} imports {top}, which no installed distribution provides"
                for dist in owners[top]:
                    found.setdefault(canonicalize_name(dist), set()).add(str(path.relative_to(REPO)))
    return found


def test_every_imported_distribution_is_declared():
    """A module hwtrial imports comes from a distribution pyproject.toml names (a host that
    installs hwtrial must not depend on what happens to come along with Flask or flask-smorest)."""
    names = {canonicalize_name(r.name) for r in declared(extras=True)}
    missing = {dist: sorted(files) for dist, files in imported_distributions().items() if dist not in names}
    assert not missing, f"imported but not declared in pyproject.toml: {missing}"


def test_every_declared_dependency_is_imported():
    """No hard dependency that nothing imports (flask-babel once was one)."""
    imported = set(imported_distributions())
    unused = [str(r) for r in declared(extras=False)
              if canonicalize_name(r.name) not in imported | RUNTIME_ONLY]
    assert not unused, f"declared in pyproject.toml but imported nowhere: {unused}"
