"""Validation errors -> sentences a person fixing the file understands, with key path and line.

Each problem becomes ``<key path>: <what is wrong> (got <value>)``, the path written the way
YAML reads (``applications[1].events[0].name``). Values of unknown keys are never shown: that
is where a misplaced API token would be.
"""

import difflib
import re
import types
from collections.abc import Sequence
from datetime import timedelta
from typing import Annotated, Any, Union, get_args, get_origin

from pydantic import BaseModel
from pydantic_core import ErrorDetails

from exporter.config.durations import format_duration
from exporter.config.models import Config
from exporter.config.yamlsource import YamlDocument

Loc = Sequence[str | int]

_PLAIN_KEY = re.compile(r"[A-Za-z0-9_-]{1,40}")
_SHOWN_CHARS = 40
_TOKEN_KEYS = {"api_token", "token", "api_key", "auth", "access_token"}

_SENTENCES = {
    "missing": "required key is missing",
    "string_type": "must be a string",
    "int_type": "must be an integer",
    "bool_type": "must be true or false",
    "list_type": "must be a list",
    "model_type": "must be a mapping (key: value lines)",
    "dict_type": "must be a mapping (key: value lines)",
    "path_type": "must be a file path",
    "string_too_short": "must not be empty",
    "too_short": "must not be an empty list",
    "recursion_loop": "refers to itself (a YAML alias inside its own anchor)",
}
"""Pydantic's error types -> our sentence, for those that need no context."""

_NO_VALUE_SHOWN = {
    "missing",
    "extra_forbidden",
    "string_too_short",
    "too_short",
    "recursion_loop",
    "duplicate",
    "nothing",
    "no_targets",
    "attribute_values",
    "unknown_collector",
    "secret",
}
"""Error types where "(got ...)" would be noise, or (unknown keys, secrets) must never appear."""

_OWN_SENTENCES = {
    "duration",
    "bound",
    "url",
    "platform",
    "duplicate",
    "nothing",
    "no_targets",
    "attribute_values",
    "timezone",
    "unknown_collector",
    "pattern",
    "rule",
    "secret",
}
"""Error types raised by our validators, whose message is already the sentence to show.
``rule`` is any check of ours; ``secret`` is one on a value never to be echoed."""


def format_path(loc: Loc) -> str:
    """``("applications", 1, "events", 0, "name")`` -> ``applications[1].events[0].name``."""
    text = ""
    for part in loc:
        if isinstance(part, int):
            text += f"[{part}]"
        elif _PLAIN_KEY.fullmatch(part):
            text += f".{part}" if text else part
        else:
            shown = part if len(part) <= _SHOWN_CHARS else part[:_SHOWN_CHARS] + "..."
            text += f"[{shown!r}]"
    return text


def show_value(value: Any, quoted: bool = True) -> str:
    """A short, one-line, YAML-flavoured rendering of a value for "(got ...)"."""
    if value is None:
        return "an empty value"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, timedelta):
        return format_duration(value)
    if isinstance(value, str):
        shown = value if len(value) <= _SHOWN_CHARS else value[:_SHOWN_CHARS] + "..."
        return repr(shown) if quoted or not _PLAIN_KEY.fullmatch(shown) else shown
    if isinstance(value, list | tuple | set):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return f"a {type(value).__name__} value"


def describe(
    error: ErrorDetails, document: YamlDocument, root: type[BaseModel] = Config
) -> tuple[int, str]:
    """The line and the ``path: sentence`` of one pydantic error of the file ``root`` models."""
    ctx: dict[str, Any] = dict(error.get("ctx") or {})
    loc: tuple[str | int, ...] = (*error["loc"], *ctx.get("at", ()))
    kind = error["type"]
    value = error["input"]
    sentence = _sentence(kind, error["msg"], ctx, loc, root)
    if "first" in ctx:
        sentence += f" (first at line {document.line_of((*error['loc'], *ctx['first']))})"
    elif kind not in _NO_VALUE_SHOWN and "at" not in ctx:
        sentence += f" (got {show_value(value, quoted=kind != 'bound')}"
        if kind == "string_type" and isinstance(value, int | float):
            sentence += "; quote it to make it a string"
        sentence += ")"
    path = format_path(loc)
    return document.line_of(loc), f"{path}: {sentence}" if path else sentence


def _sentence(
    kind: str, pydantic_msg: str, ctx: dict[str, Any], loc: Loc, root: type[BaseModel]
) -> str:
    if kind in _SENTENCES:
        return _SENTENCES[kind]
    if kind == "extra_forbidden":
        return _unknown_key(loc, root)
    if kind == "literal_error":
        return f"must be one of {ctx['expected']}"
    if kind in ("greater_than_equal", "greater_than", "less_than_equal", "less_than"):
        limit = ctx.get("ge", ctx.get("gt", ctx.get("le", ctx.get("lt"))))
        return {
            "greater_than_equal": f"must be at least {limit}",
            "greater_than": f"must be greater than {limit}",
            "less_than_equal": f"must be at most {limit}",
            "less_than": f"must be less than {limit}",
        }[kind]
    if kind in _OWN_SENTENCES:
        return pydantic_msg
    return f"is not valid: {pydantic_msg[:1].lower()}{pydantic_msg[1:]}"


def _unknown_key(loc: Loc, root: type[BaseModel]) -> str:
    key = loc[-1]
    if root is Config and isinstance(key, str) and key.lower() in _TOKEN_KEYS:
        return (
            "unknown key: the API token is never read from the config; set the"
            " PUSHWOOSH_API_TOKEN environment variable or pushwoosh.api_token_file"
        )
    known = list(_model_at(loc[:-1], root).model_fields)
    close = difflib.get_close_matches(str(key), known, n=1, cutoff=0.6)
    if close:
        return f"unknown key (did you mean '{close[0]}'?)"
    return f"unknown key (known keys here: {', '.join(known)})"


def _model_at(loc: Loc, root: type[BaseModel]) -> type[BaseModel]:
    """The model that validates the mapping at ``loc``."""
    model = root
    for part in loc:
        if isinstance(part, str):
            annotation = _unwrap(model.model_fields[part].annotation)
            if isinstance(annotation, type) and issubclass(annotation, BaseModel):
                model = annotation
    return model


def _unwrap(annotation: Any) -> Any:
    """``list[X]``, ``X | None`` and ``Annotated[X, ...]`` -> ``X``."""
    while True:
        origin, args = get_origin(annotation), get_args(annotation)
        if origin in (list, Annotated):
            annotation = args[0]
        elif origin in (Union, types.UnionType):
            annotation = next(arg for arg in args if arg is not type(None))
        else:
            return annotation
