#!/usr/bin/env python3
"""Command line: the same commands as `flask --app quiz ...` (run `python manage.py --help`)."""

from flask.cli import FlaskGroup

from quiz import create_app

cli = FlaskGroup(create_app=create_app, help=__doc__)

if __name__ == "__main__":
    cli()
