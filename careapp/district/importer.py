"""Import the district's map from the grid ledger (网格台账) that community staff keep in Excel.

A ledger is an .xlsx or .csv with one building a row: community, grid, building, address, latitude,
longitude (headers in English or Chinese). Every row is checked first and every bad row is reported by its
row number; only a ledger with no bad row is applied, in one transaction: communities and grids named in it
are created when new, buildings are created, or their address and coordinates updated. Nothing is deleted.
See docs/district-import.md.
"""
from __future__ import annotations

import csv
import io
import logging
import math
import re
import zipfile
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

import openpyxl
import sqlalchemy as sa
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.formula import ArrayFormula, DataTableFormula
from sqlalchemy.exc import IntegrityError

from careapp.accounts.models import User
from careapp.core import audit
from careapp.core.db import db, write_transaction
from careapp.core.errors import BadInput, Conflict
from careapp.core.exports import append_rows
from careapp.core.i18n import current_language, gettext as _, ngettext
from careapp.core.validation import CONTROL_CHARACTERS
from careapp.district.models import Building, Community, Grid
from careapp.district.services import _require_district_staff

log = logging.getLogger(__name__)

# The columns, each with the header words accepted for it (compared without case or spaces).
COLUMNS = {
    "community": ("community", "社区"),
    "grid": ("grid", "网格"),
    "building": ("building", "楼栋"),
    "address": ("address", "地址"),
    "latitude": ("latitude", "纬度"),
    "longitude": ("longitude", "经度"),
}
# The address may be left out: many ledgers lack it, and coverage goes by the coordinates.
REQUIRED = ("community", "grid", "building", "latitude", "longitude")
LENGTHS = {"community": Community.__table__.c.name.type.length, "grid": Grid.__table__.c.name.type.length,
           "building": Building.__table__.c.name.type.length, "address": Building.__table__.c.address.type.length}
RANGES = {"latitude": (-90, 90), "longitude": (-180, 180)}

# Bounds on what one upload may cost: rows with a building, columns read, the workbook unpacked (a small
# .xlsx can unpack to gigabytes), and the last row Excel itself can have (openpyxl fills gaps up to it).
MAX_ROWS = 200_000
MAX_COLUMNS = 50
MAX_UNPACKED_BYTES = 256 * 1024 * 1024
EXCEL_LAST_ROW = 1_048_576
# Bad rows reported in full; the rest are counted.
MAX_SHOWN_ERRORS = 50

TEMPLATE_ROWS = [
    ("community", "grid", "building", "address", "latitude", "longitude"),
    ("旭日天都社区", "一组团网格", "一组团1栋", "芜湖市镜湖区九华中路旭日天都一组团1栋", 31.3418, 118.3792),
    ("车站社区", "华联片区网格", "华联片区2栋", "芜湖市镜湖区北京东路华联片区2栋", 31.3352, 118.3868),
]



def unreadable() -> str:
    return _("careapp cannot read this file as an Excel workbook. Save it from Excel as .xlsx (or CSV) and try again.")


FORMULA = object()  # a cell that holds a formula: never evaluated, always refused


@dataclass(frozen=True)
class RowError:
    row: int
    reason: str

    def __str__(self) -> str:
        return _("Row %(row)s: %(reason)s", row=self.row, reason=self.reason)


class LedgerRefused(BadInput):
    """Rows of the ledger are bad, so nothing was imported. ``errors`` holds the first of them."""

    status = 422
    code = "bad_rows"

    def __init__(self, errors: list[RowError], total: int):
        super().__init__(ngettext("Nothing was imported: %(num)d row has a problem. Correct them and import the file "
                                  "again.",
                                  "Nothing was imported: %(num)d rows have a problem. Correct them and import the file "
                                  "again.", total), fields={"file": "bad_rows"})
        self.errors, self.total = errors, total

    @property
    def more(self) -> int:
        return self.total - len(self.errors)


class LedgerTooLarge(BadInput):
    status = 413
    code = "too_large"


@dataclass(frozen=True)
class LedgerLine:
    """One building as the ledger gives it."""

    row: int
    community: str
    grid: str
    building: str
    address: str
    latitude: float
    longitude: float


