"""The Helm chart, rendered and linted by a real Helm engine (helm-python-sdk, Helm's Go SDK).

Every values file in the chart's ci/ folder is rendered, linted strictly for Kubernetes 1.30
and its core objects validated against the 1.30 OpenAPI schemas (kubernetes-validate,
strict). The prometheus-operator objects, which those schemas do not know, are checked here
field by field, and the PrometheusRule's rules go through promtool. The rendered config is
checked by the exporter itself; the sidecar helpers are rendered from a host chart.
"""

import base64
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import bcrypt
import helm_python
import jsonschema
import kubernetes_validate
import pytest
import yaml
from dockerfile_parse import DockerfileParser

import exporter
from exporter.collection.targets import Shard
from exporter.webconfig import load_web_config

REPO = Path(__file__).resolve().parents[2]
CHART = REPO / "deploy" / "helm" / "pushwoosh-exporter"
CI_FILES = sorted((CHART / "ci").glob("*.yaml"))
KUBE_VERSION = "1.30.0"
RELEASE, NAMESPACE = "pw", "monitoring"
OPERATOR_GROUP = "monitoring.coreos.com/v1"
TOKEN = "tok-7f3a9c1e5b2d4068a1c3e5f7"

Manifest = dict[str, Any]


@pytest.fixture(scope="module")
def chart() -> helm_python.Chart:
    return helm_python.Chart.load(CHART)


def load_values(path: Path) -> dict[str, Any]:
    values = yaml.safe_load(path.read_text()) or {}
    assert isinstance(values, dict)
    return values


def render_all(chart: helm_python.Chart, values: dict[str, Any]) -> dict[str, str]:
    return chart.render(values, name=RELEASE, namespace=NAMESPACE, is_install=True)


def objects(rendered: dict[str, str]) -> list[Manifest]:
    """The Kubernetes objects of a render (NOTES.txt and empty templates left out)."""
    found = []
    for path, text in rendered.items():
        if path.endswith("NOTES.txt"):
            continue
        found.extend(doc for doc in yaml.safe_load_all(text) if doc)
    return found


def render(chart: helm_python.Chart, values: dict[str, Any]) -> list[Manifest]:
    return objects(render_all(chart, values))


def one(manifests: list[Manifest], kind: str, name: str | None = None) -> Manifest:
    found = [
        m
        for m in manifests
        if m["kind"] == kind and (name is None or m["metadata"]["name"] == name)
    ]
    assert len(found) == 1, f"expected one {kind} {name or ''}, got {len(found)}"
    return found[0]


def kinds(manifests: list[Manifest]) -> set[str]:
    return {m["kind"] for m in manifests}


def workload(manifests: list[Manifest]) -> Manifest:
    (found,) = [m for m in manifests if m["kind"] in ("Deployment", "StatefulSet")]
    return found


def exporter_container(pod_spec: Manifest) -> Manifest:
    (found,) = [c for c in pod_spec["containers"] if c["name"] == "pushwoosh-exporter"]
    return found


def with_defaults(**values: Any) -> dict[str, Any]:
    """The ci default values with some keys replaced."""
    return {**load_values(CHART / "ci" / "default-values.yaml"), **values}


@pytest.fixture(scope="module", params=[p.name for p in CI_FILES])
def ci_render(request: pytest.FixtureRequest, chart: helm_python.Chart) -> list[Manifest]:
    return render(chart, load_values(CHART / "ci" / request.param))


def test_the_ci_values_files_of_the_issue_exist() -> None:
    names = {p.name for p in CI_FILES}
    assert {
        "default-values.yaml",
        "sharded-values.yaml",
        "existing-secret-values.yaml",
        "all-features-values.yaml",
    } <= names


# --- lint and schema ----------------------------------------------------------------------


def lint_problems(path: Path, values: dict[str, Any] | None = None) -> list[str]:
    report = helm_python.lint(path, values, strict=True, kube_version=f"v{KUBE_VERSION}")
    problems = [f"{m['path']}: {m['error']}" for m in report["messages"] if m["severity"] >= 2]
    return problems + list(report["errors"])


def test_chart_lints_strictly_with_its_own_defaults() -> None:
    assert lint_problems(CHART) == []


