"""The metric names the exporter can expose, and the names a PromQL expression reads.

The dashboard and the rules may query only the exporter's samples and the rules' recorded
series; their tests compare against names read from the exporter's own definitions rather
than a list copied by hand, so a renamed metric breaks them at once.
"""

import re
from pathlib import Path

import yaml
from prometheus_client import CollectorRegistry

from exporter.metrics import SelfMetrics, SnapshotCollector
from exporter.store import Snapshot

RULES_FILE = Path(__file__).resolve().parents[2] / "deploy" / "prometheus" / "alerts.yaml"

# Sample names per family type, as the text exposition writes them.
_SUFFIXES = {
    "counter": ("_total",),
    "gauge": ("",),
    "histogram": ("_bucket", "_sum", "_count"),
}
_STRING = re.compile(r'"(?:[^"\\]|\\.)*"')
# Whole identifiers only: `app:pushwoosh_messages_sent:rate5m` is one recorded name, not a
# use of `pushwoosh_messages_sent`.
_IDENTIFIER = re.compile(r"(?<![\w:])[A-Za-z_:][\w:]*(?![\w:])")


def exported_sample_names() -> frozenset[str]:
    """Every sample name of every family the exporter registers, data and self-metrics
    (with a state file, which adds the state file's)."""
    registry = CollectorRegistry()
    empty = Snapshot(targets={}, revisions={}, version=0)
    registry.register(SnapshotCollector(lambda: empty))
    families = [*registry.collect(), *SelfMetrics(state_file=True).registry.collect()]
    return frozenset(f.name + suffix for f in families for suffix in _SUFFIXES[f.type])


def recorded_names() -> frozenset[str]:
    """The series the shipped recording rules write."""
    groups = yaml.safe_load(RULES_FILE.read_text())["groups"]
    return frozenset(r["record"] for g in groups for r in g["rules"] if "record" in r)


def queried_names(expr: str) -> set[str]:
    """The exporter's metrics and recorded series an expression reads: identifiers that start
    with ``pushwoosh_`` or contain a colon, outside string literals (label values)."""
    bare = _STRING.sub('""', expr)
    return {
        name for name in _IDENTIFIER.findall(bare) if name.startswith("pushwoosh_") or ":" in name
    }
