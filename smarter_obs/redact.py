"""Credentials out of every message, log line and ``repr``: the one place that knows what a secret looks like.

- :func:`redact_url`: ``scheme://user:***@host/path?password=***``: the userinfo password and the values of
  password-like query parameters, the rest kept as given.
- :func:`redact_dsn`: a libpq connection string in either form, URI (as :func:`redact_url`) or
  ``key=value`` (the ``password`` field masked), rendered in the form it was given, even when libpq would
  reject it.
- :func:`redact_text`: free text such as a driver's error message. Masks URL passwords and ``password=``
  fields wherever they appear; a URL or DSN named in ``sources`` is replaced whole where the text repeats
  it, and a quoted fragment of it that overlaps its password is masked (libpq quotes the part it cannot
  parse); a value named in ``secrets`` (an API key) is masked where the text quotes it, and bare only when
  it is at least :data:`MIN_BARE_SECRET` characters long.

Secrets are masked by field and by quoted token, never as a bare substring of the message: a one-character
password must not turn ``port 1`` into ``***ort 1`` and so reveal itself by where the masks land.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable

__all__ = ["MASK", "MIN_BARE_SECRET", "is_secret_name", "redact_dsn", "redact_text", "redact_url"]

#: What a secret is replaced with.
MASK = "***"
#: Known secrets shorter than this are masked only where quoted: short values cannot be told apart from
#: ordinary words and numbers of a message.
MIN_BARE_SECRET = 8

# Compiled on first use: `import smarter_obs` (every service) must not pay for them.
_PATTERNS = {
    "secret_name": (
        r"pass(?:word|wd)?$|pwd$|secret|token|api[-_.]?key|access[-_.]?key|private[-_.]?key|^key$|credential|"
        r"^auth$|authorization|^sig$|signature",
        re.IGNORECASE,
    ),
    "url_start": (r"^\s*[A-Za-z][A-Za-z0-9+.-]*://", 0),
    # an authority with userinfo inside free text (no whitespace, no '/' before the '@')
    "text_userinfo": (r"(?P<scheme>\b[A-Za-z][A-Za-z0-9+.-]*://)(?P<userinfo>[^\s/@?#]+)@", 0),
    "text_query_field": (r"(?P<pre>[?&;](?P<name>[A-Za-z0-9_.\-]+)=)(?P<value>[^&;#\s'\"]*)", 0),
    "text_kv_password": (
        r"(?P<pre>\b(?:ssl)?password\s*=\s*)(?P<value>'(?:[^'\\]|\\.)*'?|(?:[^\s'\"\\]|\\.)+)",
        re.IGNORECASE,
    ),
    "quoted": (r"\"([^\"\n]*)\"|'([^'\n]*)'", 0),
    "kv_key": (r"\s*([A-Za-z0-9_]+)\s*=\s*", 0),
    "kv_value": (r"'(?:[^'\\]|\\.)*'?|(?:[^\s\\]|\\.)*", 0),
    "kv_junk": (r"\S+", 0),
}


@functools.cache
def _rx(name: str) -> re.Pattern[str]:
    pattern, flags = _PATTERNS[name]
    return re.compile(pattern, flags)


def is_secret_name(name: str) -> bool:
    """True for setting, field or parameter names whose values are secrets (password, token, api_key …)."""
    return bool(_rx("secret_name").search(name.strip()))


def _url_spans(url: str) -> list[tuple[int, int]]:
    """Character ranges of ``url`` holding secrets: the userinfo password, secret query values."""
    match = _rx("url_start").match(url)
    if not match:
        return []
    spans = []
    start = match.end()
    # The userinfo ends at the last '@': a password may hold unencoded '@', '/', '?' or '#' that urllib and
    # libpq would misread, and the message quoting such a URL must still hide it.
    at = url.rfind("@", start)
    if at != -1:
        colon = url.find(":", start, at)
        if colon != -1 and colon + 1 < at:
            spans.append((colon + 1, at))
        start = at + 1
    end = min((i for i in (url.find(mark, start) for mark in "/?#") if i != -1), default=len(url))
    query_at = url.find("?", end)
    if query_at != -1:
        fragment_at = url.find("#", query_at)
        query_end = fragment_at if fragment_at != -1 else len(url)
        position = query_at + 1
        for field in re.split(r"[&;]", url[query_at + 1 : query_end]):
            name, sep, value = field.partition("=")
            if sep and value and is_secret_name(_unquote(name)):
                value_at = position + len(name) + 1
                spans.append((value_at, value_at + len(value)))
            position += len(field) + 1
    return spans


def _kv_spans(dsn: str) -> list[tuple[int, int]]:
    """Password values of a ``key=value`` DSN, following libpq's quoting; what follows a password but is not
    ``key=value`` (an unquoted password with a space) counts as part of it."""
    spans: list[tuple[int, int]] = []
    position = 0
    in_password = False
    while position < len(dsn):
        key = _rx("kv_key").match(dsn, position)
        if key:
            value = _rx("kv_value").match(dsn, key.end())
            end = value.end() if value else key.end()
            in_password = is_secret_name(key.group(1)) and end > key.end()
            if in_password:
                spans.append((key.end(), end))
            position = end
            continue
        junk = _rx("kv_junk").search(dsn, position)
        if junk is None:
            break
        if in_password:
            spans[-1] = (spans[-1][0], junk.end())
        position = junk.end()
    return spans


def _spans(address: str) -> list[tuple[int, int]]:
    return _url_spans(address) if _rx("url_start").match(address) else _kv_spans(address)


def _mask(text: str, spans: Iterable[tuple[int, int]]) -> str:
    out, last = [], 0
    for start, end in sorted(spans):
        if start < last:
            continue
        out += [text[last:start], MASK]
        last = end
    out.append(text[last:])
    return "".join(out)


def _unquote(text: str) -> str:
    from urllib.parse import unquote

    return unquote(text)


def redact_url(url: str) -> str:
    """``url`` with the userinfo password and password-like query values replaced by ``***``."""
    return _mask(url, _url_spans(url))


def redact_dsn(dsn: str) -> str:
    """A libpq DSN (``postgresql://…`` or ``key=value …``) with its password fields replaced by ``***``."""
    return _mask(dsn, _spans(dsn))


def _forms(secret: str) -> set[str]:
    """A secret as a message may spell it: as given, URL-decoded, and as Python's repr escapes it."""
    forms = {secret, _unquote(secret), repr(secret)[1:-1]}
    if len(secret) >= 2 and secret[0] == secret[-1] == "'":  # a quoted libpq value
        forms.add(secret[1:-1].replace("\\'", "'").replace("\\\\", "\\"))
    return {form for form in forms if form}


def redact_text(text: str, *, secrets: Iterable[str | None] = (), sources: Iterable[str | None] = ()) -> str:
    """Free ``text`` with every credential masked; see the module docstring for what is recognised.

    ``sources``: URLs and DSNs the text may repeat (whole or quoted in part); ``secrets``: known secret
    values, such as an API key.
    """
    known: set[str] = set()
    fragments: list[tuple[str, list[tuple[int, int]]]] = []
    for source in sources:
        if not source:
            continue
        spans = _spans(source)
        if spans:
            text = text.replace(source, _mask(source, spans))
            fragments.append((source, spans))
            for start, end in spans:
                known |= _forms(source[start:end])
    for secret in secrets:
        if secret:
            known |= _forms(secret)

    def quoted(match: re.Match[str]) -> str:
        inner = match.group(1) if match.group(1) is not None else match.group(2)
        if inner and (inner in known or any(_overlaps(inner, s, spans) for s, spans in fragments)):
            quote = match.group(0)[0]
            return f"{quote}{MASK}{quote}"
        return match.group(0)

    text = _rx("quoted").sub(quoted, text)
    for secret in sorted(known, key=len, reverse=True):
        if len(secret) >= MIN_BARE_SECRET:
            text = re.sub(rf"(?<![A-Za-z0-9]){re.escape(secret)}(?![A-Za-z0-9])", MASK, text)
    text = _rx("text_userinfo").sub(_userinfo, text)
    text = _rx("text_query_field").sub(
        lambda m: (
            m.group("pre") + MASK if m.group("value") and is_secret_name(m.group("name")) else m.group(0)
        ),
        text,
    )
    return _rx("text_kv_password").sub(lambda m: m.group("pre") + MASK, text)


def _userinfo(match: re.Match[str]) -> str:
    user, colon, _password = match.group("userinfo").partition(":")
    return f"{match.group('scheme')}{user}{colon and ':' + MASK}@"


def _overlaps(fragment: str, source: str, spans: list[tuple[int, int]]) -> bool:
    """True when ``fragment`` occurs in ``source`` overlapping one of its secret ``spans``."""
    start = source.find(fragment)
    while start != -1:
        end = start + len(fragment)
        if any(start < span_end and span_start < end for span_start, span_end in spans):
            return True
        start = source.find(fragment, start + 1)
    return False
