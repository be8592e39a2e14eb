"""The Grafana dashboard: type-checked against Grafana's own schema, and sound PromQL targets."""

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest
from ci import cannot_run
from exported_names import exported_sample_names, queried_names, recorded_names

GRAFANA = Path(__file__).resolve().parents[2] / "deploy" / "grafana"
DASHBOARD = GRAFANA / "pushwoosh-exporter.json"
TSC = GRAFANA / "node_modules" / ".bin" / "tsc"


def dashboard() -> dict[str, Any]:
    return json.loads(DASHBOARD.read_text())


def panels() -> list[dict[str, Any]]:
    return [p for p in dashboard()["panels"] if p["type"] != "row"]


def typecheck(document: dict[str, Any], tmp_path: Path) -> subprocess.CompletedProcess[str]:
    """tsc --strict over an object literal of the dashboard typed as Grafana's Dashboard:
    excess-property checks catch unknown keys, literal types catch wrong values."""
    if not TSC.exists():
        cannot_run("deploy/grafana/node_modules missing: run 'make grafana-deps' (make test does)")
    source = tmp_path / "dashboard.ts"
    source.write_text(
        "import type { Dashboard } from '@grafana/schema';\n\n"
        f"export const dashboard: Dashboard = {json.dumps(document, indent=2)};\n"
    )
    config = {
        "compilerOptions": {
            "strict": True,
            "noEmit": True,
            "target": "ES2020",
            "module": "ES2020",
            "moduleResolution": "node",
            "skipLibCheck": True,
            "baseUrl": str(GRAFANA),
            "paths": {"@grafana/schema": ["node_modules/@grafana/schema"]},
            "typeRoots": [],
        },
        "files": [str(source)],
    }
    (tmp_path / "tsconfig.json").write_text(json.dumps(config))
    return subprocess.run(
        [str(TSC), "-p", str(tmp_path / "tsconfig.json")],
        capture_output=True,
        text=True,
        check=False,
    )


def test_dashboard_matches_grafanas_schema(tmp_path: Path) -> None:
    result = typecheck(dashboard(), tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize(
    ("where", "key", "value"),
    [("panel", "colour", "red"), ("dashboard", "schemaVersion", "39"), ("panel", "gridPos", 3)],
)
def test_the_type_check_catches_unknown_keys_and_wrong_types(
    tmp_path: Path, where: str, key: str, value: object
) -> None:
    broken = dashboard()
    (broken["panels"][1] if where == "panel" else broken)[key] = value
    result = typecheck(broken, tmp_path)
    assert result.returncode != 0
    assert "error TS" in result.stdout


def test_every_panel_uses_the_datasource_variable_and_has_a_unit() -> None:
    variables = {v["name"]: v for v in dashboard()["templating"]["list"]}
    assert variables["datasource"]["type"] == "datasource"
    assert variables["datasource"]["query"] == "prometheus"
    for name in ("app", "campaign"):
        assert variables[name]["query"]["query"].startswith("label_values(")
    for panel in panels():
        assert panel["datasource"] == {"type": "prometheus", "uid": "${datasource}"}, panel["title"]
        assert panel["fieldConfig"]["defaults"].get("unit"), panel["title"]
        for target in panel["targets"]:
            assert target["datasource"]["uid"] == "${datasource}"
            assert target["legendFormat"], panel["title"]


def test_every_expression_names_only_metrics_the_exporter_exports() -> None:
    known = exported_sample_names() | recorded_names()
    for panel in panels():
        for target in panel["targets"]:
            names = queried_names(target["expr"])
            assert names, panel["title"]
            assert names <= known, (panel["title"], names - known)


def test_rows_are_the_ones_users_look_for() -> None:
    rows = [p["title"] for p in dashboard()["panels"] if p["type"] == "row"]
    assert rows == ["Delivery", "Audience", "Events", "Campaigns", "Exporter health", "Discovery"]
