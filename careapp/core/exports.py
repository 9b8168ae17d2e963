"""Downloads for spreadsheets: CSV that Excel opens correctly (UTF-8 with a BOM), and cells that cannot
carry a formula (CSV injection), for CSV and xlsx alike. Every export goes through here."""
from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from datetime import date, datetime, time
from decimal import Decimal

from flask import Response

# A cell starting with one of these is run as a formula by spreadsheet programs (CSV injection).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
# Values careapp writes as themselves: a number (a negative one too) is never a formula.
PLAIN_VALUES = (int, float, Decimal, date, datetime, time)


def safe_cell(value: object) -> str:
    """Text as a spreadsheet must show it: one starting like a formula gets a leading ' (OWASP's advice), which
    spreadsheets show as text and do not run."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def cell(value: object) -> object:
    """A value for a CSV or xlsx cell: None and numbers, dates and times as they are; anything else (names, notes,
    translated words) is text and neutralised by safe_cell."""
    if value is None or isinstance(value, PLAIN_VALUES):
        return value
    return safe_cell(value)


def csv_response(filename: str, rows: Iterable[Iterable[object]]) -> Response:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    for row in rows:
        writer.writerow([cell(value) for value in row])
    return Response("\ufeff" + buffer.getvalue(), mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="{filename}"'})


# --- xlsx (openpyxl) ---

XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def append_rows(sheet, rows: Iterable[Iterable[object]]) -> None:
    """Rows of values; text is neutralised as in CSV, numbers stay numbers (never formulas)."""
    for row in rows:
        sheet.append([cell(value) for value in row])


def set_widths(sheet, widths: Iterable[int]) -> None:
    from openpyxl.utils import get_column_letter

    for index, width in enumerate(widths, start=1):
        sheet.column_dimensions[get_column_letter(index)].width = width


def workbook_response(filename: str, book) -> Response:
    buffer = io.BytesIO()
    book.save(buffer)
    return Response(buffer.getvalue(), mimetype=XLSX_TYPE,
                    headers={"Content-Disposition": f'attachment; filename="{filename}"'})
