"""The OpenAPI 3 document of /api/v1, built per request: quiz slugs are listed as enums, so
clients (and schemathesis, in the tests) know the valid values."""

from ..models import RESULT_VIEWS

NUMBER = {"type": "number", "nullable": True}
# Explicit character classes, no \s: regex engines disagree about whitespace (the server
# checks the same pattern).
EMAIL = r"^[^@\u0000-\u0020\u007f]{1,64}@[^@\u0000-\u0020\u007f]+\.[^@\u0000-\u0020\u007f]+$"
TIME = {"type": "string", "format": "date-time", "nullable": True}
ERRORS = {
    "400": "The parameters or the body are not valid (see `fields`).",
    "401": "No token, or a token that is unknown, revoked, or of a deactivated user.",
    "403": "The token's user does not have the role this operation needs.",
    "404": "Not found, or not visible to the token's user.",
}


def _ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(schema: dict, description: str) -> dict:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _errors(*codes: str) -> dict:
    out = {}
    for code in codes:
        out[code] = _json(_ref("Error"), ERRORS[code])
        if code == "401":
            out[code]["headers"] = {
                "WWW-Authenticate": {"schema": {"type": "string"}, "required": True}
            }
    return out


def _slug(slugs: list[str]) -> dict:
    schema = {"type": "string", "maxLength": 120}
    if slugs:
        schema["enum"] = slugs
    return schema


def _query(name: str, schema: dict, description: str) -> dict:
    return {
        "name": name,
        "in": "query",
        "required": False,
        "schema": schema,
        "description": description,
    }


PAGING = [
    _query("page", {"type": "integer", "minimum": 1, "maximum": 1_000_000}, "Page number."),
    _query("per_page", {"type": "integer", "minimum": 1, "maximum": 100}, "Items per page (50)."),
]


