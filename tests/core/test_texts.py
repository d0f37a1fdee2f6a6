"""Text resolution (locale -> default_locale, variant -> default, per key) and locale choice."""

import pytest

from hwtrial.homework.texts import merge_texts, pick_locale, resolve_texts

TEMPLATE = {
    "key": "thought_record",
    "fields": [{"key": "situation", "type": "text"}, {"key": "mood", "type": "scale"}],
    "texts": {
        "en": {
            "default": {
                "title": "Thought record",
                "intro": "Write down a situation.",
                "submit_label": "Save",
                "fields": {
                    "situation": {"label": "Situation", "help": "Where were you?"},
                    "mood": {"label": "Mood"},
                },
            },
            "self_improvement": {"intro": "Grow your skills: write down a situation."},
            "community": {"intro": "Others do this too.", "fields": {"mood": {"label": "Mood now"}}},
        },
        "de": {
            "default": {
                "title": "Gedankenprotokoll",
                "intro": "Beschreiben Sie eine Situation.",
                "fields": {"situation": {"label": "Situation"}},
            },
        },
    },
}


def test_default_locale_default_variant():
    assert resolve_texts(TEMPLATE, "en", "default", "en") == {
        "title": "Thought record",
        "intro": "Write down a situation.",
        "submit_label": "Save",
        "fields": {
            "situation": {"label": "Situation", "help": "Where were you?"},
            "mood": {"label": "Mood", "help": None},
        },
    }


def test_variant_overrides_only_intro():
    texts = resolve_texts(TEMPLATE, "en", "self_improvement", "en")
    assert texts["intro"] == "Grow your skills: write down a situation."
    assert texts["title"] == "Thought record"
    assert texts["fields"]["situation"]["help"] == "Where were you?"


def test_variant_overrides_one_field_label():
    texts = resolve_texts(TEMPLATE, "en", "community", "en")
    assert texts["fields"]["mood"] == {"label": "Mood now", "help": None}
    assert texts["fields"]["situation"]["label"] == "Situation"


def test_locale_wins_over_variant_and_missing_keys_fall_back_to_default_locale():
    texts = resolve_texts(TEMPLATE, "de", "self_improvement", "en")
    assert texts["title"] == "Gedankenprotokoll"
    assert texts["intro"] == "Beschreiben Sie eine Situation."  # German default, not English variant
    assert texts["submit_label"] == "Save"  # only English defines one
    assert texts["fields"]["situation"] == {"label": "Situation", "help": "Where were you?"}
    assert texts["fields"]["mood"]["label"] == "Mood"


def test_regional_locale_uses_base_language_and_unknown_locale_the_default():
    assert resolve_texts(TEMPLATE, "de_AT", "default", "en")["title"] == "Gedankenprotokoll"
    assert resolve_texts(TEMPLATE, "fr", "community", "en")["intro"] == "Others do this too."
    assert resolve_texts(TEMPLATE, "fr", "unknown_variant", "en")["intro"] == (
        "Write down a situation."
    )


def test_missing_required_text_names_template_and_key():
    bad = {"key": "x", "fields": [{"key": "a"}], "texts": {"en": {"default": {"title": "T", "intro": "I"}}}}
    with pytest.raises(ValueError, match=r"template 'x'.*'fields\.a\.label'"):
        resolve_texts(bad, "en", "default", "en")
    with pytest.raises(ValueError, match="'intro'"):
        resolve_texts({"key": "y", "texts": {"en": {"default": {"title": "T"}}}}, "en", "default", "en")


def test_merge_texts_is_deep_and_does_not_mutate():
    base = TEMPLATE["texts"]
    override = {"en": {"default": {"fields": {"mood": {"help": "0 = worst"}}}}, "es": {"default": {"title": "Registro"}}}
    merged = merge_texts(base, override)
    assert merged["en"]["default"]["fields"]["mood"] == {"label": "Mood", "help": "0 = worst"}
    assert merged["en"]["default"]["title"] == "Thought record"
    assert merged["es"] == {"default": {"title": "Registro"}}
    assert "help" not in base["en"]["default"]["fields"]["mood"]


AVAILABLE = ["en", "de", "pt-BR"]


@pytest.mark.parametrize(
    ("participant", "accept", "expected"),
    [
        ("de", ["en"], "de"),  # the participant's own choice wins
        ("it", ["de-AT", "en;q=0.5"], "de"),  # unavailable choice -> browser, base language
        (None, ["en;q=0.3", "de;q=0.8"], "de"),  # q weights, not list order
        (None, ["pt"], "pt-BR"),  # base asked, regional offered
        (None, ["PT_br"], "pt-BR"),  # case and underscore insensitive, study spelling returned
        (None, ["fr", "*"], "en"),  # nothing matches -> default
        (None, ["de;q=0"], "en"),  # q=0 means "not acceptable"
        (None, [], "en"),
    ],
)
def test_pick_locale(participant, accept, expected):
    assert pick_locale(participant, accept, AVAILABLE, "en") == expected
