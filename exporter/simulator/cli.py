"""``pushwoosh-simulator``: the simulated API as a standalone server."""

import argparse
import asyncio
import logging
import os
import signal
import sys
from collections.abc import Sequence

from exporter.simulator.periods import FORCED_FORMATTERS, zone_info
from exporter.simulator.server import start_simulator
from exporter.simulator.settings import Faults, SimulatorSettings

SHAPE_SWITCHES = {
    "omit_empty_scopes": "getAppStats leaves out scopes without events",
    "split_rows": "each row counting 2 or more comes as two rows of the same bucket",
    "zero_rows": "getAppStats and getCampaignStats list quiet buckets with count 0",
    "null_response": 'answers 210 and 403 with "response": null (default: no response key)',
    "conversion_delivery": "conversion totals include delivery",
    "event_hours_to_now": "a day of event statistics stops at the current hour",
    "string_counts": 'counts as strings ("3")',
    "legacy_envelope": "getAppStats results in the legacy error/json_data envelope",
}
"""Answer-shape knobs of :class:`Faults` that are plain switches: one flag each."""


def build_parser() -> argparse.ArgumentParser:
    """Flags: where to listen, the world's seed and size, the token, the fault knobs."""
    p = argparse.ArgumentParser(prog="pushwoosh-simulator", description=__doc__)
    p.add_argument("--listen", default="127.0.0.1:9878", help="HOST:PORT (default: %(default)s)")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--apps", type=int, default=3)
    p.add_argument(
        "--events", type=int, default=None, help="events per app (default: 2 or 3 per app)"
    )
    p.add_argument(
        "--campaigns",
        type=int,
        default=2,
        help="campaigns at start, spread over the apps (default: %(default)s)",
    )
    p.add_argument(
        "--apps-page-size",
        type=int,
        default=2,
        help="apps per getApplications page (default: %(default)s)",
    )
    p.add_argument(
        "--campaigns-page-cap",
        type=int,
        default=None,
        help="getCampaigns answers at most this many campaigns whatever limit asks",
    )
    p.add_argument(
        "--forbid-listing",
        type=int,
        choices=(210, 403),
        default=None,
        help="getApplications, getCampaigns and listTags answer this status_code, as on a "
        "plan without them",
    )
    p.add_argument(
        "--token",
        default=os.environ.get("PUSHWOOSH_API_TOKEN", "demo-token"),
        help="accepted API token (default: $PUSHWOOSH_API_TOKEN or demo-token)",
    )
    p.add_argument("--no-traffic", action="store_true", help="only injected events exist")
    p.add_argument("--error-rate", type=float, default=0.0)
    p.add_argument("--rate-limit-rate", type=float, default=0.0)
    p.add_argument(
        "--retry-after",
        type=_retry_after,
        default=1.0,
        help="seconds in the 429's Retry-After header; 'none' sends no header",
    )
    p.add_argument("--latency", type=float, default=0.0)
    p.add_argument("--malformed-rate", type=float, default=0.0)
    p.add_argument("--pending", default="1-3", help="getResults pending seconds MIN-MAX")
    p.add_argument(
        "--timezone", default="UTC", help="IANA zone of v1 datetimes (default: %(default)s)"
    )
    p.add_argument("--request-id-prefix", default="", help="prefix of request ids, e.g. DC1_")
    for method in ("app", "campaign"):
        p.add_argument(
            f"--{method}-formatter",
            choices=FORCED_FORMATTERS,
            default=None,
            help="force this bucket width (default: by the period's length)",
        )
    p.add_argument(
        "--tag-values",
        action="append",
        type=_tag_values,
        default=[],
        metavar="TAG=N",
        help="serve tag TAG's file with N generated values, made as it is sent (repeatable)",
    )
    for name, effect in SHAPE_SWITCHES.items():
        p.add_argument(f"--{name.replace('_', '-')}", action="store_true", help=effect)
    p.add_argument(
        "--log-level",
        default="info",
        choices=("debug", "info", "warning", "error"),
        help="debug logs every API call",
    )
    return p


def _retry_after(text: str) -> float | None:
    return None if text.lower() == "none" else float(text)


def _tag_values(text: str) -> tuple[str, int]:
    tag, _, count = text.rpartition("=")
    if not tag or not count.isdigit():
        raise argparse.ArgumentTypeError(f"expected TAG=N (N a whole number), got {text!r}")
    return tag, int(count)


def main(argv: Sequence[str] | None = None) -> int:
    """Serve until SIGINT or SIGTERM."""
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s %(message)s"
    )
    host, _, port = args.listen.rpartition(":")
    low, _, high = args.pending.partition("-")
    try:
        if args.apps_page_size < 1:
            raise ValueError(f"--apps-page-size must be at least 1 (got {args.apps_page_size})")
        if args.campaigns_page_cap is not None and args.campaigns_page_cap < 1:
            raise ValueError(
                f"--campaigns-page-cap must be at least 1 (got {args.campaigns_page_cap})"
            )
        faults = Faults(
            error_rate=args.error_rate,
            rate_limit_rate=args.rate_limit_rate,
            retry_after=args.retry_after,
            latency=args.latency,
            malformed_rate=args.malformed_rate,
            pending_min=float(low),
            pending_max=float(high or low),
            timezone=zone_info(args.timezone).key,
            request_id_prefix=args.request_id_prefix,
            tag_values=dict(args.tag_values),
            app_formatter=args.app_formatter,
            campaign_formatter=args.campaign_formatter,
            apps_page_size=args.apps_page_size,
            campaigns_page_cap=args.campaigns_page_cap,
            forbid_listing=args.forbid_listing,
            **{name: getattr(args, name) for name in SHAPE_SWITCHES},
        )
        settings = SimulatorSettings(
            seed=args.seed,
            apps=args.apps,
            events=args.events,
            campaigns=args.campaigns,
            token=args.token,
            traffic=not args.no_traffic,
            faults=faults,
        )
        return asyncio.run(_serve(settings, host.strip("[]") or "127.0.0.1", int(port)))
    except (ValueError, OSError) as exc:
        print(f"pushwoosh-simulator: {exc}", file=sys.stderr)
        return 1


async def _serve(settings: SimulatorSettings, host: str, port: int) -> int:
    simulator = await start_simulator(settings, host, port)
    print(f"pushwoosh-simulator listening on {simulator.url}", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    await simulator.close()
    return 0
