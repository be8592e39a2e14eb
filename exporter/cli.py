"""``pushwoosh-exporter``: flags in, the exporter (or the probe) wired and run. Nothing else
reads argv.

Exit codes: 0 after SIGTERM/SIGINT, 1 for a bad config, bad flags or a missing token
(one line on stderr, never a traceback). ``--probe``: 0 when every target succeeded, else 1.
"""

import argparse
import asyncio
import os
import signal
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import NoReturn

import structlog

from exporter import __version__
from exporter.collection.targets import Shard
from exporter.config import Config, ConfigError, load_config, load_token
from exporter.logsetup import configure_logging
from exporter.malloc import fix_mmap_threshold
from exporter.probe import run_probe
from exporter.pushwoosh.dump import DumpError, DumpWriter
from exporter.runtime import Exporter, ListenAddress
from exporter.webconfig import WebConfigError, load_web_config

log = structlog.get_logger(__name__)


class _Parser(argparse.ArgumentParser):
    """argparse with exit code 1 (README "Running it") and a one-line message for bad flags."""

    def error(self, message: str) -> NoReturn:
        self.exit(1, f"pushwoosh-exporter: {message} (see --help)\n")


def build_parser() -> argparse.ArgumentParser:
    """The command line of the README's "Running it", in Prometheus' ``--group.flag`` style."""
    p = _Parser(prog="pushwoosh-exporter", description="Prometheus exporter for Pushwoosh.")
    p.add_argument(
        "--config.file",
        dest="config_file",
        default="config.yaml",
        help="YAML config (default: %(default)s)",
    )
    p.add_argument(
        "--config.check",
        dest="config_check",
        action="store_true",
        help="validate the config, print 'config OK' or the errors, and exit",
    )
    p.add_argument(
        "--web.listen-address",
        dest="listen",
        default=":9877",
        help="address to serve on (default: %(default)s)",
    )
    p.add_argument(
        "--web.telemetry-path",
        dest="telemetry_path",
        default="/metrics",
        help="path of the exposition (default: %(default)s)",
    )
    p.add_argument(
        "--web.config.file",
        dest="web_config",
        default=None,
        help="exporter-toolkit web config: TLS, client certificates, basic auth, headers;"
        " re-read at reload",
    )
    p.add_argument(
        "--state.file",
        dest="state_file",
        default=None,
        help="checkpoint of the counters, kept across restarts",
    )
    p.add_argument(
        "--shard",
        default="0/1",
        help="collect only shard INDEX of COUNT, e.g. 1/3 (default: %(default)s)",
    )
    p.add_argument(
        "--log.level",
        dest="log_level",
        default="info",
        choices=["debug", "info", "warn", "warning", "error"],
    )
    p.add_argument("--log.format", dest="log_format", default="logfmt", choices=["logfmt", "json"])
    p.add_argument(
        "--probe",
        action="store_true",
        help="poll every configured target once, print one line each, and exit: 0 if all "
        "succeeded, else 1",
    )
    p.add_argument(
        "--probe.dump",
        dest="probe_dump",
        metavar="DIR",
        default=None,
        help="with --probe: write every request (token removed) and raw answer to DIR, "
        "one file per call",
    )
    p.add_argument(
        "--demo",
        action="store_true",
        help="run against the built-in simulator with a demo config; no account",
    )
    p.add_argument("--version", action="version", version=f"pushwoosh-exporter {__version__}")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``pushwoosh-exporter`` console script."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        shard = Shard.parse(args.shard)
        listen = ListenAddress.parse(args.listen)
    except ValueError as exc:
        parser.error(str(exc))
    if not args.telemetry_path.startswith("/"):
        parser.error("--web.telemetry-path must start with '/'")
    if args.probe_dump is not None and not args.probe:
        parser.error("--probe.dump needs --probe")
    configure_logging("warning" if args.log_level == "warn" else args.log_level, args.log_format)
    fix_mmap_threshold()

    web_config_file = Path(args.web_config) if args.web_config else None
    if web_config_file is not None:
        try:
            load_web_config(web_config_file)  # refused now, before anything starts
        except WebConfigError as exc:
            print(f"pushwoosh-exporter: {exc}", file=sys.stderr)
            return 1

    if args.demo:
        from exporter.demo import run_demo

        return asyncio.run(run_demo(listen, args.telemetry_path, web_config_file))

    path = Path(args.config_file)
    if args.config_check:
        try:
            load_config(path)
        except ConfigError as exc:
            print(exc, file=sys.stderr)
            return 1
        print("config OK")
        return 0

    def source() -> tuple[Config, str]:
        config = load_config(path)
        return config, load_token(config, os.environ)

    if args.probe:
        return probe(source, shard, Path(args.probe_dump) if args.probe_dump else None)

    # The config itself is loaded once, by the exporter's start (a bad one exits 1 there).
    exporter = Exporter(
        source,
        listen=listen,
        telemetry_path=args.telemetry_path,
        shard=shard,
        state_file=Path(args.state_file) if args.state_file else None,
        web_config_file=web_config_file,
    )
    return asyncio.run(serve(exporter))


def probe(source: Callable[[], tuple[Config, str]], shard: Shard, dump_dir: Path | None) -> int:
    """``--probe``: load the config and token, then poll every target once."""
    try:
        config, token = source()
        dump = DumpWriter.create(dump_dir) if dump_dir is not None else None
    except (ConfigError, DumpError) as exc:
        print(f"pushwoosh-exporter: {exc}", file=sys.stderr)
        return 1
    try:
        return asyncio.run(run_probe(config, token, shard=shard, dump=dump, out=sys.stdout))
    except KeyboardInterrupt:
        print("pushwoosh-exporter: probe interrupted", file=sys.stderr)
        return 1


async def serve(exporter: Exporter) -> int:
    """Run until SIGTERM or SIGINT; SIGHUP reloads the config."""
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    reloads: set[asyncio.Task[str | None]] = set()

    def reload() -> None:
        task = loop.create_task(exporter.reload())
        reloads.add(task)
        task.add_done_callback(reloads.discard)

    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    loop.add_signal_handler(signal.SIGHUP, reload)
    try:
        await exporter.start()
    except ConfigError as exc:
        print(f"pushwoosh-exporter: {exc}", file=sys.stderr)
        await exporter.stop()
        return 1
    except OSError as exc:
        print(f"pushwoosh-exporter: cannot listen: {exc.strerror or exc}", file=sys.stderr)
        await exporter.stop()
        return 1
    await stop.wait()
    log.info("shutting_down")
    await exporter.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
