"""Click commands, shared by manage.py and `flask --app quiz`."""

import os
import secrets
import sys
from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext
from werkzeug.security import check_password_hash
from werkzeug.serving import run_simple

from . import bank, db, sessions
from .auth.users import hash_password
from .models import RESULT_VIEWS, ROLES, Attempt, Question, Quiz, User


@click.command("init-db")
@with_appcontext
def init_db_command():
    """Create missing tables and apply pending migrations (safe to run again)."""
    db.create_schema()
    click.echo("Database ready.")


@click.command("migrate")
@with_appcontext
@click.option("--list", "listing", is_flag=True, help="Show applied and pending; change nothing.")
def migrate_command(listing):
    """Bring the schema up to date: pending migrations, missing columns and indexes."""
    from . import migrations

    if listing:
        with db.database.connection_context():
            click.echo("\n".join(migrations.status().lines()))
    else:
        click.echo(db.create_schema().summary())


def _seed() -> bank.SeedReport:
    db.create_schema()
    folder = current_app.config.get("BANK_DIR") or bank.BANK_DIR
    with db.database.connection_context():
        return bank.seed(Path(folder))


def load_bank_if_empty() -> str:
    """Create the tables, and load the bank into an empty database only: seeding on every
    start would undo admins' edits of shipped questions (`manage.py seed` does that on purpose)."""
    db.create_schema()
    with db.database.connection_context():
        count = Question.select().where(Question.current == True).count()  # noqa: E712
    if count:
        return (
            f"Question bank: {count} questions (run `manage.py seed` to apply changes "
            f"from the shipped bank files)."
        )
    r = _seed()
    return f"Question bank loaded: {r.created} questions, {r.quizzes} quizzes."


@click.command("seed")
@with_appcontext
def seed_command():
    """Load the shipped question bank and quizzes (idempotent)."""
    r = _seed()
    click.echo(
        f"Questions: {r.created} created, {r.updated} updated, {r.unchanged} unchanged; "
        f"{r.quizzes} quizzes."
    )


DEMO_EMAIL = "admin@example.com"


def demo_login(instance_path: str) -> tuple[str, str] | None:
    """On a database with no users, create an admin with a random password kept (0600) in
    the instance folder; return the login while that password still works, else None."""
    path = Path(instance_path) / "demo_login.txt"
    with db.database.connection_context():
        if not User.select().exists():
            password = secrets.token_urlsafe(12)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w") as f:
                f.write(f"{DEMO_EMAIL}\n{password}\n")
            User.create(
                email=DEMO_EMAIL,
                name="Demo admin",
                role="admin",
                password_hash=hash_password(password),
            )
        if not path.exists():
            return None
        email, password = path.read_text().split()[:2]
        user = User.get_or_none(User.email == email)
        if user is None or not user.active or not check_password_hash(user.password_hash, password):
            return None
        return email, password


GUNICORN_CONF = Path(__file__).resolve().parent.parent / "deploy" / "gunicorn.conf.py"


def gunicorn_argv(host: str, port: int) -> list[str]:
    """The command `serve --prod` runs: gunicorn with the repository's config file."""
    bind = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    return [
        sys.executable,
        "-m",
        "gunicorn",
        "--config",
        str(GUNICORN_CONF),
        "--bind",
        bind,
        "quiz:create_app()",
    ]


@click.command("serve")
@with_appcontext
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", type=int, help="[default: 5000, or 8000 with --prod]")
@click.option("--no-seed", is_flag=True, help="Do not create tables and load the bank first.")
@click.option(
    "--prod",
    is_flag=True,
    help="Run gunicorn with deploy/gunicorn.conf.py (workers, threads, timeouts, access log) "
    "instead of the development server.",
)
def serve_command(host, port, no_seed, prod):
    """Run the development server, or gunicorn with --prod (creates tables and seeds first)."""
    app = current_app._get_current_object()
    port = port or (8000 if prod else 5000)
    if not no_seed:
        click.echo(load_bank_if_empty())
        login = demo_login(app.instance_path)
        if login:
            click.echo(
                f"Staff sign-in at http://{host}:{port}/login  e-mail: {login[0]}  "
                f"password: {login[1]}  (add your own admin under Users, then "
                f"deactivate this one)"
            )
    click.echo(f"Instance folder: {app.instance_path}")
    if prod:
        if not GUNICORN_CONF.is_file():
            raise click.ClickException(f"{GUNICORN_CONF} is missing: run from a checkout")
        db.close_all()  # no pooled connection may outlive this process into gunicorn's
        argv = gunicorn_argv(host, port)
        click.echo("+ " + " ".join(argv[1:]))
        sys.stdout.flush()  # exec discards anything still buffered
        os.execv(argv[0], argv)  # gunicorn takes this process: signals reach it directly
    click.echo(f"Serving the quiz app on http://{host}:{port}/  (Ctrl+C to stop)")
    # app.run() refuses to start inside a CLI command; the same server, called directly.
    run_simple(host, port, app, threaded=True, use_reloader=False, use_debugger=False)


@click.command("create-user")
@with_appcontext
@click.argument("email")
@click.option("--role", type=click.Choice(ROLES), required=True)
@click.option("--name", default="")
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True)
def create_user_command(email, role, name, password):
    """Create a staff account (password prompted unless --password is given)."""
    email = email.strip().lower()
    if len(password) < 10:
        raise click.BadParameter("use at least 10 characters", param_hint="--password")
    db.create_schema()
    with db.database.connection_context():
        if User.get_or_none(User.email == email):
            raise click.ClickException(f"a user with e-mail {email} already exists")
        User.create(
            email=email,
            name=name or email.split("@")[0],
            role=role,
            password_hash=hash_password(password),
        )
    click.echo(f"Created {role} {email}.")


