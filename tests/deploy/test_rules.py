"""The shipped alerting and recording rules: valid for promtool, and every alert unit-tested."""

import subprocess
from pathlib import Path
from typing import Any

import yaml
from exported_names import exported_sample_names, queried_names, recorded_names

RULES = Path(__file__).resolve().parents[2] / "deploy" / "prometheus"


def test_promtool_checks_the_rules(promtool: str) -> None:
    result = subprocess.run(
        [promtool, "check", "rules", str(RULES / "alerts.yaml")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_promtool_unit_tests_pass(promtool: str) -> None:
    result = subprocess.run(
        [promtool, "test", "rules", "alerts_test.yaml"],
        cwd=RULES,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout


def rules() -> list[dict[str, Any]]:
    groups = yaml.safe_load((RULES / "alerts.yaml").read_text())["groups"]
    return [rule for group in groups for rule in group["rules"]]


def alert_cases() -> list[dict[str, Any]]:
    tests = yaml.safe_load((RULES / "alerts_test.yaml").read_text())["tests"]
    return [case for test in tests for case in test.get("alert_rule_test", [])]


def test_every_alert_has_a_test_a_runbook_and_both_annotations() -> None:
    fires = {case["alertname"] for case in alert_cases() if case.get("exp_alerts")}
    readme = (RULES.parents[1] / "README.md").read_text().lower()
    for alert in (r for r in rules() if "alert" in r):
        name = alert["alert"]
        assert name in fires, f"{name} never fires in alerts_test.yaml"
        assert {"summary", "description", "runbook_url"} <= set(alert["annotations"])
        anchor = alert["annotations"]["runbook_url"].rsplit("#", 1)[1]
        assert anchor == name.lower()
        assert f"### {name.lower()}" in readme, f"no runbook for {name} in README.md"


def test_every_alert_has_a_case_where_it_must_stay_quiet() -> None:
    quiet = {case["alertname"] for case in alert_cases() if not case.get("exp_alerts")}
    for alert in (r for r in rules() if "alert" in r):
        assert alert["alert"] in quiet, f"{alert['alert']} has no exp_alerts: [] case"


def test_rules_read_only_metrics_the_exporter_exports() -> None:
    known = exported_sample_names() | recorded_names()
    for rule in rules():
        unknown = queried_names(rule["expr"]) - known
        assert not unknown, (rule.get("alert") or rule["record"], unknown)
