"""The web config while the exporter runs: re-read at reload (POST /-/reload and SIGHUP), a bad
one refused with the old one serving on, certificate files picked up as they change on disk;
and the command line: ``--demo`` with ``--web.config.file``, one-line refusals."""

import asyncio
import os
import shutil
import signal
import ssl
import subprocess
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest
import structlog
from processes import ExporterProcess, free_port
from webserving import (
    PASSWORD,
    PASSWORD_HASH,
    REFUSED,
    Answer,
    bcrypt_hash,
    client_context,
    fixture_text,
    request,
    write_web_config,
)

from exporter.runtime import Exporter

Start = Callable[[Path | None], Awaitable[Exporter]]
TLS_USERS = "tls_server_config:\n  cert_file: {cert}.crt\n  key_file: {cert}.key\n" + (
    "basic_auth_users:\n  {user}: {hash}\n"
)
NEW_PASSWORD = "n3w-pa55"


def tls_users(cert: str = "server", user: str = "prometheus", hashed: str = PASSWORD_HASH) -> str:
    return TLS_USERS.format(cert=cert, user=user, hash=hashed)


def der(pki: Path, name: str) -> bytes:
    return ssl.PEM_cert_to_DER_cert((pki / f"{name}.crt").read_text())


async def reload(port: int, pki: Path, auth: tuple[str, str]) -> Answer:
    return await request(port, client_context(pki), "/-/reload", method="POST", auth=auth)


async def test_reload_rotates_users_and_certificate(start_exporter: Start, pki: Path) -> None:
    web_yml = write_web_config(pki, tls_users())
    exporter = await start_exporter(web_yml)
    port = exporter.port
    assert port is not None
    old = ("prometheus", PASSWORD)
    assert (await request(port, client_context(pki), auth=old)).server_cert == der(pki, "server")

    write_web_config(pki, tls_users("server2", "grafana", bcrypt_hash(NEW_PASSWORD)))
    answer = await reload(port, pki, old)
    assert (answer.status, answer.body) == (200, "Config reloaded.\n")

    new = ("grafana", NEW_PASSWORD)
    assert (await request(port, client_context(pki), auth=old)).status == 401
    rotated = await request(port, client_context(pki), auth=new)
    assert (rotated.status, rotated.server_cert) == (200, der(pki, "server2"))


async def test_reload_applies_new_tls_settings(start_exporter: Start, pki: Path) -> None:
    exporter = await start_exporter(write_web_config(pki, fixture_text("tls_files.ok.yml")))
    port = exporter.port
    assert port is not None
    tls12 = client_context(pki, versions=(ssl.TLSVersion.TLSv1_2, ssl.TLSVersion.TLSv1_2))
    assert (await request(port, tls12)).version == "TLSv1.2"
    write_web_config(pki, fixture_text("tls13_only.ok.yml"))
    assert await exporter.reload() is None
    with pytest.raises(REFUSED):
        await request(port, tls12)
    assert (await request(port, client_context(pki))).version == "TLSv1.3"


async def test_a_bad_web_config_at_reload_is_refused_and_the_old_one_serves_on(
    start_exporter: Start, pki: Path
) -> None:
    web_yml = write_web_config(pki, tls_users())
    exporter = await start_exporter(web_yml)
    port = exporter.port
    assert port is not None
    creds = ("prometheus", PASSWORD)
    write_web_config(pki, tls_users(hashed="not-a-bcrypt-hash-5e6f"))
    with structlog.testing.capture_logs() as logs:
        answer = await reload(port, pki, creds)
    assert answer.status == 500
    expected = f"{web_yml}:5: basic_auth_users.prometheus: must be a bcrypt hash"
    assert answer.body.startswith(f"failed to reload config: {expected}")
    assert "not-a-bcrypt-hash-5e6f" not in answer.body
    events = [e["event"] for e in logs]
    assert "reload_failed" in events
    assert "reloaded" not in events
    assert "not-a-bcrypt-hash-5e6f" not in str(logs)
    metrics = await request(port, client_context(pki), "/metrics", auth=creds)
    assert "pushwoosh_config_last_reload_successful 0.0" in metrics.body

    write_web_config(pki, tls_users(cert="missing"))
    answer = await reload(port, pki, creds)
    assert answer.status == 500
    assert f"tls_server_config.cert_file: cannot read {pki}/missing.crt" in answer.body
    still = await request(port, client_context(pki), auth=creds)
    assert (still.status, still.server_cert) == (200, der(pki, "server"))


async def test_turning_tls_off_at_reload_is_refused(start_exporter: Start, pki: Path) -> None:
    web_yml = write_web_config(pki, fixture_text("tls_files.ok.yml"))
    exporter = await start_exporter(web_yml)
    assert exporter.port is not None
    write_web_config(pki, fixture_text("headers.ok.yml"))
    error = await exporter.reload()
    assert error == (
        f"{web_yml}: turning TLS off needs a restart (the listening socket keeps the protocol it"
        " started with); the previous web config stays in force"
    )
    assert (await request(exporter.port, client_context(pki))).status == 200


