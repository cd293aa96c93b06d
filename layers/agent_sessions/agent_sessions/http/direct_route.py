"""One route answered without Powertools' resolver: the same checks and answers, a fifth of the CPU.

The payment handler runs on every payment, and Powertools' resolver (route matching, its
validation middleware, the response builder) cost more CPU than everything else the handler adds
(README, "Benchmarks"). A DirectRoute reads the route's own signature once, as the resolver does:
its body model and its `Header(...)` parameters, with their aliases and constraints. It then
answers an event as the resolver would. It validates the headers, then the body, the errors of
both reported together. It calls the very same route function, and answers every error through
the contract's table (`resolver.CONTRACT_ERROR_ANSWERS`).

The resolver stays. It serves every other route, and it is what the OpenAPI document is generated
from. tests/integration/test_direct_route.py holds the two to the same answer for drawn hostile
requests.
"""

from __future__ import annotations

import base64
import inspect
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any, get_args, get_origin, get_type_hints

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response
from aws_lambda_powertools.event_handler.api_gateway import BaseRouter
from aws_lambda_powertools.event_handler.openapi.params import Header
from aws_lambda_powertools.utilities.data_classes import APIGatewayProxyEventV2
from pydantic import BaseModel, TypeAdapter, ValidationError

from agent_sessions.domain.jsonio import parse_json_object_body
from agent_sessions.http.resolver import answer_to_error, proxy_answer, validation_failure


@dataclass(frozen=True)
class _HeaderParameter:
    keyword: str  # the route function's parameter
    header: str  # the header's name, lowercased as API Gateway passes it and as the resolver's errors name it
    adapter: TypeAdapter[Any]
    optional: bool  # None (the header absent) is valid: an absent header needs no validation


def _accepts_none(adapter: TypeAdapter[Any]) -> bool:
    try:
        return adapter.validate_python(None) is None
    except ValidationError:
        return False


class DirectRoute:
    """The single route of a handler's resolver, answered directly."""

    def __init__(self, app: APIGatewayHttpResolver, route: Callable[..., Response[str]]) -> None:
        self._app = app
        self._route = route
        hints = get_type_hints(route, include_extras=True)
        self._headers: list[_HeaderParameter] = []
        self._body: tuple[str, type[BaseModel]] | None = None
        for name in inspect.signature(route).parameters:
            annotation = hints[name]
            if isinstance(annotation, type) and issubclass(annotation, BaseModel):
                self._body = (name, annotation)
                continue
            header = _header_of(annotation)
            if header is None:
                raise TypeError(f"{route.__name__}: {name} is neither the body nor a Header parameter")
            alias = header.alias or name
            adapter = TypeAdapter(annotation)
            self._headers.append(_HeaderParameter(name, alias.lower(), adapter, _accepts_none(adapter)))

    def answer(self, event: dict[str, Any], context: Any) -> dict[str, Any]:
        """The proxy answer the resolver would give `event` (its credential already checked)."""
        # Where the resolver puts them (on the router class, so every router sees them): the route
        # reads its caller from the current event.
        BaseRouter.current_event = APIGatewayProxyEventV2(event, parse_json_object_body)
        BaseRouter.lambda_context = context
        try:
            return proxy_answer(self._route(**self._arguments(event)))
        except Exception as error:  # every error has its answer in the contract's table
            return proxy_answer(answer_to_error(error))

    def _arguments(self, event: dict[str, Any]) -> dict[str, Any]:
        """The route's arguments, validated; a ValidationFailed naming every invalid field."""
        arguments: dict[str, Any] = {}
        errors = self._read_headers(event, arguments)
        if self._body is not None:
            errors += self._read_body(event, arguments, *self._body)
        if errors:
            raise validation_failure(errors)
        return arguments

    def _read_headers(self, event: dict[str, Any], arguments: dict[str, Any]) -> list[dict[str, Any]]:
        """Each Header parameter into `arguments`; the errors of those that are invalid."""
        headers = {name.lower(): value for name, value in (event.get("headers") or {}).items()}
        errors: list[dict[str, Any]] = []
        for parameter in self._headers:
            value = headers.get(parameter.header)
            if value is None and parameter.optional:
                arguments[parameter.keyword] = None
                continue
            try:
                arguments[parameter.keyword] = parameter.adapter.validate_python(value)
            except ValidationError as invalid:
                errors += [{**error, "loc": ("header", parameter.header, *error["loc"])} for error in invalid.errors()]
        return errors

    def _read_body(
        self, event: dict[str, Any], arguments: dict[str, Any], keyword: str, model: type[BaseModel]
    ) -> list[dict[str, Any]]:
        """The body into `arguments` as `model`; its errors. Unparseable JSON raises at once, as in the resolver."""
        try:
            parsed = self._parsed_body(event)
        except json.JSONDecodeError:  # this error alone (like a body too large), as the resolver answers it
            raise validation_failure([{"type": "json_invalid", "loc": ("body",)}]) from None
        if parsed is None:
            return [{"type": "missing", "loc": ("body",), "msg": "Field required"}]
        try:
            arguments[keyword] = model.model_validate(parsed)
        except ValidationError as invalid:
            return [{**error, "loc": ("body", *error["loc"])} for error in invalid.errors()]
        return []

    @staticmethod
    def _parsed_body(event: dict[str, Any]) -> Any:
        body = event.get("body")
        if body and event.get("isBase64Encoded"):
            body = base64.b64decode(body.encode()).decode()
        return parse_json_object_body(body) if body else None


def _header_of(annotation: Any) -> Header | None:
    if get_origin(annotation) is not Annotated:
        return None
    return next((extra for extra in get_args(annotation)[1:] if isinstance(extra, Header)), None)
