"""A simulator of the Pushwoosh Statistics API, for the demo and the tests.

An island: it imports nothing from the exporter but the shared platform codes.
"""
