"""Irreversible staff actions ask first: a confirmation page that names what will be lost.

It is a page, not a script's dialog, so it works the same with and without JavaScript: the
form posts without `confirm`, gets this page (200), and its button posts the same fields again
with `confirm=1`. Views call `ask()` before they change anything."""

from flask import render_template, request


def ask(title: str, losses: list[str], button: str, back: str):
    """None when the request carries the confirmation; else the page that asks for it."""
    if request.form.get("confirm") == "1":
        return None
    fields = [
        (name, value)
        for name in request.form
        if name not in ("csrf_token", "confirm")
        for value in request.form.getlist(name)
    ]
    page = render_template(
        "confirm.html",
        title=title,
        losses=losses,
        button=button,
        back=back,
        action=request.path,
        fields=fields,
    )
    return page, 200