@pytest.mark.parametrize("values_file", CI_FILES, ids=lambda p: p.name)
def test_chart_lints_strictly_with_each_ci_values_file(values_file: Path) -> None:
    assert lint_problems(CHART, load_values(values_file)) == []


@pytest.mark.parametrize("values_file", CI_FILES, ids=lambda p: p.name)
def test_ci_values_files_match_the_values_schema(
    chart: helm_python.Chart, values_file: Path
) -> None:
    chart.validate_schema(load_values(values_file))


@pytest.mark.parametrize(
    "bad",
    [
        {"shards": 0},
        {"replicaCount": 2},
        {"config": {"pushwoosh": {"api_token": "in-the-config"}}},
        {"config": {"applicatoins": []}},
        {"web": {"port": 70000}},
        {"image": {"pullPolicy": "Sometimes"}},
        {"serviceMonitor": {"interval": "30"}},
    ],
    ids=str,
)
def test_values_schema_rejects_mistakes(chart: helm_python.Chart, bad: dict[str, Any]) -> None:
    with pytest.raises(helm_python.HelmError):
        chart.validate_schema(bad)


def test_every_value_is_described_in_the_schema(chart: helm_python.Chart) -> None:
    schema = chart.schema
    assert schema is not None
    missing = set(chart.values) - set(schema["properties"])
    assert not missing, f"values.yaml keys missing from values.schema.json: {missing}"


# --- Kubernetes validity ------------------------------------------------------------------


def test_every_core_object_is_valid_for_kubernetes_1_30(ci_render: list[Manifest]) -> None:
    for manifest in ci_render:
        if manifest["apiVersion"] == OPERATOR_GROUP:
            continue  # no OpenAPI schema for CRDs: see the ServiceMonitor and rule tests
        kubernetes_validate.validate(manifest, KUBE_VERSION, strict=True)


def test_every_object_carries_the_standard_labels_and_namespace(
    ci_render: list[Manifest],
) -> None:
    for manifest in ci_render:
        labels = manifest["metadata"]["labels"]
        assert labels["app.kubernetes.io/name"] == "pushwoosh-exporter"
        assert labels["app.kubernetes.io/instance"] == RELEASE
        assert labels["app.kubernetes.io/managed-by"] == "Helm"
        assert labels["app.kubernetes.io/version"] == exporter.__version__
        assert manifest["metadata"]["namespace"] == NAMESPACE


def test_selectors_match_the_pods_and_never_use_the_chart_label(
    ci_render: list[Manifest],
) -> None:
    pod = workload(ci_render)["spec"]["template"]
    pod_labels = pod["metadata"]["labels"]
    selectors = [workload(ci_render)["spec"]["selector"]["matchLabels"]]
    selectors.append(one(ci_render, "Service")["spec"]["selector"])
    for kind in ("NetworkPolicy", "PodDisruptionBudget"):
        if kind in kinds(ci_render):
            spec = one(ci_render, kind)["spec"]
            selectors.append((spec.get("podSelector") or spec.get("selector"))["matchLabels"])
    for selector in selectors:
        assert "helm.sh/chart" not in selector
        assert "app.kubernetes.io/version" not in selector
        assert selector.items() <= pod_labels.items(), selector


# --- the pod ------------------------------------------------------------------------------


def dockerfile() -> DockerfileParser:
    return DockerfileParser(path=str(REPO / "Dockerfile"))


def test_pod_is_hardened(ci_render: list[Manifest]) -> None:
    spec = workload(ci_render)["spec"]["template"]["spec"]
    image_user = int(
        next(
            i["value"] for i in reversed(dockerfile().structure) if i["instruction"] == "USER"
        ).split(":")[0]
    )
    assert spec["automountServiceAccountToken"] is False
    pod = spec["securityContext"]
    assert pod["runAsNonRoot"] is True
    assert pod["runAsUser"] == image_user
    assert pod["seccompProfile"] == {"type": "RuntimeDefault"}
    container = exporter_container(spec)["securityContext"]
    assert container["allowPrivilegeEscalation"] is False
    assert container["readOnlyRootFilesystem"] is True
    assert container["capabilities"]["drop"] == ["ALL"]
    assert container["runAsNonRoot"] is True
    account = one(ci_render, "ServiceAccount")
    assert account["automountServiceAccountToken"] is False
    assert spec["serviceAccountName"] == account["metadata"]["name"]