@dataclass(frozen=True)
class ImportResult:
    communities_created: int = 0
    grids_created: int = 0
    buildings_created: int = 0
    buildings_updated: int = 0
    buildings_unchanged: int = 0

    @property
    def changed(self) -> bool:
        return bool(self.communities_created or self.grids_created or self.buildings_created
                    or self.buildings_updated)

    def summary(self) -> str:
        return _("Imported: %(communities)s new communities, %(grids)s new grids, %(created)s new buildings, "
                 "%(updated)s buildings updated, %(unchanged)s unchanged.", communities=self.communities_created,
                 grids=self.grids_created, created=self.buildings_created, updated=self.buildings_updated,
                 unchanged=self.buildings_unchanged)


def import_ledger(filename: str, data: bytes, *, by: User | None, now: datetime,
                  max_bytes: int | None = None) -> ImportResult:
    """Read, check and apply one ledger file. ``by`` is None when the operator runs the command."""
    if by is not None:
        _require_district_staff(by)
    lines = parse_ledger(read_ledger(filename, data, max_bytes=max_bytes))
    return import_district(lines, by=by, now=now, source=filename)


# --- reading: rows of cells, never a formula evaluated ---

Row = tuple[int, tuple[Any, ...]]  # the row number as the spreadsheet shows it, and its cells


def read_ledger(filename: str, data: bytes, *, max_bytes: int | None = None) -> list[Row]:
    """The ledger's rows that hold anything. The content decides the format (an .xlsx renamed .csv still
    reads); the name only explains a refusal."""
    if max_bytes is not None and len(data) > max_bytes:
        raise too_large(max_bytes)
    if not data.strip():
        raise BadInput(_("The file is empty."), fields={"file": "empty"})
    if data.startswith(b"PK\x03\x04"):
        return _read_xlsx(data)
    if data.startswith(b"\xd0\xcf\x11\xe0"):
        raise BadInput(_("This is an old Excel .xls file. In Excel, save it as .xlsx and import that."),
                       fields={"file": "xls"})
    if filename.lower().endswith(".xlsx"):
        raise BadInput(unreadable(), fields={"file": "unreadable"})
    return _read_csv(data)


def _read_xlsx(data: bytes) -> list[Row]:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            unpacked = sum(item.file_size for item in archive.infolist())
        if unpacked > MAX_UNPACKED_BYTES:
            raise BadInput(_("This workbook is too large to read. Split the ledger and import each part."),
                           fields={"file": "too_large"})
        # data_only=False: a formula cell reads as its formula (never a value some program computed), which
        # _cell() refuses; keep_links=False: links to other workbooks are not followed.
        book = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=False, keep_links=False)
    except BadInput:
        raise
    except Exception as error:  # noqa: BLE001 -- a corrupt workbook can fail anywhere inside openpyxl
        log.info("unreadable workbook: %r", error)
        raise BadInput(unreadable(), fields={"file": "unreadable"}) from None
    try:
        sheet = book.worksheets[0]
        sheet.reset_dimensions()  # the stored size can be wrong; read the rows that are there
        return _rows(enumerate(sheet.iter_rows(max_col=MAX_COLUMNS, values_only=True), start=1))
    except BadInput:
        raise
    except Exception as error:  # noqa: BLE001 -- as above, for the sheet's own XML
        log.info("unreadable worksheet: %r", error)
        raise BadInput(unreadable(), fields={"file": "unreadable"}) from None
    finally:
        book.close()


def _read_csv(data: bytes) -> list[Row]:
    text = _decode(data)
    header = text.split("\n", 1)[0]
    # Excel writes commas, but a ledger saved as "Unicode text" uses tabs and some locales semicolons.
    delimiter = max((",", "\t", ";"), key=header.count)
    try:
        records = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
        return _rows((number, record[:MAX_COLUMNS]) for number, record in enumerate(records, start=1))
    except csv.Error as error:
        raise BadInput(_("careapp cannot read this CSV file (%(error)s). Save it from Excel as CSV UTF-8 or .xlsx.",
                         error=str(error)), fields={"file": "unreadable"}) from None


