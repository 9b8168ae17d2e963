"""The grid ledger import: `careapp import-district FILE` and /community/district/import.

A ledger with any bad row imports nothing and names every bad row; a good one creates what is new and
updates what moved, in one transaction with one audit entry. Garbage uploads get a message, never a 500.
"""
from __future__ import annotations

import csv
import io
import zipfile

import openpyxl
import pytest
import sqlalchemy as sa

from careapp.accounts.models import Role
from careapp.core.audit import AuditEntry
from careapp.core.db import db
from careapp.core.errors import Forbidden
from careapp.district.importer import MAX_SHOWN_ERRORS, TEMPLATE_ROWS, LedgerRefused, import_ledger
from careapp.district.models import Building, Community, Grid
from careapp.district.services import add_building, add_community, add_grid
from tests.factories import make_user
from tests.page_helpers import count, follow, login, text

PAGE = "/community/district/import"
HEADER = ("community", "grid", "building", "address", "latitude", "longitude")
ROWS = [
    ("旭日天都社区", "一组团网格", "一组团1栋", "芜湖市镜湖区九华中路旭日天都一组团1栋", 31.3418, 118.3792),
    ("旭日天都社区", "一组团网格", "一组团3栋", "芜湖市镜湖区九华中路旭日天都一组团3栋", 31.3422, 118.3801),
    ("旭日天都社区", "五组团网格", "五组团7栋", "芜湖市镜湖区九华中路旭日天都五组团7栋", 31.3431, 118.3816),
    ("车站社区", "华联片区网格", "华联片区2栋", "芜湖市镜湖区北京东路华联片区2栋", 31.3352, 118.3868),
]


def xlsx(rows) -> bytes:
    book = openpyxl.Workbook()
    for row in rows:
        book.active.append(list(row))
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def csv_file(rows, encoding: str = "utf-8-sig") -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer).writerows(rows)
    return buffer.getvalue().encode(encoding)


def structure() -> set[tuple]:
    """Every building with its grid and community, as the ledger writes them."""
    query = (sa.select(Community.name, Grid.name, Building.name, Building.address, Building.latitude,
                       Building.longitude).join(Grid, Grid.community_id == Community.id)
             .join(Building, Building.grid_id == Grid.id))
    db.session.rollback()
    return set(db.session.execute(query).all())


def sizes() -> tuple[int, int, int, int]:
    """Communities, grids, buildings and imports recorded."""
    db.session.rollback()
    imports = sa.select(sa.func.count()).where(AuditEntry.action == "district.imported")
    return count(Community), count(Grid), count(Building), db.session.scalar(imports)


def upload(client, content: bytes, filename: str = "ledger.xlsx"):
    return client.post(PAGE, data={"file": (io.BytesIO(content), filename)}, content_type="multipart/form-data")


def refusal(content: bytes, filename: str = "ledger.xlsx", *, by=None, now=None) -> LedgerRefused:
    with pytest.raises(LedgerRefused) as caught:
        import_ledger(filename, content, by=by, now=now)
    return caught.value


@pytest.fixture
def staff(app, clock):
    return make_user(Role.community_staff, clock.now(), name="网格员")


@pytest.fixture
def staff_client(client, staff):
    login(client, staff)
    return client


# --- the two things the issue asks for ---

def test_one_bad_row_is_named_and_nothing_is_imported(staff_client):
    rows = [HEADER, *ROWS[:2], ("旭日天都社区", "五组团网格", "五组团7栋", "", 131.2, 118.3816), ROWS[3]]
    before = sizes()
    response = upload(staff_client, xlsx(rows))
    assert response.status_code == 422
    page = text(response)
    assert "Row 4: Latitude “131.2” is not between -90 and 90." in page
    assert "Nothing was imported: 1 row has a problem" in page
    assert sizes() == before


def test_the_template_imports_and_shows_the_structure(staff_client):
    template = staff_client.get("/community/district/template.xlsx")
    assert template.status_code == 200 and template.mimetype.endswith("spreadsheetml.sheet")
    response = upload(staff_client, template.data, "grid-ledger-template.xlsx")
    assert "Imported: 2 new communities, 2 new grids, 2 new buildings" in follow(staff_client, response)
    assert structure() == set(TEMPLATE_ROWS[1:])


def test_the_csv_template_imports_too(staff_client):
    template = staff_client.get("/community/district/template.csv")
    assert template.status_code == 200 and template.data.startswith("\ufeff".encode())
    assert upload(staff_client, template.data, "grid-ledger-template.csv").status_code == 302
    assert structure() == set(TEMPLATE_ROWS[1:])


