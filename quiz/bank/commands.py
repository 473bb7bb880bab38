"""`manage.py bank ...`: commands for the question bank."""

import click

bank_group = click.Group("bank", help="Check, describe, import and export the question bank.")

# `bank check` and `bank stats` (read-only, no database): see inspect.py.
from .inspect import check_command, stats_command  # noqa: E402

bank_group.add_command(check_command)
bank_group.add_command(stats_command)

# `bank import` and `bank export` (native TOML and Moodle GIFT): see transfer.py.
from .transfer import export_command, import_command  # noqa: E402

bank_group.add_command(import_command)
bank_group.add_command(export_command)