def _decode(data: bytes) -> str:
    """UTF-8 (with or without the BOM Excel's "CSV UTF-8" writes), UTF-16 text, or GB18030, which Chinese
    Excel writes for plain "CSV"."""
    encodings = ("utf-16",) if data.startswith((b"\xff\xfe", b"\xfe\xff")) else ("utf-8-sig", "gb18030")
    for encoding in encodings:
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise BadInput(_("careapp cannot read the text of this CSV file. In Excel, save it as \"CSV UTF-8\" or as .xlsx."),
                   fields={"file": "encoding"})


def _rows(numbered) -> list[Row]:
    """Keep the rows that hold anything, within the bounds on rows."""
    rows = []
    for number, cells in numbered:
        if number > EXCEL_LAST_ROW:
            raise LedgerTooLarge(_("The file goes on past row %(row)s, where a spreadsheet ends.",
                                   row=f"{EXCEL_LAST_ROW:,}"), fields={"file": "too_large"})
        # count() first: openpyxl pads the gaps before a far-off row with empty rows, a million of them.
        if cells.count(None) == len(cells) or all(_blank(value) for value in cells):
            continue
        if len(rows) > MAX_ROWS:
            raise LedgerTooLarge(_("The file has more than %(rows)s rows. Split the ledger and import each part.",
                                   rows=f"{MAX_ROWS:,}"), fields={"file": "too_large"})
        width = len(cells)
        while cells[width - 1] is None:
            width -= 1  # every row comes as wide as the widest; 200,000 rows of empty cells add up
        rows.append((number, tuple(_cell(value) for value in cells[:width])))
    return rows


def _cell(value: Any) -> Any:
    """A cell's value, or FORMULA: read with data_only=False, a formula comes as its text ("=A1*2") or, for
    array and data-table formulas, as an object; CSV has no formulas, but "=..." would run when opened."""
    if isinstance(value, (ArrayFormula, DataTableFormula)) or (isinstance(value, str) and value.startswith("=")):
        return FORMULA
    return value


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def too_large(max_bytes: int) -> LedgerTooLarge:
    return LedgerTooLarge(_("The file is larger than %(size)s MB. Split the ledger, for example one file for each "
                            "community, and import each.", size=f"{max_bytes / (1024 * 1024):g}"),
                          fields={"file": "too_large"})


# --- checking: every bad row at once ---

def parse_ledger(rows: list[Row]) -> list[LedgerLine]:
    """The buildings of the ledger, or LedgerRefused naming every bad row. The first row is the header."""
    if not rows:
        raise BadInput(_("The file is empty."), fields={"file": "empty"})
    columns = _columns(*rows[0])
    lines: list[LedgerLine] = []
    errors: list[RowError] = []
    total = 0
    first_row: dict[tuple[str, str, str], int] = {}  # each building's first row
    grid_home: dict[str, tuple[str, int]] = {}  # each grid's community, and the row that first said so
    for number, cells in rows[1:]:
        if all(_blank(cells[index] if index < len(cells) else None) for index, _heading in columns.values()):
            continue  # a note beside the table, in a column careapp does not read
        problems: list[str] = []
        line = _line(number, cells, columns, problems)
        if line is not None:
            _check_against_earlier_rows(line, first_row, grid_home, problems)
        if not problems:
            lines.append(line)
            continue
        total += 1
        if len(errors) < MAX_SHOWN_ERRORS:
            errors.append(RowError(number, " ".join(f"{problem[0].upper()}{problem[1:]}" for problem in problems)))
    if total:
        raise LedgerRefused(errors, total)
    if not lines:
        raise BadInput(_("The file has a header but no buildings under it."), fields={"file": "empty"})
    return lines


def _check_against_earlier_rows(line: LedgerLine, first_row: dict, grid_home: dict, problems: list[str]) -> None:
    """A grid named under two communities is most likely a typo in one of them, so it is refused rather than
    made twice. (In careapp two communities may each have a grid of the same name; only the file is checked.)"""
    key = (line.community, line.grid, line.building)
    community, row = grid_home.setdefault(line.grid, (line.community, line.row))
    if community != line.community:
        problems.append(_("grid %(grid)s is under %(community)s on row %(row)s; a grid belongs to one community.",
                          grid=line.grid, community=community, row=row))
    elif key in first_row:
        problems.append(_("%(building)s (%(community)s, %(grid)s) is also on row %(row)s.", building=line.building,
                          community=line.community, grid=line.grid, row=first_row[key]))
    else:
        first_row[key] = line.row


