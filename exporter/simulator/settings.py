"""Settings of the simulator, and the fault knobs tests turn at run time."""

import time
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass
class Faults:
    """What goes wrong, and how often. Mutable: ``POST /_sim/faults`` changes it live.

    Rates are fractions of API calls (control endpoints under ``/_sim`` never fail); the
    draws come from the simulator's seeded random generator, so a run is repeatable.
    """

    error_rate: float = 0.0
    """HTTP 500 with a JSON 500 envelope."""
    json500_rate: float = 0.0
    """HTTP 200 whose JSON status_code is 500."""
    rate_limit_rate: float = 0.0
    """HTTP 429."""
    retry_after: float | None = 1.0
    """The 429's Retry-After in seconds; None sends no header."""
    latency: float = 0.0
    """Seconds added to every API call."""
    hang: bool = False
    """API calls wait until this is turned off."""
    malformed_rate: float = 0.0
    """HTTP 200 with a body that is not JSON."""
    wrong_shape_rate: float = 0.0
    """A valid envelope whose response has the wrong shape."""
    pending_min: float = 1.0
    pending_max: float = 3.0
    """getResults answers 420 for a time drawn in [pending_min, pending_max] per job."""
    stuck_results: bool = False
    """getResults answers 420 forever."""
    legacy_envelope: bool = False
    """getAppStats results come in the legacy ``{"error": ..., "json_data": ...}`` envelope."""
    string_counts: bool = False
    """Counts are sent as strings ("3")."""
    forbidden_apps: list[str] = field(default_factory=list)
    """Apps the token may not read: status_code 403 (v2: HTTP 403)."""


@dataclass
class SimulatorSettings:
    """How the simulated account looks and behaves."""

    seed: int = 1
    apps: int = 3
    events: int | None = None
    """Events per app; None: 2 or 3 per app."""
    token: str = "demo-token"
    traffic: bool = True
    """Generated traffic; False: only events injected through ``/_sim/inject`` exist."""
    faults: Faults = field(default_factory=Faults)
    clock: Callable[[], float] = time.time
    public_url: str | None = None
    """Base of the tag CSV URLs; default: the URL the request came to."""
    history: float = 2 * 86400.0
    """Seconds of generated traffic before the simulator started."""
