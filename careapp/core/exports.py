"""Downloads for spreadsheets: CSV that Excel opens correctly (UTF-8 with a BOM), and cells that cannot
carry a formula (CSV injection), for CSV and xlsx alike. Every export goes through here."""
from __future__ import annotations

import csv
import io
from collections.abc import Iterable

from flask import Response

# A cell starting with one of these is run as a formula by spreadsheet programs (CSV injection).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: object) -> str:
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def csv_response(filename: str, rows: Iterable[Iterable[object]]) -> Response:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    for row in rows:
        writer.writerow([safe_cell(cell) for cell in row])
    return Response("\ufeff" + buffer.getvalue(), mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="{filename}"'})


# --- xlsx (openpyxl) ---

XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def append_rows(sheet, rows: Iterable[Iterable[object]]) -> None:
    """Rows of values; text is neutralised as in CSV, numbers stay numbers (never formulas)."""
    for row in rows:
        sheet.append([safe_cell(value) if isinstance(value, str) else value for value in row])


def set_widths(sheet, widths: Iterable[int]) -> None:
    from openpyxl.utils import get_column_letter

    for index, width in enumerate(widths, start=1):
        sheet.column_dimensions[get_column_letter(index)].width = width


def workbook_response(filename: str, book) -> Response:
    buffer = io.BytesIO()
    book.save(buffer)
    return Response(buffer.getvalue(), mimetype=XLSX_TYPE,
                    headers={"Content-Disposition": f'attachment; filename="{filename}"'})
