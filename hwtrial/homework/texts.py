"""Participant-facing texts of a homework template: locale and framing-variant fallback.

Texts live in ``template["texts"]`` as
``{locale: {variant: {title, intro, submit_label?, fields: {field_key: {label, help?}}}}}``.
The study-definition loader merges a builtin template's texts under the study's own
(:func:`merge_texts`), so here a template is already complete.

Resolution is per key (``title``, ``intro``, ``submit_label`` and each field's ``label`` and
``help`` separately), trying in order:

1. the requested locale, requested variant;
2. the requested locale, ``default`` variant;
3. the base language of the locale (``pt-BR`` -> ``pt``), variant then ``default``;
4. the study's ``default_locale``, variant then ``default``.

Language wins over framing: a participant reads their own language in the ``default``
framing rather than the variant's wording in a language they may not read. A variant can
therefore override a single key (typically ``intro``) and inherit the rest.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

__all__ = ["DEFAULT_VARIANT", "merge_texts", "pick_locale", "resolve_texts"]

DEFAULT_VARIANT = "default"


def _norm(tag: str) -> str:
    return tag.strip().replace("_", "-").lower()


def _base(tag: str) -> str:
    return _norm(tag).split("-")[0]


def _candidates(texts: Mapping[str, Any], locale: str, variant: str, default_locale: str):
    """Text blocks in resolution order (see module docstring)."""
    by_norm = {_norm(k): v for k, v in texts.items()}
    locales = list(dict.fromkeys([_norm(locale), _base(locale), _norm(default_locale)]))
    variants = list(dict.fromkeys([variant, DEFAULT_VARIANT]))
    for loc in locales:
        for var in variants:
            block = (by_norm.get(loc) or {}).get(var)
            if block:
                yield block


def _first(blocks: Sequence[Mapping[str, Any]], *path: str) -> Any:
    for block in blocks:
        value: Any = block
        for part in path:
            value = value.get(part) if isinstance(value, Mapping) else None
        if value is not None:
            return value
    return None


def resolve_texts(
    template: Mapping[str, Any], locale: str, variant: str, default_locale: str
) -> dict[str, Any]:
    """Texts to show for one template, locale and framing variant.

    Parameters
    ----------
    template : dict
        A homework template with ``key``, ``fields`` and merged ``texts``.
    locale : str
        The participant's locale (already negotiated, see :func:`pick_locale`).
    variant : str
        Framing-variant key, or ``"default"``.
    default_locale : str
        The study's ``default_locale``: the last fallback.

    Returns
    -------
    dict
        ``{"title", "intro", "submit_label", "fields": {key: {"label", "help"}}}``;
        ``submit_label`` and ``help`` are ``None`` when no block defines them (the web
        layer supplies its translated default button label).

    Raises
    ------
    ValueError
        When ``title``, ``intro`` or a field ``label`` is found in no fallback; the message
        names the template, locale and key.
    """
    blocks = list(_candidates(template.get("texts") or {}, locale, variant, default_locale))
    where = f"template {template.get('key')!r} (locale {locale!r}, variant {variant!r})"

    def required(*path: str) -> str:
        value = _first(blocks, *path)
        if value is None:
            raise ValueError(f"{where}: no text for {'.'.join(path)!r}")
        return value

    fields = {
        spec["key"]: {
            "label": required("fields", spec["key"], "label"),
            "help": _first(blocks, "fields", spec["key"], "help"),
        }
        for spec in template.get("fields") or []
    }
    return {
        "title": required("title"),
        "intro": required("intro"),
        "submit_label": _first(blocks, "submit_label"),
        "fields": fields,
    }


def merge_texts(base: Mapping[str, Any] | None, override: Mapping[str, Any] | None) -> dict:
    """Deep-merge a study's ``texts`` over a builtin's; neither argument is modified.

    Dicts merge key by key at every level, anything else in ``override`` replaces the base
    value, so a study can change one field's ``help`` in one locale and keep the rest.
    """
    merged = copy.deepcopy(dict(base or {}))
    for key, value in (override or {}).items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = merge_texts(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def _ranked(accept_languages: Iterable[str]) -> list[str]:
    """Tags in preference order; ``q=`` weights are honoured, ties keep input order."""
    ranked = []
    for position, raw in enumerate(accept_languages):
        tag, _, params = raw.partition(";")
        weight = 1.0
        if params.strip().startswith("q="):
            try:
                weight = float(params.strip()[2:])
            except ValueError:
                weight = 0.0
        if tag.strip() and tag.strip() != "*" and weight > 0:
            ranked.append((-weight, position, tag.strip()))
    return [tag for _, _, tag in sorted(ranked)]


def _match(tag: str, available: Sequence[str]) -> str | None:
    exact = {_norm(a): a for a in available}
    if _norm(tag) in exact:
        return exact[_norm(tag)]
    if _base(tag) in exact:  # de-AT asked, de offered
        return exact[_base(tag)]
    for offered in available:  # de asked, de-CH offered
        if _base(offered) == _base(tag):
            return offered
    return None


def pick_locale(
    participant_locale: str | None,
    accept_languages: Sequence[str],
    available: Sequence[str],
    default: str,
) -> str:
    """Choose the locale to show a participant.

    Parameters
    ----------
    participant_locale : str or None
        Locale stored on the participant (their explicit choice); wins when available.
    accept_languages : list of str
        Browser preferences, e.g. ``["de-AT", "en;q=0.5"]``.
    available : list of str
        Locales the study has texts for, spelled as in the study file.
    default : str
        The study's ``default_locale``, returned when nothing matches.

    Returns
    -------
    str
        An entry of ``available`` (its spelling) or ``default``. Matching is
        case-insensitive and treats ``_`` as ``-``; each preference is tried exactly, then
        by base language, then against any regional variant of that language.
    """
    preferences = ([participant_locale] if participant_locale else []) + _ranked(accept_languages)
    for tag in preferences:
        found = _match(tag, available)
        if found is not None:
            return found
    return default
