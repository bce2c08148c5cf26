"""RFC 9457 problem details: the one error shape of the verifier API.

Every error leaves the service as ``application/problem+json`` with ``type``, ``title``,
``status``, ``detail`` and, where useful, ``hint`` and ``errors`` (validation). Domain errors are
mapped to HTTP here, in one place; routes raise :class:`Problem` or let
:class:`registry.errors.ModelsealError` through.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from registry.errors import ChainError, InputError, KeystoreError, ModelsealError, VerificationError
from verifier.errors import Problem

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
        return problem_response(exc.status_code, slug, title, str(exc.detail), str(request.url.path))

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        return problem_response(
            500,
            "internal-error",
            "Internal error",
            f"unexpected {type(exc).__name__}; this is a bug",
            str(request.url.path),
        )
