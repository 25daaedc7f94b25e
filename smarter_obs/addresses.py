"""Validated network addresses: http(s) base URLs and ``HOST:PORT`` servers.

Each function raises :class:`~smarter_obs.errors.ConfigError` naming the bad part and showing an example;
a message repeats the address with its password masked (:func:`smarter_obs.redact.redact_url`), never the
parser's own text, which can quote a piece of the password.
"""

from __future__ import annotations

import ipaddress
import re
from urllib.parse import SplitResult, urlsplit

from smarter_obs.errors import ConfigError
from smarter_obs.redact import redact_url

__all__ = ["parse_host_port", "parse_http_url"]

# A DNS name or IPv4 address: letters, digits, '-', '_' and dots.
_HOSTNAME = re.compile(r"^[A-Za-z0-9_](?:[A-Za-z0-9_.-]*[A-Za-z0-9_])?$")


def parse_http_url(
    url: str, *, what: str = "URL", setting: str | None = None, example: str = "https://host.example.com"
) -> SplitResult:
    """``url`` split, once it is a usable http(s) URL: scheme, host, a port in 1..65535, IPv6 in brackets."""

    def bad(reason: str) -> ConfigError:
        return ConfigError(f"{what} {redact_url(url)!r}: {reason}; use e.g. {example}", setting=setting)

    try:
        parts = urlsplit(url.strip())
    except ValueError:  # "Invalid IPv6 URL", or a bracketed host that is no IPv6 address
        raise bad(
            "the host is not valid (an IPv6 address goes in brackets, as in http://[::1]:5678)"
        ) from None
    if parts.scheme.lower() not in ("http", "https"):
        raise bad(f"the scheme must be http or https, not {parts.scheme or '(none)'!r}")
    if not parts.hostname:
        raise bad("the host is missing")
    try:
        port = parts.port
    except ValueError:  # out of range, or not a number (its text may be part of a mistyped password)
        port = 0
    if port == 0:
        raise bad("the port must be a number from 1 to 65535")
    return parts


def parse_host_port(
    text: str, *, what: str, setting: str | None = None, example: str, credentials: str = ""
) -> tuple[str, int]:
    """``host:port`` or ``[ipv6]:port`` → ``(host, port)``; the port 1..65535, the host a name or an address.

    ``credentials`` says where a ``user:password@`` prefix belongs instead (it is rejected, and masked).
    """
    shown = redact_url(f"x://{text}")[4:]

    def bad(reason: str) -> ConfigError:
        return ConfigError(f"{what} {shown!r} is not HOST:PORT (e.g. {example}): {reason}", setting=setting)

    if "@" in text:
        raise bad(f"credentials do not belong in an address{credentials and '; ' + credentials}")
    if text.startswith("["):
        host, bracket, rest = text[1:].partition("]")
        if not bracket or not rest.startswith(":"):
            raise bad("an IPv6 address goes in brackets followed by the port, as in [::1]:9092")
        try:
            ipaddress.IPv6Address(host)
        except ValueError:
            raise bad(f"{host!r} is not an IPv6 address") from None
        port = rest[1:]
    else:
        host, sep, port = text.rpartition(":")
        if not sep or not host:
            raise bad("the port is missing")
        if not _HOSTNAME.match(host):
            raise bad(f"{host!r} is not a host name or address")
    if not port.isdigit() or not 0 < int(port) < 65536:
        raise bad("the port must be a number from 1 to 65535")
    return host, int(port)
