"""The OpenAPI 3.1 document, built from the route registry and the pydantic models' JSON Schemas."""
from __future__ import annotations

import typing
from http import HTTPStatus
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from careapp.api.registry import Endpoint
from careapp.api.schemas import ErrorResponse

REF_TEMPLATE = "#/components/schemas/{model}"
ERROR_REF = {"$ref": REF_TEMPLATE.format(model=ErrorResponse.__name__)}


def document(endpoints: list[Endpoint], prefix: str) -> dict[str, Any]:
    refs, components = _schemas(endpoints)
    paths: dict[str, dict[str, Any]] = {}
    for endpoint in endpoints:
        operation = _operation(endpoint, refs, components)
        paths.setdefault(prefix + endpoint.path, {})[endpoint.method.lower()] = operation
    return {
        "openapi": "3.1.0",
        "info": {"title": "careapp API", "version": "1",
                 "description": "Care slots for a sub-district's elders and young children. Every error answers "
                                "{\"error\": {\"code\", \"message\", \"fields\"}}; times are ISO 8601 with an offset."},
        "paths": paths,
        "components": {"schemas": components,
                       "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}},
    }


def _models(response: Any) -> list[type[BaseModel]]:
    """The pydantic models inside a response type such as ``SlotOut`` or ``list[SlotOut]``."""
    if isinstance(response, type) and issubclass(response, BaseModel):
        return [response]
    return [model for argument in typing.get_args(response) for model in _models(argument)]


def _schemas(endpoints: list[Endpoint]) -> tuple[dict, dict[str, Any]]:
    """Every model once, in the mode it is used in; nested models and enums land in the components too."""
    wanted: dict[tuple[type[BaseModel], str], None] = {(ErrorResponse, "serialization"): None}
    for endpoint in endpoints:
        for model in (endpoint.body, endpoint.query):
            if model is not None:
                wanted[(model, "validation")] = None
        for model in _models(endpoint.response):
            wanted[(model, "serialization")] = None
    refs, definitions = models_json_schema(list(wanted), ref_template=REF_TEMPLATE)  # type: ignore[arg-type]
    return refs, definitions.get("$defs", {})


def _response_schema(response: Any, refs: dict) -> dict[str, Any]:
    if isinstance(response, type) and issubclass(response, BaseModel):
        return refs[(response, "serialization")]
    if typing.get_origin(response) is list:
        return {"type": "array", "items": _response_schema(typing.get_args(response)[0], refs)}
    return {"type": "object"}


def _parameters(endpoint: Endpoint, refs: dict, components: dict[str, Any]) -> list[dict[str, Any]]:
    parameters: list[dict[str, Any]] = [
        {"name": name, "in": "path", "required": True, "schema": {"type": "integer", "minimum": 1}}
        for name in endpoint.path_parameters]
    if endpoint.query is not None:
        name = refs[(endpoint.query, "validation")]["$ref"].rsplit("/", 1)[-1]
        query = components[name]
        for field, schema in query["properties"].items():
            parameters.append({"name": field, "in": "query", "required": field in query.get("required", []),
                               "schema": schema, **({"description": schema["description"]}
                                                    if "description" in schema else {})})
    return parameters


def _operation(endpoint: Endpoint, refs: dict, components: dict[str, Any]) -> dict[str, Any]:
    operation: dict[str, Any] = {"operationId": endpoint.name, "summary": endpoint.summary,
                                 "security": [{"bearer": []}] if endpoint.auth else []}
    parameters = _parameters(endpoint, refs, components)
    if parameters:
        operation["parameters"] = parameters
    if endpoint.body is not None:
        operation["requestBody"] = {"required": endpoint.body_required, "content": {
            "application/json": {"schema": refs[(endpoint.body, "validation")]}}}
    success: dict[str, Any] = {"description": HTTPStatus(endpoint.status).phrase}
    if endpoint.response is not None:
        success["content"] = {"application/json": {"schema": _response_schema(endpoint.response, refs)}}
    operation["responses"] = {str(endpoint.status): success}
    for status in endpoint.error_statuses:
        operation["responses"][str(status)] = {"description": HTTPStatus(status).phrase,
                                               "content": {"application/json": {"schema": ERROR_REF}}}
    return operation
