"""exporter-toolkit's names and what they stand for here: TLS versions, cipher suites,
curves, client authentication policies and the headers a web config may set.

The lists follow exporter-toolkit's ``web/tls_config.go`` and ``web/handler.go`` and Go's
``crypto/tls`` (``CipherSuites`` and ``InsecureCipherSuites``).
"""

from typing import Final

TLS_VERSIONS: Final = ("TLS10", "TLS11", "TLS12", "TLS13")
"""exporter-toolkit's version names, oldest first."""

UNSUPPORTED_VERSIONS: Final = frozenset({"TLS10", "TLS11"})
"""Versions OpenSSL 3 refuses at its default security level; offering them would mean
lowering that level (weaker keys and signatures) for every connection."""

CIPHER_SUITES: Final[dict[str, str]] = {
    "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA": "ECDHE-ECDSA-AES128-SHA",
    "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA": "ECDHE-ECDSA-AES256-SHA",
    "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA": "ECDHE-RSA-AES128-SHA",
    "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA": "ECDHE-RSA-AES256-SHA",
    "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256": "ECDHE-ECDSA-AES128-GCM-SHA256",
    "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384": "ECDHE-ECDSA-AES256-GCM-SHA384",
    "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256": "ECDHE-RSA-AES128-GCM-SHA256",
    "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384": "ECDHE-RSA-AES256-GCM-SHA384",
    "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256": "ECDHE-RSA-CHACHA20-POLY1305",
    "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256": "ECDHE-ECDSA-CHACHA20-POLY1305",
}
"""Go's TLS <= 1.2 suites from ``tls.CipherSuites()`` (the ones exporter-toolkit accepts),
by their OpenSSL names."""

TLS13_SUITES: Final = frozenset(
    {"TLS_AES_128_GCM_SHA256", "TLS_AES_256_GCM_SHA384", "TLS_CHACHA20_POLY1305_SHA256"}
)
"""Go's TLS 1.3 suites: accepted by Go in cipher_suites but never applied (neither Go nor
Python's ssl can choose TLS 1.3 suites), so refused here."""

INSECURE_SUITES: Final = frozenset(
    {
        "TLS_RSA_WITH_RC4_128_SHA",
        "TLS_RSA_WITH_3DES_EDE_CBC_SHA",
        "TLS_RSA_WITH_AES_128_CBC_SHA",
        "TLS_RSA_WITH_AES_256_CBC_SHA",
        "TLS_RSA_WITH_AES_128_CBC_SHA256",
        "TLS_RSA_WITH_AES_128_GCM_SHA256",
        "TLS_RSA_WITH_AES_256_GCM_SHA384",
        "TLS_ECDHE_ECDSA_WITH_RC4_128_SHA",
        "TLS_ECDHE_RSA_WITH_RC4_128_SHA",
        "TLS_ECDHE_RSA_WITH_3DES_EDE_CBC_SHA",
        "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256",
        "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256",
    }
)
"""Go's ``tls.InsecureCipherSuites()``, which exporter-toolkit refuses as unknown."""

CURVES: Final[dict[str, str]] = {
    "CurveP256": "prime256v1",
    "CurveP384": "secp384r1",
    "CurveP521": "secp521r1",
    "X25519": "X25519",
}
"""exporter-toolkit's curve names, by their OpenSSL names."""

CLIENT_AUTH_TYPES: Final = (
    "NoClientCert",
    "RequestClientCert",
    "RequireAnyClientCert",
    "VerifyClientCertIfGiven",
    "RequireAndVerifyClientCert",
)
"""Go's client authentication policies (``RequireClientCert`` is read as RequireAnyClientCert,
as exporter-toolkit still does)."""

SAN_CHECKING_AUTH: Final = frozenset({"RequireAnyClientCert", "RequireAndVerifyClientCert"})
"""The policies under which every client has a certificate whose SANs can be checked."""

HEADERS: Final[dict[str, tuple[str, ...]]] = {
    "Content-Security-Policy": (),
    "Strict-Transport-Security": (),
    "X-Content-Type-Options": ("nosniff",),
    "X-Frame-Options": ("deny", "sameorigin"),
    "X-XSS-Protection": (),
}
"""The headers exporter-toolkit lets a web config set, with their only values where it has
such a list (names and values are case-sensitive, as there)."""
