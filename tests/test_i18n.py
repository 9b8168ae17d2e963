"""Languages: every text is translated, pages read in Chinese without English left over, the language follows
the browser and the user's choice, and dates and money are shown the local way."""
from __future__ import annotations

import ast
import re
from datetime import date, datetime

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po

from careapp import PROJECT_ROOT
from careapp.accounts.models import User
from careapp.core import i18n
from careapp.core.db import db
from tests.i18n_scan import english_in_page, english_in_template
from tests.page_helpers import login

CATALOG = PROJECT_ROOT / "careapp" / "translations" / "zh_Hans_CN" / "LC_MESSAGES"
KEYWORDS = {"_": None, "gettext": None, "ngettext": (1, 2), "_l": None, "lazy_gettext": None,
            "lazy_ngettext": (1, 2), "pgettext": ((1, "c"), 2), "lazy_pgettext": ((1, "c"), 2)}


def extracted() -> dict[str | tuple[str, str], list[str]]:
    """Every translatable text in the code and templates, as pybabel extract -F babel.cfg finds it (a text
    with a plural is the pair of its singular and plural)."""
    from babel.messages.frontend import parse_mapping_cfg

    with open(PROJECT_ROOT / "babel.cfg") as cfg:
        method_map, options_map = parse_mapping_cfg(cfg)
    found: dict[str, list[str]] = {}
    for filename, lineno, message, _comments, _context in extract_from_dir(
            str(PROJECT_ROOT), method_map, options_map, keywords=KEYWORDS):
        msgid = tuple(message[:2]) if isinstance(message, tuple) else message
        found.setdefault(msgid, []).append(f"{filename}:{lineno}")
    return found


def zh_catalog():
    with open(CATALOG / "messages.po", "rb") as po:
        return read_po(po, locale="zh_CN")


def translated(message) -> bool:
    strings = message.string if isinstance(message.string, tuple) else (message.string,)
    return all(strings) and not message.fuzzy


def test_every_text_in_the_code_and_templates_has_a_chinese_translation():
    catalog = zh_catalog()
    missing = {msgid: places for msgid, places in extracted().items()
               if msgid not in catalog or not translated(catalog[msgid])}
    assert not missing, ("texts without a Chinese translation (docs/i18n.md says how to add them):\n"
                         + "\n".join(f"{places[0]}: {msgid!r}" for msgid, places in sorted(missing.items())))


PLACEHOLDER = re.compile(r"%\((\w+)\)[sd]")


def test_every_translation_keeps_the_placeholders_of_its_english():
    """A translation that drops %(error)s hides what went wrong; one that adds a name fails at run time."""
    wrong = []
    for message in zh_catalog():
        if not message.id or not translated(message):
            continue
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        wanted = set(PLACEHOLDER.findall(ids[-1]))
        for string in strings:
            if set(PLACEHOLDER.findall(string)) != wanted:
                wrong.append(f"{ids[0]!r}: {string!r}")
    assert not wrong, "translations whose placeholders differ from the English:\n" + "\n".join(wrong)


def _pairs(messages) -> dict:
    """msgid -> msgstr, with a plural's ids and strings as tuples (the .po and .mo readers differ there)."""
    def plain(value):
        return tuple(value) if isinstance(value, (list, tuple)) else value
    return {plain(message.id): plain(message.string) for message in messages if message.id}


def test_the_compiled_catalog_is_the_translations_as_written():
    with open(CATALOG / "messages.mo", "rb") as mo:
        compiled = read_mo(mo)
    written = _pairs(message for message in zh_catalog() if translated(message))
    assert _pairs(compiled) == written, (
        "messages.mo is stale: run pybabel compile -d careapp/translations")


@pytest.mark.parametrize("template", sorted(str(path.relative_to(PROJECT_ROOT / "templates"))
                                            for path in (PROJECT_ROOT / "templates").rglob("*.html")))
def test_templates_mark_every_english_text_for_translation(template):
    source = (PROJECT_ROOT / "templates" / template).read_text(encoding="utf-8")
    assert english_in_template(source) == []


# Calls whose first argument a person reads: a plain or f-string there is a text nobody translated.
READ_CALLS = frozenset({"flash", "BadInput", "Forbidden", "NotFound", "Conflict", "RuleRefused", "Throttled",
                        "Busy", "CareappError", "NotAuthenticated", "LedgerRefused", "StopValidation",
                        "ValidationError", "InputRequired", "DataRequired", "Email"})
# (Length, NumberRange, Regexp and EqualTo take their message as message=, checked below with every call's.)
FIELD_CALLS = frozenset({"StringField", "PasswordField", "EmailField", "TelField", "IntegerField", "DateField",
                         "TimeField", "DecimalField", "BooleanField", "SelectField", "SelectMultipleField",
                         "RadioField", "TextAreaField", "SubmitField", "FileField", "HiddenField", "IdSelectField",
                         "FloatField", "DateTimeLocalField", "MonthField", "SearchField", "URLField"})
# Where English is right: the operator's command line, generated benchmark data and the demo's own data.
NOT_READ_BY_USERS = ("careapp/cli.py", "careapp/benchdata/", "careapp/demo.py", "careapp/__main__.py",
                     "careapp/server.py")


def _plain_text(node: ast.AST) -> bool:
    return isinstance(node, ast.JoinedStr) or (isinstance(node, ast.Constant) and isinstance(node.value, str)
                                               and bool(node.value.strip()))


def untranslated_calls(source: str) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.Call):
            continue
        name = node.func.id if isinstance(node.func, ast.Name) else getattr(node.func, "attr", None)
        texts = []
        if name in READ_CALLS and node.args:
            texts.append(node.args[0])
        if name in FIELD_CALLS and node.args:
            texts.append(node.args[0])
        texts += [keyword.value for keyword in node.keywords
                  if keyword.arg in ("message", "description", "label", "placeholder")]
        found += [f"line {node.lineno}: {ast.unparse(text)[:80]}" for text in texts if _plain_text(text)]
    return found


