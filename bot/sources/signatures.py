"""Webhook signatures: HubSpot's v3 scheme and crmbot's own ``X-Crmbot-Signature``.

Both compare in constant time (:func:`hmac.compare_digest`). A failed check raises
:class:`SignatureError` whose reason is safe to return to the caller: it never contains
the secret, the expected signature or the request body.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import datetime, timedelta

HUBSPOT_MAX_AGE = timedelta(minutes=5)
CRMBOT_HEADER = "X-Crmbot-Signature"
HUBSPOT_HEADER = "X-HubSpot-Signature-v3"
HUBSPOT_TIMESTAMP_HEADER = "X-HubSpot-Request-Timestamp"

# HubSpot signs the URI with these percent-escapes decoded (its docs list exactly these).
_HUBSPOT_DECODE = {
    "%3A": ":",
    "%2F": "/",
    "%3F": "?",
    "%40": "@",
    "%21": "!",
    "%24": "$",
    "%27": "'",
    "%28": "(",
    "%29": ")",
    "%2A": "*",
    "%2C": ",",
    "%3B": ";",
}


class SignatureError(Exception):
    """The request is not signed as it must be; ``reason`` is safe to show."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def crmbot_signature(secret: str, body: bytes) -> str:
    """The ``X-Crmbot-Signature`` value for ``body``: ``sha256=<hex HMAC-SHA256>``."""
    digest = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def verify_crmbot(secret: str, body: bytes, header: str | None) -> None:
    """Raise SignatureError unless ``header`` is the signature of ``body`` under ``secret``."""
    if not header:
        raise SignatureError(f"missing {CRMBOT_HEADER} header")
    scheme, _, given = header.strip().partition("=")
    if scheme.lower() != "sha256" or not given:
        raise SignatureError(f"{CRMBOT_HEADER} must look like sha256=<hex>")
    expected = crmbot_signature(secret, body).removeprefix("sha256=")
    if not hmac.compare_digest(expected, given.lower()):
        raise SignatureError("signature does not match")


def hubspot_uri(uri: str) -> str:
    """``uri`` as HubSpot signs it: the listed percent-escapes decoded, nothing else."""
    out = uri
    for escaped, char in _HUBSPOT_DECODE.items():
        out = out.replace(escaped, char).replace(escaped.lower(), char)
    return out


def hubspot_signature(secret: str, method: str, uri: str, body: bytes, timestamp: str) -> str:
    """HubSpot's v3 signature: base64(HMAC-SHA256(secret, method + uri + body + timestamp))."""
    message = method.upper().encode() + hubspot_uri(uri).encode() + body + timestamp.encode()
    digest = hmac.new(secret.encode(), message, hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def verify_hubspot(
    secret: str,
    method: str,
    uri: str,
    body: bytes,
    signature: str | None,
    timestamp: str | None,
    now: datetime,
    max_age: timedelta = HUBSPOT_MAX_AGE,
) -> None:
    """Raise SignatureError unless the v3 signature is right and the timestamp is fresh.

    ``timestamp`` is milliseconds since the epoch; older than ``max_age`` (or that far in
    the future: clocks drift both ways) is refused, which bounds replays.
    """
    if not signature or not timestamp:
        raise SignatureError(f"missing {HUBSPOT_HEADER} or {HUBSPOT_TIMESTAMP_HEADER} header")
    try:
        sent_ms = int(timestamp)
    except ValueError:
        raise SignatureError(f"{HUBSPOT_TIMESTAMP_HEADER} is not a number") from None
    age_ms = now.timestamp() * 1000 - sent_ms
    if abs(age_ms) > max_age.total_seconds() * 1000:
        raise SignatureError("request timestamp is too old (or in the future)")
    expected = hubspot_signature(secret, method, uri, body, timestamp)
    if not hmac.compare_digest(expected.encode(), signature.strip().encode()):
        raise SignatureError("signature does not match")
