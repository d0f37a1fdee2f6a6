"""Babel catalogs: committed .mo files match their .po, Spanish is complete, nothing unextracted."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.mofile import read_mo, write_mo
from babel.messages.pofile import read_po

HWTRIAL = Path(__file__).resolve().parent.parent.parent / "hwtrial"
TRANSLATIONS = HWTRIAL / "translations"
LOCALES = ("en", "es")


def catalog(locale: str):
    with open(TRANSLATIONS / locale / "LC_MESSAGES" / "messages.po", "rb") as handle:
        return read_po(handle, locale=locale)


def messages(catalog_) -> dict:
    """What a catalog translates: ``{msgid: msgstr}`` (plural forms as tuples), no header.

    Compiled catalogs are compared by this, not by bytes: the bytes carry the Babel version
    that wrote them (``Generated-By``), which a fresh install does not share.
    """
    def key(value):
        return tuple(value) if isinstance(value, list | tuple) else value

    return {key(m.id): key(m.string) for m in catalog_ if m.id and not m.fuzzy}


def compiled(locale: str) -> dict:
    with open(TRANSLATIONS / locale / "LC_MESSAGES" / "messages.mo", "rb") as handle:
        return messages(read_mo(handle))


@pytest.mark.parametrize("locale", LOCALES)
def test_mo_files_are_compiled_from_the_current_po(locale):
    """Fails when a .po was edited without ``pybabel compile -d hwtrial/translations``."""
    expected = io.BytesIO()
    write_mo(expected, catalog(locale))
    expected.seek(0)
    assert compiled(locale) == messages(read_mo(expected)), f"{locale}: run pybabel compile -d hwtrial/translations"


def test_a_po_edit_without_compiling_is_caught():
    edited = catalog("es")
    first = next(m for m in edited if m.id and isinstance(m.id, str))
    first.string = first.string + " (edited)"
    stale = io.BytesIO()
    write_mo(stale, edited)
    stale.seek(0)
    assert messages(read_mo(stale)) != compiled("es")


def extracted_ids() -> set[str]:
    """Message ids in the code and templates, extracted with hwtrial/babel.cfg's rules."""
    method_map = [("web/participant*.py", "python"), ("reminders/channels.py", "python"), ("reminders/emails.py", "python"), ("templates/hwtrial/participant/**.html", "jinja2")]
    ids = set()
    for _filename, _lineno, message, _comments, _context in extract_from_dir(str(HWTRIAL), method_map):
        ids.add(message[0] if isinstance(message, tuple) else message)
    return ids


def test_every_interface_string_is_in_the_catalogs_and_translated_to_spanish():
    ids = extracted_ids()
    assert "Save draft" in ids and "Skip to content" in ids  # the extraction itself works
    spanish = {m.id[0] if isinstance(m.id, tuple) else m.id: m for m in catalog("es") if m.id}
    assert ids - set(spanish) == set(), "run pybabel extract/update (see hwtrial/babel.cfg)"
    untranslated = [key for key, m in spanish.items()
                    if not (all(m.string) if isinstance(m.string, tuple) else m.string)]
    assert untranslated == []
    assert {m.id if isinstance(m.id, str) else m.id[0] for m in catalog("en") if m.id} == set(spanish)


def test_spanish_placeholders_match_the_english_ones():
    import re

    placeholder = re.compile(r"%\((\w+)\)[sd]")
    for message in catalog("es"):
        if not message.id:
            continue
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        wanted = set(placeholder.findall(ids[-1]))
        for text in strings:
            assert set(placeholder.findall(text)) == wanted, message.id