@pytest.mark.parametrize("module", sorted(str(path.relative_to(PROJECT_ROOT)) for path in
                                          (PROJECT_ROOT / "careapp").rglob("*.py")
                                          if not str(path.relative_to(PROJECT_ROOT)).startswith(NOT_READ_BY_USERS)
                                          and not str(path.relative_to(PROJECT_ROOT)).startswith("careapp/api/")))
def test_messages_and_form_labels_are_marked_for_translation(module):
    assert untranslated_calls((PROJECT_ROOT / module).read_text(encoding="utf-8")) == []


# --- choosing the language ---

def chinese_app_config():
    return {"FIXED_LANGUAGE": None}


class TestChoosingTheLanguage:
    @pytest.fixture
    def app_config(self):
        return chinese_app_config()

    def test_a_visitor_reads_chinese_unless_the_browser_asks_for_english(self, client):
        page = client.get("/login").get_data(as_text=True)
        assert '<html lang="zh-CN"' in page and "登录" in page
        english = client.get("/login", headers={"Accept-Language": "en-GB,en;q=0.9"}).get_data(as_text=True)
        assert '<html lang="en"' in english and "Log in" in english
        taiwan = client.get("/login", headers={"Accept-Language": "zh-TW"}).get_data(as_text=True)
        assert '<html lang="zh-CN"' in taiwan

    def test_the_switch_on_every_page_is_remembered_before_logging_in(self, client):
        response = client.post("/language", data={"language": "en", "next": "/register"})
        assert response.status_code == 302 and response.headers["Location"] == "/register"
        assert '<html lang="en"' in client.get("/login").get_data(as_text=True)
        client.post("/language", data={"language": "zh_CN", "next": "/login"})
        assert '<html lang="zh-CN"' in client.get("/login").get_data(as_text=True)

    def test_a_logged_in_users_choice_is_kept_with_the_account(self, client, world):
        login(client, world.family.user)
        assert '<html lang="zh-CN"' in client.get("/family/").get_data(as_text=True)
        client.post("/language", data={"language": "en", "next": "/family/"})
        assert db.session.get(User, world.family.user.id).language == "en"
        client.delete_cookie("language")
        assert '<html lang="en"' in client.get("/family/", headers={"Accept-Language": "zh-CN"}).get_data(
            as_text=True)

    def test_an_unknown_language_is_refused_with_a_message(self, client):
        response = client.post("/language", data={"language": "fr", "next": "/login"}, follow_redirects=True)
        assert response.status_code == 200
        assert "请选择" in response.get_data(as_text=True)

    def test_a_family_registering_in_english_keeps_english(self, client, world):
        client.post("/language", data={"language": "en", "next": "/register"})
        client.post("/register", data={"name": "Li", "login": "li@example.com", "password": "long enough pass",
                                       "confirm": "long enough pass", "building_id": world.building.id})
        assert db.session.scalar(db.select(User.language).where(User.login == "li@example.com")) == "en"


class TestLocalFormats:
    def test_dates_weekdays_and_times_in_chinese(self, app):
        with app.test_request_context(headers={"Accept-Language": "zh-CN"}):
            app.config["FIXED_LANGUAGE"] = "zh_CN"
            try:
                assert i18n.long_date(date(2026, 11, 25)) == "2026年11月25日 星期三"
                assert i18n.short_date(date(2026, 11, 25)) == "2026年11月25日"
                assert i18n.weekday_name(2) == "星期三"
                assert i18n.local_time(datetime.fromisoformat("2026-11-25T01:00:00+00:00")) == "2026年11月25日 09:00"
            finally:
                app.config["FIXED_LANGUAGE"] = "en"

    def test_dates_weekdays_and_times_in_english(self, app):
        with app.test_request_context():
            assert i18n.long_date(date(2026, 11, 25)) == "Wednesday 25 November 2026"
            assert i18n.short_date(date(2026, 11, 25)) == "2026-11-25"
            assert i18n.weekday_name(6) == "Sunday"
            assert i18n.local_time(datetime.fromisoformat("2026-11-25T01:00:00+00:00")) == "2026-11-25 09:00"


# --- every page in Chinese ---

from tests.test_pages_access import ANON, PAGES, ROLES, scene  # noqa: E402,F401  (the pages and their scene)

# Downloads, not pages: their columns are checked by the export tests.
NOT_PAGES = frozenset({"district_template_xlsx", "district_template_csv", "coverage_csv", "coverage_xlsx",
                       "monthly_report_xlsx", "calendar_feed", "export_data"})
READABLE = [pytest.param(name, role, id=f"{name}-{role}") for name, (url, expected) in PAGES.items()
            if name not in NOT_PAGES
            for role in ROLES if expected[role] == 200 or (role == ANON and name == "start")]


class TestEveryPageReadsInChinese:
    @pytest.fixture
    def app_config(self):
        return {"FIXED_LANGUAGE": "zh_CN"}

    @pytest.mark.parametrize("page, role", READABLE)
    def test_no_english_is_left_on_the_page(self, client, scene, page, role):
        users, ids = scene
        if role != ANON:
            login(client, users[role])
        response = client.get(PAGES[page][0].format(**ids), follow_redirects=True)
        assert response.status_code == 200
        assert english_in_page(response.get_data(as_text=True)) == []

    @pytest.mark.parametrize("url", ["/login", "/register"])
    def test_the_pages_before_logging_in(self, client, scene, url):
        assert english_in_page(client.get(url).get_data(as_text=True)) == []
