"""The API's route registry: one decorator adds the Flask route and records what the OpenAPI document says of it.

Every registered view runs the same steps, in this order, so errors come out the same everywhere:
rate limit (429) -> bearer token (401) -> query and body parsed by their pydantic models (400) ->
the view (load, check access, call the rule: 403, 404, 409, 422) -> the result serialised by the
declared response model, with the declared status.
"""
from __future__ import annotations

import inspect
import re
from dataclasses import dataclass
from functools import wraps
from typing import Any, Callable

from flask import Blueprint, Response, current_app, jsonify, request
from pydantic import BaseModel, TypeAdapter, ValidationError

from careapp.accounts.models import ApiToken
from careapp.accounts.services import token_for
from careapp.core.clock import now
from careapp.core.errors import BadInput, NotAuthenticated
from careapp.extensions import csrf, limiter

bp = Blueprint("api", __name__, url_prefix="/api/v1")
# The API authenticates by bearer token only, never by the session cookie, so a forged cross-site
# request carries no credentials: CSRF tokens would protect nothing here.
csrf.exempt(bp)

PATH_PARAMETER = re.compile(r"{(\w+)}")
# Every path parameter is a database id: the app's ``int`` converter (careapp.web.IdConverter) makes one
# outside 1..MAX_ID a 404 that never reaches the database (where it would overflow).
FLASK_ID = "<int:\\1>"


@dataclass(frozen=True)
class Endpoint:
    """What the OpenAPI document says about one route."""

    name: str
    method: str
    path: str  # OpenAPI form below the blueprint's prefix, e.g. "/slots/{slot_id}"
    summary: str
    auth: bool
    status: int
    response: Any  # a pydantic model, list[Model], dict, or None for an empty answer
    body: type[BaseModel] | None
    body_required: bool
    query: type[BaseModel] | None
    errors: frozenset[int]
    rate_limited: bool

    @property
    def path_parameters(self) -> list[str]:
        return PATH_PARAMETER.findall(self.path)

    @property
    def error_statuses(self) -> list[int]:
        """The refusals a client must expect: those the view declares, and those the steps above can give."""
        implied = {400} if (self.body or self.query) else set()
        implied |= {401} if self.auth else set()
        implied |= {404} if self.path_parameters else set()
        implied |= {429} if self.rate_limited else set()
        return sorted(self.errors | implied)


class ApiRegistry:
    def __init__(self, blueprint: Blueprint):
        self.blueprint = blueprint
        self.endpoints: list[Endpoint] = []

    def route(self, method: str, path: str, *, summary: str, auth: bool = True, status: int = 200,
              response: Any = None, body: type[BaseModel] | None = None, body_required: bool = True,
              query: type[BaseModel] | None = None,
              errors: tuple[int, ...] = (), rate_limit: Callable[[], str] | None = None,
              deduct_when: Callable[[Response], bool] | None = None,
              overall_limit: Callable[[], str] | None = None) -> Callable:
        """Register ``func`` at ``method path``. The view receives the path ids by name, and by
        parameter name: ``user`` (the token's user), ``token`` (its row), ``body`` and ``query`` (models).
        With ``body_required=False`` no body (or an empty one) gives the body model's defaults.
        ``rate_limit`` counts the requests ``deduct_when`` picks (every one without it); ``overall_limit``, a
        second limit beside it, counts every request."""

        def register(func: Callable) -> Callable:
            endpoint = Endpoint(func.__name__, method.upper(), path, summary, auth, status, response, body,
                                body_required, query,
                                frozenset(errors), rate_limit is not None or overall_limit is not None)
            view = _view(endpoint, func)
            if rate_limit is not None:
                view = limiter.limit(rate_limit, deduct_when=deduct_when)(view)
            if overall_limit is not None:
                view = limiter.limit(overall_limit, scope=f"{endpoint.name}-overall")(view)
            self.blueprint.add_url_rule(PATH_PARAMETER.sub(FLASK_ID, path), endpoint=endpoint.name,
                                        view_func=view, methods=[endpoint.method])
            self.endpoints.append(endpoint)
            return func

        return register


