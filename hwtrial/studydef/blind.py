"""The study definition as a blinded caller may read it (pure: dicts in, dicts out).

Blinding hides which code is which arm, so everything that tells arms apart goes: arm keys,
labels and features (reminder policies, self-review prompts, framings, extras), the factor
and level names of a factorial design, and the homework texts written for a framing that
only some arms use. What is the same for every arm stays: the analysis plan, strata,
clusters, allocation method, homework schedule and fields, questionnaires and consent.
Factors become ``A``, ``B``, ... with levels ``1`` and ``2``, as in the blinded results.
"""

from __future__ import annotations

import copy
import string
from collections.abc import Mapping
from typing import Any

__all__ = ["blind_definition"]


def blind_definition(definition: Mapping[str, Any], codes: Mapping[str, str]) -> dict[str, Any]:
    """A copy of the normalised ``definition`` without anything that tells arms apart.

    Parameters
    ----------
    definition : dict
        A normalised study definition (``Study.definition``).
    codes : dict
        Arm key to the blinded code shown for it (``A``, ``B``, ``C1``, ...).

    Returns
    -------
    dict
        The definition with ``arms`` reduced to ``{code, ratio}`` (definition order),
        ``factors`` to letters and level numbers, and framing-specific texts removed.
    """
    out = copy.deepcopy(dict(definition))
    arms = definition.get("arms") or []
    out["arms"] = [{"code": codes[arm["key"]], "ratio": arm["ratio"]} for arm in arms]
    if out.get("factors"):
        out["factors"] = [_blind_factor(i, factor) for i, factor in enumerate(out["factors"])]
    hidden = _arm_framings(arms)
    for template in (out.get("homework") or {}).get("templates", []):
        template["texts"] = {locale: {variant: block for variant, block in variants.items()
                                      if variant not in hidden}
                             for locale, variants in template.get("texts", {}).items()}
    return out


def _blind_factor(index: int, factor: Mapping[str, Any]) -> dict[str, Any]:
    return {"key": string.ascii_uppercase[index],
            "levels": [{"key": str(j + 1)} for j in range(len(factor.get("levels", [])))]}


def _arm_framings(arms: list[Mapping[str, Any]]) -> set[str]:
    """Framings that differ between arms (texts in one of them would point at its arms)."""
    framings = {(arm.get("features") or {}).get("framing", "default") for arm in arms}
    return framings if len(framings) > 1 else set()
