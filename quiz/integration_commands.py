"""Commands for the API, webhooks and statistics (registered in quiz.cli.init_app)."""

import click
from flask import current_app
from flask.cli import with_appcontext

from . import db


@click.command("api-token")
@with_appcontext
@click.argument("email")
@click.option("--name", default="", help="A label: what will use the token.")
def api_token_command(email, name):
    """Create an API token acting as the user EMAIL and print it (shown only this once)."""
    from .api import tokens
    from .models import User

    db.create_schema()
    with db.database.connection_context():
        user = User.get_or_none(User.email == email.strip().lower(), User.active == True)  # noqa: E712
        if user is None:
            raise click.BadParameter(f"no active user with e-mail {email}", param_hint="EMAIL")
        _, token = tokens.create(user, name or "command line")
    click.echo(token)


@click.command("deliver-webhooks")
@with_appcontext
@click.option(
    "--prune-days",
    type=click.IntRange(1),
    default=30,
    show_default=True,
    help="Delete finished deliveries older than this (their bodies name candidates).",
)
def deliver_webhooks_command(prune_days):
    """Send the webhook deliveries that are due (new ones, and retries after backoff)."""
    from . import webhooks

    webhooks.configure(current_app.config)
    with db.database.connection_context():
        counts = webhooks.deliver_due()
        pruned = webhooks.prune(prune_days)
    click.echo(
        f"Webhooks: {counts['delivered']} delivered, {counts['retry']} to retry later, "
        f"{counts['failed']} given up, {counts['skipped']} skipped; {pruned} old deliveries pruned."
    )


@click.command("analytics-rebuild")
@with_appcontext
@click.option("--quiz", "slug", default=None, help="Only this quiz (default: every quiz).")
def analytics_rebuild_command(slug):
    """Recount quiz statistics from every attempt (after an upgrade or a data repair)."""
    from . import analytics_store
    from .models import Quiz

    db.create_schema()
    with db.database.connection_context():
        quizzes = Quiz.select().where(Quiz.slug == slug) if slug else Quiz.select()
        names = []
        for quiz in quizzes:
            analytics_store.rebuild(quiz)
            names.append(quiz.slug)
    if slug and not names:
        raise click.BadParameter(f"no quiz with slug {slug!r}", param_hint="--quiz")
    click.echo(f"Rebuilt the statistics of {len(names)} quizzes.")


COMMANDS = (api_token_command, deliver_webhooks_command, analytics_rebuild_command)
