"""The API describing itself."""
from __future__ import annotations

from functools import cache
from typing import Any

from careapp.api.openapi import document
from careapp.api.registry import api, bp


@cache
def _document() -> dict[str, Any]:
    # The routes are fixed once the package is imported, so the document is built once per process.
    return document(api.endpoints, bp.url_prefix or "")


@api.route("GET", "/openapi.json", summary="This API's OpenAPI 3.1 document", auth=False, response=dict[str, Any])
def openapi_document() -> dict[str, Any]:
    return _document()