def test_the_page_explains_the_columns_and_links_the_templates(staff_client):
    page = text(staff_client.get(PAGE))
    for words in ("community (社区)", "latitude (纬度)", "/community/district/template.xlsx",
                  "/community/district/template.csv", 'enctype="multipart/form-data"', "10 MB"):
        assert words in page
    assert PAGE in text(staff_client.get("/community/"))


# --- applying ---

def test_importing_again_updates_what_moved_and_keeps_the_rest(staff, clock):
    first = import_ledger("a.xlsx", xlsx([HEADER, *ROWS]), by=staff, now=clock.now())
    assert (first.communities_created, first.grids_created, first.buildings_created) == (2, 3, 4)
    moved = ("旭日天都社区", "一组团网格", "一组团1栋", "", 31.35, 118.38)  # no address: keep the known one
    readdressed = (*ROWS[1][:3], "九华中路一组团3栋", *ROWS[1][4:])
    again = import_ledger("b.csv", csv_file([HEADER, moved, readdressed, *ROWS[2:]]), by=staff, now=clock.now())
    assert (again.communities_created, again.grids_created, again.buildings_created, again.buildings_updated,
            again.buildings_unchanged) == (0, 0, 0, 2, 2)
    assert structure() == {(*ROWS[0][:4], 31.35, 118.38), readdressed, *ROWS[2:]}


def test_a_building_added_by_hand_is_updated_not_doubled(staff, clock):
    community = add_community(name="康园社区", by=staff, now=clock.now())
    grid = add_grid(community_id=community.id, name="康园新村网格", by=staff, now=clock.now())
    add_building(grid_id=grid.id, name="康园新村12栋", address="旧地址", latitude=31.0, longitude=118.0,
                 by=staff, now=clock.now())
    row = ("康园社区", "康园新村网格", "康园新村12栋", "芜湖市镜湖区赭山东路康园新村12栋", 31.3392, 118.3712)
    result = import_ledger("a.xlsx", xlsx([HEADER, row]), by=staff, now=clock.now())
    assert (result.communities_created, result.grids_created, result.buildings_updated) == (0, 0, 1)
    assert structure() == {row}


def test_one_audit_entry_sums_up_an_import_and_none_when_nothing_changed(staff, clock):
    import_ledger("a.xlsx", xlsx([HEADER, *ROWS]), by=staff, now=clock.now())
    entries = db.session.scalars(sa.select(AuditEntry).where(AuditEntry.action.like("district.%"))).all()
    assert [(entry.action, entry.actor_id) for entry in entries] == [("district.imported", staff.id)]
    assert entries[0].after | {"source": "a.xlsx", "rows": 4, "buildings_created": 4, "communities_created": 2} \
        == entries[0].after
    import_ledger("a.xlsx", xlsx([HEADER, *ROWS]), by=staff, now=clock.now())
    assert sizes()[3] == 1


def test_the_file_name_is_recorded_without_control_characters(staff_client):
    assert upload(staff_client, csv_file([HEADER, ROWS[0]]), "台账\x00\x1b.csv").status_code == 302
    entry = db.session.scalar(sa.select(AuditEntry).where(AuditEntry.action == "district.imported"))
    assert entry.after["source"] == "台账.csv"


def test_many_rows_go_in_at_once(staff, clock):
    rows = [HEADER] + [("旭日天都社区", f"{n % 7}号网格", f"{n}栋", "", 31 + n / 10**5, 118.3) for n in range(3000)]
    result = import_ledger("big.csv", csv_file(rows), by=staff, now=clock.now())
    assert (result.grids_created, result.buildings_created) == (7, 3000)
    assert count(Building) == 3000


# --- what the file may look like ---

def test_chinese_headers_in_any_order_with_other_columns(staff, clock):
    rows = [("经度", "备注", " 楼栋 ", "网格", "社区", "纬度")] + [(r[5], "note", r[2], r[1], r[0], r[4]) for r in ROWS]
    result = import_ledger("台账.xlsx", xlsx(rows), by=staff, now=clock.now())
    assert result.buildings_created == 4
    assert structure() == {(*row[:3], "", *row[4:]) for row in ROWS}  # no address column: none given


def test_english_headers_ignore_case_and_spaces(staff, clock):
    rows = [("Community", "GRID", "Building ", "Address", "Lati tude", "LONGITUDE"), *ROWS]
    assert import_ledger("a.csv", csv_file(rows), by=staff, now=clock.now()).buildings_created == 4