async def test_certificate_files_rewritten_on_disk_are_used_without_a_reload(
    start_exporter: Start, pki: Path
) -> None:
    exporter = await start_exporter(write_web_config(pki, fixture_text("tls_files.ok.yml")))
    port = exporter.port
    assert port is not None
    first, second = der(pki, "server"), der(pki, "server2")
    assert (await request(port, client_context(pki))).server_cert == first

    # A certificate written before its key: the pair does not match, the old one serves on.
    with structlog.testing.capture_logs() as logs:
        shutil.copyfile(pki / "server2.crt", pki / "server.crt")
        for _ in range(2):
            answer = await request(port, client_context(pki))
            assert answer.server_cert == first
    unusable = [e for e in logs if e["event"] == "tls_files_unusable"]
    assert len(unusable) == 1, "logged once, not at every connection"
    assert "is not the key of the certificate" in unusable[0]["error"]

    with structlog.testing.capture_logs() as logs:
        shutil.copyfile(pki / "server2.key", pki / "server.key")
        answer = await request(port, client_context(pki))
    assert answer.server_cert == second
    assert [e["event"] for e in logs if e["event"].startswith("tls_")] == ["tls_files_reloaded"]


async def test_sighup_reloads_the_web_config(pki: Path, tmp_path: Path, repo_root: Path) -> None:
    web_yml = write_web_config(pki, tls_users())
    process = await ExporterProcess(
        [f"--config.file={_main_config_file(tmp_path)}", f"--web.config.file={web_yml}"],
        token="tok-sighup-77aa",
        log=tmp_path / "exporter.log",
    ).start()
    try:
        await _wait_until_served(process.port, pki, ("prometheus", PASSWORD))
        write_web_config(pki, tls_users(user="grafana", hashed=bcrypt_hash(NEW_PASSWORD)))
        process.signal(signal.SIGHUP)
        await _wait_until_served(process.port, pki, ("grafana", NEW_PASSWORD))
        old = await request(process.port, client_context(pki), auth=("prometheus", PASSWORD))
        assert old.status == 401
    finally:
        process.signal(signal.SIGTERM)
        assert await process.wait() == 0
    log = (tmp_path / "exporter.log").read_text()
    assert "event=reloaded" in log
    assert PASSWORD not in log
    assert NEW_PASSWORD not in log
    assert "tok-sighup-77aa" not in log


async def test_demo_honours_the_web_config(pki: Path, tmp_path: Path) -> None:
    web_yml = write_web_config(pki, tls_users())
    process = await ExporterProcess(
        ["--demo", f"--web.config.file={web_yml}"], token="", log=tmp_path / "demo.log"
    ).start()
    try:
        await _wait_until_served(process.port, pki, ("prometheus", PASSWORD))
        answer = await request(process.port, client_context(pki), "/metrics")
        assert answer.status == 401
        with pytest.raises(REFUSED):
            await request(process.port, None)
    finally:
        process.signal(signal.SIGTERM)
        assert await process.wait() == 0
    assert f"https://127.0.0.1:{process.port}/" in (tmp_path / "demo.log").read_text()


def _main_config_file(folder: Path) -> Path:
    path = folder / "config.yaml"
    path.write_text(
        "pushwoosh:\n  api_url: http://127.0.0.1:9\n  request_timeout: 1s\n"
        "collection:\n  interval: 1h\napplications:\n  - code: ABCDE-12345\n"
    )
    return path


async def _wait_until_served(port: int, pki: Path, auth: tuple[str, str]) -> None:
    for _ in range(200):
        try:
            if (await request(port, client_context(pki), auth=auth)).status == 200:
                return
        except REFUSED:
            pass
        await asyncio.sleep(0.05)
    raise AssertionError(f"port {port} never answered 200 to {auth[0]}")


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PUSHWOOSH_API_TOKEN": "tok-cli-3c2b1a"}
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "exporter.cli",
            *args,
            f"--web.listen-address=127.0.0.1:{free_port()}",
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )


@pytest.mark.parametrize("mode", ["exporter", "demo", "check"])
@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"basic_auth_users:\n  caf\xe9: x\n", "{web}: the web config file is not UTF-8 text"),
        (
            b"tls_server_config:\n  cert_file: gone.crt\n  key_file: server.key\n",
            "{web}:2: tls_server_config.cert_file: cannot read {dir}/gone.crt:"
            " No such file or directory",
        ),
    ],
    ids=["not-utf8", "missing-cert"],
)
def test_an_unusable_web_config_is_one_line_and_exit_1(
    pki: Path, tmp_path: Path, mode: str, content: bytes, message: str
) -> None:
    web = pki / "web.yml"
    web.write_bytes(content)
    args = {
        "exporter": [f"--config.file={_main_config_file(tmp_path)}"],
        "demo": ["--demo"],
        "check": [f"--config.file={_main_config_file(tmp_path)}", "--config.check"],
    }[mode]
    result = run_cli(*args, f"--web.config.file={web}")
    assert result.returncode == 1
    assert result.stderr == "pushwoosh-exporter: " + message.format(web=web, dir=pki) + "\n"
