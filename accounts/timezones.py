"""The time zones people choose from: current IANA names, grouped by region, a chosen zone first;
and the one test of a stored zone name (the Patient and Clinic fields' validator).

Legacy aliases ("US/Eastern", "GB", "EST5EDT", "Etc/GMT+5") are still valid zone names for
stored rows, but they are not offered. The offered names come from tzdata's own tables:
``zone1970.tab`` (every zone in current use) and ``zone.tab`` (one zone per country, so a
patient in Oslo finds "Oslo, Norway" even where Oslo's clock follows Berlin's). In another
language than English, cities and countries are named by CLDR (Babel): "Londres, Reino Unido".
"""

from __future__ import annotations

import zoneinfo
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path

from babel import Locale, UnknownLocaleError
from babel.dates import get_timezone_location
from django.core.exceptions import ValidationError
from django.utils import translation
from django.utils.translation import gettext, gettext_noop

ZONE_TABLES = ("zone1970.tab", "zone.tab")
COUNTRY_TABLE = "iso3166.tab"
REGION_NAMES = {
    "Africa": gettext_noop("Africa"), "America": gettext_noop("Americas"),
    "Antarctica": gettext_noop("Antarctica"), "Arctic": gettext_noop("Arctic"),
    "Asia": gettext_noop("Asia"), "Atlantic": gettext_noop("Atlantic Ocean"),
    "Australia": gettext_noop("Australia"), "Europe": gettext_noop("Europe"),
    "Indian": gettext_noop("Indian Ocean"), "Pacific": gettext_noop("Pacific Ocean"),
}

Choice = tuple[str, str]
GroupedChoices = list[tuple[str, list[Choice]]]


@dataclass(frozen=True)
class Zone:
    name: str
    region: str
    label: str  # in English, from tzdata's tables
    country_code: str


def _tzdata_file(filename: str) -> str:
    """A table from the system's tzdata (where zoneinfo reads zones) or the ``tzdata`` package."""
    for folder in zoneinfo.TZPATH:
        path = Path(folder) / filename
        if path.is_file():
            return path.read_text(encoding="utf-8")
    try:
        return resources.files("tzdata.zoneinfo").joinpath(filename).read_text(encoding="utf-8")
    except ModuleNotFoundError as missing:
        raise RuntimeError(f"No tzdata table {filename}: install tzdata") from missing


def _rows(text: str) -> list[list[str]]:
    return [line.split("\t") for line in text.splitlines() if line and not line.startswith("#")]


def _label(name: str, country: str) -> str:
    """"America/Indiana/Knox" in the United States -> "Knox, Indiana, United States";
    "America/Argentina/Salta" -> "Salta, Argentina"; "Asia/Singapore" -> "Singapore"."""
    city, *areas = [part.replace("_", " ") for part in reversed(name.split("/")[1:])]
    places = [city, *(area for area in areas if area != country)]
    return ", ".join([*places, country] if country and country != city else places)


def _region(name: str) -> str:
    area = name.split("/")[0]
    return REGION_NAMES.get(area, area)


@cache
def known_zone_names() -> frozenset[str]:
    """Every zone name zoneinfo can load (legacy aliases included). Read once per process:
    ``available_timezones()`` walks the tzdata folders on every call."""
    return frozenset(zoneinfo.available_timezones())


def validate_timezone_name(value: str) -> None:
    """The validator of ``Patient.timezone`` and ``Clinic.timezone``."""
    if value not in known_zone_names():
        raise ValidationError(gettext(
            "%(value)r is not a known IANA timezone (e.g. Europe/London).") % {"value": value})


def zone_or_utc(name: str) -> zoneinfo.ZoneInfo:
    """The zone a stored name means; UTC for a name that is not a zone (a row saved before the
    field was validated), so a page shows UTC instead of failing. Callers that must tell the
    difference check ``name in known_zone_names()``."""
    return zoneinfo.ZoneInfo(name if name in known_zone_names() else "UTC")


@cache
def canonical_zones() -> tuple[Zone, ...]:
    """Every offered zone, by region then label. Parsed once per process."""
    countries = {code: country for code, country, *_ in _rows(_tzdata_file(COUNTRY_TABLE))}
    country_of: dict[str, str] = {}
    for table in reversed(ZONE_TABLES):  # zone.tab names one country; it wins over zone1970's
        for codes, _coordinates, name, *_ in _rows(_tzdata_file(table)):
            country_of.setdefault(name, codes.split(",")[0])
    zones = [
        Zone(name=name, region=_region(name), label=_label(name, countries.get(code, "")),
             country_code=code)
        for name, code in country_of.items()
        if name in known_zone_names()
    ]
    return tuple(sorted(zones, key=lambda z: (z.region, z.label.casefold())))


@cache
def _labels(language: str) -> dict[str, str]:
    """Each offered zone's label in ``language``: tzdata's English, or CLDR's names of the
    city and the country ("Londres, Reino Unido"), where CLDR has the language."""
    try:
        locale = Locale.parse(language.replace("-", "_"))
    except (UnknownLocaleError, ValueError):
        locale = None
    if language.startswith("en") or locale is None:
        return {zone.name: zone.label for zone in canonical_zones()}
    labels = {}
    for zone in canonical_zones():
        city = get_timezone_location(zone.name, locale=locale, return_city=True)
        country = locale.territories.get(zone.country_code, "")
        labels[zone.name] = f"{city}, {country}" if country and country != city else city
    return labels


def zone_label(name: str) -> str:
    """How a zone reads in a list, in the reader's language: "Berlin, Germany"; a name not
    offered reads as itself."""
    return _labels(translation.get_language() or "en").get(name, name.replace("_", " "))


def timezone_choices(*, first: str | None, first_group: str,
                     keep: str | None = None) -> GroupedChoices:
    """Grouped choices for a ``<select>``: one ``<optgroup>`` per region.

    ``first`` (the clinic's zone) leads, in its own group named ``first_group``. ``keep`` (the
    value already saved) stays choosable even when it is a legacy alias or "UTC", so saving an
    unrelated change never fails on it.
    """
    grouped: dict[str, list[Choice]] = {}
    for zone in canonical_zones():
        grouped.setdefault(gettext(zone.region), []).append((zone.name, zone_label(zone.name)))
    for zones in grouped.values():
        zones.sort(key=lambda choice: choice[1].casefold())
    offered = {zone.name for zone in canonical_zones()}
    if first not in known_zone_names():
        first = None  # a clinic zone saved before validation is not offered
    choices: GroupedChoices = [(first_group, [(first, zone_label(first))])] if first else []
    choices += list(grouped.items())
    if keep and keep not in offered and keep != first:
        choices.append((gettext("Other"), [(keep, zone_label(keep))]))
    return choices
