"""The loaded, normalised study definition and what the service reads from it."""

from __future__ import annotations

import copy

from .texts import resolve_texts


class StudyDefinition:
    """A valid, normalised study definition.

    Build it with the ``load_study_*`` functions. ``data`` is the JSON-serialisable
    form the database stores; loading it again gives an equal definition. Every
    accessor returns a copy, so callers cannot change the definition by accident.
    """

    __slots__ = ("_data", "source")

    def __init__(self, data: dict, source: str = "<input>"):
        self._data = copy.deepcopy(data)
        self.source = source

    def __repr__(self) -> str:
        return f"<StudyDefinition {self.key!r} from {self.source}>"

    def __eq__(self, other) -> bool:
        return isinstance(other, StudyDefinition) and self._data == other._data

    __hash__ = None  # mutable contents; equality is by value

    def _get(self, name: str):
        return copy.deepcopy(self._data[name])

    @property
    def data(self) -> dict:
        """The whole normalised definition (defaults filled, arms derived)."""
        return copy.deepcopy(self._data)

    key = property(lambda self: self._data["key"], doc="Study slug.")
    title = property(lambda self: self._data["title"], doc="Study title.")
    locales = property(lambda self: self._get("locales"), doc="Locales offered, e.g. ['en', 'es'].")
    default_locale = property(lambda self: self._data["default_locale"],
                              doc="Locale that texts fall back to.")
    consent = property(lambda self: self._get("consent"), doc="``{version, text: {locale: str}}``.")
    arms = property(lambda self: self._get("arms"),
                    doc="Arms (factorial cells when factorial): key, code, label, ratio, features.")
    factors = property(lambda self: self._get("factors") or [],
                       doc="Factors of a factorial study; empty otherwise.")
    is_factorial = property(lambda self: self._data["factors"] is not None,
                            doc="Whether arms are derived from factors.")
    schedule = property(lambda self: copy.deepcopy(self._data["homework"]["schedule"]),
                        doc="Homework schedule entries, with defaults filled.")
    questionnaires = property(lambda self: self._get("questionnaires"),
                              doc="``{instruments, timepoints}``, builtins expanded.")
    analysis = property(lambda self: self._get("analysis"), doc="Analysis plan, or None.")

    @property
    def strata(self) -> list[dict]:
        """Stratification factors as ``[{key, levels}]``."""
        return [{"key": s["key"], "levels": list(s["levels"])} for s in self._data["stratification"]]

    def features_for(self, arm_key: str) -> dict:
        """Return the complete features of arm ``arm_key`` (raises KeyError if unknown)."""
        for arm in self._data["arms"]:
            if arm["key"] == arm_key:
                return copy.deepcopy(arm["features"])
        raise KeyError(f"study {self.key!r} has no arm {arm_key!r}")

    def template(self, key: str) -> dict:
        """Return homework template ``key`` with builtin fields and texts merged in."""
        for template in self._data["homework"]["templates"]:
            if template["key"] == key:
                return copy.deepcopy(template)
        raise KeyError(f"study {self.key!r} has no homework template {key!r}")

    def template_texts(self, key: str, locale: str, variant: str = "default") -> dict:
        """Texts of template ``key`` for a locale and framing variant, with fallbacks."""
        texts = self.template(key)["texts"]
        return resolve_texts(texts, locale, variant, self.default_locale)

    @property
    def allocation(self) -> dict:
        """The plain dict taken by ``hwtrial.randomisation.AllocationSpec.from_dict``.

        ``arms`` is empty for a factorial study (the core derives the same cells,
        in the same order, from ``factorial.factors``); for a cluster study the
        cluster block sizes are repeated at the top level, and ``cluster.covariates``
        lists covariate keys.
        """
        a, d = self._data["allocation"], self._data
        factorial = None
        if a["method"] == "factorial":
            factorial = {"factors": {f["key"]: [lv["key"] for lv in f["levels"]] for f in d["factors"]},
                         "fractional": copy.deepcopy(d["fractional"]),
                         "method": a["factorial"]["method"]}
        cluster, block_sizes = None, a["block_sizes"]
        if a["method"] == "cluster":
            block_sizes = a["cluster"]["block_sizes"]
            cluster = {"unit": d["clusters"]["unit"], "method": a["cluster"]["method"],
                       "block_sizes": copy.deepcopy(block_sizes),
                       "covariates": [c["key"] for c in d["clusters"]["covariates"]]}
        # The randomisation core derives factorial cells itself and refuses explicit arms;
        # for a cluster design it reads the block sizes at the top level.
        arms = [] if factorial else [{"key": arm["key"], "ratio": arm["ratio"]} for arm in d["arms"]]
        return {
            "method": a["method"],
            "arms": arms,
            "block_sizes": copy.deepcopy(block_sizes),
            "strata": list(a["stratify_by"]),
            "minimisation": copy.deepcopy(a["minimisation"]),
            "factorial": factorial,
            "cluster": cluster,
        }
