"""/healthz for monitors: 200 when the database and the session store answer, else 503."""

from flask import Blueprint, current_app, jsonify

from .db import database

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz():
    checks = {}
    try:
        database.execute_sql("SELECT 1")
        checks["database"] = "ok"
    except Exception as e:  # any failure means "not healthy", never a 500
        checks["database"] = f"error: {type(e).__name__}"
    try:
        redis_client = current_app.config.get("SESSION_REDIS")
        if redis_client is not None:
            redis_client.ping()
        else:
            current_app.config["SESSION_CACHELIB"].has("healthz")
        checks["sessions"] = "ok"
    except Exception as e:
        checks["sessions"] = f"error: {type(e).__name__}"
    healthy = all(v == "ok" for v in checks.values())
    return jsonify(
        status="ok" if healthy else "unavailable", checks=checks
    ), 200 if healthy else 503
