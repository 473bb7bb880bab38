"""Flask skills assessment: the application factory."""

import os
from pathlib import Path

from flask import Flask

ROOT = Path(__file__).resolve().parent.parent


def create_app(config: dict | None = None) -> Flask:
    """Build the app: defaults, instance/config.py, QUIZ_* variables, then `config`."""
    config = dict(config or {})
    instance_path = config.pop("INSTANCE_PATH", None) or os.environ.get("QUIZ_INSTANCE_PATH")
    app = Flask(
        __name__,
        instance_path=str(Path(instance_path).resolve()) if instance_path else None,
        instance_relative_config=True,
        template_folder=str(ROOT / "templates"),
        static_folder=str(ROOT / "static"),
    )
    app.config.from_object("quiz.config")
    app.config.from_pyfile("config.py", silent=True)
    app.config.from_prefixed_env("QUIZ")
    app.config.update(config)
    os.makedirs(app.instance_path, exist_ok=True)

    from . import cli, db, errors, htmx, markup, security, sessions

    security.ensure_secret_key(app)
    db.init_app(app)
    sessions.init_app(app)
    htmx.init_app(app)
    security.init_app(app)
    errors.init_app(app)
    markup.init_app(app)
    cli.init_app(app)

    from . import static_files

    static_files.init_app(app)
    if app.config.get("PROXY_FIX"):  # trust N proxies' X-Forwarded-For/-Proto/-Host
        from werkzeug.middleware.proxy_fix import ProxyFix

        hops = int(app.config["PROXY_FIX"])
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)

    from .api import bp as api_bp
    from .auth import bp as auth_bp
    from .auth.users import current_user
    from .bank_admin import bp as bank_admin_bp
    from .candidate import bp as candidate_bp
    from .dashboard import bp as dashboard_bp
    from .dashboard_analytics import bp as analytics_bp
    from .health import bp as health_bp
    from .invitations import bp as invitations_bp

    for blueprint in (candidate_bp, auth_bp, invitations_bp, bank_admin_bp, health_bp):
        app.register_blueprint(blueprint)
    app.register_blueprint(dashboard_bp)
    app.register_blueprint(analytics_bp)
    app.register_blueprint(api_bp)
    app.jinja_env.globals["current_user"] = current_user
    return app
