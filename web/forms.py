"""Reading request bodies into plain data for the domain's input models."""

from __future__ import annotations

from typing import Any

from aiohttp import web
from aiohttp.web_request import FileField
from multidict import MultiDictProxy

from classroom import schemas
from classroom.errors import N_, InvalidInput

LIST_FIELDS = frozenset({"weekdays", "by_email"})


async def form_fields(request: web.Request) -> MultiDictProxy[str | bytes | bytearray | FileField]:
    """The posted form; a body that does not parse as the form it claims to be is bad input,
    not our error."""
    try:
        return await request.post()
    except (ValueError, AssertionError, LookupError):  # no boundary, unknown charset...
        raise InvalidInput(
            "The form could not be read. Please reload the page and try again."
        ) from None


async def form_data(request: web.Request) -> dict[str, Any]:
    """Form fields as a dict; empty fields are left out so that defaults apply."""
    post = await form_fields(request)
    data: dict[str, Any] = {}
    for key in dict.fromkeys(post.keys()):
        if key == "csrf_token":
            continue
        if not all(isinstance(v, str) for v in post.getall(key)):  # an uploaded file
            raise InvalidInput("Please correct the marked fields.", {key: N_("Please enter text")})
        values = [str(v) for v in post.getall(key) if str(v) != ""]
        if key in LIST_FIELDS:
            data[key] = values
        elif values:
            data[key] = values[-1]
    return data


async def json_data(request: web.Request) -> Any:
    if request.content_type != "application/json":
        raise InvalidInput("Send the request body as JSON (Content-Type: application/json).")
    try:
        return await request.json()
    # ValueError: bad JSON, or a number too long for int(); LookupError: an unknown charset
    # in the Content-Type; RecursionError: brackets nested thousands deep.
    except (ValueError, LookupError, RecursionError):
        raise InvalidInput("The request body is not valid JSON.") from None


def query_data(request: web.Request, *names: str) -> dict[str, str]:
    return {n: request.query[n] for n in names if request.query.get(n, "") != ""}


def int_param(request: web.Request, name: str) -> int:
    """A numeric path parameter (the route pattern admits digits only), within what the
    database stores, or a field error named after it."""
    return schemas.parse_id(name, request.match_info[name])
