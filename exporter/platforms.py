"""Pushwoosh platform codes and their label values.

Shared by the exporter and the simulator (the simulator's only import from the exporter).
"""

from typing import Final

PLATFORM_NAMES: Final[dict[int, str]] = {
    1: "ios",
    2: "blackberry",
    3: "android",
    5: "windows_phone",
    7: "macos",
    8: "windows",
    9: "amazon",
    10: "safari",
    11: "chrome",
    12: "firefox",
    13: "ie11",
    14: "email",
    17: "huawei",
    18: "sms",
    19: "xiaomi",
}
"""Platform code -> lower-case label value used in metrics."""

SUBSCRIBER_TYPE_NAMES: Final[dict[str, str]] = {
    "IOS": "ios",
    "ANDROID": "android",
    "OSX": "macos",
    "MACOS": "macos",
    "WINDOWS": "windows",
    "AMAZON": "amazon",
    "SAFARI": "safari",
    "CHROME": "chrome",
    "FIREFOX": "firefox",
    "HUAWEI": "huawei",
    "EMAIL": "email",
    "SMS": "sms",
    "XIAOMI": "xiaomi",
}
"""Upper-case device type of getApplicationSubscribersStats -> label value."""


def platform_name(code: int) -> str:
    """Label value for a platform code: its lower-case name, or ``unknown_<code>``."""
    return PLATFORM_NAMES.get(code, f"unknown_{code}")


def subscriber_type_name(device_type: str) -> str:
    """Label value for a device type of getApplicationSubscribersStats (``IOS`` -> ``ios``)."""
    return SUBSCRIBER_TYPE_NAMES.get(device_type.upper(), device_type.lower())
