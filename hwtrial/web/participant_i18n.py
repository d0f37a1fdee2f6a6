"""Translations of the participant pages (Babel catalogs in ``hwtrial/translations``).

Plain :mod:`babel.support` catalogs in hwtrial's own folder rather than an app-wide
Flask-Babel instance: a host app may run its own Babel with its own locale selector, and
the participant's locale is decided by the study (participant record, then browser).
"""

from __future__ import annotations

import re
from datetime import datetime
from functools import lru_cache
from pathlib import Path

from babel import Locale
from babel.dates import format_datetime, format_time, get_datetime_format, get_timezone_location
from babel.support import NullTranslations, Translations

TRANSLATIONS_DIR = Path(__file__).resolve().parent.parent / "translations"


@lru_cache(maxsize=32)
def translations(locale: str) -> NullTranslations:
    """The catalog of ``locale`` (English source strings when there is none)."""
    return Translations.load(str(TRANSLATIONS_DIR), [locale.replace("-", "_")], domain="messages")


def _(text: str, **values) -> str:
    """Mark a Python string for extraction; it is translated where it is shown."""
    return text % values if values else text


@lru_cache(maxsize=32)
def _day_pattern(locale: str) -> str:
    """The locale's full date pattern without the year ("EEEE, d 'de' MMMM" in Spanish)."""
    full = Locale.parse(locale).date_formats["full"].pattern
    return re.sub(r"[,\s]*('[^']*'\s*)?y+[.]?", "", full).strip()


def format_day(when: datetime, tz: str, locale: str) -> str:
    """A participant-local, localised day, e.g. "Thursday, December 3", "jueves, 3 de diciembre"."""
    from zoneinfo import ZoneInfo

    locale = locale.replace("-", "_")
    return format_datetime(when, _day_pattern(locale), tzinfo=ZoneInfo(tz), locale=locale)


def format_when(when: datetime, tz: str, locale: str, *, show_zone: bool = False) -> str:
    """A participant-local, localised day and time in the locale's own order and clock.

    ``show_zone`` adds the zone's name ("hora de España (Madrid)"): the participant's
    browser is elsewhere, so "19:00" alone would be read in the wrong zone.
    """
    from zoneinfo import ZoneInfo

    locale = locale.replace("-", "_")
    zone = ZoneInfo(tz)
    text = get_datetime_format("medium", locale=locale).replace("'", "").format(
        format_time(when, "short", tzinfo=zone, locale=locale), format_day(when, tz, locale))
    return f"{text} ({get_timezone_location(zone, locale=locale)})" if show_zone else text


def zone_name(tz: str, locale: str) -> str:
    """A time zone as the participant reads it, e.g. "hora de España (Madrid)"."""
    from zoneinfo import ZoneInfo

    return get_timezone_location(ZoneInfo(tz), locale=locale.replace("-", "_"))


def language_name(locale: str) -> str:
    """A language in its own words ("español"), for the language switcher."""
    return Locale.parse(locale.replace("-", "_")).get_display_name(locale.replace("-", "_")) or locale


def _num(text: str) -> str:
    return text[:-2] if text.endswith(".0") else text


#: Messages of :func:`hwtrial.homework.validate_submission` (English, from the pure core)
#: and their translatable forms. Each regex names the values it carries over.
_FIELD_MESSAGES = [
    (re.compile(r"required"), _("This answer is required.")),
    (re.compile(r"unknown field"), _("This answer is not part of the form.")),
    (re.compile(r"must be text"), _("Please enter text.")),
    (re.compile(r"must be at most (?P<n>\d+) characters"), _("Please use at most %(n)s characters.")),
    (re.compile(r"must be an integer between (?P<low>\S+) and (?P<high>\S+)"),
     _("Please enter a whole number from %(low)s to %(high)s.")),
    (re.compile(r"must be a number between (?P<low>\S+) and (?P<high>\S+)"),
     _("Please enter a number from %(low)s to %(high)s.")),
    (re.compile(r"must be an integer( of .*)?"), _("Please enter a whole number.")),
    (re.compile(r"must be a number( of .*)?"), _("Please enter a number.")),
    (re.compile(r"must be one of: .*"), _("Please choose one of the options.")),
    (re.compile(r"(unknown choice|must be a list of).*"), _("Please choose from the options shown.")),
    (re.compile(r"must be true or false"), _("Please answer yes or no.")),
    (re.compile(r"must be a date .*"), _("Please enter a date.")),
    (re.compile(r"must be a time .*"), _("Please enter a time.")),
    (re.compile(r"choose one of the answers .*"), _("Please choose one of the answers.")),
]


def field_message(message: str, gettext) -> str:
    """Translate one field message of the pure core; unknown shapes pass through unchanged."""
    for pattern, text in _FIELD_MESSAGES:
        match = pattern.fullmatch(message)
        if match:
            values = {k: _num(v) for k, v in match.groupdict().items() if v is not None}
            return gettext(text) % values if values else gettext(text)
    return message


#: The language switcher's button for the browser's language, written in that language
#: (web/participant.py is not extracted: babel.cfg's ``participant*`` needs a suffix).
SHOW_IN = _("Show this page in %(language)s")

#: Page titles of refused requests, by status (the service's English message is not shown).
ERROR_TITLES = {
    400: _("The form expired. Please go back, reload the page and try again."),
    401: _("Please open the link from your study invitation again."),
    403: _("This link cannot be used. Please ask the study team for a new one."),
    404: _("This page does not exist or is not available to you."),
    409: _("This has already been done."),
    410: _("This task has expired. It can no longer be completed, and that is fine: the next one will appear on your home page."),
    413: _("That was too much at once. Please try again with less."),
    422: _("Some answers need attention."),
}
