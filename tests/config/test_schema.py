"""The shipped config.schema.json: generated from the models, and agreeing with them."""

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from exporter.config import config_json_schema
from exporter.config.yamlsource import load_yaml

REPO = Path(__file__).resolve().parents[2]
FIXTURES = REPO / "tests" / "fixtures" / "config"


def test_shipped_schema_is_what_make_schema_generates() -> None:
    generated = subprocess.run(
        [sys.executable, "-m", "exporter.config"],
        cwd=REPO,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    shipped = (REPO / "config.schema.json").read_text(encoding="utf-8")
    assert shipped == generated, "config.schema.json is stale: run `make schema`"
    assert json.loads(generated) == config_json_schema()


def test_schema_describes_durations_as_strings_with_a_pattern() -> None:
    collection = config_json_schema()["$defs"]["CollectionSettings"]["properties"]
    assert collection["lookback"]["type"] == "string"
    assert collection["lookback"]["default"] == "15m"
    assert "pattern" in collection["interval"]


def test_schema_forbids_unknown_keys_everywhere() -> None:
    schema = config_json_schema()
    assert schema["additionalProperties"] is False
    for name, model in schema["$defs"].items():
        assert model["additionalProperties"] is False, name


def _validator() -> Any:
    """A JSON Schema validator of the config; documents are loaded with YAML 1.2 scalars, as
    the exporter and YAML-aware editors read them."""
    jsonschema = pytest.importorskip("jsonschema")
    schema = config_json_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


@pytest.mark.parametrize(
    "path",
    [*sorted((FIXTURES / "ok").glob("*.yaml")), REPO / "config.example.yaml"],
    ids=lambda p: p.name,
)
def test_ok_configs_validate_against_the_schema(path: Path) -> None:
    validator = _validator()
    document = load_yaml(path.read_text(encoding="utf-8")).data
    errors = [error.message for error in validator.iter_errors(document)]
    assert errors == []


@pytest.mark.parametrize(
    "name",
    [
        "unknown_top_level_key",
        "unknown_nested_key",
        "api_token_in_config",
        "string_for_integer",
        "yes_is_not_a_boolean",
        "duration_without_unit",
        "duration_misspelt",
        "subscribers_v3",
        "max_values_zero",
        "bad_platform_code",
        "list_instead_of_mapping",
        "missing_code",
    ],
)
def test_bad_configs_the_schema_can_see_are_rejected_by_it(name: str) -> None:
    validator = _validator()
    document = load_yaml((FIXTURES / "bad" / f"{name}.yaml").read_text(encoding="utf-8")).data
    assert list(validator.iter_errors(document))
