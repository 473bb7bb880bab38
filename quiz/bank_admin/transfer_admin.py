"""Import and export from the browser: the same reading, checks and storing as
`manage.py bank import` and `bank export` (all or nothing; line-numbered problems)."""

from flask import flash, make_response, render_template, request, url_for

from ..auth.users import roles_required
from ..bank import BankFileError, forms
from ..bank.transfer import FORMATS, export_text, store
from ..errors import fail
from ..htmx import go
from . import bp

DOWNLOADS = {
    "native": ("flask-quiz-bank.toml", "application/toml"),
    "gift": ("flask-quiz-bank.gift", "text/plain"),
}


def _page(problems=None, status=200):
    page = render_template("bank_admin/transfer.html", problems=problems or [], formats=FORMATS)
    return page, status


@bp.get("/import")
@roles_required("admin")
def transfer():
    return _page()


@bp.post("/import")
@roles_required("admin")
def import_file():
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        return _page(["Choose a native TOML or GIFT file to import."], 400)
    try:
        loaded = forms.read_upload(upload.read(), upload.filename)
    except BankFileError as e:
        return _page(e.lines() + ["Nothing was imported."], 400)
    report, quizzes = store(loaded)
    unchanged = report.unchanged + report.switched
    message = (
        f"Imported {upload.filename}: {report.created} created, {report.updated} new "
        f"version{'' if report.updated == 1 else 's'}, {unchanged} unchanged"
    )
    if report.switched:
        message += f" ({report.switched} switched on or off)"
    if loaded.quizzes:
        message += f"; quizzes: {quizzes['created']} created, {quizzes['updated']} updated"
    flash(message + ".")
    return go(url_for(".questions"))


@bp.get("/export")
@roles_required("admin")
def export():
    fmt = request.args.get("format", "native")
    if fmt not in DOWNLOADS:
        fail(400, f"Export as one of: {', '.join(FORMATS)}.")
    name, mimetype = DOWNLOADS[fmt]
    response = make_response(export_text(fmt))
    response.mimetype = mimetype
    response.charset = "utf-8"
    response.headers["Content-Disposition"] = f'attachment; filename="{name}"'
    return response
