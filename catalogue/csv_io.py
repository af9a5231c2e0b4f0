"""The catalogue as a CSV file: export, and an import that checks every row before saving any.

The file (UTF-8, comma-separated, first row the header below, in any column order; rows are
numbered as a spreadsheet numbers them, the header being row 1; files written before the
dated schedule columns existed still import):

- ``name`` (required): the item's name; an import updates the item of that name (any case)
  and adds the others;
- ``kind``: skincare, topical, oral, injection, procedure or lifestyle;
- ``instructions``: the default instructions (may be empty);
- ``time_of_day``: morning, evening or both;
- ``frequency``: daily, weekdays, every_n_days, every_n_weeks, monthly, once or as_needed;
- ``weekdays``: for ``weekdays``, the days as Mon Tue Wed Thu Fri Sat Sun, separated by spaces;
- ``every_n_days``: for ``every_n_days``, a whole number from 2 to 30;
- ``every_n_weeks``: for ``every_n_weeks``, a whole number from 1 to 12;
- ``day_of_month``: for ``monthly``, a whole number from 1 to 31;
- ``window_days``: for every_n_weeks, monthly or once, the days a late dose still counts (0 to
  27, fewer than the days between doses; may be empty);
- ``course_weeks``: a course's length in weeks (1 to 156; empty: no end; not for ``once``);
- ``minutes``: a whole number from 0 to 120;
- ``monthly_cost``: the typical monthly cost in the clinic's currency, with a decimal point
  and no symbol (``12.50``);
- ``generic_alternative``: the name of another item, in the file or already in the catalogue
  (may be empty);
- ``contains_fragrance``, ``animal_derived``, ``pregnancy_unsafe``, ``active``: yes or no.

Unknown columns are refused (a misspelt column would otherwise be ignored silently); every
column but ``name`` may be left out, and then keeps the item's value (or the default for a new
item).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from careplans.models import Frequency, ItemKind, TimeOfDay

from .models import (
    MAX_COURSE_WEEKS,
    MAX_ITEM_COST,
    MAX_ITEM_MINUTES,
    CatalogueItem,
    schedule_errors,
)

HEADER = (
    "name", "kind", "instructions", "time_of_day", "frequency", "weekdays", "every_n_days",
    "every_n_weeks", "day_of_month", "window_days", "course_weeks", "minutes", "monthly_cost",
    "generic_alternative", "contains_fragrance", "animal_derived", "pregnancy_unsafe", "active",
)
# What the import page says of each column (the column names themselves are not translated).
COLUMN_HELP: tuple[tuple[str, object], ...] = (
    ("name", gettext_lazy("Required. Matches an existing item by name, in any capitals.")),
    ("kind", gettext_lazy("skincare, topical, oral, injection, procedure or lifestyle.")),
    ("instructions", gettext_lazy("The default instructions; may be empty.")),
    ("time_of_day", gettext_lazy("morning, evening or both.")),
    ("frequency", gettext_lazy("daily, weekdays, every_n_days, every_n_weeks, monthly, once "
                               "or as_needed.")),
    ("weekdays", gettext_lazy("For weekdays: the days, such as Mon Wed Fri.")),
    ("every_n_days", gettext_lazy("For every_n_days: a whole number from 2 to 30.")),
    ("every_n_weeks", gettext_lazy("For every_n_weeks: a whole number from 1 to 12.")),
    ("day_of_month", gettext_lazy("For monthly: the day, 1 to 31 (29 to 31: the last day of "
                                  "shorter months).")),
    ("window_days", gettext_lazy("For every_n_weeks, monthly or once: the days a late dose "
                                 "still counts, 0 to 27; may be empty.")),
    ("course_weeks", gettext_lazy("A course's length in weeks, 1 to 156; empty: no end. "
                                  "Optional column.")),
    ("minutes", gettext_lazy("A whole number from 0 to 120.")),
    ("monthly_cost", gettext_lazy("In the clinic's currency, with a decimal point and no "
                                  "symbol: 12.50.")),
    ("generic_alternative", gettext_lazy("The name of another item, in the file or the "
                                         "catalogue; may be empty.")),
    ("contains_fragrance", gettext_lazy("yes or no.")),
    ("animal_derived", gettext_lazy("yes or no: animal-derived or tested on animals.")),
    ("pregnancy_unsafe", gettext_lazy("yes or no: not advised in pregnancy or breastfeeding.")),
    ("active", gettext_lazy("yes or no: no retires the item (it is kept, no longer offered).")),
)
BOOLEAN_COLUMNS = ("contains_fragrance", "animal_derived", "pregnancy_unsafe", "active")
DAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
MAX_FILE_BYTES = 1_000_000
MAX_ROWS = 2000
MAX_ERRORS_SHOWN = 50


# A cell starting with one of these is a formula to a spreadsheet ("CSV injection"): the export
# writes it after an apostrophe, which spreadsheets show as text, and the import drops it again.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _text_cell(value: str) -> str:
    return f"'{value}" if value.startswith(FORMULA_STARTS) else value


def _read_cell(value: str) -> str:
    return value[1:] if value.startswith("'") and value[1:].startswith(FORMULA_STARTS) else value


def export_csv(items: Iterable[CatalogueItem]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(HEADER)
    for item in items:
        writer.writerow([
            _text_cell(item.name), item.kind, _text_cell(item.instructions), item.time_of_day,
            item.frequency,
            " ".join(DAY_NAMES[int(d)].capitalize() for d in sorted(item.weekdays)),
            item.every_n_days or "", item.every_n_weeks or "", item.day_of_month or "",
            "" if item.window_days is None else item.window_days, item.course_weeks or "",
            item.minutes, f"{item.monthly_cost:.2f}",
            _text_cell(item.generic_alternative.name) if item.generic_alternative else "",
            *("yes" if getattr(item, column) else "no" for column in BOOLEAN_COLUMNS),
        ])
    return out.getvalue()


@dataclass
class ParsedRow:
    row_number: int
    name: str
    values: dict[str, object]  # only the columns the file has
    generic_name: str | None  # None: column absent; "": no alternative


@dataclass
class ParsedFile:
    rows: list[ParsedRow] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    @property
    def more_errors(self) -> int:
        return max(0, len(self.errors) - MAX_ERRORS_SHOWN)

    @property
    def errors_shown(self) -> list[str]:
        return self.errors[:MAX_ERRORS_SHOWN]


def _row_error(number: int, text: str) -> str:
    return _("Row %(row)s: %(problem)s") % {"row": number, "problem": text}


def _choice(value: str, choices: list[tuple[str, str]], column: str) -> tuple[str, str | None]:
    codes = [code for code, _label in choices if code]
    value = value.strip().lower()
    if value in codes:
        return value, None
    return "", _("%(column)s “%(value)s” is not one of: %(allowed)s.") % {
        "column": column, "value": value, "allowed": ", ".join(codes)}


def _whole(value: str, column: str, low: int, high: int) -> tuple[int | None, str | None]:
    value = value.strip()
    if not value:
        return None, None
    if not value.isdigit() or not low <= int(value) <= high:
        return None, _("%(column)s “%(value)s” must be a whole number from %(low)s to "
                       "%(high)s.") % {"column": column, "value": value, "low": low,
                                       "high": high}
    return int(value), None


def _parse_row(number: int, raw: dict[str, str]) -> tuple[ParsedRow | None, list[str]]:
    problems: list[str] = []
    values: dict[str, object] = {}

    def problem(text: str | None) -> None:
        if text:
            problems.append(_row_error(number, text))

    name = " ".join(raw.get("name", "").split())
    if not name:
        problem(_("the name is empty."))
    elif len(name) > 120:
        problem(_("the name is longer than 120 characters."))
    if "kind" in raw:
        values["kind"], error = _choice(raw["kind"], ItemKind.choices, "kind")
        problem(error)
    if "instructions" in raw:
        text = raw["instructions"].strip()
        if len(text) > 1000:
            problem(_("the instructions are longer than 1000 characters."))
        values["instructions"] = text
    if "time_of_day" in raw:
        values["time_of_day"], error = _choice(raw["time_of_day"], TimeOfDay.choices,
                                               "time_of_day")
        problem(error)
    if "frequency" in raw:
        values["frequency"], error = _choice(raw["frequency"], Frequency.choices,
                                            "frequency")
        problem(error)
    if "weekdays" in raw:
        days = raw["weekdays"].replace(",", " ").lower().split()
        unknown = [d for d in days if d[:3] not in DAY_NAMES]
        if unknown:
            problem(_("weekdays “%(value)s” must be days such as Mon Wed Fri.")
                    % {"value": raw["weekdays"].strip()})
        values["weekdays"] = "".join(sorted({str(DAY_NAMES.index(d[:3])) for d in days
                                             if d[:3] in DAY_NAMES}))
    if "every_n_days" in raw:
        values["every_n_days"], error = _whole(raw["every_n_days"], "every_n_days", 2, 30)
        problem(error)
    for column, low, high in (("every_n_weeks", 1, 12), ("day_of_month", 1, 31),
                              ("window_days", 0, 27), ("course_weeks", 1, MAX_COURSE_WEEKS)):
        if column in raw:
            values[column], error = _whole(raw[column], column, low, high)
            problem(error)
    if "minutes" in raw:
        minutes, error = _whole(raw["minutes"], "minutes", 0, MAX_ITEM_MINUTES)
        problem(error)
        if minutes is not None:
            values["minutes"] = minutes
    if "monthly_cost" in raw:
        cost_text = raw["monthly_cost"].strip() or "0"
        try:
            cost = Decimal(cost_text)
            valid = cost.is_finite() and Decimal("0") <= cost <= MAX_ITEM_COST \
                and -cost.as_tuple().exponent <= 2
        except InvalidOperation:
            valid = False
        if valid:
            values["monthly_cost"] = cost.quantize(Decimal("0.01"))
        else:
            problem(_("monthly_cost “%(value)s” must be an amount such as 12.50 (a decimal "
                      "point, no currency symbol, at most %(most)s).")
                    % {"value": cost_text, "most": MAX_ITEM_COST})
    for column in BOOLEAN_COLUMNS:
        if column in raw:
            answer = raw[column].strip().lower()
            if answer in ("yes", "no"):
                values[column] = answer == "yes"
            elif answer == "" and column != "active":
                values[column] = False
            else:
                problem(_("%(column)s “%(value)s” must be yes or no.")
                        % {"column": column, "value": raw[column].strip()})
    generic = " ".join(raw["generic_alternative"].split()) if "generic_alternative" in raw \
        else None
    if problems:
        return None, problems
    return ParsedRow(row_number=number, name=name, values=values, generic_name=generic), []


def _schedule_problems(row: ParsedRow, existing: CatalogueItem | None) -> list[str]:
    def value(column: str, default: object) -> object:
        if column in row.values:
            return row.values[column]
        return getattr(existing, column) if existing is not None else default

    frequency = value("frequency", Frequency.DAILY)
    problems = []
    if existing is None and "kind" not in row.values:
        problems.append(_row_error(row.row_number, _("a new item needs its kind.")))
    if frequency == Frequency.WEEKDAYS and not value("weekdays", ""):
        problems.append(_row_error(row.row_number,
                                   _("frequency weekdays needs the days in weekdays.")))
    if frequency == Frequency.EVERY_N_DAYS and not value("every_n_days", None):
        problems.append(_row_error(row.row_number,
                                   _("frequency every_n_days needs a number in every_n_days.")))
    # The dated kinds: as the item form says it (every_n_weeks, day_of_month, window_days).
    candidate = CatalogueItem(frequency=frequency, **{
        column: value(column, None) for column in ("every_n_weeks", "day_of_month",
                                                   "window_days", "course_weeks")})
    for column, text in schedule_errors(candidate).items():
        if column not in ("weekdays", "every_n_days"):
            problems.append(_row_error(row.row_number, f"{column}: {text}"))
    return problems


def parse_csv(data: bytes, *, existing: dict[str, CatalogueItem]) -> ParsedFile:
    """Check every row of a file against the rules above and the clinic's current items
    (``existing``: by lower-case name). Nothing is saved here."""
    parsed = ParsedFile()
    if len(data) > MAX_FILE_BYTES:
        parsed.errors.append(_("The file is larger than 1 MB. Split it into smaller files."))
        return parsed
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        parsed.errors.append(_("The file is not UTF-8 text. Save it from your spreadsheet as "
                               "“CSV UTF-8”."))
        return parsed
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = [column.strip().lower() for column in next(reader, [])]
        lines = list(reader)
    except csv.Error:
        parsed.errors.append(_("The file is not a readable CSV file."))
        return parsed
    if "name" not in header:
        parsed.errors.append(_("Row 1 (the header) must have a “name” column. The columns "
                               "are: %(columns)s.") % {"columns": ", ".join(HEADER)})
        return parsed
    unknown = [c for c in header if c not in HEADER]
    repeated = sorted({c for c in header if header.count(c) > 1})
    if unknown or repeated:
        parsed.errors.append(_("Row 1 (the header) has columns we do not know or that appear "
                               "twice: %(bad)s. The columns are: %(columns)s.")
                             % {"bad": ", ".join(unknown + repeated), "columns": ", ".join(HEADER)})
        return parsed
    if len(lines) > MAX_ROWS:
        parsed.errors.append(_("The file has more than %(most)s rows.") % {"most": MAX_ROWS})
        return parsed
    seen: dict[str, int] = {}
    for number, line in enumerate(lines, start=2):
        if not any(cell.strip() for cell in line):
            continue  # a blank line, as spreadsheets leave at the end
        if len(line) != len(header):
            parsed.errors.append(_row_error(number, _(
                "it has %(found)s cells where the header has %(expected)s columns.")
                % {"found": len(line), "expected": len(header)}))
            continue
        cells = {column: _read_cell(cell) for column, cell in zip(header, line, strict=True)}
        row, problems = _parse_row(number, cells)
        parsed.errors.extend(problems)
        if row is None:
            continue
        key = row.name.lower()
        if key in seen:
            parsed.errors.append(_row_error(number, _(
                "“%(name)s” is already on row %(row)s.") % {"name": row.name, "row": seen[key]}))
            continue
        seen[key] = number
        parsed.errors.extend(_schedule_problems(row, existing.get(key)))
        parsed.rows.append(row)
    names = set(seen) | set(existing)
    for row in parsed.rows:
        if row.generic_name:
            if row.generic_name.lower() == row.name.lower():
                parsed.errors.append(_row_error(row.row_number, _(
                    "an item cannot be its own generic alternative.")))
            elif row.generic_name.lower() not in names:
                parsed.errors.append(_row_error(row.row_number, _(
                    "generic_alternative “%(name)s” is neither in the file nor in the "
                    "catalogue.") % {"name": row.generic_name}))
    if not parsed.rows and not parsed.errors:
        parsed.errors.append(_("The file has no rows after the header."))
    parsed.errors.sort(key=_row_order)
    return parsed


def _row_order(message: str) -> int:
    digits = "".join(ch for ch in message.split(":", 1)[0] if ch.isdigit())
    return int(digits) if digits else 0
