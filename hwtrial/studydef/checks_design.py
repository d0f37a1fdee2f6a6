"""Cross-field checks on arms, factors, strata, clusters and allocation.

Each check takes the normalised definition and returns ``(path, message)`` pairs. Checks
are kept small because one that reads a section the schema rejected is skipped whole
(see validate.py): a check that needs ``arms`` should not hide one that does not.
"""

from __future__ import annotations

from .normalise import factor_pool, uses_minimisation


def duplicates(items: list[dict], path: tuple, field: str = "key") -> list[tuple]:
    """Report every item whose ``field`` repeats an earlier item's."""
    seen, found = set(), []
    for i, item in enumerate(items):
        value = item.get(field) if isinstance(item, dict) else item
        if value in seen:
            found.append(((*path, i, field) if isinstance(item, dict) else (*path, i),
                          f"duplicate {field} {value!r}"))
        seen.add(value)
    return found


def check_design(d: dict) -> list[tuple]:
    """Arm keys and codes, or factor and level keys, unique."""
    problems = []
    if d["factors"] is None:
        problems += duplicates(d["arms"], ("arms",))
        problems += duplicates(d["arms"], ("arms",), "code")
    else:
        problems += duplicates(d["factors"], ("factors",))
        for j, factor in enumerate(d["factors"]):
            problems += duplicates(factor["levels"], ("factors", j, "levels"))
    return problems


def check_strata(d: dict) -> list[tuple]:
    """Strata, their levels and cluster covariates unique."""
    problems = duplicates(d["stratification"], ("stratification",))
    for j, stratum in enumerate(d["stratification"]):
        problems += duplicates(stratum["levels"], ("stratification", j, "levels"), "level")
    if d["clusters"]:
        problems += duplicates(d["clusters"]["covariates"], ("clusters", "covariates"))
    return problems


def check_allocation(d: dict) -> list[tuple]:
    """The allocation method has what it needs, and nothing it would ignore."""
    a = d["allocation"]
    method, problems = a["method"], []
    if (method == "factorial") != (d["factors"] is not None):
        problems.append((("allocation", "method"),
                         "factorial allocation needs factors, and factors need method factorial"))
    if (method == "cluster") != (d["clusters"] is not None):
        problems.append((("allocation", "method"),
                         "cluster allocation needs clusters, and clusters need method cluster"))
    for name in ("factorial", "cluster"):
        if a[name] is not None and method != name:
            problems.append((("allocation", name), f"only used with method {name}"))
    if a["minimisation"] is not None and not uses_minimisation(a):
        problems.append((("allocation", "minimisation"), "only used when allocation minimises"))
    return problems


def _uses_blocks(a: dict) -> bool:
    return a["method"] == "permuted_blocks" or (
        a["method"] == "factorial" and (a["factorial"] or {}).get("method") == "blocks")


def check_blocks(d: dict) -> list[tuple]:
    """Block sizes given where blocks are used, each a multiple of the ratio sum."""
    a, problems = d["allocation"], []
    total = sum(arm["ratio"] for arm in d["arms"])
    places = [(("allocation", "block_sizes"), a["block_sizes"], _uses_blocks(a))]
    if a["cluster"] is not None:
        places.append((("allocation", "cluster", "block_sizes"), a["cluster"]["block_sizes"],
                       a["cluster"]["method"] == "permuted_blocks"))
    for path, sizes, needed in places:
        if needed and not sizes:
            problems.append((path, "permuted blocks need block_sizes"))
        elif sizes and not needed:
            problems.append((path, "only used with permuted blocks"))
        for i, size in enumerate(sizes or []):
            if total and size % total:
                problems.append(((*path, i), f"block size {size} is not a multiple of the "
                                             f"ratio sum {total} (arms: {len(d['arms'])})"))
    return problems


def check_balancing(d: dict) -> list[tuple]:
    """Strata and minimisation factors name known stratification keys or cluster covariates."""
    a, problems = d["allocation"], []
    pool = factor_pool(d)
    where = "clusters.covariates" if a["method"] == "cluster" else "stratification"
    for i, key in enumerate(a["stratify_by"]):
        if key not in pool:
            problems.append((("allocation", "stratify_by", i), f"{key!r} is not in {where}"))
    mini = a["minimisation"]
    if mini is None:
        return problems
    for i, key in enumerate(mini["factors"]):
        if key not in pool:
            problems.append((("allocation", "minimisation", "factors", i),
                             f"minimisation factor {key!r} is not in {where}"))
    if not mini["factors"]:
        problems.append((("allocation", "minimisation", "factors"),
                         f"minimisation needs at least one factor from {where}"))
    for key in mini["weights"]:
        if key not in mini["factors"]:
            problems.append((("allocation", "minimisation", "weights", key),
                             f"{key!r} is not a minimisation factor"))
    return problems