def _schemas(active: list[str]) -> dict:
    candidate = {
        "type": "object",
        "required": ["name", "email"],
        "properties": {"name": {"type": "string"}, "email": {"type": "string"}},
    }
    attempt_props = {
        "id": {"type": "string", "description": "The attempt's public id."},
        "quiz": {"type": "string"},
        "status": {"type": "string", "enum": ["in_progress", "submitted", "expired"]},
        "candidate": candidate,
        "invitation": {"type": "integer", "nullable": True},
        "started_at": TIME,
        "deadline": TIME,
        "finished_at": TIME,
        "score": NUMBER,
        "max_score": NUMBER,
        "percent": NUMBER,
        "level": {"type": "string", "nullable": True, "enum": ["junior", "mid", "senior", None]},
    }
    answer = {
        "type": "object",
        "required": ["position", "question", "answered", "correct", "score"],
        "properties": {
            "position": {"type": "integer"},
            "question": {"type": "string", "description": "The question's slug."},
            "version": {"type": "integer"},
            "topic": {"type": "string"},
            "level": {"type": "string"},
            "kind": {"type": "string"},
            "points": {"type": "integer"},
            "answered": {"type": "boolean"},
            "response": {"description": "The candidate's answer as saved (any JSON)."},
            "correct": {"type": "boolean"},
            "score": {"type": "number"},
            "flagged": {"type": "boolean"},
            "time_spent": {
                "type": "integer",
                "nullable": True,
                "description": "Seconds; null when unknown (no valid 'question shown' stamp).",
            },
            "answered_at": TIME,
        },
    }
    invitation = {
        "type": "object",
        "required": ["id", "quiz", "candidate", "status", "expires_at"],
        "properties": {
            "id": {"type": "integer"},
            "quiz": {"type": "string"},
            "candidate": candidate,
            "status": {
                "type": "string",
                "enum": ["invited", "opened", "started", "completed", "expired", "revoked"],
            },
            "created_at": TIME,
            "expires_at": TIME,
            "time_limit": {"type": "integer", "nullable": True},
            "result": {"type": "string", "enum": list(RESULT_VIEWS)},
            "show_score": {"type": "boolean", "description": "result is not none (older field)."},
            "created_by": {"type": "string", "nullable": True},
            "attempt": {"type": "string", "nullable": True},
        },
    }

    def page_of(item: dict) -> dict:
        return {
            "type": "object",
            "required": ["items", "page", "per_page", "total", "pages"],
            "properties": {
                "items": {"type": "array", "items": item},
                "page": {"type": "integer"},
                "per_page": {"type": "integer"},
                "total": {"type": "integer"},
                "pages": {"type": "integer"},
            },
        }

    flag = {
        "type": "object",
        "required": ["code", "reason"],
        "properties": {
            "code": {
                "type": "string",
                "enum": ["too_hard", "too_easy", "low_discrimination", "no_discrimination"],
            },
            "reason": {"type": "string"},
        },
    }
    question = {
        "type": "object",
        "required": ["slug", "facility", "discrimination", "flags"],
        "properties": {
            "slug": {"type": "string"},
            "topic": {"type": "string"},
            "level": {"type": "string"},
            "attempts": {"type": "integer"},
            "facility": NUMBER,
            "sd": NUMBER,
            "discrimination": NUMBER,
            "efficiency": NUMBER,
            "flags": {"type": "array", "items": flag},
        },
    }
    stats = {
        "type": "object",
        "required": ["attempts", "mean", "alpha", "questions"],
        "properties": {
            "quiz": {"type": "string"},
            "scope": {"type": "string", "enum": ["first", "all"]},
            "attempts": {"type": "integer", "minimum": 0},
            "started": {"type": "integer"},
            "completed": {"type": "integer"},
            "completion_rate": NUMBER,
            "mean": {**NUMBER, "description": "Mean score, percent of the maximum."},
            "median": NUMBER,
            "sd": NUMBER,
            "skewness": NUMBER,
            "kurtosis": NUMBER,
            "alpha": {**NUMBER, "description": "Cronbach's alpha."},
            "error_ratio": NUMBER,
            "sem": NUMBER,
            "histogram": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["low", "high", "count"],
                    "properties": {
                        "low": {"type": "integer"},
                        "high": {"type": "integer"},
                        "count": {"type": "integer"},
                    },
                },
            },
            "topics": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {
                        "topic": {"type": "string"},
                        "questions": {"type": "integer"},
                        "average": NUMBER,
                    },
                },
            },
            "questions": {"type": "array", "items": question},
        },
    }
    new_invitation = {
        "type": "object",
        "required": ["quiz", "name", "email"],
        "additionalProperties": False,  # an unknown field is refused with 400
        "properties": {
            "quiz": _slug(active),
            "name": {
                "type": "string",
                "maxLength": 200,
                "pattern": r"^[^\u0000]*[^\u0000-\u0020\u007f][^\u0000]*$",
                "description": "The candidate's name (surrounding spaces are removed).",
            },
            "email": {"type": "string", "maxLength": 254, "pattern": EMAIL},
            "days": {"type": "integer", "minimum": 1, "maximum": 90, "default": 7},
            "time_limit": {"type": "integer", "minimum": 1, "maximum": 600, "nullable": True},
            "result": {
                "type": "string",
                "enum": list(RESULT_VIEWS),
                "default": "none",
                "description": "What the candidate sees at the end; review shows the key.",
            },
            "show_score": {
                "type": "boolean",
                "default": False,
                "description": "Older field: true is result topics.",
            },
        },
    }
    return {
        "Error": {
            "type": "object",
            "required": ["status", "error", "message"],
            "properties": {
                "status": {"type": "integer"},
                "error": {"type": "string"},
                "message": {"type": "string"},
                "fields": {"type": "object", "additionalProperties": {"type": "string"}},
            },
        },
        "Attempt": {"type": "object", "required": list(attempt_props), "properties": attempt_props},
        "AttemptDetail": {
            "allOf": [
                _ref("Attempt"),
                {
                    "type": "object",
                    "required": ["answers"],
                    "properties": {"answers": {"type": "array", "items": answer}},
                },
            ]
        },
        "AttemptPage": page_of(_ref("Attempt")),
        "Invitation": invitation,
        "InvitationPage": page_of(_ref("Invitation")),
        "NewInvitation": new_invitation,
        "CreatedInvitation": {
            "type": "object",
            "required": ["invitation", "link"],
            "properties": {
                "invitation": _ref("Invitation"),
                "link": {"type": "string", "description": "The candidate's link, shown once."},
            },
        },
        "Stats": stats,
    }