def _view(endpoint: Endpoint, func: Callable) -> Callable:
    wanted = set(inspect.signature(func).parameters)
    _check_signature(endpoint, wanted)
    adapter = TypeAdapter(endpoint.response) if endpoint.response is not None else None

    @wraps(func)
    def view(**path_ids: int) -> Response:
        arguments: dict[str, Any] = dict(path_ids)
        if endpoint.auth:
            token = bearer_token()
            arguments.update({name: value for name, value in (("user", token.user), ("token", token))
                              if name in wanted})
        if endpoint.query is not None:
            arguments["query"] = parse_query(endpoint.query)
        if endpoint.body is not None:
            arguments["body"] = parse_body(endpoint.body, required=endpoint.body_required)
        result = func(**arguments)
        if adapter is None:
            return Response(status=endpoint.status)
        response = jsonify(adapter.dump_python(result, mode="json"))
        response.status_code = endpoint.status
        return response

    return view


def _check_signature(endpoint: Endpoint, wanted: set[str]) -> None:
    """A route whose view ignores its body, query or user is a mistake; say so at start-up, not in production."""
    needed = set(endpoint.path_parameters)
    needed |= {"body"} if endpoint.body else set()
    needed |= {"query"} if endpoint.query else set()
    if not endpoint.auth and wanted & {"user", "token"}:
        raise TypeError(f"{endpoint.name}: a public route has no user")
    if not needed <= wanted:
        raise TypeError(f"{endpoint.name} must take {sorted(needed - wanted)}")


def bearer_token() -> ApiToken:
    """The live token of ``Authorization: Bearer TOKEN`` (the session cookie is never used by the API)."""
    authorization = request.authorization
    if authorization is None or authorization.type != "bearer" or not authorization.token:
        raise NotAuthenticated("Send 'Authorization: Bearer TOKEN' (get one with POST /api/v1/tokens).")
    return token_for(authorization.token, now=now())


def parse_body(model: type[BaseModel], *, required: bool = True) -> BaseModel:
    if not required and not request.get_data(cache=True).strip():
        return model()
    try:
        return model.model_validate_json(request.get_data(cache=True))
    except ValidationError as error:
        raise bad_input(error, whole="body") from None


def parse_query(model: type[BaseModel]) -> BaseModel:
    # An empty value (``?grid_id=``, as a form sends it) means "not given"; a repeated one stays a
    # list, which the model refuses for its single-valued fields.
    values: dict[str, Any] = {}
    for name in request.args:
        given = [value for value in request.args.getlist(name) if value != ""]
        if given:
            values[name] = given[0] if len(given) == 1 else given
    try:
        return model.model_validate(values)
    except ValidationError as error:
        raise bad_input(error, whole="query") from None


def bad_input(error: ValidationError, *, whole: str) -> BadInput:
    """One message per bad field, named by its path ("needs.diet"); ``whole`` when the input as a whole is bad."""
    fields: dict[str, str] = {}
    for problem in error.errors(include_url=False):
        name = ".".join(str(part) for part in problem["loc"]) or whole
        fields.setdefault(name, problem["msg"])
    return BadInput("Some input is missing or not valid; see fields.", fields=fields)


@bp.after_request
def challenge_on_401(response: Response) -> Response:
    # RFC 6750: a 401 names the scheme the client should use.
    if response.status_code == 401:
        response.headers.setdefault("WWW-Authenticate", 'Bearer realm="careapp"')
    return response


def login_rate_limit() -> str:
    return current_app.config["LOGIN_RATE_LIMIT"]


def token_rate_limit() -> str:
    return current_app.config["TOKEN_RATE_LIMIT"]


def register_rate_limit() -> str:
    return current_app.config["REGISTER_RATE_LIMIT"]


def failed(response: Response) -> bool:
    """Only failed attempts count towards the login limit: a family logging in on many phones is not an attack."""
    return response.status_code >= 400


api = ApiRegistry(bp)