def test_probes_ask_healthy_and_ready_on_the_container_port(ci_render: list[Manifest]) -> None:
    container = exporter_container(workload(ci_render)["spec"]["template"]["spec"])
    (port,) = container["ports"]
    assert container["livenessProbe"]["httpGet"]["path"] == "/-/healthy"
    assert container["readinessProbe"]["httpGet"]["path"] == "/-/ready"
    for probe in ("livenessProbe", "readinessProbe"):
        assert container[probe]["httpGet"]["port"] == port["name"]
    assert f"--web.listen-address=:{port['containerPort']}" in container["args"]


def test_image_port_user_and_state_folder_agree_with_the_dockerfile(
    chart: helm_python.Chart,
) -> None:
    parsed = dockerfile()
    manifests = render(chart, with_defaults())
    container = exporter_container(workload(manifests)["spec"]["template"]["spec"])
    exposed = [i["value"] for i in parsed.structure if i["instruction"] == "EXPOSE"]
    assert [str(p["containerPort"]) for p in container["ports"]] == exposed
    (volume,) = json.loads(
        next(i["value"] for i in parsed.structure if i["instruction"] == "VOLUME")
    )
    state = next(m for m in container["volumeMounts"] if m["name"] == "pushwoosh-state")
    assert state["mountPath"] == volume
    assert f"--state.file={volume}/state.json" in container["args"]
    assert container["image"].endswith(f":{chart.metadata['appVersion']}")
    assert chart.metadata["appVersion"] == exporter.__version__


def test_no_resources_by_default(chart: helm_python.Chart) -> None:
    container = exporter_container(
        workload(render(chart, with_defaults()))["spec"]["template"]["spec"]
    )
    assert "resources" not in container


def test_state_is_an_empty_dir_by_default_and_a_claim_with_persistence(
    chart: helm_python.Chart,
) -> None:
    plain = workload(render(chart, with_defaults()))["spec"]["template"]["spec"]
    (state,) = [v for v in plain["volumes"] if v["name"] == "pushwoosh-state"]
    assert "emptyDir" in state
    manifests = render(chart, with_defaults(persistence={"enabled": True}))
    persisted = workload(manifests)["spec"]["template"]["spec"]
    (state,) = [v for v in persisted["volumes"] if v["name"] == "pushwoosh-state"]
    claim = one(manifests, "PersistentVolumeClaim")
    assert state["persistentVolumeClaim"]["claimName"] == claim["metadata"]["name"]
    # One pod at a time on a ReadWriteOnce claim, and never two pollers.
    assert workload(manifests)["spec"]["strategy"] == {"type": "Recreate"}


def test_defaults_render_a_deployment_and_no_optional_object(chart: helm_python.Chart) -> None:
    manifests = render(chart, with_defaults())
    assert kinds(manifests) == {"ConfigMap", "Secret", "Service", "ServiceAccount", "Deployment"}
    assert workload(manifests)["spec"]["replicas"] == 1


# --- config, checksum, token --------------------------------------------------------------


def mounted_path(pod_spec: Manifest, volume_name: str, key: str) -> str:
    """Where ``key`` of the volume ``volume_name`` appears inside the exporter container."""
    container = exporter_container(pod_spec)
    (mount,) = [m for m in container["volumeMounts"] if m["name"] == volume_name]
    (volume,) = [v for v in pod_spec["volumes"] if v["name"] == volume_name]
    source = volume.get("secret") or volume.get("configMap") or {}
    items = {i["key"]: i["path"] for i in source.get("items", [])}
    return f"{mount['mountPath']}/{items.get(key, key) if items else key}"


