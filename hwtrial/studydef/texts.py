"""Resolve a homework template's texts for one locale and framing variant."""

from __future__ import annotations

from .merge import deep_merge


def resolve_texts(texts: dict, locale: str, variant: str, default_locale: str) -> dict:
    """Return ``{title, intro, submit_label?, fields: {key: {label, help?}}}``.

    Each key is taken from the first of (locale, variant), (locale, default),
    (default_locale, variant), (default_locale, default) that has it, so a
    participant sees their own language before a framing written in another.
    A field's label and help travel together, never mixing languages.

    Parameters
    ----------
    texts : dict
        A normalised template's ``texts``.
    locale, variant : str
        The participant's locale and the arm's framing variant.
    default_locale : str
        The study's default locale.
    """
    layers = [(default_locale, "default"), (default_locale, variant),
              (locale, "default"), (locale, variant)]
    out: dict = {"fields": {}}
    for loc, var in layers:
        layer = texts.get(loc, {}).get(var, {})
        fields = layer.get("fields", {})
        out = deep_merge(out, {k: v for k, v in layer.items() if k != "fields"})
        out["fields"].update(fields)
    return out
