"""The grid ledger (网格台账) import page and its template downloads.

Registered inside the community pages (/community/district/...), so their check that only community staff
and admins come in applies here too.
"""
from __future__ import annotations

from io import BytesIO

from flask import Blueprint, current_app, flash, redirect, request, send_file, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user
from werkzeug.exceptions import RequestEntityTooLarge

from careapp.core.clock import now
from careapp.core.errors import CareappError
from careapp.core.exports import XLSX_TYPE, csv_response
from careapp.core.i18n import gettext as _
from careapp.district.forms import LedgerImportForm
from careapp.district.importer import (LedgerRefused, LedgerTooLarge, import_ledger, template_rows, template_workbook,
                                       too_large)
from careapp.pages import acting_user, render, show_refusal
from careapp.web import error_response

bp = Blueprint("district", __name__, url_prefix="/district")

PAGE = "community/district_import.html"
# Room for the multipart wrapping around the file itself.
MULTIPART_ALLOWANCE = 64 * 1024


def _may_import() -> bool:
    return current_user.is_authenticated and current_user.is_district


@bp.url_value_preprocessor
def allow_ledger_uploads(endpoint: str | None, values: dict | None) -> None:
    """A ledger may be larger than any other post (MAX_CONTENT_LENGTH). The limit is raised here because
    CSRF protection reads the body in the app's before_request, which runs after every url_value_preprocessor;
    and only for district staff, so nobody else can make careapp read a large body."""
    if request.method == "POST" and _may_import():
        request.max_content_length = current_app.config["IMPORT_MAX_BYTES"] + MULTIPART_ALLOWANCE


@bp.errorhandler(RequestEntityTooLarge)
def ledger_too_large(error: RequestEntityTooLarge) -> ResponseReturnValue:
    """Say how large a ledger may be on the page itself (the body was never read, so the form is empty)."""
    if not _may_import():
        return error_response(LedgerTooLarge(_("The upload is too large.")))
    form = LedgerImportForm(formdata=None)
    form.file.errors = [too_large(current_app.config["IMPORT_MAX_BYTES"]).message]
    return render(PAGE, 413, form=form)


@bp.route("/import", methods=["GET", "POST"])
def import_ledger_page() -> ResponseReturnValue:
    form = LedgerImportForm()
    if not form.validate_on_submit():
        return render(PAGE, 400 if form.errors else 200, form=form)
    upload, limit = form.file.data, current_app.config["IMPORT_MAX_BYTES"]
    try:
        result = import_ledger(upload.filename or "", upload.read(limit + 1), by=acting_user(), now=now(),
                               max_bytes=limit)
    except LedgerRefused as refusal:
        form.file.errors = [refusal.message]
        return render(PAGE, refusal.status, form=form, refusal=refusal)
    except CareappError as error:
        return render(PAGE, show_refusal(error, form), form=form)
    flash(result.summary(), "success")
    return redirect(url_for(".import_ledger_page"))


@bp.get("/template.xlsx")
def template_xlsx() -> ResponseReturnValue:
    return send_file(BytesIO(template_workbook()), mimetype=XLSX_TYPE, as_attachment=True,
                     download_name="grid-ledger-template.xlsx")


@bp.get("/template.csv")
def template_csv() -> ResponseReturnValue:
    return csv_response("grid-ledger-template.csv", template_rows())