def test_rendered_config_passes_the_exporters_own_check(
    ci_render: list[Manifest], tmp_path: Path
) -> None:
    config_map = next(
        m for m in ci_render if m["kind"] == "ConfigMap" and "config.yaml" in m["data"]
    )
    spec = workload(ci_render)["spec"]["template"]["spec"]
    config_file = mounted_path(spec, "pushwoosh-config", "config.yaml")
    assert f"--config.file={config_file}" in exporter_container(spec)["args"]
    path = tmp_path / "config.yaml"
    path.write_text(config_map["data"]["config.yaml"])
    result = subprocess.run(
        [sys.executable, "-m", "exporter.cli", f"--config.file={path}", "--config.check"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "config OK"
    schema = json.loads((REPO / "config.schema.json").read_text())
    jsonschema.validate(yaml.safe_load(path.read_text()), schema)


def test_config_reads_the_token_from_the_mounted_secret(ci_render: list[Manifest]) -> None:
    config_map = next(
        m for m in ci_render if m["kind"] == "ConfigMap" and "config.yaml" in m["data"]
    )
    config = yaml.safe_load(config_map["data"]["config.yaml"])
    spec = workload(ci_render)["spec"]["template"]["spec"]
    (volume,) = [v for v in spec["volumes"] if v["name"] == "pushwoosh-token"]
    key = volume["secret"]["items"][0]["key"]
    assert config["pushwoosh"]["api_token_file"] == mounted_path(spec, "pushwoosh-token", key)
    # Readable by the exporter's group (fsGroup), by nobody else.
    assert volume["secret"]["defaultMode"] == 0o440
    secret_name = volume["secret"]["secretName"]
    made = [m for m in ci_render if m["kind"] == "Secret" and m["metadata"]["name"] == secret_name]
    if made:
        assert key in made[0]["data"]


def checksum(manifests: list[Manifest]) -> str:
    annotations = workload(manifests)["spec"]["template"]["metadata"]["annotations"]
    return str(annotations["checksum/config"])


def test_checksum_annotation_changes_with_the_config_only(chart: helm_python.Chart) -> None:
    base = with_defaults()
    same = render(chart, base)
    assert checksum(render(chart, base)) == checksum(same)
    other_config = {**base["config"], "collection": {"interval": "2m"}}
    assert checksum(render(chart, {**base, "config": other_config})) != checksum(same)
    assert checksum(render(chart, {**base, "log": {"level": "debug"}})) == checksum(same)


def test_token_appears_in_no_object_but_its_secret(chart: helm_python.Chart) -> None:
    values = load_values(CHART / "ci" / "all-features-values.yaml")
    values["token"] = TOKEN
    rendered = render_all(chart, values)
    encoded = base64.b64encode(TOKEN.encode()).decode()
    holders = []
    for path, text in rendered.items():
        if TOKEN in text or encoded in text:
            holders.append(path)
    assert holders == ["pushwoosh-exporter/templates/secret.yaml"]
    secret = one(objects({"s": rendered["pushwoosh-exporter/templates/secret.yaml"]}), "Secret")
    assert base64.b64decode(secret["data"]["token"]).decode() == TOKEN
    spec = workload(objects(rendered))["spec"]["template"]["spec"]
    container = exporter_container(spec)
    assert all(TOKEN not in arg for arg in container["args"])
    assert all("value" not in e or TOKEN not in e["value"] for e in container.get("env", []))
    assert all(e["name"] != "PUSHWOOSH_API_TOKEN" for e in container.get("env", []))


def test_existing_secret_is_mounted_and_no_token_secret_is_made(chart: helm_python.Chart) -> None:
    values = load_values(CHART / "ci" / "existing-secret-values.yaml")
    manifests = render(chart, values)
    assert "Secret" not in kinds(manifests)
    spec = workload(manifests)["spec"]["template"]["spec"]
    (volume,) = [v for v in spec["volumes"] if v["name"] == "pushwoosh-token"]
    assert volume["secret"]["secretName"] == values["existingSecret"]["name"]
    assert volume["secret"]["items"] == [{"key": values["existingSecret"]["key"], "path": "token"}]


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"token": ""}, "token is missing"),
        ({"existingSecret": {"name": "mine", "key": "token"}}, "not both"),
        ({"sidecar": {"enabled": True, "podSelector": {}}}, "podSelector"),
    ],
    ids=["no token", "token and existing secret", "sidecar without selector"],
)
def test_install_fails_with_a_clear_message(
    chart: helm_python.Chart, values: dict[str, Any], message: str
) -> None:
    with pytest.raises(helm_python.HelmRenderError, match=message):
        render(chart, with_defaults(**values))


# --- sharded mode -------------------------------------------------------------------------


