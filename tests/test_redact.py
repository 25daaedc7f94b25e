"""smarter_obs.redact: the one credential masker, on the cases that broke substring masking."""

from __future__ import annotations

import pytest

from smarter_obs.redact import MASK, is_secret_name, redact_dsn, redact_text, redact_url

REFUSED = (
    'connection failed: connection to server at "127.0.0.1", port 1 failed: Connection refused\n'
    "\tIs the server running on that host and accepting TCP/IP connections?"
)


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("http://u:p@127.0.0.1:1/db", "http://u:***@127.0.0.1:1/db"),
        ("https://writer:s3cr3t@ch:8443", "https://writer:***@ch:8443"),
        ("http://u:p%40ss%2Fw@host/x", "http://u:***@host/x"),  # URL-encoded
        ("http://u:p@ss/w?rd@host:8123/db", "http://u:***@host:8123/db"),  # unencoded '@', '/', '?'
        ("http://h:8123/db?user=a&password=s3&x=1", "http://h:8123/db?user=a&password=***&x=1"),
        ("https://h/?access_token=abc#frag", "https://h/?access_token=***#frag"),
        ("http://user@host:5678", "http://user@host:5678"),  # a username alone is no secret
        ("http://[::1", "http://[::1"),  # unparseable, nothing to hide
        ("chdb:///srv/ch", "chdb:///srv/ch"),
    ],
)
def test_url_fields(url: str, shown: str) -> None:
    assert redact_url(url) == shown


@pytest.mark.parametrize(
    ("dsn", "shown"),
    [
        ("postgresql://u:p@127.0.0.1:1/db", "postgresql://u:***@127.0.0.1:1/db"),
        ("postgresql://u:p@h1:5432,h2:5432/db", "postgresql://u:***@h1:5432,h2:5432/db"),
        (
            "postgresql://u@h/db?password=pw&sslmode=require",
            "postgresql://u@h/db?password=***&sslmode=require",
        ),
        ("user=u password=p host=127.0.0.1 port=1", "user=u password=*** host=127.0.0.1 port=1"),
        ("host=h password = 'a b\\' c' dbname=x", "host=h password = *** dbname=x"),
        ("host=h password='unterminated", "host=h password=***"),  # libpq rejects it; still masked
        ("host=h password=abc def", "host=h password=***"),  # an unquoted space: the rest is the password
        ("host=h sslpassword=k user=u", "host=h sslpassword=*** user=u"),
        ("host=h user=password", "host=h user=password"),  # a value, not a field
    ],
)
def test_dsn_fields(dsn: str, shown: str) -> None:
    assert redact_dsn(dsn) == shown


def test_one_character_password_leaves_the_message_intact() -> None:
    dsn = "postgresql://u:p@127.0.0.1:1/db"
    assert redact_text(REFUSED, sources=[dsn]) == REFUSED
    for password in ("p", "1", "a", "e"):
        assert redact_text(REFUSED, secrets=[password]) == REFUSED


def test_password_that_is_part_of_words_is_only_masked_as_itself() -> None:
    message = "accepting connections: the password 'accept' was wrong; accepted=no"
    assert redact_text(message, secrets=["accept"]) == (
        "accepting connections: the password '***' was wrong; accepted=no"
    )
    long_key = "n8n_api_0123456789abcdef"
    assert redact_text(f"key {long_key} rejected; {long_key}x is not it", secrets=[long_key]) == (
        f"key {MASK} rejected; {long_key}x is not it"
    )


def test_short_secret_is_masked_where_quoted_and_in_python_reprs() -> None:
    assert redact_text("GET /api/v1/workflows failed", secrets=["k"]) == "GET /api/v1/workflows failed"
    assert redact_text("Invalid header value 'k\\n'", secrets=["k\n"]) == "Invalid header value '***'"
    assert redact_text('header "k" rejected', secrets=["k"]) == 'header "***" rejected'


def test_url_encoded_password_is_masked_in_both_spellings() -> None:
    url = "http://u:p%40ss@host:8123"
    message = f"failed on {url}: auth 'p@ss' rejected, 'p%40ss' too"
    assert (
        redact_text(message, sources=[url])
        == "failed on http://u:***@host:8123: auth '***' rejected, '***' too"
    )


@pytest.mark.parametrize(
    ("dsn", "message", "shown"),
    [
        # libpq quotes the part it cannot parse: the password as written, or the whole URI
        (
            "postgresql://u:p%zz@h/db",
            'invalid percent-encoded token: "p%zz"',
            'invalid percent-encoded token: "***"',
        ),
        (
            "postgres://u:s3 cret@h/db",
            'unexpected spaces found in "s3 cret"',
            'unexpected spaces found in "***"',
        ),
        (
            "postgresql://u:s3cret@[::1/db",
            'matching "]" in IPv6 host address in URI: "postgresql://u:s3cret@[::1/db"',
            'matching "]" in IPv6 host address in URI: "postgresql://u:***@[::1/db"',
        ),
        (
            "host=h password=abc foo",
            'missing "=" after "foo" in connection info string',
            'missing "=" after "***" in connection info string',
        ),
        (
            "host=h passsword=s3cret",
            'invalid connection option "passsword"',
            'invalid connection option "passsword"',
        ),
    ],
)
def test_driver_messages_quoting_an_unparseable_dsn(dsn: str, message: str, shown: str) -> None:
    assert redact_text(message, sources=[dsn]) == shown


def test_free_text_urls_and_fields() -> None:
    text = "see http://a:b@x/y, https://tok@y?token=zz&a=1 and password=hunter2 ok"
    assert redact_text(text) == "see http://a:***@x/y, https://tok@y?token=***&a=1 and password=*** ok"
    assert redact_text(redact_text(text)) == redact_text(text)  # idempotent


@pytest.mark.parametrize(
    ("name", "secret"),
    [
        ("password", True),
        ("sasl.password", True),
        ("api_key", True),
        ("X-N8N-API-KEY", True),
        ("token", True),
        ("client_secret", True),
        ("user", False),
        ("sslmode", False),
        ("passfile", False),
        ("keyspace", False),
    ],
)
def test_secret_names(name: str, secret: bool) -> None:
    assert is_secret_name(name) is secret
