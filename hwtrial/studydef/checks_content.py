"""Cross-field checks on locales, consent, homework, questionnaires and analysis."""

from __future__ import annotations

from .checks_design import duplicates


def check_locales(d: dict) -> list[tuple]:
    """The default locale is listed, and consent is written in every locale."""
    problems = [(p, m.replace("key", "locale")) for p, m in duplicates(d["locales"], ("locales",))]
    if d["default_locale"] not in d["locales"]:
        problems.append((("default_locale",), f"{d['default_locale']!r} is not in locales"))
    text = d["consent"]["text"]
    for locale in d["locales"]:
        if locale not in text:
            problems.append((("consent", "text"), f"no consent text for locale {locale!r}"))
    for locale in text:
        if locale not in d["locales"]:
            problems.append((("consent", "text", locale), f"{locale!r} is not in locales"))
    return problems


def check_homework(d: dict) -> list[tuple]:
    """Templates complete in the default locale; schedule entries name real templates."""
    templates = d["homework"]["templates"]
    problems = duplicates(templates, ("homework", "templates"))
    for i, template in enumerate(templates):
        problems += _check_template(template, ("homework", "templates", i), d["default_locale"])
    keys = {t["key"] for t in templates}
    for i, entry in enumerate(d["homework"]["schedule"]):
        path = ("homework", "schedule", i)
        if entry["template"] not in keys:
            problems.append(((*path, "template"), f"unknown template {entry['template']!r}"))
        if entry["expire_after_hours"] < entry["due_after_hours"]:
            problems.append(((*path, "expire_after_hours"),
                             "must be at least due_after_hours"))
    return problems


def _check_template(template: dict, path: tuple, locale: str) -> list[tuple]:
    if not template["fields"]:
        return [((*path, "fields"), "a template without builtin needs fields")]
    problems = duplicates(template["fields"], (*path, "fields"))
    field_keys = {f["key"] for f in template["fields"]}
    default = template["texts"].get(locale, {}).get("default")
    if default is None:
        # Variants and other locales fall back to these texts, so they must exist.
        return [*problems, ((*path, "texts"), f"no default texts in default locale {locale!r}")]
    for name in ("title", "intro"):
        if not default.get(name):
            problems.append(((*path, "texts", locale, "default"), f"default texts need {name}"))
    labels = default.get("fields", {})
    for key in sorted(field_keys - labels.keys()):
        problems.append(((*path, "texts", locale, "default", "fields"),
                         f"no label for field {key!r}"))
    for loc, variants in template["texts"].items():
        for variant, texts in variants.items():
            for key in texts.get("fields", {}):
                if key not in field_keys:
                    problems.append(((*path, "texts", loc, variant, "fields", key),
                                     f"{key!r} is not a field of this template"))
    return problems


def check_questionnaires(d: dict) -> list[tuple]:
    """Instruments scorable and translated; timepoints name real instruments."""
    q = d["questionnaires"]
    problems = duplicates(q["instruments"], ("questionnaires", "instruments"))
    for i, inst in enumerate(q["instruments"]):
        problems += _check_instrument(inst, ("questionnaires", "instruments", i), d["locales"])
    problems += duplicates(q["timepoints"], ("questionnaires", "timepoints"))
    keys = {inst["key"] for inst in q["instruments"]}
    for i, tp in enumerate(q["timepoints"]):
        for k, key in enumerate(tp["instruments"]):
            if key not in keys:
                problems.append((("questionnaires", "timepoints", i, "instruments", k),
                                 f"unknown instrument {key!r}"))
    return problems