def test_shards_render_a_statefulset_whose_pods_each_take_one_shard(
    chart: helm_python.Chart,
) -> None:
    values = load_values(CHART / "ci" / "sharded-values.yaml")
    count = values["shards"]
    manifests = render(chart, values)
    assert "Deployment" not in kinds(manifests)
    statefulset = one(manifests, "StatefulSet")
    assert statefulset["spec"]["replicas"] == count
    container = exporter_container(statefulset["spec"]["template"]["spec"])
    (shard_arg,) = [a for a in container["args"] if a.startswith("--shard=")]
    env = {e["name"]: e for e in container["env"]}
    # Kubernetes expands $(POD_NAME) from the env var fed by the pod's own name.
    assert env["POD_NAME"]["valueFrom"] == {"fieldRef": {"fieldPath": "metadata.name"}}
    name = statefulset["metadata"]["name"]
    seen = []
    for ordinal in range(count):
        expanded = shard_arg.replace("$(POD_NAME)", f"{name}-{ordinal}")
        shard = Shard.parse(expanded.removeprefix("--shard="))
        seen.append((shard.index, shard.count))
    assert seen == [(i, count) for i in range(count)]


def test_exporter_cli_accepts_the_expanded_shard_flag(
    chart: helm_python.Chart, tmp_path: Path
) -> None:
    manifests = render(chart, load_values(CHART / "ci" / "sharded-values.yaml"))
    statefulset = one(manifests, "StatefulSet")
    container = exporter_container(statefulset["spec"]["template"]["spec"])
    (shard_arg,) = [a for a in container["args"] if a.startswith("--shard=")]
    last_pod = f"{statefulset['metadata']['name']}-{statefulset['spec']['replicas'] - 1}"
    config = tmp_path / "config.yaml"
    config.write_text(one(manifests, "ConfigMap")["data"]["config.yaml"])
    command = [sys.executable, "-m", "exporter.cli", f"--config.file={config}", "--config.check"]
    for arg, code in [(shard_arg.replace("$(POD_NAME)", last_pod), 0), (shard_arg, 1)]:
        result = subprocess.run(
            [*command, arg], capture_output=True, text=True, timeout=60, check=False
        )
        assert result.returncode == code, f"{arg}: {result.stderr}"


def test_sharded_service_is_headless_and_governs_the_statefulset(
    chart: helm_python.Chart,
) -> None:
    manifests = render(chart, load_values(CHART / "ci" / "sharded-values.yaml"))
    service = one(manifests, "Service")
    statefulset = one(manifests, "StatefulSet")
    assert service["spec"]["clusterIP"] == "None"
    assert statefulset["spec"]["serviceName"] == service["metadata"]["name"]
    (claim,) = statefulset["spec"]["volumeClaimTemplates"]
    mounts = exporter_container(statefulset["spec"]["template"]["spec"])["volumeMounts"]
    assert claim["metadata"]["name"] in {m["name"] for m in mounts}
    assert "PersistentVolumeClaim" not in kinds(manifests)


def test_one_shard_is_a_plain_deployment(chart: helm_python.Chart) -> None:
    manifests = render(chart, with_defaults(shards=1))
    container = exporter_container(workload(manifests)["spec"]["template"]["spec"])
    assert workload(manifests)["kind"] == "Deployment"
    assert not [a for a in container["args"] if a.startswith("--shard")]


# --- prometheus-operator objects ----------------------------------------------------------


def operator_objects(manifests: list[Manifest], kind: str) -> list[Manifest]:
    return [m for m in manifests if m["kind"] == kind]


def test_service_monitor_scrapes_the_service_port_and_path(ci_render: list[Manifest]) -> None:
    for monitor in operator_objects(ci_render, "ServiceMonitor"):
        assert monitor["apiVersion"] == OPERATOR_GROUP
        assert monitor["metadata"]["name"]
        service = one(ci_render, "Service")
        selector = monitor["spec"]["selector"]["matchLabels"]
        assert selector
        assert selector.items() <= service["metadata"]["labels"].items()
        assert monitor["spec"]["namespaceSelector"]["matchNames"] == [NAMESPACE]
        (endpoint,) = monitor["spec"]["endpoints"]
        assert endpoint["port"] in {p["name"] for p in service["spec"]["ports"]}
        container = exporter_container(workload(ci_render)["spec"]["template"]["spec"])
        assert f"--web.telemetry-path={endpoint['path']}" in container["args"]
        probe_scheme = container["readinessProbe"]["httpGet"]["scheme"]
        assert endpoint["scheme"] == probe_scheme.lower()


