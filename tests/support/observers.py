"""A RequestObserver for client tests: keeps every attempt and every job given up."""

from dataclasses import dataclass, field


@dataclass
class Attempts:
    """Records what the client reports, in order."""

    seen: list[tuple[str, str | None]] = field(default_factory=list)
    gave_up: list[str] = field(default_factory=list)

    def request_finished(self, method: str, seconds: float, failure: str | None) -> None:
        assert seconds >= 0
        self.seen.append((method, failure))

    def results_timed_out(self, method: str) -> None:
        self.gave_up.append(method)
