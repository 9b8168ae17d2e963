"""The form community staff use to import the grid ledger."""
from __future__ import annotations

from flask_wtf.file import FileAllowed, FileField, FileRequired
from wtforms import SubmitField

from careapp.core.i18n import lazy_gettext as _l
from careapp.pages import PageForm


class LedgerImportForm(PageForm):
    file = FileField(_l("The ledger file (.xlsx or .csv)"), [
        FileRequired(_l("Please choose the file.")),
        FileAllowed(["xlsx", "csv"], _l("Please choose an .xlsx or .csv file (save an old .xls as .xlsx first).")),
    ], render_kw={"accept": ".xlsx,.csv"})
    submit = SubmitField(_l("Import"))
