"""The n8n API client on its own: URLs, Retry-After forms, paging helpers."""

from __future__ import annotations

import base64
import email.utils
import json
import time

import pytest

from smarter_obs.collectors.n8n.source import N8nClient, _parse_retry_after, execution_cursor
from smarter_obs.errors import ConfigError
from tests.collectors.n8n.fake_n8n import FakeN8n, Fault


@pytest.mark.parametrize(
    ("url", "part"),
    [
        ("n8n.example.com", "scheme"),
        ("ftp://n8n.example.com", "scheme"),
        ("http://", "host"),
        ("http://127.0.0.1:99999", "port"),
        ("http://[::1", "IPv6"),
    ],
)
def test_bad_url_is_a_config_error(url: str, part: str) -> None:
    with pytest.raises(ConfigError, match=f"n8n base URL .*{part}"):
        N8nClient(url, "key")


def test_api_prefix_in_the_url_is_accepted() -> None:
    assert N8nClient("https://n8n.example.com/api/v1/", "k").base_url == "https://n8n.example.com"


def test_retry_after_seconds_and_http_date() -> None:
    assert _parse_retry_after("3") == 3.0
    soon = email.utils.formatdate(time.time() + 20, usegmt=True)
    assert 15 <= _parse_retry_after(soon) <= 21
    assert _parse_retry_after("soon") is None


def test_resume_cursor_has_n8n_own_format() -> None:
    # the example nextCursor of n8n's generated spec: {"lastId":"1000","limit":100}
    assert execution_cursor(1000, 100) == "eyJsYXN0SWQiOiIxMDAwIiwibGltaXQiOjEwMH0="
    assert json.loads(base64.b64decode(execution_cursor(7, 250))) == {"lastId": "7", "limit": 250}


def test_forged_cursor_continues_exactly_below_the_id(fake: FakeN8n) -> None:
    client = N8nClient(fake.url, fake.api_key)
    first = client.executions_page(None, 10, 1)
    low = int(first.items[4]["id"])

    resumed = client.executions_page(execution_cursor(low, 10), 10, 2)

    assert [i["id"] for i in resumed.items][:5] == [i["id"] for i in first.items[5:]]


def test_workflow_pages_follow_the_offset_cursor(fake: FakeN8n) -> None:
    pages = list(N8nClient(fake.url, fake.api_key).workflows(limit=4))
    assert [len(p.items) for p in pages] == [4, 4, 3]
    assert [w["id"] for p in pages for w in p.items] == [w["id"] for w in fake.workflows]


def test_retry_after_http_date_is_honoured(fake: FakeN8n) -> None:
    when = email.utils.formatdate(time.time() + 5, usegmt=True)
    fake.faults.append(Fault("status", code=429, retry_after=when))
    sleeps: list[float] = []

    N8nClient(fake.url, fake.api_key, sleep=sleeps.append).executions_page(None, 5, 1)

    assert len(sleeps) == 1 and 3 <= sleeps[0] <= 5.5


def test_unusable_key_fails_without_showing_it(fake: FakeN8n) -> None:
    from smarter_obs.errors import SourceError

    with pytest.raises(SourceError) as info:
        N8nClient(fake.url, "bad\nkey-material").executions_page(None, 5, 1)
    assert "key-material" not in str(info.value)


def test_public_api_disabled_hint() -> None:
    from smarter_obs.errors import SourceError

    with FakeN8n.generate(executions=1) as fake, pytest.raises(SourceError, match="N8N_PUBLIC_API_DISABLED"):
        N8nClient(fake.url + "/n8n", fake.api_key).executions_page(None, 5, 1)  # 404 under a wrong prefix
