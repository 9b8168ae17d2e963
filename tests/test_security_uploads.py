"""Uploads: every request body is bounded by MAX_CONTENT_LENGTH (CAREAPP_MAX_REQUEST_MB), with a clear, translated
413 page or JSON error; the grid ledger import reads a workbook without evaluating anything: a formula is refused,
never taken for the value some spreadsheet program cached beside it, and so is text that starts with "=" (it
would run as a formula when the ledger is exported and opened again)."""
from __future__ import annotations

import io
import re
import zipfile

import openpyxl
import pytest

from careapp.accounts.models import Role
from careapp.config import from_environment
from careapp.district.importer import LedgerRefused, import_ledger
from careapp.district.models import Building
from tests.factories import make_user
from tests.page_helpers import count, text

MB = 1024 * 1024
HEADER = ("community", "grid", "building", "address", "latitude", "longitude")
ROW = ("旭日天都社区", "一组团网格", "一组团1栋", "芜湖市镜湖区九华中路旭日天都一组团1栋", 31.3418, 118.3792)


@pytest.fixture
def app_config() -> dict:
    return {"MAX_CONTENT_LENGTH": 1 * MB}


def test_the_limit_is_a_setting(tmp_path):
    assert from_environment(str(tmp_path), {})["MAX_CONTENT_LENGTH"] == 5 * MB
    assert from_environment(str(tmp_path), {"CAREAPP_MAX_REQUEST_MB": "2"})["MAX_CONTENT_LENGTH"] == 2 * MB
    with pytest.raises(SystemExit, match="CAREAPP_MAX_REQUEST_MB"):
        from_environment(str(tmp_path), {"CAREAPP_MAX_REQUEST_MB": "0"})


def test_a_page_post_over_the_limit_gets_a_clear_413_page(client, world):
    response = client.post("/register", data={"name": "x" * (MB + 10)})
    assert response.status_code == 413
    assert "The upload is too large: careapp takes at most 1 MB at a time." in text(response)
    assert "text/html" in response.content_type


@pytest.mark.parametrize("app_config", [{"MAX_CONTENT_LENGTH": 1 * MB, "FIXED_LANGUAGE": "zh_CN"}])
def test_the_413_page_is_in_the_readers_language(client, world):
    response = client.post("/register", data={"name": "x" * (MB + 10)})
    assert response.status_code == 413
    assert "上传的内容太大" in text(response)


def test_an_api_call_over_the_limit_gets_a_json_413(client, world):
    response = client.post("/api/v1/tokens", data=b'{"login": "' + b"x" * (MB + 10) + b'"}',
                           content_type="application/json")
    assert response.status_code == 413 and response.is_json
    assert response.get_json()["error"]["code"] == "too_large"
    assert "at most 1 MB" in response.get_json()["error"]["message"]


# --- the grid ledger: nothing is evaluated ---

@pytest.fixture
def staff(app, clock):
    return make_user(Role.community_staff, clock.now(), name="网格员")


def workbook(fill) -> bytes:
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(HEADER)
    fill(sheet)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def with_cached_value(data: bytes, cell: str, value: str) -> bytes:
    """The workbook with a cached result written beside the formula in ``cell``, as Excel saves it."""
    source, out = zipfile.ZipFile(io.BytesIO(data)), io.BytesIO()
    with zipfile.ZipFile(out, "w") as target:
        for item in source.infolist():
            content = source.read(item.filename)
            if item.filename == "xl/worksheets/sheet1.xml":
                content, replaced = re.subn(rb'(<c r="%s"[^>]*><f>[^<]*</f>)(<v\s*/>|<v></v>)?' % cell.encode(),
                                            rb"\1<v>" + value.encode() + rb"</v>", content)
                assert replaced == 1
            target.writestr(item, content)
    return out.getvalue()


def refused(staff, clock, data: bytes, filename: str = "ledger.xlsx") -> list[str]:
    with pytest.raises(LedgerRefused) as caught:
        import_ledger(filename, data, by=staff, now=clock.now())
    return [str(error) for error in caught.value.errors]


def test_a_formula_with_a_cached_value_is_refused_not_read_as_that_value(staff, clock):
    data = with_cached_value(workbook(lambda sheet: sheet.append([*ROW[:4], "=31+0.3418", ROW[5]])), "E2", "31.3418")
    assert b"<v>31.3418</v>" in zipfile.ZipFile(io.BytesIO(data)).read("xl/worksheets/sheet1.xml")
    assert refused(staff, clock, data) == ["Row 2: Latitude holds a formula; type the value."]
    assert count(Building) == 0


def test_text_that_starts_like_a_formula_is_refused_in_a_workbook(staff, clock):
    def fill(sheet):
        sheet.append(ROW)
        sheet["C2"].value = '=HYPERLINK("http://evil.example","一组团1栋")'
        sheet["C2"].data_type = "s"  # stored as text, not as a formula
    assert refused(staff, clock, workbook(fill)) == ["Row 2: Building holds a formula; type the value."]


def test_and_in_a_csv(staff, clock):
    data = ("\ufeff" + ",".join(HEADER) + "\n" + ",".join(["=1+1", *map(str, ROW[1:])]) + "\n").encode()
    assert refused(staff, clock, data, "ledger.csv") == ["Row 2: Community holds a formula; type the value."]
