"""The shipped alerting and recording rules: valid for promtool, and every alert unit-tested."""

import subprocess
from pathlib import Path

import yaml

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


def test_every_alert_has_a_test_a_runbook_and_both_annotations() -> None:
    rules = yaml.safe_load((RULES / "alerts.yaml").read_text())
    alerts = [r for g in rules["groups"] for r in g["rules"] if "alert" in r]
    tested = {
        case["alertname"]
        for test in yaml.safe_load((RULES / "alerts_test.yaml").read_text())["tests"]
        for case in test.get("alert_rule_test", [])
        if case.get("exp_alerts")
    }
    readme = (RULES.parents[1] / "README.md").read_text().lower()
    for alert in alerts:
        name = alert["alert"]
        assert name in tested, f"{name} never fires in alerts_test.yaml"
        assert {"summary", "description", "runbook_url"} <= set(alert["annotations"])
        anchor = alert["annotations"]["runbook_url"].rsplit("#", 1)[1]
        assert anchor == name.lower()
        assert f"### {name.lower()}" in readme, f"no runbook for {name} in README.md"