def _columns(number: int, header: tuple[Any, ...]) -> dict[str, tuple[int, str]]:
    """Which column holds what: {column: (index, header as the file writes it)}. Extra columns are ignored."""
    words = {_header_word(word): column for column, options in COLUMNS.items() for word in options}
    found: dict[str, tuple[int, str]] = {}
    for index, value in enumerate(header):
        column = words.get(_header_word(value)) if isinstance(value, str) else None
        if column is None:
            continue
        if column in found:
            first = get_column_letter(found[column][0] + 1)
            raise BadInput(_("Row %(row)s has the column %(column)s twice (columns %(first)s and %(second)s); keep one.",
                             row=number, column=column_word(column), first=first,
                             second=get_column_letter(index + 1)), fields={"file": "duplicate_column"})
        found[column] = (index, value.strip())
    missing = [column_word(column, both=True) for column in REQUIRED if column not in found]
    if missing:
        separator = ", " if current_language() == "en" else "、"
        raise BadInput(_("The header (row %(row)s) has no column for %(missing)s. The first row holds the column names: "
                         "community, grid, building, address, latitude, longitude (or 社区, 网格, 楼栋, 地址, 纬度, 经度).",
                         row=number, missing=separator.join(missing)), fields={"file": "missing_columns"})
    return found


def column_word(column: str, *, both: bool = False) -> str:
    """A column as a message names it: its English header word ("grid", or with ``both`` "grid (网格)") in English,
    its Chinese one (网格) in Chinese."""
    english, chinese = COLUMNS[column]
    if current_language() != "en":
        return chinese
    return f"{english} ({chinese})" if both else english


def _header_word(value: Any) -> str:
    return re.sub(r"\s+", "", str(value)).lower()


def _line(number: int, cells: tuple[Any, ...], columns: dict[str, tuple[int, str]],
          problems: list[str]) -> LedgerLine | None:
    def cell(column: str) -> tuple[Any, str]:
        index, label = columns.get(column, (None, column))
        return (cells[index] if index is not None and index < len(cells) else None), label

    values = {column: _name(*cell(column), LENGTHS[column], problems, required=column in REQUIRED)
              for column in ("community", "grid", "building", "address")}
    values.update({column: _coordinate(*cell(column), *RANGES[column], problems) for column in RANGES})
    return None if problems else LedgerLine(number, **values)


def _name(value: Any, label: str, limit: int, problems: list[str], *, required: bool) -> str | None:
    if value is FORMULA:
        problems.append(_("%(column)s holds a formula; type the value.", column=label))
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)  # a building numbered 12 in Excel is the number 12.0
    text = "" if value is None else str(value).strip()
    if not text:
        if required:
            problems.append(_("%(column)s is empty.", column=label))
        return text
    if CONTROL_CHARACTERS.search(text):
        problems.append(_("%(column)s holds control characters (such as NUL).", column=label))
    elif len(text) > limit:
        problems.append(_("%(column)s is longer than %(limit)s characters.", column=label, limit=limit))
    return text


def _coordinate(value: Any, label: str, low: int, high: int, problems: list[str]) -> float | None:
    if value is FORMULA:
        problems.append(_("%(column)s holds a formula; type the value.", column=label))
        return None
    if _blank(value):
        problems.append(_("%(column)s is empty.", column=label))
        return None
    number = _number(value)
    if number is None:
        problems.append(_("%(column)s %(value)s is not a number.", column=label, value=_shown(value)))
    elif not low <= number <= high:
        problems.append(_("%(column)s %(value)s is not between %(low)s and %(high)s.", column=label,
                          value=_shown(value), low=low, high=high))
    else:
        return number
    return None


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        return None  # TRUE or a date is no coordinate
    try:
        # A leading apostrophe is how a spreadsheet marks text, and how careapp's exports keep "-" from
        # being run as a formula.
        number = float(value.strip().lstrip("'") if isinstance(value, str) else value)
    except (ValueError, OverflowError):
        return None
    return number if math.isfinite(number) else None


def _shown(value: Any) -> str:
    """A value quoted in a message: short, and without characters that would garble it."""
    text = CONTROL_CHARACTERS.sub("?", str(value).strip())
    return f"“{text[:40]}…”" if len(text) > 40 else f"“{text}”"


