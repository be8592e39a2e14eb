"""The Pushwoosh Statistics API client: envelopes, getResults, retries and rate limits.

Knows nothing of Prometheus: callers observe requests through :class:`RequestObserver`.
"""