def _check_instrument(inst: dict, path: tuple, locales: list[str]) -> list[tuple]:
    items = inst["items"]
    if not items:
        return [((*path, "items"), "an instrument without builtin needs items")]
    problems = duplicates(items, (*path, "items"))
    for k, item in enumerate(items):
        for locale in locales:
            if locale not in item["text"]:
                problems.append(((*path, "items", k, "text"), f"no text for locale {locale!r}"))
    scoring = inst["scoring"]
    if scoring["max_missing"] >= len(items):
        problems.append(((*path, "scoring", "max_missing"), "must be less than the number of items"))
    top = sum(i["max"] for i in items) if scoring["method"] == "sum" else max(i["max"] for i in items)
    bands = scoring["bands"]
    for k in range(1, len(bands)):
        if bands[k]["max"] <= bands[k - 1]["max"]:
            problems.append(((*path, "scoring", "bands", k, "max"), "band maxima must increase"))
    if bands and bands[-1]["max"] < top:
        problems.append(((*path, "scoring", "bands"), f"the last band must reach the top score {top}"))
    safety = inst["safety"]
    if safety:
        item = next((i for i in items if i["key"] == safety["item"]), None)
        if item is None:
            problems.append(((*path, "safety", "item"), f"unknown item {safety['item']!r}"))
        elif not item["min"] < safety["threshold"] <= item["max"]:
            problems.append(((*path, "safety", "threshold"),
                             f"must be above {item['min']} and at most {item['max']}"))
    return problems


def check_analysis(d: dict) -> list[tuple]:
    """Outcomes name instruments given at the named timepoints; covariates are known."""
    a = d["analysis"]
    if a is None:
        return []
    problems = _check_outcome(a["primary"], ("analysis", "primary"), d)
    for i, outcome in enumerate(a["secondary"]):
        problems += _check_outcome(outcome, ("analysis", "secondary", i), d)
    if "per_protocol" in a["populations"] and a["per_protocol"] is None:
        problems.append((("analysis", "per_protocol"),
                         "the per_protocol population needs per_protocol.min_adherence"))
    return problems


def _check_outcome(outcome: dict, path: tuple, d: dict) -> list[tuple]:
    timepoints = {tp["key"]: tp for tp in d["questionnaires"]["timepoints"]}
    instruments = {i["key"] for i in d["questionnaires"]["instruments"]}
    problems = []
    if outcome["instrument"] not in instruments:
        problems.append(((*path, "instrument"), f"unknown instrument {outcome['instrument']!r}"))
    for name in ("timepoint", "baseline_timepoint"):
        key = outcome[name]
        if key is None:
            continue
        if key not in timepoints:
            problems.append(((*path, name), f"unknown timepoint {key!r}"))
        elif outcome["instrument"] not in timepoints[key]["instruments"]:
            problems.append(((*path, name),
                             f"{outcome['instrument']!r} is not given at timepoint {key!r}"))
    base, main = outcome["baseline_timepoint"], outcome["timepoint"]
    if base in timepoints and main in timepoints and timepoints[base]["day"] >= timepoints[main]["day"]:
        problems.append(((*path, "baseline_timepoint"), "must come before the outcome timepoint"))
    known = {s["key"] for s in d["stratification"]}
    known |= {c["key"] for c in (d["clusters"] or {}).get("covariates", [])}
    for i, cov in enumerate(outcome["covariates"]):
        if cov not in known:
            problems.append(((*path, "covariates", i),
                             f"{cov!r} is not a stratification or cluster covariate"))
    return problems


def check_support(d: dict) -> list[tuple]:
    """Crisis contacts in every locale when a questionnaire has a safety rule; texts in study locales.

    A participant who endorses a safety item is shown these contacts at once (see
    :mod:`hwtrial.services.safety_message`), so a study cannot alert on an item without them.
    """
    support = d.get("support") or {}
    problems = []
    for name in ("contact", "crisis_contacts", "message"):
        for locale in support.get(name) or {}:
            if locale not in d["locales"]:
                problems.append((("support", name, locale), f"{locale!r} is not in locales"))
    rules = [(inst["key"], inst["safety"]) for inst in d["questionnaires"]["instruments"] if inst.get("safety")]
    if not rules:
        return problems
    key, rule = rules[0]
    contacts = support.get("crisis_contacts") or {}
    missing = [locale for locale in d["locales"] if not contacts.get(locale)]
    if missing and not contacts:
        problems.append((("support", "crisis_contacts"),
                         f"required: questionnaire {key!r} has a safety rule ({rule['item']} >= "
                         f"{rule['threshold']}), so participants who endorse it must be shown crisis "
                         f"contacts; give them for every locale ({', '.join(d['locales'])})"))
    else:
        problems += [(("support", "crisis_contacts"), f"no crisis contacts for locale {locale!r} "
                      f"(questionnaire {key!r} has a safety rule)") for locale in missing]
    return problems