@pytest.mark.parametrize("encoding", ["utf-8-sig", "utf-8", "gb18030", "utf-16"])
def test_csv_in_the_encodings_excel_writes(staff, clock, encoding):
    result = import_ledger("a.csv", csv_file([HEADER, *ROWS], encoding), by=staff, now=clock.now())
    assert result.buildings_created == 4
    assert structure() == set(ROWS)


def test_numbers_typed_as_text_numbered_buildings_and_blank_rows(staff, clock):
    rows = [HEADER, ("车站社区", "华联片区网格", 5, None, "31.3347", " 118.3879 "), (), (None, None),
            ("车站社区", "华联片区网格", 6.0, "", 31.3348, 118.388), (None, None, None, None, None, None, "a note")]
    assert import_ledger("a.xlsx", xlsx(rows), by=staff, now=clock.now()).buildings_created == 2
    assert {row[2] for row in structure()} == {"5", "6"}


# --- bad rows ---

def test_every_bad_row_is_named_with_its_reason(staff, clock):
    rows = [HEADER,
            ROWS[0],
            ("旭日天都社区", "", "一组团2栋", "", 31.3, 118.3),  # 3: no grid
            ("旭日天都社区", "一组团网格", "一组团4栋", "", "31,34", -181),  # 4: not a number, out of range
            ROWS[0],  # 5: the same building twice
            ("车站社区", "一组团网格", "一组团5栋", "", 31.3, 118.3),  # 6: a grid under two communities
            ("车站社区", "华联片区网格", "x" * 101, "", 31.3, 118.3),  # 7: too long
            ("车站社区", "华联片区网格", "华联片区9栋", "", 31.3, "=B2*2"),  # 8: a formula
            ("车站社区", "华联片区网格", "华联\x00片区", "", "nan", 118.3)]  # 9: NUL, not a number
    errors = [str(error) for error in refusal(csv_file(rows), "ledger.csv").errors]
    assert errors == [
        "Row 3: Grid is empty.",
        "Row 4: Latitude “31,34” is not a number. Longitude “-181” is not between -180 and 180.",
        "Row 5: 一组团1栋 (旭日天都社区, 一组团网格) is also on row 2.",
        "Row 6: Grid 一组团网格 is under 旭日天都社区 on row 2; a grid belongs to one community.",
        "Row 7: Building is longer than 100 characters.",
        "Row 8: Longitude holds a formula; type the value.",
        "Row 9: Building holds control characters (such as NUL). Latitude “nan” is not a number.",
    ]
    assert sizes() == (0, 0, 0, 0)


def test_a_formula_cell_is_refused_not_evaluated(staff, clock):
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(HEADER)
    sheet.append([*ROWS[0][:4], "=31+0.3418", ROWS[0][5]])
    sheet.append([*ROWS[1][:2], '=CONCAT("一组团","3栋")', *ROWS[1][3:]])
    buffer = io.BytesIO()
    book.save(buffer)
    errors = [str(error) for error in refusal(buffer.getvalue(), by=staff, now=clock.now()).errors]
    assert errors == ["Row 2: Latitude holds a formula; type the value.",
                      "Row 3: Building holds a formula; type the value."]


def test_a_formula_in_a_csv_is_refused_too(staff, clock):
    content = csv_file([HEADER, ("=HYPERLINK(\"http://evil\")", *ROWS[0][1:])])
    assert [str(e) for e in refusal(content, "a.csv").errors] == ["Row 2: Community holds a formula; type the value."]


def test_the_list_of_bad_rows_is_cut_short(staff_client):
    rows = [HEADER] + [("旭日天都社区", "一组团网格", f"{n}栋", "", 100, 118) for n in range(MAX_SHOWN_ERRORS + 10)]
    response = upload(staff_client, csv_file(rows), "a.csv")
    page = text(response)
    assert response.status_code == 422
    assert f"Row {MAX_SHOWN_ERRORS + 1}:" in page and f"Row {MAX_SHOWN_ERRORS + 2}:" not in page
    assert "… and 10 more rows." in page
    assert f"Nothing was imported: {MAX_SHOWN_ERRORS + 10} rows have a problem" in page


