"""The command line: exit codes and one-line messages, never a traceback."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from exporter import __version__

TOKEN = "tok-9f8e7d6c5b4a"


def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    environ = {k: v for k, v in os.environ.items() if k != "PUSHWOOSH_API_TOKEN"}
    environ.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "exporter.cli", *args],
        capture_output=True,
        text=True,
        env=environ,
        timeout=60,
        check=False,
    )


def test_version() -> None:
    result = run("--version")
    assert result.returncode == 0
    assert result.stdout.strip() == f"pushwoosh-exporter {__version__}"


def test_config_check_accepts_the_example(repo_root: Path) -> None:
    result = run(f"--config.file={repo_root / 'config.example.yaml'}", "--config.check")
    assert (result.returncode, result.stdout, result.stderr) == (0, "config OK\n", "")


def test_config_check_prints_the_problems_and_exits_1(tmp_path: Path) -> None:
    path = tmp_path / "config.yaml"
    path.write_text("collection:\n  lookback: 4h\napplications:\n  - code: A\n")
    result = run(f"--config.file={path}", "--config.check")
    assert result.returncode == 1
    assert "config.yaml:2: collection.lookback" in result.stderr
    assert "Traceback" not in result.stderr
    assert result.stdout == ""


def test_missing_token_is_one_line_naming_both_ways(tmp_path: Path) -> None:
    path = tmp_path / "config.yaml"
    path.write_text("applications:\n  - code: ABCDE-12345\n")
    result = run(f"--config.file={path}", "--web.listen-address=127.0.0.1:0")
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert "PUSHWOOSH_API_TOKEN" in lines[0]
    assert "api_token_file" in lines[0]


def test_missing_config_file_is_one_line(tmp_path: Path) -> None:
    result = run(f"--config.file={tmp_path / 'nope.yaml'}", env={"PUSHWOOSH_API_TOKEN": TOKEN})
    assert result.returncode == 1
    assert len(result.stderr.strip().splitlines()) == 1
    assert "nope.yaml" in result.stderr


@pytest.mark.parametrize(
    ("flag", "message"),
    [
        ("--shard=3/3", "--shard"),
        ("--web.listen-address=nowhere", "--web.listen-address"),
        ("--log.level=loud", "--log.level"),
        ("--no-such-flag", "unrecognized arguments"),
        ("--web.telemetry-path=metrics", "--web.telemetry-path"),
    ],
)
def test_bad_flags_exit_1_with_one_line(flag: str, message: str) -> None:
    result = run(flag)
    assert result.returncode == 1
    assert len(result.stderr.strip().splitlines()) == 1
    assert message in result.stderr


def test_bad_web_config_is_one_line(tmp_path: Path, repo_root: Path) -> None:
    web = tmp_path / "web.yml"
    web.write_text("tls_server_config:\n  cert_file: missing.crt\n  key_file: missing.key\n")
    result = run(
        f"--config.file={repo_root / 'config.example.yaml'}",
        f"--web.config.file={web}",
        env={"PUSHWOOSH_API_TOKEN": TOKEN},
    )
    assert result.returncode == 1
    assert f"tls_server_config.cert_file: cannot read {tmp_path / 'missing.crt'}" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_probe_without_a_token_is_one_line(tmp_path: Path) -> None:
    path = tmp_path / "config.yaml"
    path.write_text("applications:\n  - code: ABCDE-12345\n")
    result = run(f"--config.file={path}", "--probe")
    assert (result.returncode, result.stdout) == (1, "")
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert "PUSHWOOSH_API_TOKEN" in lines[0]


def test_probe_with_a_bad_config_is_one_line(tmp_path: Path) -> None:
    path = tmp_path / "config.yaml"
    path.write_text("collection:\n  lookback: 4h\napplications:\n  - code: A\n")
    result = run(f"--config.file={path}", "--probe", env={"PUSHWOOSH_API_TOKEN": TOKEN})
    assert (result.returncode, result.stdout) == (1, "")
    assert len(result.stderr.strip().splitlines()) == 1
    assert "collection.lookback" in result.stderr


def test_probe_dump_needs_probe() -> None:
    result = run("--probe.dump=somewhere")
    assert result.returncode == 1
    assert len(result.stderr.strip().splitlines()) == 1
    assert "--probe.dump needs --probe" in result.stderr


def test_probe_refuses_a_dump_directory_that_holds_files(tmp_path: Path, repo_root: Path) -> None:
    dump = tmp_path / "dump"
    dump.mkdir()
    (dump / "0001-getAppStats.json").write_text("{}")
    result = run(
        f"--config.file={repo_root / 'config.example.yaml'}",
        "--probe",
        f"--probe.dump={dump}",
        env={"PUSHWOOSH_API_TOKEN": TOKEN},
    )
    assert (result.returncode, result.stdout) == (1, "")
    assert len(result.stderr.strip().splitlines()) == 1
    assert "is not empty" in result.stderr
    assert [p.name for p in dump.iterdir()] == ["0001-getAppStats.json"]
