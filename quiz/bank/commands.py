"""`manage.py bank ...`: commands for the question bank."""

import click

bank_group = click.Group("bank", help="Check, describe, import and export the question bank.")