# --- applying: one transaction, no query per row ---

class _DistrictMap:
    """What an import changes is the map, not one row: its audit entry names no object."""

    __tablename__ = "district"
    id = None


def import_district(lines: list[LedgerLine], *, by: User | None, now: datetime, source: str = "") -> ImportResult:
    """Create what is new and update what moved, in one transaction; one audit entry sums it up."""
    if by is not None:
        _require_district_staff(by)
    with write_transaction():
        try:
            result = _apply(lines)
        except IntegrityError:
            # Someone added the same community, grid or building while this import ran.
            raise Conflict(_("The district's map changed while importing; nothing was imported. Please import the "
                             "file again.")) from None
        if result.changed:
            audit.record("district.imported", _DistrictMap(), actor=by, now=now,
                         after={"source": CONTROL_CHARACTERS.sub("", source)[:200], "rows": len(lines),
                                **asdict(result)})
        return result


def _apply(lines: list[LedgerLine]) -> ImportResult:
    grid_ids, communities_created, grids_created = _grids_of(lines)
    buildings = {(row.grid_id, row.name): row for row in db.session.execute(
        sa.select(Building.id, Building.grid_id, Building.name, Building.address, Building.latitude,
                  Building.longitude))}
    created, updated, unchanged = [], [], 0
    for line in lines:
        grid_id = grid_ids[(line.community, line.grid)]
        known = buildings.get((grid_id, line.building))
        place = {"address": line.address, "latitude": line.latitude, "longitude": line.longitude}
        if known is None:
            created.append({"grid_id": grid_id, "name": line.building, **place})
            continue
        place["address"] = line.address or known.address  # an empty address cell leaves the known one
        if known.address == place["address"] and _same_place(known, line):
            unchanged += 1
        else:
            updated.append({"id": known.id, **place})
    if created:
        db.session.execute(sa.insert(Building), created)
    if updated:
        db.session.execute(sa.update(Building), updated)
    return ImportResult(communities_created, grids_created, len(created), len(updated), unchanged)


def _grids_of(lines: list[LedgerLine]) -> tuple[dict[tuple[str, str], int], int, int]:
    """The id of every (community, grid) the ledger names, creating those that are new; and how many were."""
    communities = dict(db.session.execute(sa.select(Community.name, Community.id)).all())
    new_communities = [Community(name=name) for name in dict.fromkeys(line.community for line in lines)
                       if name not in communities]
    db.session.add_all(new_communities)
    db.session.flush()
    communities.update((community.name, community.id) for community in new_communities)

    grids = {(community_id, name): grid_id for grid_id, community_id, name
             in db.session.execute(sa.select(Grid.id, Grid.community_id, Grid.name))}
    named = dict.fromkeys((line.community, line.grid) for line in lines)
    new_grids = [Grid(community_id=communities[community], name=grid) for community, grid in named
                 if (communities[community], grid) not in grids]
    db.session.add_all(new_grids)
    db.session.flush()
    grids.update(((grid.community_id, grid.name), grid.id) for grid in new_grids)
    ids = {(community, grid): grids[(communities[community], grid)] for community, grid in named}
    return ids, len(new_communities), len(new_grids)


def _same_place(known, line: LedgerLine) -> bool:
    """Equal to a millionth of a metre: a number that went through a spreadsheet may differ in its last digit."""
    return (math.isclose(known.latitude, line.latitude, rel_tol=0, abs_tol=1e-11)
            and math.isclose(known.longitude, line.longitude, rel_tol=0, abs_tol=1e-11))


# --- the template offered for download ---

def template_rows() -> list[tuple]:
    """TEMPLATE_ROWS with the header in the language of the request (both languages' headers import)."""
    header = tuple(COLUMNS[column][0 if current_language() == "en" else 1] for column in TEMPLATE_ROWS[0])
    return [header, *TEMPLATE_ROWS[1:]]


def template_workbook() -> bytes:
    """The ledger's header and two example rows, as an .xlsx that imports cleanly."""
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = _("Buildings")
    append_rows(sheet, template_rows())
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for index, width in enumerate((16, 16, 16, 44, 12, 12), start=1):
        sheet.column_dimensions[get_column_letter(index)].width = width
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()