@click.command("invite")
@with_appcontext
@click.option("--quiz", "slug", required=True, help="The quiz's slug.")
@click.option("--email", required=True)
@click.option("--name", required=True)
@click.option("--days", default=7, show_default=True, type=click.IntRange(1, 90))
@click.option(
    "--result",
    "result_view",
    type=click.Choice(list(RESULT_VIEWS)),
    default="none",
    show_default=True,
    help="What the candidate sees at the end (review: every right answer).",
)
@click.option("--show-score", is_flag=True, help="The same as --result topics (older name).")
def invite_command(slug, email, name, days, result_view, show_score):
    """Create an invitation and print its link (shown only this once)."""
    from .invitations import service

    db.create_schema()
    with db.database.connection_context():
        quiz = Quiz.get_or_none(Quiz.slug == slug)
        if quiz is None:
            raise click.BadParameter(f"no quiz with slug {slug!r}", param_hint="--quiz")
        if show_score and result_view == "none":
            result_view = "topics"
        _, token = service.create(
            quiz, name.strip(), email.strip().lower(), None, days, result_view=result_view
        )
    base = current_app.config["BASE_URL"].rstrip("/")
    click.echo(f"{base}/i/{token}")


@click.command("close-expired")
@with_appcontext
def close_expired_command():
    """Close and score every attempt whose deadline has passed."""
    from . import attempts

    with db.database.connection_context():
        closed = attempts.close_all_due(current_app.config["LEVEL_THRESHOLD"])
    click.echo(f"Closed {len(closed)} attempts past their deadline.")


@click.command("remind")
@with_appcontext
@click.option(
    "--after-days",
    type=click.IntRange(1, 90),
    required=True,
    help="Remind candidates invited at least this many days ago.",
)
def remind_command(after_days):
    """E-mail a fresh link to invited candidates who have not started (earlier links stop
    working: only a hash of each link is stored, so a reminder needs a new one)."""
    from datetime import timedelta

    from . import clock, mail
    from .invitations import service
    from .models import Invitation

    now = clock.now()
    cutoff = now - timedelta(days=after_days)
    base = current_app.config["BASE_URL"].rstrip("/")
    with db.database.connection_context():
        due = Invitation.select().where(
            Invitation.revoked == False,  # noqa: E712
            Invitation.expires_at > now,
            Invitation.created_at <= cutoff,
            Invitation.reminded_at.is_null() | (Invitation.reminded_at <= cutoff),
            Invitation.id.not_in(
                Attempt.select(Attempt.invitation).where(Attempt.invitation.is_null(False))
            ),
        )
        messages = []
        for invitation in due:
            token = service.reissue(invitation)
            Invitation.update(reminded_at=now).where(Invitation.id == invitation.id).execute()
            messages.append(mail.invitation_email(invitation, f"{base}/i/{token}", reminder=True))
        sent = mail.deliver(current_app.config, messages)
    click.echo(
        f"Reminded {len(messages)} candidates; {sent} e-mails sent, "
        f"{len(messages) - sent} in the outbox."
    )


@click.command("demo-data")
@with_appcontext
@click.option("--attempts", type=click.IntRange(1, 2_000_000), default=1000, show_default=True)
@click.option(
    "--quiz",
    "slugs",
    multiple=True,
    help="A quiz slug (repeatable); default: the level quizzes and Flask foundations.",
)
@click.option("--seed", type=int, default=1, show_default=True, help="Random seed.")
def demo_data_command(attempts, slugs, seed):
    """Add simulated candidates' attempts (for trying the dashboards, and for benchmarks)."""
    import time

    from . import demo

    db.create_schema()
    started = time.perf_counter()
    with db.database.connection_context():
        if not Quiz.select().exists():
            bank.seed(Path(current_app.config.get("BANK_DIR") or bank.BANK_DIR))
        try:
            r = demo.generate(attempts, slugs or demo.DEFAULT_QUIZZES, seed)
        except ValueError as e:
            raise click.BadParameter(str(e), param_hint="--quiz") from None
        if not db.is_sqlite():
            # A bulk load leaves PostgreSQL without statistics or a visibility map until
            # autovacuum comes round: counts then read every row. Do its work now.
            db.database.execute_sql("VACUUM ANALYZE")
    click.echo(
        f"Added {r.attempts} attempts, {r.answers} answers, {r.invitations} invitations "
        f"and {r.events} events in {time.perf_counter() - started:.1f} s."
    )


@click.command("purge")
@with_appcontext
@click.option("--days", type=int, default=None, help="Override QUIZ_RETENTION_DAYS.")
def purge_command(days):
    """Erase candidates' personal data older than the retention period."""
    from . import privacy

    days = days if days is not None else current_app.config["RETENTION_DAYS"]
    with db.database.connection_context():
        count = privacy.purge(days)
    click.echo(f"Erased the personal data of {count} invitations older than {days} days.")


@click.command("clean-sessions")
@with_appcontext
def clean_sessions_command():
    """Delete expired session files (the file store never evicts on its own)."""
    click.echo(f"Removed {sessions.remove_expired(current_app)} expired sessions.")


def init_app(app) -> None:
    from .bank.commands import bank_group
    from .integration_commands import COMMANDS as integration_commands

    app.cli.add_command(bank_group)
    for command in (
        init_db_command,
        migrate_command,
        seed_command,
        serve_command,
        create_user_command,
        invite_command,
        close_expired_command,
        remind_command,
        demo_data_command,
        purge_command,
        clean_sessions_command,
        *integration_commands,
    ):
        app.cli.add_command(command)
