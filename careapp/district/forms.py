"""The form community staff use to import the grid ledger."""
from __future__ import annotations

from flask_wtf.file import FileAllowed, FileField, FileRequired
from wtforms import SubmitField

from careapp.pages import PageForm


class LedgerImportForm(PageForm):
    file = FileField("The ledger file (.xlsx or .csv)", [
        FileRequired("Please choose the file."),
        FileAllowed(["xlsx", "csv"], "Please choose an .xlsx or .csv file (save an old .xls as .xlsx first)."),
    ], render_kw={"accept": ".xlsx,.csv"})
    submit = SubmitField("Import")
