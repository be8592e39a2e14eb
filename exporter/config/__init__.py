"""The config file: strict models (README "Configuration"), loading with readable errors, the token.

``load_config`` and ``parse_config`` return a validated :class:`Config` or raise
:class:`ConfigError`, whose text has one line per problem, each naming the file, the line and
the key path: ``config.yaml:12: applications[1].subscribers: must be one of 'v1', 'v2' or
'off' (got 'v3')``. ``load_token`` finds the API token, which is never part of the config.
``python -m exporter.config`` prints the JSON Schema shipped as ``config.schema.json``.
"""

import json
from collections.abc import Mapping
from datetime import timedelta
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError
from pydantic.json_schema import GenerateJsonSchema

from exporter.config.durations import Duration, format_duration
from exporter.config.messages import describe, format_path, show_value
from exporter.config.models import (
    ApplicationConfig,
    CampaignConfig,
    CollectionSettings,
    CollectSettings,
    Config,
    DiscoverySettings,
    EventAttributeConfig,
    EventConfig,
    MessageConfig,
    PushwooshSettings,
    TagConfig,
)
from exporter.config.yamlsource import YamlDocument, YamlSyntaxError, load_yaml

__all__ = [
    "ApplicationConfig",
    "CampaignConfig",
    "CollectSettings",
    "CollectionSettings",
    "Config",
    "ConfigError",
    "DiscoverySettings",
    "Duration",
    "EventAttributeConfig",
    "EventConfig",
    "MessageConfig",
    "PushwooshSettings",
    "TagConfig",
    "config_json_schema",
    "load_config",
    "load_token",
    "parse_config",
    "parse_yaml",
    "read_text_file",
    "validate_document",
]

M = TypeVar("M", bound=BaseModel)

TOKEN_ENV = "PUSHWOOSH_API_TOKEN"
"""The environment variable holding the API token when no api_token_file is configured."""


class ConfigError(Exception):
    """The config (or the token) cannot be used; ``str()`` is one line per problem."""

    def __init__(self, problems: list[str] | str) -> None:
        self.problems = [problems] if isinstance(problems, str) else list(problems)
        super().__init__("\n".join(self.problems))


def parse_config(text: str, source: str = "<config>") -> Config:
    """Validate a config's YAML text; ``source`` names it in the messages (usually the path)."""
    document = parse_yaml(text, source)
    if document.data is None:
        raise ConfigError(
            f"{source}: the config is empty: it needs at least one application, campaign,"
            " message or tag (see config.example.yaml)"
        )
    if not isinstance(document.data, dict):
        raise ConfigError(
            f"{source}:{document.line_of(())}: the config must be a mapping with keys such as"
            f" pushwoosh, collection and applications (got {show_value(document.data)})"
        )
    return validate_document(document, Config, source)


def parse_yaml(text: str, source: str) -> YamlDocument:
    """Load YAML text (any strict-config file); a syntax error becomes a one-line ConfigError."""
    try:
        return load_yaml(text)
    except YamlSyntaxError as exc:
        where = source if exc.line is None else f"{source}:{exc.line}"
        where += "" if exc.column is None else f":{exc.column}"
        raise ConfigError(f"{where}: invalid YAML: {exc.message}") from None


def validate_document(document: YamlDocument, model: type[M], source: str) -> M:
    """Validate a loaded mapping with ``model``; every problem is a ``source:LINE: path: text``."""
    problems = [
        (p.line, f"{format_path(p.path) or 'top level'}: {p.message}") for p in document.problems
    ]
    validated = None
    try:
        validated = model.model_validate(document.data)
    except ValidationError as exc:
        problems.extend(describe(error, document, model) for error in exc.errors(include_url=False))
    except RecursionError:
        problems.append((1, "the file is nested too deeply"))
    if problems or validated is None:
        lines = dict.fromkeys(f"{source}:{line}: {text}" for line, text in sorted(problems))
        raise ConfigError(list(lines))
    return validated


def read_text_file(path: Path, what: str = "config file") -> str:
    """The UTF-8 text of ``path``; a missing, unreadable or non-UTF-8 file is one ConfigError."""
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{path}: {what} not found") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: the {what} is not UTF-8 text") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the {what}: {exc.strerror}") from None


def load_config(path: Path) -> Config:
    """Read and validate the config file at ``path``."""
    return parse_config(read_text_file(path), str(path))


def load_token(config: Config, environ: Mapping[str, str]) -> str:
    """The API token: from ``pushwoosh.api_token_file`` if set, else ``PUSHWOOSH_API_TOKEN``."""
    token_file = config.pushwoosh.api_token_file
    if token_file is not None:
        try:
            token = token_file.read_text(encoding="utf-8").strip()
        except UnicodeDecodeError:
            raise ConfigError(f"the API token file {token_file} is not UTF-8 text") from None
        except OSError as exc:
            raise ConfigError(
                f"cannot read the API token file {token_file} (pushwoosh.api_token_file):"
                f" {exc.strerror}"
            ) from None
        if not token:
            raise ConfigError(f"the API token file {token_file} is empty")
        return token
    token = environ.get(TOKEN_ENV, "").strip()
    if not token:
        raise ConfigError(
            f"no Pushwoosh API token: set the {TOKEN_ENV} environment variable"
            " or pushwoosh.api_token_file in the config"
        )
    return token


class _SchemaGenerator(GenerateJsonSchema):
    """Writes duration defaults the way the config does (``"10s"``, not ``"PT10S"``)."""

    def encode_default(self, dft: Any) -> Any:
        if isinstance(dft, timedelta):
            return format_duration(dft)
        return super().encode_default(dft)


def config_json_schema() -> dict[str, Any]:
    """The JSON Schema of the config file, as shipped in ``config.schema.json``."""
    schema = Config.model_json_schema(schema_generator=_SchemaGenerator)
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "pushwoosh-exporter config",
        **{k: v for k, v in schema.items() if k != "title"},
    }


def config_json_schema_text() -> str:
    """The schema as ``make schema`` writes it: indented JSON and a final newline."""
    return json.dumps(config_json_schema(), indent=2) + "\n"
