"""Cross-field checks on arm features (reminder policy, self-review, framing)."""

from __future__ import annotations


def feature_sites(d: dict) -> list[tuple[tuple, dict]]:
    """Where features are written: each arm, or each factor level in a factorial study.

    Level features are partial, so policy checks run on the derived cells instead;
    a cell path ``arms[i]`` is placed at the ``factors`` block by the loader.
    """
    if d["factors"] is None:
        return [(("arms", i, "features"), arm["features"]) for i, arm in enumerate(d["arms"])]
    return [(("factors", j, "levels", i, "features"), level["features"])
            for j, factor in enumerate(d["factors"]) for i, level in enumerate(factor["levels"])]


def check_features(d: dict) -> list[tuple]:
    """Reminder policies complete and self-review prompts translated."""
    problems = []
    for i, arm in enumerate(d["arms"]):
        path = ("arms", i, "features")
        problems += _check_reminders(arm["features"]["reminders"], (*path, "reminders"), arm)
        problems += _check_review(arm["features"]["self_review"], (*path, "self_review"), d, arm)
    return problems


def _about(arm: dict) -> str:
    return f" (cell {arm['key']})" if "|" in arm["key"] else ""


def _check_reminders(r: dict, path: tuple, arm: dict) -> list[tuple]:
    policy, problems, about = r["policy"], [], _about(arm)
    unused = {"none": ("times", "relative_to_due_hours", "decision_points", "probability",
                       "channels", "quiet_hours", "availability"),
              "fixed": ("decision_points", "probability"),
              "micro_randomised": ("times", "relative_to_due_hours")}[policy]
    for name in unused:
        if r[name]:
            problems.append(((*path, name), f"not used with policy {policy}{about}"))
    if policy == "fixed" and not (r["times"] or r["relative_to_due_hours"]):
        problems.append(((*path, "times"), f"policy fixed needs times or relative_to_due_hours{about}"))
    if policy == "micro_randomised":
        for name in ("decision_points", "probability"):
            if not r[name]:
                problems.append(((*path, name), f"policy micro_randomised needs {name}{about}"))
    if policy != "none" and not r["channels"]:
        problems.append(((*path, "channels"), f"reminders need at least one channel{about}"))
    if not r["days"]:
        problems.append(((*path, "days"), "give at least one day"))
    steps = r["probability"] or []
    if steps and steps[0]["from_day"] != 0:
        problems.append(((*path, "probability", 0, "from_day"), "the first step must start at day 0"))
    for k in range(1, len(steps)):
        if steps[k]["from_day"] <= steps[k - 1]["from_day"]:
            problems.append(((*path, "probability", k, "from_day"),
                             "from_day must increase from step to step"))
    quiet = r["quiet_hours"]
    if quiet and quiet["start"] == quiet["end"]:
        problems.append(((*path, "quiet_hours"), "start and end are equal"))
    return problems


def _check_review(review: dict, path: tuple, d: dict, arm: dict) -> list[tuple]:
    problems = []
    scale = review["usefulness_scale"]
    if scale and scale["min"] >= scale["max"]:
        problems.append(((*path, "usefulness_scale", "max"), "max must be greater than min"))
    if review["enabled"]:
        for locale in d["locales"]:
            if locale not in review["prompt"]:
                problems.append(((*path, "prompt"),
                                 f"no prompt for locale {locale!r}{_about(arm)}"))
    return problems


def check_framing(d: dict) -> list[tuple]:
    """Each framing other than ``default`` has texts in some homework template."""
    variants = {v for t in d["homework"]["templates"] for texts in t["texts"].values()
                for v in texts}
    problems = []
    for path, features in feature_sites(d):
        framing = features.get("framing", "default")
        if framing != "default" and framing not in variants:
            problems.append(((*path, "framing"),
                             f"no homework template has texts for framing {framing!r}"))
    return problems
