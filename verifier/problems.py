"""RFC 9457 problem details: the one error shape of the verifier API.

Every error leaves the service as ``application/problem+json`` with ``type``, ``title``,
``status``, ``detail`` and, where useful, ``hint`` and ``errors`` (validation). Domain errors are
mapped to HTTP here, in one place; routes raise :class:`Problem` or let
:class:`registry.errors.ModelsealError` through.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.exc import SQLAlchemyError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

from registry.errors import ChainError, InputError, KeystoreError, ModelsealError, VerificationError
from verifier.errors import Problem
from verifier.schemas import WITH_EXAMPLES, Confusion, IgnoredProof, json_schema_of

log = logging.getLogger("modelseal.verifier")
PROBLEM_JSON = "application/problem+json"
TYPE_BASE = "https://modelseal.dev/problems/"


def problem_response(
    status: int, slug: str, title: str, detail: str, instance: str | None = None, **extra: Any
) -> JSONResponse:
    body: dict[str, Any] = {"type": TYPE_BASE + slug, "title": title, "status": status, "detail": detail}
    if instance:
        body["instance"] = instance
    body.update({k: v for k, v in extra.items() if v is not None})
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON)


def _status_for(exc: ModelsealError) -> tuple[int, str, str]:
    if isinstance(exc, ChainError):
        return 503, "chain-unavailable", "The chain could not be read"
    if isinstance(exc, VerificationError):
        return 422, "verification-failed", "Verification failed"
    if isinstance(exc, InputError | KeystoreError):
        return 422, "invalid-input", "The input was refused"
    return 400, "bad-request", "Bad request"


def _allowed_methods(request: Request) -> list[str]:
    """The methods some route serves at this path; Starlette's own ``Allow`` names only the first
    route whose path matched (``GET`` and ``POST /v1/behaviour-checks`` are two routes)."""
    allowed: set[str] = set()
    for route in request.app.router.routes:
        match, _ = route.matches(request.scope)
        if match != Match.NONE:
            allowed |= set(getattr(route, "methods", None) or ())
    return sorted(allowed)


def install(app: FastAPI) -> None:
    @app.exception_handler(Problem)
    async def _problem(request: Request, exc: Problem) -> JSONResponse:
        response = problem_response(exc.status, exc.slug, exc.title, exc.detail, str(request.url.path), **exc.extra)
        response.headers.update(exc.headers)
        return response

    @app.exception_handler(ModelsealError)
    async def _domain(request: Request, exc: ModelsealError) -> JSONResponse:
        status, slug, title = _status_for(exc)
        return problem_response(status, slug, title, exc.message, str(request.url.path), hint=exc.hint)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [
            {"where": ".".join(str(p) for p in e.get("loc", ())), "message": str(e.get("msg", ""))}
            for e in exc.errors()
        ]
        first = errors[0] if errors else {"where": "request", "message": "invalid"}
        return problem_response(
            422,
            "invalid-request",
            "The request is not valid",
            f"{first['where']}: {first['message']}",
            str(request.url.path),
            errors=errors,
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        titles = {404: ("not-found", "Not found"), 405: ("method-not-allowed", "Method not allowed")}
        slug, title = titles.get(exc.status_code, ("http-error", "HTTP error"))
        response = problem_response(exc.status_code, slug, title, str(exc.detail), str(request.url.path))
        response.headers.update(exc.headers or {})
        if exc.status_code == 405:  # Allow: every method of every route at this path (RFC 9110)
            response.headers["Allow"] = ", ".join(_allowed_methods(request))
        return response

    @app.exception_handler(SQLAlchemyError)
    async def _database(request: Request, exc: SQLAlchemyError) -> JSONResponse:
        log.warning("index database: %s", exc)  # the driver's words (SQL, paths) stay in the log
        response = problem_response(
            503,
            "database-unavailable",
            "The index database is unavailable",
            "the index database could not be read or written (locked, full or down); nothing was changed",
            str(request.url.path),
            retryAfter=5,
        )
        response.headers["Retry-After"] = "5"
        return response

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        return problem_response(
            500,
            "internal-error",
            "Internal error",
            f"unexpected {type(exc).__name__}; this is a bug",
            str(request.url.path),
        )


# --- the contract: every error response documented as problem details -----------------------


class ValidationIssue(BaseModel):
    """One invalid part of a request."""

    where: str = Field(description="where in the request: query.url, body.proof.0, ...")
    message: str


class ProblemDetails(BaseModel):
    """An RFC 9457 problem: what went wrong, in words, with a stable ``type`` URI per kind. Open:
    a kind of problem may add members; those known are declared."""

    model_config = ConfigDict(
        extra="allow",
        json_schema_extra={
            "examples": [
                {
                    "type": TYPE_BASE + "release-not-found",
                    "title": "Release not found",
                    "status": 404,
                    "detail": "deepseek/chat/9.9 is not published",
                    "instance": "/v1/releases/deepseek/chat/9.9",
                }
            ]
        },
    )
    type: str = Field(description="a URI naming the kind of problem (stable; see docs/verifier.md)")
    title: str = Field(description="the kind of problem, in words")
    status: int = Field(ge=400, le=599, description="the HTTP status")
    detail: str = Field(description="what happened, in words")
    instance: str | None = Field(default=None, description="the path that was asked for")
    hint: str | None = Field(default=None, description="what to do next")
    errors: list[ValidationIssue] | None = Field(default=None, description="each invalid part of the request (422)")
    retryAfter: int | None = Field(default=None, description="seconds to wait (429, 503), as in Retry-After")
    confusableWith: list[Confusion] | None = Field(
        default=None, description="an unclaimed namespace's look-alikes (namespace-not-found)"
    )
    ignored: list[IgnoredProof] | None = Field(
        default=None, description="proofs set aside, with the reason (manifest-not-signed-by-anchoring-key)"
    )


_DESCRIPTIONS = {
    400: "The body is not acceptable JSON (syntax, depth, numbers, duplicate members)",
    404: "Not found",
    405: "Method not allowed (Allow lists the methods)",
    409: "Conflict",
    413: "The request body is too large",
    422: "The request is well formed but refused",
    429: "Too many requests (Retry-After says when to try again)",
    503: "Busy or the chain is unavailable (Retry-After says when to try again)",
}
_RETRY = {"Retry-After": {"description": "seconds to wait", "schema": {"type": "integer", "minimum": 1}}}


def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """``responses=`` for a route: these statuses answered with problem details."""
    return {status: {"description": _DESCRIPTIONS.get(status, "Problem")} for status in statuses}


def install_openapi(app: FastAPI) -> None:
    """Make the published OpenAPI say what the service does: every 4xx/5xx response is
    ``application/problem+json`` (:class:`ProblemDetails`); every ``/v1`` operation but health may
    answer 429, every operation with a body 400 and 413; 429 and 503 carry ``Retry-After``."""
    from fastapi.openapi.utils import get_openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        schema = get_openapi(title=app.title, version=app.version, summary=app.summary, routes=app.routes)
        components = schema.setdefault("components", {}).setdefault("schemas", {})
        for name, definition in json_schema_of([ProblemDetails]).items():
            components.setdefault(name, definition)
        for name in ("HTTPValidationError", "ValidationError"):
            components.pop(name, None)
        for model in WITH_EXAMPLES:  # FastAPI drops every null from the document, examples' too
            components[model.__name__]["examples"] = model.model_json_schema(by_alias=True)["examples"]
        problem = {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/ProblemDetails"}}}
        for path, item in schema.get("paths", {}).items():
            for op in item.values():
                responses = op.setdefault("responses", {})
                extra = [429, 503] if path.startswith("/v1/") and path != "/v1/health" else []
                if "requestBody" in op:
                    extra += [400, 413]
                for status in extra:
                    responses.setdefault(str(status), {"description": _DESCRIPTIONS[status]})
                for status, response in responses.items():
                    if status[:1] in ("4", "5"):
                        response["content"] = problem
                        if status in ("429", "503"):
                            response["headers"] = _RETRY
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]