def test_prometheus_rule_holds_the_projects_alerts_file(chart: helm_python.Chart) -> None:
    link = CHART / "files" / "alerts.yaml"
    assert link.is_symlink(), "files/alerts.yaml must link to deploy/prometheus/alerts.yaml"
    assert link.resolve() == (REPO / "deploy" / "prometheus" / "alerts.yaml").resolve()
    manifests = render(chart, with_defaults(prometheusRule={"enabled": True}))
    rule = one(manifests, "PrometheusRule")
    assert rule["apiVersion"] == OPERATOR_GROUP
    source = yaml.safe_load((REPO / "deploy" / "prometheus" / "alerts.yaml").read_text())
    assert rule["spec"]["groups"] == source["groups"]
    for group in rule["spec"]["groups"]:
        assert group["name"]
        assert group["rules"]
        for item in group["rules"]:
            assert ("alert" in item) != ("record" in item)
            assert item["expr"]


def test_prometheus_rule_passes_promtool(
    chart: helm_python.Chart, promtool: str, tmp_path: Path
) -> None:
    manifests = render(chart, with_defaults(prometheusRule={"enabled": True}))
    rules = tmp_path / "rules.yaml"
    rules.write_text(yaml.safe_dump({"groups": one(manifests, "PrometheusRule")["spec"]["groups"]}))
    result = subprocess.run(
        [promtool, "check", "rules", str(rules)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_exporter_down_alert_sees_the_service_monitors_job(chart: helm_python.Chart) -> None:
    """prometheus-operator names the job after the Service: the rules' job matchers must
    match the chart's Service name, or the exporter-down alert would never fire."""
    manifests = render(chart, with_defaults(serviceMonitor={"enabled": True}))
    job = one(manifests, "Service")["metadata"]["name"]
    source = (REPO / "deploy" / "prometheus" / "alerts.yaml").read_text()
    matchers = re.findall(r'job=~"([^"]*)"', source) + re.findall(r'job="([^"]*)"', source)
    if not matchers:
        pytest.skip("the rules select no job")
    for pattern in matchers:
        assert re.fullmatch(pattern, job), f"job {job!r} escapes the rules' job=~{pattern!r}"


def test_dashboard_config_map_holds_the_projects_dashboard(chart: helm_python.Chart) -> None:
    link = CHART / "files" / "pushwoosh-exporter.json"
    assert link.is_symlink(), "files/pushwoosh-exporter.json must link to deploy/grafana/"
    source = REPO / "deploy" / "grafana" / "pushwoosh-exporter.json"
    assert link.resolve() == source.resolve()
    manifests = render(chart, with_defaults(dashboard={"enabled": True}))
    (dashboard,) = [
        m
        for m in manifests
        if m["kind"] == "ConfigMap" and m["metadata"]["labels"].get("grafana_dashboard")
    ]
    assert dashboard["metadata"]["labels"]["grafana_dashboard"] == "1"
    assert json.loads(dashboard["data"]["pushwoosh-exporter.json"]) == json.loads(
        source.read_text()
    )


def test_packaged_chart_carries_the_linked_files_and_leaves_ci_out(tmp_path: Path) -> None:
    archive = Path(helm_python.package(CHART, destination=tmp_path))
    packaged = helm_python.Chart.load_archive(archive.read_bytes())
    files = {f["name"]: f["data"] for f in packaged.files}
    sources = {
        "files/alerts.yaml": REPO / "deploy" / "prometheus" / "alerts.yaml",
        "files/pushwoosh-exporter.json": REPO / "deploy" / "grafana" / "pushwoosh-exporter.json",
    }
    for name, source in sources.items():
        assert files[name] == source.read_text()
    assert not [name for name in files if name.startswith("ci/")]


# --- network policy, disruption budget, web config ----------------------------------------


def test_network_policy_lets_scrapes_in_and_dns_and_https_out(chart: helm_python.Chart) -> None:
    manifests = render(chart, with_defaults(networkPolicy={"enabled": True}))
    policy = one(manifests, "NetworkPolicy")["spec"]
    assert set(policy["policyTypes"]) == {"Ingress", "Egress"}
    container = exporter_container(workload(manifests)["spec"]["template"]["spec"])
    (ingress,) = policy["ingress"]
    assert [p["port"] for p in ingress["ports"]] == [container["ports"][0]["name"]]
    egress_ports = {(p["port"], p["protocol"]) for rule in policy["egress"] for p in rule["ports"]}
    assert {(53, "UDP"), (53, "TCP"), (443, "TCP")} <= egress_ports


def test_disruption_budget_never_blocks_a_single_pod_drain(chart: helm_python.Chart) -> None:
    manifests = render(chart, with_defaults(podDisruptionBudget={"enabled": True}))
    budget = one(manifests, "PodDisruptionBudget")["spec"]
    assert budget["maxUnavailable"] == 1
    assert "minAvailable" not in budget


def self_signed(folder: Path) -> None:
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.skip("openssl is needed to make a test certificate")
    subprocess.run(
        [openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj",
         "/CN=pushwoosh-exporter", "-keyout", str(folder / "tls.key"),
         "-out", str(folder / "tls.crt")],
        capture_output=True,
        check=True,
        timeout=60,
    )  # fmt: skip


def test_web_config_secret_is_what_the_exporter_loads(
    chart: helm_python.Chart, tmp_path: Path
) -> None:
    values = load_values(CHART / "ci" / "all-features-values.yaml")
    manifests = render(chart, values)
    spec = workload(manifests)["spec"]["template"]["spec"]
    container = exporter_container(spec)
    (volume,) = [v for v in spec["volumes"] if v["name"] == "pushwoosh-web-config"]
    secret_source, tls_source = (s["secret"] for s in volume["projected"]["sources"])
    assert tls_source["name"] == values["webConfig"]["tlsSecret"]
    secret = one(manifests, "Secret", secret_source["name"])
    # Lay the projected volume out as the kubelet would, and load it with the exporter.
    web_yml = mounted_path(spec, "pushwoosh-web-config", "web.yml")
    assert f"--web.config.file={web_yml}" in container["args"]
    (tmp_path / "web.yml").write_bytes(base64.b64decode(secret["data"]["web.yml"]))
    self_signed(tmp_path)
    loaded = load_web_config(tmp_path / "web.yml")
    assert loaded.cert_file == tmp_path / "tls.crt"
    assert loaded.open_health, "kubelet probes carry no password"
    assert bcrypt.checkpw(b"prometheus-password", loaded.users["prometheus"])
    assert container["livenessProbe"]["httpGet"]["scheme"] == "HTTPS"


# --- NOTES and the sidecar helpers --------------------------------------------------------


def test_notes_tell_how_to_reach_the_metrics(chart: helm_python.Chart) -> None:
    rendered = render_all(chart, with_defaults())
    notes = rendered["pushwoosh-exporter/templates/NOTES.txt"]
    service = one(objects(rendered), "Service")["metadata"]["name"]
    assert f"port-forward service/{service} 9877" in notes
    assert "/metrics" in notes


HOST_DEPLOYMENT = """\
{{- $exporter := index .Subcharts "pushwoosh-exporter" }}
apiVersion: apps/v1
kind: Deployment
metadata:
  name: shop
  namespace: {{ .Release.Namespace }}
spec:
  selector:
    matchLabels:
      app: shop
  template:
    metadata:
      labels:
        app: shop
      annotations:
        {{- include "pushwoosh-exporter.checksums" $exporter | nindent 8 }}
    spec:
      containers:
        - name: shop
          image: registry.example/shop:1.0
          ports:
            - name: web
              containerPort: 8080
        {{- include "pushwoosh-exporter.container" $exporter | nindent 8 }}
      volumes:
        - name: cache
          emptyDir: {}
        {{- include "pushwoosh-exporter.volumes" $exporter | nindent 8 }}
"""


@pytest.fixture
def host_chart(tmp_path: Path) -> Path:
    """A chart of someone else's app that runs the exporter as a sidecar of its pods."""
    host = tmp_path / "shop"
    (host / "templates").mkdir(parents=True)
    shutil.copytree(CHART, host / "charts" / "pushwoosh-exporter")  # links copied as files
    (host / "Chart.yaml").write_text(
        yaml.safe_dump(
            {
                "apiVersion": "v2",
                "name": "shop",
                "version": "1.0.0",
                "dependencies": [
                    {
                        "name": "pushwoosh-exporter",
                        "version": helm_python.Chart.load(CHART).version,
                        "repository": f"file://{CHART}",
                    }
                ],
            }
        )
    )
    sidecar_values = {
        "sidecar": {"enabled": True, "podSelector": {"app": "shop"}},
        "token": TOKEN,
        "config": {"applications": [{"code": "ABCDE-12345", "name": "shop-ios"}]},
    }
    (host / "values.yaml").write_text(yaml.safe_dump({"pushwoosh-exporter": sidecar_values}))
    (host / "templates" / "deployment.yaml").write_text(HOST_DEPLOYMENT)
    return host


def test_sidecar_helpers_put_the_exporter_in_a_host_pod(host_chart: Path) -> None:
    assert lint_problems(host_chart) == []
    chart = helm_python.Chart.load(host_chart)
    rendered = chart.render({}, name="shop", namespace=NAMESPACE, is_install=True)
    manifests = objects(rendered)
    for manifest in manifests:
        kubernetes_validate.validate(manifest, KUBE_VERSION, strict=True)
    host = one(manifests, "Deployment", "shop")
    # The subchart runs no pod of its own in sidecar mode.
    assert kinds(manifests) == {"Deployment", "ConfigMap", "Secret", "Service"}
    pod = host["spec"]["template"]
    spec = pod["spec"]
    assert [c["name"] for c in spec["containers"]] == ["shop", "pushwoosh-exporter"]
    container = exporter_container(spec)
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    assert container["securityContext"]["runAsNonRoot"] is True
    # Every mount has its volume, and the volumes name the subchart's own objects.
    volumes = {v["name"]: v for v in spec["volumes"]}
    assert {m["name"] for m in container["volumeMounts"]} <= volumes.keys()
    config_map = one(manifests, "ConfigMap")
    secret = one(manifests, "Secret")
    assert volumes["pushwoosh-config"]["configMap"]["name"] == config_map["metadata"]["name"]
    assert volumes["pushwoosh-token"]["secret"]["secretName"] == secret["metadata"]["name"]
    config = yaml.safe_load(config_map["data"]["config.yaml"])
    assert config["pushwoosh"]["api_token_file"] == mounted_path(spec, "pushwoosh-token", "token")
    # The Service selects the host pods on the exporter's port; the checksum rolls them.
    service = one(manifests, "Service")
    assert service["spec"]["selector"].items() <= pod["metadata"]["labels"].items()
    assert service["spec"]["ports"][0]["targetPort"] == container["ports"][0]["name"]
    assert "checksum/config" in pod["metadata"]["annotations"]
    # The token file is readable without the chart's fsGroup, which a host pod may lack.
    assert volumes["pushwoosh-token"]["secret"]["defaultMode"] == 0o444
    assert TOKEN not in json.dumps(host)


def readme_sidecar_snippet() -> Manifest:
    text = (REPO / "deploy" / "helm" / "README.md").read_text()
    _, marker, rest = text.partition("<!-- sidecar-snippet:")
    assert marker, "deploy/helm/README.md lost its sidecar-snippet marker"
    block = rest.split("```yaml\n", 1)[1].split("```", 1)[0]
    snippet = yaml.safe_load(block)
    assert isinstance(snippet, dict)
    return snippet


def test_readme_sidecar_snippet_is_a_valid_pod_that_runs_like_the_chart(
    host_chart: Path,
) -> None:
    snippet = readme_sidecar_snippet()
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "shop"}, "spec": snippet}
    kubernetes_validate.validate(pod, KUBE_VERSION, strict=True)
    values = yaml.safe_load((host_chart / "values.yaml").read_text())
    values["pushwoosh-exporter"]["web"] = {"portName": "pw-metrics"}
    chart = helm_python.Chart.load(host_chart)
    host = one(objects(chart.render(values, name="shop", namespace=NAMESPACE)), "Deployment")
    rendered = exporter_container(host["spec"]["template"]["spec"])
    documented = exporter_container(snippet)
    assert documented["args"] == rendered["args"]
    assert documented["ports"][0]["name"] == rendered["ports"][0]["name"]
    assert documented["securityContext"] == rendered["securityContext"]
    assert {m["mountPath"] for m in documented["volumeMounts"]} == {
        m["mountPath"] for m in rendered["volumeMounts"]
    }
    documented_volumes = {v["name"] for v in snippet["volumes"]}
    rendered_volumes = {v["name"] for v in host["spec"]["template"]["spec"]["volumes"]}
    assert documented_volumes == rendered_volumes - {"cache"}
