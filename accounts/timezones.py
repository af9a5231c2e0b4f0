"""The time zones people choose from: current IANA names, grouped by region, a chosen zone first.

Legacy aliases ("US/Eastern", "GB", "EST5EDT", "Etc/GMT+5") are still valid zone names for
stored rows, but they are not offered. The offered names come from tzdata's own tables:
``zone1970.tab`` (every zone in current use) and ``zone.tab`` (one zone per country, so a
patient in Oslo finds "Oslo, Norway" even where Oslo's clock follows Berlin's).
"""

from __future__ import annotations

import zoneinfo
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path

ZONE_TABLES = ("zone1970.tab", "zone.tab")
COUNTRY_TABLE = "iso3166.tab"
REGION_NAMES = {
    "America": "Americas", "Atlantic": "Atlantic Ocean", "Indian": "Indian Ocean",
    "Pacific": "Pacific Ocean",
}

Choice = tuple[str, str]
GroupedChoices = list[tuple[str, list[Choice]]]


@dataclass(frozen=True)
class Zone:
    name: str
    region: str
    label: str


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
def canonical_zones() -> tuple[Zone, ...]:
    """Every offered zone, by region then label. Parsed once per process."""
    countries = {code: country for code, country, *_ in _rows(_tzdata_file(COUNTRY_TABLE))}
    country_of: dict[str, str] = {}
    for table in reversed(ZONE_TABLES):  # zone.tab names one country; it wins over zone1970's
        for codes, _coordinates, name, *_ in _rows(_tzdata_file(table)):
            country_of.setdefault(name, countries.get(codes.split(",")[0], ""))
    zones = [
        Zone(name=name, region=_region(name), label=_label(name, country))
        for name, country in country_of.items()
        if name in zoneinfo.available_timezones()
    ]
    return tuple(sorted(zones, key=lambda z: (z.region, z.label.casefold())))


def zone_label(name: str) -> str:
    """How a zone reads in a list: "Berlin, Germany"; a name not offered reads as itself."""
    return next((z.label for z in canonical_zones() if z.name == name), name.replace("_", " "))


def timezone_choices(*, first: str | None, first_group: str,
                     keep: str | None = None) -> GroupedChoices:
    """Grouped choices for a ``<select>``: one ``<optgroup>`` per region.

    ``first`` (the clinic's zone) leads, in its own group named ``first_group``. ``keep`` (the
    value already saved) stays choosable even when it is a legacy alias or "UTC", so saving an
    unrelated change never fails on it.
    """
    grouped: dict[str, list[Choice]] = {}
    for zone in canonical_zones():
        grouped.setdefault(zone.region, []).append((zone.name, zone.label))
    offered = {zone.name for zone in canonical_zones()}
    choices: GroupedChoices = [(first_group, [(first, zone_label(first))])] if first else []
    choices += list(grouped.items())
    if keep and keep not in offered and keep != first:
        choices.append(("Other", [(keep, zone_label(keep))]))
    return choices
