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
    """Row counts of every method are sent as strings ("3")."""
    forbidden_apps: list[str] = field(default_factory=list)
    """Apps the token may not read: status_code 403 (v2: HTTP 403)."""
    tag_values: dict[str, int] = field(default_factory=dict)
    """Tags whose getTagStats file has this many values, generated as the file is sent
    (``u00000``, ``u00001``... with heavy-tailed counts), so a file of millions of values
    costs the simulator little; e.g. ``{"UserId": 1000000}``. Other tags keep their few
    values."""

    # The shapes of answers. The defaults are the documented ones; each knob turns on a
    # variant the documentation allows or real answers were seen to have.
    app_formatter: str | None = None
    """getAppStats bucket width: None follows the documented length rule (over 1 year
    yearly, over 1 month monthly, over 1 day daily, over 3 hours hourly, else minutely);
    "minutely", "hourly" or "daily" forces that width whatever the period: rows at the
    bucket starts, each counting its whole bucket, and ``formatter`` saying so."""
    campaign_formatter: str | None = None
    """getCampaignStats bucket width, as ``app_formatter``."""
    omit_empty_scopes: bool = False
    """getAppStats leaves out a scope (applications, devices, messages) with no events in
    the period (default: all three, ``rows`` possibly empty)."""
    split_rows: bool = False
    """Every row counting 2 or more (getAppStats, getCampaignStats, getMsgStats,
    getMsgPlatformsStats, getEventStatistics) is sent as two rows of the same
    datetime/action (and platformid) whose counts add up to it; the second parts come
    after all the other rows."""
    zero_rows: bool = False
    """getAppStats and getCampaignStats also list the period's quiet buckets with
    ``"count": 0`` (default: only buckets with events)."""
    timezone: str = "UTC"
    """IANA zone of v1 wall-clock times: request datetimes and dates (datefrom/dateto,
    date_from/date_to) are read in it, answer datetimes (rows' ``datetime``, event buckets'
    ``date``) written in it, and buckets floored in it. v2 and ``/_sim`` stay UTC."""
    request_id_prefix: str = ""
    """Prepended to request ids, as in the documented ``DC1_bc63f00c...``."""
    null_response: bool = False
    """A 210 or 403 answer carries ``"response": null`` (default: no ``response`` key, as
    seen: ``{"status_code": 210, "status_message": "Application not found"}``)."""
    conversion_delivery: bool = False
    """getCampaignStats and getMsgStats conversion totals include ``delivery`` (default:
    ``send``, ``open`` and ``events`` only, as in the documented examples)."""
    event_hours_to_now: bool = False
    """getEventStatistics lists a day's hours only up to the current one (default: all 24
    hours of every day asked for, later hours of today with ``"count": 0``)."""

    # The listing methods (getApplications, getCampaigns, listTags).
    apps_page_size: int = 2
    """Apps per getApplications page: small, so that a few apps make several pages."""
    campaigns_page_cap: int | None = None
    """getCampaigns answers at most this many campaigns whatever ``limit`` asks, as the
    API may (None: ``limit``, at most 1000)."""
    forbid_listing: int | None = None
    """210 or 403: the listing methods answer that status_code, as on a plan without them
    (403 "Token restrictions forbid this operation", 210 "Access denied: the method is not
    available on your plan"). The Statistics methods are not affected."""


@dataclass
class SimulatorSettings:
    """How the simulated account looks and behaves."""

    seed: int = 1
    apps: int = 3
    events: int | None = None
    """Events per app; None: 2 or 3 per app."""
    campaigns: int = 2
    """Campaigns at start; campaign ``i`` belongs to app ``i mod apps``."""
    token: str = "demo-token"
    traffic: bool = True
    """Generated traffic; False: only events injected through ``/_sim/inject`` exist."""
    faults: Faults = field(default_factory=Faults)
    clock: Callable[[], float] = time.time
    public_url: str | None = None
    """Base of the tag CSV URLs; default: the URL the request came to."""
    history: float = 2 * 86400.0
    """Seconds of generated traffic before the simulator started."""
