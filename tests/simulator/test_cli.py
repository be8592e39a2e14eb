"""``pushwoosh-simulator`` (``python -m exporter.simulator``) serves until SIGTERM."""

import asyncio
import re
import signal
import sys

import aiohttp
import pytest


async def test_serves_prints_its_url_and_exits_cleanly_on_sigterm() -> None:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "exporter.simulator",
        "--listen=127.0.0.1:0",
        "--seed=9",
        "--apps=4",
        "--events=5",
        "--token=cli-token",
        "--no-traffic",
        "--pending=0.1-0.2",
        "--retry-after=none",
        "--timezone=Europe/Berlin",
        "--request-id-prefix=DC1_",
        "--campaign-formatter=hourly",
        "--split-rows",
        "--null-response",
        "--campaigns=5",
        "--apps-page-size=3",
        "--campaigns-page-cap=2",
        "--forbid-listing=403",
        "--tag-values=UserId=1000",
        "--tag-values=Big=20",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        assert process.stdout is not None
        line = (await asyncio.wait_for(process.stdout.readline(), 30)).decode()
        found = re.fullmatch(r"pushwoosh-simulator listening on (http://127\.0\.0\.1:\d+)\n", line)
        assert found, line
        async with aiohttp.ClientSession() as session:
            async with session.get(f"{found[1]}/_sim/world") as r:
                apps = (await r.json())["apps"]
            assert len(apps) == 4
            async with session.get(f"{found[1]}/_sim/world") as r:
                assert len((await r.json())["campaign_details"]) == 5
            assert all(len(app["events"]) == 5 for app in apps)
            async with session.post(f"{found[1]}/_sim/faults", json={}) as r:
                faults = await r.json()
            assert (faults["pending_min"], faults["pending_max"]) == (0.1, 0.2)
            assert faults["retry_after"] is None
            assert (faults["timezone"], faults["request_id_prefix"]) == ("Europe/Berlin", "DC1_")
            assert (faults["campaign_formatter"], faults["app_formatter"]) == ("hourly", None)
            assert (faults["split_rows"], faults["null_response"]) == (True, True)
            assert (faults["zero_rows"], faults["omit_empty_scopes"]) == (False, False)
            assert (faults["apps_page_size"], faults["campaigns_page_cap"]) == (3, 2)
            assert faults["forbid_listing"] == 403
            url = f"{found[1]}/json/1.3/listTags"
            async with session.post(url, json={"request": {"auth": "cli-token"}}) as r:
                assert await r.json() == {
                    "status_code": 403,
                    "status_message": "Token restrictions forbid this operation",
                    "response": None,
                }
            assert faults["tag_values"] == {"UserId": 1000, "Big": 20}
            body = {"request": {"auth": "cli-token", "application": "NOPE0-00000"}}
            url = f"{found[1]}/json/1.3/getApplicationSubscribersStats"
            async with session.post(url, json=body) as r:
                assert await r.json() == {
                    "status_code": 210,
                    "status_message": "Application not found",
                    "response": None,
                }
        process.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(process.wait(), 30) == 0
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()


@pytest.mark.parametrize(
    ("flag", "cause"),
    [
        ("--listen=127.0.0.1:notaport", "notaport"),
        ("--timezone=Mars/Olympus", "Mars/Olympus"),
        ("--apps-page-size=0", "--apps-page-size must be at least 1"),
        ("--campaigns-page-cap=0", "--campaigns-page-cap must be at least 1"),
        ("--campaigns=-1", "--campaigns must not be negative"),
    ],
)
async def test_a_bad_address_zone_or_size_is_one_line_on_stderr_and_exit_1(
    flag: str, cause: str
) -> None:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "exporter.simulator",
        flag,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    _, stderr = await asyncio.wait_for(process.communicate(), 30)
    assert process.returncode == 1
    text = stderr.decode()
    assert text.startswith("pushwoosh-simulator: ")
    assert cause in text
    assert text.count("\n") == 1
    assert "Traceback" not in text