@pytest.mark.parametrize("header, message", [
    (("community", "grid", "building", "address", "latitude"), "has no column for longitude (经度)"),
    (("社区", "楼栋", "纬度", "经度"), "has no column for grid (网格)"),
    (("赭麓街道网格台账",), "has no column for community (社区), grid (网格), building (楼栋), latitude"),
    (("community", "grid", "building", "grid", "latitude", "longitude"), "has the column grid twice (columns B and D)"),
])
def test_a_missing_or_doubled_column_is_named(staff_client, header, message):
    response = upload(staff_client, xlsx([header, ROWS[0]]))
    assert response.status_code == 400
    assert message in text(response)
    assert sizes() == (0, 0, 0, 0)


# --- garbage uploads: a message, never a 500, nothing written ---

@pytest.mark.parametrize("content, filename, status, message", [
    (b"", "ledger.csv", 400, "The file is empty."),
    (b"   \n", "ledger.csv", 400, "The file is empty."),
    (csv_file([HEADER]), "ledger.csv", 400, "a header but no buildings"),
    (xlsx([HEADER, ROWS[0]]), "ledger.txt", 400, "Please choose an .xlsx or .csv file"),
    (xlsx([HEADER, ROWS[0]]), "ledger.xls", 400, "Please choose an .xlsx or .csv file"),
    (b"PK\x03\x04" + b"\x00" * 200, "ledger.xlsx", 400, "cannot read this file as an Excel workbook"),
    (xlsx([HEADER, ROWS[0]])[:-300], "ledger.xlsx", 400, "cannot read this file as an Excel workbook"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 500, "ledger.xlsx", 400, "an old Excel .xls file"),
    (b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4, "ledger.xlsx", 400, "cannot read this file as an Excel"),
    (b"\xff\xff\xfe\x80\x81" * 100, "ledger.csv", 400, "cannot read the text of this CSV file"),
    (b"community,grid\n" + b"x" * 200_000, "ledger.csv", 400, "cannot read this CSV file"),
    (b"\x00\x01\x02" * 100, "ledger.csv", 400, "has no column for community"),
    (csv_file([HEADER, ROWS[0]]), "../../../etc/ledger.csv", 302, "Imported"),
    (xlsx([HEADER, *ROWS]), "ledger.csv", 302, "Imported"),  # an .xlsx with the wrong name still reads
])
def test_garbage_uploads_get_a_message(staff_client, content, filename, status, message):
    before = sizes()
    response = upload(staff_client, content, filename)
    assert response.status_code == status
    assert message in (follow(staff_client, response) if status == 302 else text(response))
    if status != 302:
        assert sizes() == before


def test_an_xlsx_that_unpacks_to_too_much_is_refused(staff_client, monkeypatch):
    from careapp.district import importer

    monkeypatch.setattr(importer, "MAX_UNPACKED_BYTES", 1000)
    response = upload(staff_client, xlsx([HEADER, *ROWS]))
    assert response.status_code == 400 and "too large to read" in text(response)


def test_a_row_at_the_bottom_of_the_sheet_is_read_without_padding_the_rest(staff, clock):
    book = openpyxl.Workbook()
    book.active.append(HEADER)
    for column, value in enumerate(ROWS[0], start=1):
        book.active.cell(row=1_000_000, column=column, value=value)
    buffer = io.BytesIO()
    book.save(buffer)
    assert import_ledger("a.xlsx", buffer.getvalue(), by=staff, now=clock.now()).buildings_created == 1


def test_a_file_over_the_limit_is_refused_with_the_limit(app, staff_client):
    app.config["IMPORT_MAX_BYTES"] = 2 * 1024 * 1024
    content = csv_file([HEADER, ROWS[0]]) + b"\n" * (2 * 1024 * 1024)
    response = upload(staff_client, content, "a.csv")
    assert response.status_code == 413
    assert "The file is larger than 2 MB" in text(response)
    assert sizes()[:3] == (0, 0, 0)


def test_a_body_far_over_the_limit_is_refused_before_it_is_read(app, staff_client):
    app.config["IMPORT_MAX_BYTES"] = 1024 * 1024
    response = upload(staff_client, b"x" * (2 * 1024 * 1024), "a.csv")
    assert response.status_code == 413
    page = text(response)
    assert "The file is larger than 1 MB" in page and "Import the grid ledger" in page


def test_a_ledger_may_be_larger_than_other_posts(app, staff_client):
    """The app takes 5 MB in any other post; the import page takes up to CAREAPP_IMPORT_MAX_MB (10)."""
    assert app.config["MAX_CONTENT_LENGTH"] < 6 * 1024 * 1024 < app.config["IMPORT_MAX_BYTES"]
    content = csv_file([HEADER, ROWS[0]]) + (b" " * 100_000 + b"\n") * 63  # blank lines
    response = upload(staff_client, content, "a.csv")
    assert response.status_code == 302, text(response)[:300]
    assert count(Building) == 1


