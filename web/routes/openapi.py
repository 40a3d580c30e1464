"""The OpenAPI 3.1 document of the JSON API, built from the API's own endpoint list."""

from __future__ import annotations

import re
from typing import Any

from aiohttp import web
from pydantic import TypeAdapter

from classroom import schemas
from web import api_models
from web.routes.api import ENDPOINTS, Endpoint

REF = "#/components/schemas/{model}"
ERRORS = {
    "401": "Not logged in",
    "403": "Role or CSRF check failed",
    "404": "Not found",
    "409": "Conflicts with the current state (full, double-booked, too late)",
    "422": "Invalid input; `fields` names each bad field",
}
BODY_TOO_LARGE = {"413": "The request body is larger than the server accepts"}
TOO_MANY = {
    "429": "Too many attempts from this address (or for this account or person); see Retry-After"
}
THROTTLED = frozenset(
    {"post_login", "post_signup", "post_check_ice_servers", "post_check_offer", "post_check"}
)
BUSY = {"503": "The server is too busy for this just now; try again in a minute"}
MAY_BE_BUSY = frozenset({"post_check_offer"})


DOCUMENT: web.AppKey[dict[str, Any]] = web.AppKey("openapi")


def setup(app: web.Application) -> None:
    app[DOCUMENT] = build()
    app.router.add_get("/api/openapi.json", serve)


async def serve(request: web.Request) -> web.Response:
    return web.json_response(request.app[DOCUMENT])


def _schema(kind: Any, components: dict[str, Any], mode: str = "validation") -> dict[str, Any]:
    """Inputs are documented as they are read, answers as they are written."""
    schema = TypeAdapter(kind).json_schema(ref_template=REF, mode=mode)  # type: ignore[arg-type]
    components.update(schema.pop("$defs", {}))
    title = schema.get("title")
    if schema.get("type") == "object" and isinstance(title, str) and hasattr(kind, "model_fields"):
        components[title] = schema
        return {"$ref": REF.format(model=title)}
    return schema


def _operation(endpoint: Endpoint, components: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    path = re.sub(r"\{(\w+):[^}]+\}", r"{\1}", endpoint.path)
    operation: dict[str, Any] = {
        "summary": endpoint.summary,
        "operationId": endpoint.handler.__name__,
        "responses": {},
    }
    params = [
        {"name": name, "in": "path", "required": True, "schema": schemas.value_schema(schemas.Id)}
        for name in re.findall(r"\{(\w+)\}", path)
    ]
    if endpoint.query is not None:
        for name, field in endpoint.query.model_fields.items():
            params.append({"name": name, "in": "query", "required": False,
                           "schema": _schema(field.annotation, components)})  # fmt: skip
    if params:
        operation["parameters"] = params
    if endpoint.body is not None:
        operation["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": _schema(endpoint.body, components)}},
        }
    ok: dict[str, Any] = {"description": "Success"}
    if endpoint.response is not None:
        answer = _schema(endpoint.response, components, "serialization")
        ok["content"] = {"application/json": {"schema": answer}}
    operation["responses"][str(endpoint.status)] = ok
    error = {"application/json": {"schema": _schema(api_models.Error, components)}}
    errors = dict(ERRORS)
    if endpoint.body is not None:
        errors |= BODY_TOO_LARGE
    if endpoint.handler.__name__ in THROTTLED:
        errors |= TOO_MANY
    if endpoint.handler.__name__ in MAY_BE_BUSY:
        errors |= BUSY
    for status, text in sorted(errors.items()):
        operation["responses"][status] = {"description": text, "content": error}
    if endpoint.roles is None:
        operation["security"] = []
    else:
        roles = ", ".join(role.value for role in endpoint.roles)
        operation["description"] = f"Allowed for: {roles}."
    if endpoint.method not in ("GET", "HEAD"):
        operation.setdefault("parameters", []).append(
            {"name": "X-CSRF-Token", "in": "header", "required": True,
             "description": "The csrf_token from GET /api/v1/session", "schema": {"type": "string"}}
        )  # fmt: skip
    return path, operation


def build() -> dict[str, Any]:
    components: dict[str, Any] = {}
    paths: dict[str, dict[str, Any]] = {}
    for endpoint in ENDPOINTS:
        path, operation = _operation(endpoint, components)
        paths.setdefault(path, {})[endpoint.method.lower()] = operation
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Kelas API",
            "version": "1",
            "description": "Scheduling for live conversation classes. Log in with "
            "POST /api/v1/login (the session is a cookie); send the csrf_token in X-CSRF-Token "
            "with every state-changing request.",
        },
        "paths": paths,
        "components": {
            "schemas": components,
            "securitySchemes": {
                "session": {"type": "apiKey", "in": "cookie", "name": "kelas_session"}
            },
        },
        "security": [{"session": []}],
    }
