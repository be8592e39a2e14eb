"""Event trigger attributes, and the attribute filters of getEventStatistics.

Every generated trigger of an event carries one value of each attribute in
:data:`GENERATED`, drawn from the seed for that trigger alone, so a filter's count of a
bucket never decreases as the bucket's late triggers arrive. Injected triggers carry exactly
the attributes given to ``POST /_sim/inject`` (none by default).

A filter is the documented request shape, a list of
``{"name": ..., "operator": "EQ", "values": [...]}``: a trigger matches an item when its
value of ``name`` is one of ``values``, and matches the filter when it matches every item
(items AND together). A trigger without the attribute matches no item naming it.
"""

from typing import Any

GENERATED: tuple[tuple[str, tuple[tuple[str, float], ...]], ...] = (
    ("plan", (("free", 0.6), ("pro", 0.3), ("business", 0.1))),
    ("source", (("organic", 0.7), ("push", 0.3))),
)
"""The attributes of generated triggers: each name with its values and their shares."""

Filter = tuple[tuple[str, frozenset[str]], ...]
"""A parsed filter: (attribute name, accepted values) pairs, all of which must hold."""

Attributes = tuple[tuple[str, str], ...]
"""One trigger's attributes: (name, value) pairs sorted by name."""


class BadFilter(ValueError):
    """An ``attributes`` argument the API refuses; the message is its status_message."""


def parse_filter(attributes: Any) -> Filter | None:
    """The filter a request's ``attributes`` asks for; None when it asks for none.

    Refuses (:class:`BadFilter`) anything but the documented shape: the singular
    ``"value"`` key of older clients, ``values`` that is not a non-empty list of strings or
    numbers, a missing name, and operators other than ``EQ``.
    """
    if attributes is None or attributes == []:
        return None
    if not isinstance(attributes, list):
        raise BadFilter("Invalid attributes")
    items = []
    for item in attributes:
        if not isinstance(item, dict) or set(item) != {"name", "operator", "values"}:
            raise BadFilter("Invalid attributes")
        name, values = item["name"], item["values"]
        if not isinstance(name, str) or not name or not _scalars(values):
            raise BadFilter("Invalid attributes")
        if item["operator"] != "EQ":
            raise BadFilter("Invalid attributes: only EQ is supported")
        items.append((name, frozenset(str(v) for v in values)))
    return tuple(items)


def parse_trigger_attributes(given: Any) -> Attributes:
    """The attributes of injected triggers: a JSON object of names to strings or numbers."""
    if given is None:
        return ()
    if not isinstance(given, dict) or not all(
        isinstance(name, str) and name and _scalars([value]) for name, value in given.items()
    ):
        raise ValueError(f"attributes must map names to strings or numbers, got {given!r}")
    return tuple(sorted((name, str(value)) for name, value in given.items()))


def _scalars(values: Any) -> bool:
    return (
        isinstance(values, list)
        and bool(values)
        and all(isinstance(v, str | int | float) and not isinstance(v, bool) for v in values)
    )


def matches(attributes: Attributes, wanted: Filter | None) -> bool:
    """Whether a trigger with these attributes is counted under ``wanted``."""
    if wanted is None:
        return True
    have = dict(attributes)
    return all(have.get(name) in values for name, values in wanted)


def generated_codes(wanted: Filter | None) -> frozenset[int] | None:
    """The codes (see :func:`trigger_code`) of generated triggers ``wanted`` counts; None
    when it counts them all."""
    if wanted is None:
        return None
    codes: set[int] = set()
    for code in range(_combinations()):
        if matches(decode(code), wanted):
            codes.add(code)
    return frozenset(codes)


def trigger_code(draws: tuple[float, ...]) -> int:
    """A generated trigger's attributes as one small integer, from one draw in [0, 1) per
    attribute of :data:`GENERATED`."""
    code = 0
    for (_, values), draw in zip(GENERATED, draws, strict=True):
        edge, index = 0.0, len(values) - 1
        for i, (_, share) in enumerate(values):
            edge += share
            if draw < edge:
                index = i
                break
        code = code * len(values) + index
    return code


def decode(code: int) -> Attributes:
    """The attributes a :func:`trigger_code` stands for."""
    found = []
    for name, values in reversed(GENERATED):
        code, index = divmod(code, len(values))
        found.append((name, values[index][0]))
    return tuple(sorted(found))


def _combinations() -> int:
    total = 1
    for _, values in GENERATED:
        total *= len(values)
    return total
