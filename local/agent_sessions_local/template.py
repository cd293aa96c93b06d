"""Reading template.yaml: the local runtime's one source for routes, functions and the table."""

from __future__ import annotations

import copy
import functools
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

PROJECT_ROOT = Path(__file__).resolve().parents[2]  # the repository (an editable install)
TEMPLATE_PATH = PROJECT_ROOT / "template.yaml"


class _CfnLoader(yaml.SafeLoader):  # type: ignore[misc]  # PyYAML ships no types
    """A YAML loader that keeps CloudFormation's short tags as their long forms (`!Ref X` -> {"Ref": "X"})."""


def _construct_intrinsic(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> dict[str, Any]:
    name = "Ref" if suffix == "Ref" else f"Fn::{suffix}"
    value: Any
    if isinstance(node, yaml.ScalarNode):
        value = loader.construct_scalar(node)
        if suffix == "GetAtt" and isinstance(value, str):
            value = value.split(".", 1)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)
    return {name: value}


_CfnLoader.add_multi_constructor("!", _construct_intrinsic)


def load_template(path: Path = TEMPLATE_PATH) -> dict[str, Any]:
    """The template as plain data (a copy of its own: the caller may change it)."""
    written = path.stat()
    return copy.deepcopy(_parsed_template(path, written.st_mtime_ns, written.st_size))


@functools.lru_cache(maxsize=8)
def _parsed_template(path: Path, mtime_ns: int, size: int) -> dict[str, Any]:
    """The file parsed once per version of it: keyed by its modification time and size, so an edited
    file is parsed again (parsing takes about 90 ms; a copy about 1 ms)."""
    with path.open(encoding="utf-8") as handle:
        template: dict[str, Any] = yaml.load(handle, Loader=_CfnLoader)  # noqa: S506 - a SafeLoader subclass
    return template


@dataclass(frozen=True)
class FunctionSpec:
    """A function as the template declares it."""

    logical_id: str
    code_dir: Path
    module_file: str
    handler_name: str
    environment: dict[str, Any]


@dataclass(frozen=True)
class RouteSpec:
    """An HTTP API route and the function behind it."""

    method: str
    path: str
    function: FunctionSpec
    authorizer: FunctionSpec | None
    authorizer_ttl_seconds: int

    @property
    def pattern(self) -> re.Pattern[str]:
        """The route path as a regex with one named group per `{param}`."""
        escaped = re.sub(r"\\\{([A-Za-z0-9_]+)\\\+\\\}", r"(?P<\1>.+)", re.escape(self.path))  # {proxy+}: the rest
        regex = re.sub(r"\\\{([A-Za-z0-9_]+)\\\}", r"(?P<\1>[^/]+)", escaped)
        return re.compile(f"^{regex}$")


def functions(template: dict[str, Any]) -> dict[str, FunctionSpec]:
    """Every AWS::Serverless::Function, with Globals merged in."""
    globals_function = template.get("Globals", {}).get("Function", {})
    global_env = globals_function.get("Environment", {}).get("Variables", {})
    specs: dict[str, FunctionSpec] = {}
    for logical_id, resource in template["Resources"].items():
        if resource["Type"] != "AWS::Serverless::Function":
            continue
        properties = resource["Properties"]
        module, _, handler_name = properties["Handler"].rpartition(".")
        specs[logical_id] = FunctionSpec(
            logical_id=logical_id,
            code_dir=PROJECT_ROOT / properties["CodeUri"],
            module_file=module.replace(".", "/") + ".py",
            handler_name=handler_name,
            environment={**global_env, **properties.get("Environment", {}).get("Variables", {})},
        )
    return specs


def http_routes(template: dict[str, Any]) -> list[RouteSpec]:
    """Every HttpApi event of every function, with the API's default authorizer."""
    specs = functions(template)
    authorizers: dict[str, tuple[FunctionSpec, int]] = {}
    default_authorizer: str | None = None
    for resource in template["Resources"].values():
        if resource["Type"] != "AWS::Serverless::HttpApi":
            continue
        auth = resource["Properties"].get("Auth", {})
        default_authorizer = auth.get("DefaultAuthorizer")
        for name, authorizer in auth.get("Authorizers", {}).items():
            function_id = authorizer["FunctionArn"]["Fn::GetAtt"][0]
            ttl = int(authorizer.get("Identity", {}).get("ReauthorizeEvery", 0))
            authorizers[name] = (specs[function_id], ttl)
    routes: list[RouteSpec] = []
    for logical_id, resource in template["Resources"].items():
        if resource["Type"] != "AWS::Serverless::Function":
            continue
        for event in resource["Properties"].get("Events", {}).values():
            if event["Type"] != "HttpApi":
                continue
            properties = event["Properties"]
            authorizer_name = properties.get("Auth", {}).get("Authorizer", default_authorizer)
            if authorizer_name == "NONE":  # a route the API Gateway lets through unauthorized
                authorizer_name = None
            authorizer, ttl = authorizers.get(authorizer_name, (None, 0)) if authorizer_name else (None, 0)
            routes.append(
                RouteSpec(
                    method=properties["Method"].upper(),
                    path=properties["Path"],
                    function=specs[logical_id],
                    authorizer=authorizer,
                    authorizer_ttl_seconds=ttl,
                )
            )
    return routes


def table_definition(template: dict[str, Any], table_name: str) -> dict[str, Any]:
    """CreateTable arguments for the template's one AWS::DynamoDB::Table."""
    (properties,) = [
        resource["Properties"]
        for resource in template["Resources"].values()
        if resource["Type"] == "AWS::DynamoDB::Table"
    ]
    definition: dict[str, Any] = {
        "TableName": table_name,
        "BillingMode": properties["BillingMode"],
        "AttributeDefinitions": properties["AttributeDefinitions"],
        "KeySchema": properties["KeySchema"],
    }
    if properties.get("GlobalSecondaryIndexes"):
        definition["GlobalSecondaryIndexes"] = properties["GlobalSecondaryIndexes"]
    if properties.get("StreamSpecification"):
        definition["StreamSpecification"] = {"StreamEnabled": True, **properties["StreamSpecification"]}
    return definition


def ttl_attribute(template: dict[str, Any]) -> str | None:
    """The table's TTL attribute, if it declares one."""
    for resource in template["Resources"].values():
        if resource["Type"] == "AWS::DynamoDB::Table":
            ttl = resource["Properties"].get("TimeToLiveSpecification", {})
            return str(ttl["AttributeName"]) if ttl.get("Enabled") else None
    return None


def functions_with_event(template: dict[str, Any], event_types: tuple[str, ...]) -> list[FunctionSpec]:
    """The functions that have an event of one of these types (ScheduleV2, DynamoDB, SQS, …)."""
    specs = functions(template)
    found = []
    for logical_id, resource in template["Resources"].items():
        if resource["Type"] != "AWS::Serverless::Function":
            continue
        events = resource["Properties"].get("Events", {}).values()
        if any(event.get("Type") in event_types for event in events):
            found.append(specs[logical_id])
    return found


def resource_properties(template: dict[str, Any], logical_id: str) -> dict[str, Any]:
    """A resource's Properties."""
    return dict(template["Resources"][logical_id].get("Properties", {}))
