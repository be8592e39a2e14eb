"""``python -m exporter.config``: print the config's JSON Schema (``make schema``)."""

import sys

from exporter.config import config_json_schema_text

sys.stdout.write(config_json_schema_text())
