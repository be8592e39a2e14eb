"""Collection: which targets to poll, when, over which windows, and what the polls saw."""
