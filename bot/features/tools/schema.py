"""A tool's `parameters`: a JSON Schema object the model can fill, checked before it is offered,
and the model's arguments checked against it at call time.

`check_parameters` refuses, with a fix, what would make the model's call fail or the request be
ambiguous: a top level that is not an object, properties that are not schemas, unknown types,
`required` naming no property, and anything the JSON Schema meta-schema refuses.

`ArgumentCheck` validates one call's arguments with `jsonschema` (the maintained validator):
an argument the schema does not declare when `additionalProperties` is false, a wrong type or
a missing required one is a short line for the model, and nothing is sent. Remote `$ref`s are
never fetched.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import jsonschema
from jsonschema.validators import validator_for

TYPES = frozenset({"string", "number", "integer", "boolean", "array", "object", "null"})


class SchemaError(ValueError):
    """What is wrong, and how to fix it, in one line."""


def check_parameters(schema: Mapping[str, Any]) -> None:
    if schema.get("type") != "object":
        raise SchemaError('the top level must be type = "object" (the arguments object)')
    _check(schema, "parameters")
    required = schema.get("required", [])
    properties = schema.get("properties", {})
    for name in required:
        if name not in properties:
            raise SchemaError(f"required names {name!r}, which is not in properties: add it "
                              "to properties or remove it from required")
    try:
        ArgumentCheck(schema)
    except jsonschema.SchemaError as exc:
        raise SchemaError(f"parameters is not a valid JSON Schema: {exc.message}") from None


# A problem named to the model at most this long (a schema's own texts can be long).
PROBLEM_CHARS = 300
# At most this many problems named in one line.
PROBLEMS = 3


class ArgumentCheck:
    """One tool's arguments schema, ready to check calls (raises jsonschema.SchemaError when
    the schema itself is not valid JSON Schema)."""

    def __init__(self, schema: Mapping[str, Any]) -> None:
        cls = validator_for(dict(schema), default=jsonschema.Draft202012Validator)
        cls.check_schema(dict(schema))
        self._validator = cls(dict(schema))

    def problem(self, arguments: Mapping[str, object]) -> str | None:
        """What is wrong with `arguments`, in one line for the model, or None."""
        instance: dict[str, Any] = dict(arguments)
        errors = sorted(self._validator.iter_errors(instance),
                        key=lambda error: [str(part) for part in error.absolute_path])
        if not errors:
            return None
        lines = []
        for error in errors[:PROBLEMS]:
            where = "/".join(str(part) for part in error.absolute_path)
            text = f"{where}: {error.message}" if where else error.message
            lines.append(text if len(text) <= PROBLEM_CHARS else text[:PROBLEM_CHARS] + "…")
        return "; ".join(lines)


def _check(schema: Mapping[str, Any], where: str) -> None:
    kind = schema.get("type")
    kinds = kind if isinstance(kind, list) else [kind] if kind is not None else []
    for one in kinds:
        if one not in TYPES:
            raise SchemaError(f"{where}: unknown type {one!r}: use one of "
                              f"{', '.join(sorted(TYPES))}")
    if "properties" in schema:
        properties = schema["properties"]
        if not isinstance(properties, Mapping):
            raise SchemaError(f"{where}.properties must be a table of schemas")
        for name, sub in properties.items():
            if not isinstance(sub, Mapping):
                raise SchemaError(f"{where}.properties.{name} must be a table such as "
                                  '{ type = "string" }')
            _check(sub, f"{where}.properties.{name}")
    if "required" in schema:
        required = schema["required"]
        if not isinstance(required, list) or not all(isinstance(n, str) for n in required):
            raise SchemaError(f"{where}.required must be a list of property names")
    if "items" in schema:
        if not isinstance(schema["items"], Mapping):
            raise SchemaError(f"{where}.items must be a schema table")
        _check(schema["items"], f"{where}.items")
    if "enum" in schema and not isinstance(schema["enum"], list):
        raise SchemaError(f"{where}.enum must be a list of values")
    extra = schema.get("additionalProperties")
    if extra is not None and not isinstance(extra, bool | Mapping):
        raise SchemaError(f"{where}.additionalProperties must be true, false or a schema")
    for key in ("description", "title"):
        if key in schema and not isinstance(schema[key], str):
            raise SchemaError(f"{where}.{key} must be a string")