@pytest.mark.parametrize("app_config", [{"WTF_CSRF_ENABLED": True}])
def test_others_keep_the_usual_limit(app, client, world):
    """Only district staff may send a large body: for anyone else, CSRF protection meets the 5 MB limit
    while reading the form, before the page refuses them."""
    login(client, world.family.user)
    response = upload(client, b"x" * (6 * 1024 * 1024), "a.csv")
    assert response.status_code == 413
    assert "The upload is too large." in text(response) and "Import the grid ledger" not in text(response)


@pytest.mark.parametrize("app_config", [{"WTF_CSRF_ENABLED": True}])
def test_with_csrf_protection_on_staff_still_get_the_limit_on_the_page(app, client, staff):
    app.config["IMPORT_MAX_BYTES"] = 1024 * 1024
    login(client, staff)
    response = upload(client, b"x" * (2 * 1024 * 1024), "a.csv")
    assert response.status_code == 413 and "The file is larger than 1 MB" in text(response)


# --- who may import ---

@pytest.mark.parametrize("role, status", [("family", 403), ("partner_manager", 403), ("community_staff", 200),
                                          ("admin", 200)])
def test_only_district_staff_open_the_page(client, world, role, status):
    user = {"family": world.family.user, "partner_manager": world.care_centre.manager,
            "community_staff": world.community_staff, "admin": world.admin}[role]
    login(client, user)
    for url in (PAGE, "/community/district/template.xlsx", "/community/district/template.csv"):
        assert client.get(url).status_code == status
    before = sizes()
    response = upload(client, xlsx([HEADER, *ROWS]))
    assert response.status_code == (403 if status == 403 else 302)
    if status == 403:
        assert sizes() == before


def test_the_rule_itself_refuses_anyone_else(world, clock):
    with pytest.raises(Forbidden):
        import_ledger("a.xlsx", xlsx([HEADER, *ROWS]), by=world.family.user, now=clock.now())


# --- the command ---

def test_the_command_imports_and_prints_the_counts(app, tmp_path):
    path = tmp_path / "台账.xlsx"
    path.write_bytes(xlsx([HEADER, *ROWS]))
    result = app.test_cli_runner().invoke(args=["import-district", str(path)])
    assert result.exit_code == 0, result.output
    assert "Imported: 2 new communities, 3 new grids, 4 new buildings, 0 buildings updated, 0 unchanged." \
        in result.output
    assert structure() == set(ROWS)
    entry = db.session.scalar(sa.select(AuditEntry).where(AuditEntry.action == "district.imported"))
    assert (entry.action, entry.actor_id, entry.after["source"]) == ("district.imported", None, "台账.xlsx")


def test_the_command_lists_bad_rows_and_exits_1(app, tmp_path):
    path = tmp_path / "ledger.csv"
    path.write_bytes(csv_file([HEADER, ROWS[0], (*ROWS[1][:4], 91, 118.38)]))
    result = app.test_cli_runner().invoke(args=["import-district", str(path)])
    assert result.exit_code == 1
    assert "Row 3: Latitude “91” is not between -90 and 90." in result.output
    assert "Nothing was imported: 1 row has a problem" in result.output
    assert "Traceback" not in result.output
    assert sizes() == (0, 0, 0, 0)


@pytest.mark.parametrize("content, message", [
    (b"PK\x03\x04junk", "cannot read this file as an Excel workbook"),
    (b"", "The file is empty."),
])
def test_the_command_reports_an_unreadable_file(app, tmp_path, content, message):
    path = tmp_path / "ledger.xlsx"
    path.write_bytes(content)
    result = app.test_cli_runner().invoke(args=["import-district", str(path)])
    assert result.exit_code == 1 and message in result.output and "Traceback" not in result.output


def test_the_command_needs_an_existing_file(app, tmp_path):
    result = app.test_cli_runner().invoke(args=["import-district", str(tmp_path / "none.xlsx")])
    assert result.exit_code == 2 and "does not exist" in result.output


def test_the_template_is_a_real_workbook_with_no_formulas(staff_client):
    content = staff_client.get("/community/district/template.xlsx").data
    with zipfile.ZipFile(io.BytesIO(content)) as archive:
        assert not any(b"<f>" in archive.read(name) for name in archive.namelist() if name.endswith(".xml"))
    rows = list(openpyxl.load_workbook(io.BytesIO(content)).active.values)
    assert rows == [tuple(row) for row in TEMPLATE_ROWS]
