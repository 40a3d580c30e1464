"""Reading request bodies into plain data for the domain's input models."""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web

from classroom.errors import InvalidInput, NotFound

LIST_FIELDS = frozenset({"weekdays"})


async def form_data(request: web.Request) -> dict[str, Any]:
    """Form fields as a dict; empty fields are left out so that defaults apply."""
    post = await request.post()
    data: dict[str, Any] = {}
    for key in dict.fromkeys(post.keys()):
        if key == "csrf_token":
            continue
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
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise InvalidInput("The request body is not valid JSON.") from None


def query_data(request: web.Request, *names: str) -> dict[str, str]:
    return {n: request.query[n] for n in names if request.query.get(n, "") != ""}


MAX_ID = 2**31 - 1


def int_param(request: web.Request, name: str) -> int:
    """A numeric path parameter (the route pattern admits digits only); ids beyond what the
    database stores cannot exist."""
    value = int(request.match_info[name])
    if value > MAX_ID:
        raise NotFound("Not found.")
    return value
