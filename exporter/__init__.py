"""pushwoosh-exporter: Prometheus metrics from the Pushwoosh Statistics API."""

__version__ = "0.1.0"
