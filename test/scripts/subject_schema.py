#!/usr/bin/env python3
"""Validate JSON documents against a JSON Schema, standard library only.

Supports the keywords doc/export.schema.json uses: type (string or list),
required, properties, additionalProperties (boolean or schema), items, enum,
anyOf.  Annotations (title, description, format, $schema, $id) are ignored.
Usage: subject_schema.py SCHEMA DOCUMENT...; exit status 1 on the first error.
"""
import json
import sys

TYPES = {
    "object": lambda v: isinstance(v, dict),
    "array": lambda v: isinstance(v, list),
    "string": lambda v: isinstance(v, str),
    "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "number": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
    "boolean": lambda v: isinstance(v, bool),
    "null": lambda v: v is None,
}


def errors(schema, value, path):
    """Yield every violation of schema by value, as 'path: message'."""
    if schema is True or schema == {}:
        return
    if schema is False:
        yield f"{path}: no value allowed here"
        return
    if "type" in schema:
        types = schema["type"] if isinstance(schema["type"], list) else [schema["type"]]
        if not any(TYPES[t](value) for t in types):
            yield f"{path}: {json.dumps(value)[:60]} is not of type {'/'.join(types)}"
            return
    if "enum" in schema and value not in schema["enum"]:
        yield f"{path}: {json.dumps(value)[:60]} is not one of {schema['enum']}"
    if "anyOf" in schema:
        if all(list(errors(s, value, path)) for s in schema["anyOf"]):
            yield f"{path}: matches none of the anyOf alternatives"
    if isinstance(value, dict):
        props = schema.get("properties", {})
        for key in schema.get("required", []):
            if key not in value:
                yield f"{path}: required key '{key}' missing"
        for key, sub in value.items():
            if key in props:
                yield from errors(props[key], sub, f"{path}.{key}")
            elif "additionalProperties" in schema:
                yield from errors(schema["additionalProperties"], sub, f"{path}.{key}")
    if isinstance(value, list) and "items" in schema:
        for i, sub in enumerate(value):
            yield from errors(schema["items"], sub, f"{path}[{i}]")


def main():
    with open(sys.argv[1]) as f:
        schema = json.load(f)
    status = 0
    for name in sys.argv[2:]:
        with open(name) as f:
            doc = json.load(f)
        found = list(errors(schema, doc, "$"))
        for e in found[:20]:
            print(f"{name}: {e}")
        if found:
            status = 1
    return status


if __name__ == "__main__":
    sys.exit(main())