def document(server: str, quizzes: list[str], active: list[str]) -> dict:
    """The OpenAPI 3.0 document; `quizzes`: every quiz slug, `active`: those open to invite."""
    secured = [{"bearer": []}]
    return {
        "openapi": "3.0.3",
        "info": {
            "title": "Flask Quiz API",
            "version": "1.0.0",
            "description": "Attempts, invitations and quiz statistics. Authenticate with an API "
            "token (admins create them under /bank/api-tokens or with `manage.py api-token "
            "EMAIL`): `Authorization: Bearer <token>`. A token acts as its user: reviewers and "
            "admins read every attempt, recruiters the attempts of their own invitations. "
            "Errors are JSON objects with `status`, `error`, `message` and, for invalid input, "
            "`fields`.",
        },
        "servers": [{"url": server}],
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "schemas": _schemas(active),
        },
        "security": secured,
        "paths": {
            "/attempts": {
                "get": {
                    "operationId": "listAttempts",
                    "summary": "List attempts, newest first",
                    "parameters": [
                        _query("quiz", _slug(quizzes), "Only attempts of this quiz."),
                        _query(
                            "status",
                            {"type": "string", "enum": ["in_progress", "submitted", "expired"]},
                            "Only attempts in this state.",
                        ),
                        *PAGING,
                    ],
                    "responses": {
                        "200": _json(_ref("AttemptPage"), "A page of attempts."),
                        **_errors("400", "401"),
                    },
                }
            },
            "/attempts/{id}": {
                "get": {
                    "operationId": "getAttempt",
                    "summary": "One attempt with every question and answer",
                    "parameters": [
                        {
                            "name": "id",
                            "in": "path",
                            "required": True,
                            "schema": {"type": "string", "pattern": "^[A-Za-z0-9_-]{1,43}$"},
                            "description": "The attempt's public id.",
                        }
                    ],
                    "responses": {
                        "200": _json(_ref("AttemptDetail"), "The attempt."),
                        **_errors("401", "404"),
                    },
                }
            },
            "/invitations": {
                "get": {
                    "operationId": "listInvitations",
                    "summary": "List invitations, newest first (recruiters: their own)",
                    "parameters": [
                        _query("quiz", _slug(quizzes), "Only invitations to this quiz."),
                        *PAGING,
                    ],
                    "responses": {
                        "200": _json(_ref("InvitationPage"), "A page of invitations."),
                        **_errors("400", "401", "403"),
                    },
                },
                "post": {
                    "operationId": "createInvitation",
                    "summary": "Invite a candidate; the link is in this answer only",
                    "requestBody": {
                        "required": True,
                        "content": {"application/json": {"schema": _ref("NewInvitation")}},
                    },
                    "responses": {
                        "201": _json(_ref("CreatedInvitation"), "The invitation and its link."),
                        **_errors("400", "401", "403"),
                    },
                },
            },
            "/quizzes/{slug}/stats": {
                "get": {
                    "operationId": "quizStats",
                    "summary": "Item analysis and score statistics of a quiz",
                    "parameters": [
                        {
                            "name": "slug",
                            "in": "path",
                            "required": True,
                            "schema": _slug(quizzes),
                        },
                        _query(
                            "attempts",
                            {"type": "string", "enum": ["first", "all"], "default": "first"},
                            "Each candidate's first completed attempt (default), or all.",
                        ),
                    ],
                    "responses": {
                        "200": _json(_ref("Stats"), "The statistics."),
                        **_errors("400", "401", "403", "404"),
                    },
                }
            },
            "/openapi.json": {
                "get": {
                    "operationId": "openapi",
                    "summary": "This document",
                    "security": [],
                    "responses": {"200": _json({"type": "object"}, "The OpenAPI document.")},
                }
            },
        },
    }
