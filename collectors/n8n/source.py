"""n8n public REST API client (``/api/v1``): paging, retries with backoff, clear auth and data errors.

* network errors, 429 (honouring ``Retry-After``) and 5xx are retried with exponential backoff and jitter,
  then raise :class:`SourceUnavailableError`;
* 401/403 raise :class:`SourceAuthError` naming the variable that holds the key;
* a body that is not JSON or not shaped like the documented response raises :class:`SourceDataError`
  naming the page and the field.

The API key only ever goes into the ``X-N8N-API-KEY`` header; it is never logged or put in a message.
"""

from __future__ import annotations

import base64
import email.utils
import json
import logging
import os
import random
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from smarter_obs.addresses import parse_http_url
from smarter_obs.errors import (
    SourceAuthError,
    SourceDataError,
    SourceError,
    SourceUnavailableError,
)
from smarter_obs.redact import redact_text, redact_url

log = logging.getLogger(__name__)

API_PREFIX = "/api/v1"
MAX_PAGE_SIZE = 250  # n8n rejects limit > 250 with 400
_RETRY_STATUS = {429, 500, 502, 503, 504}


class CursorRejectedError(SourceDataError):
    """n8n answered 400 to a ``cursor`` (e.g. a resume cursor this n8n version does not understand)."""


@dataclass
class Page:
    """One list page: its items, the cursor to the next page (None at the end) and a label for errors."""

    items: list[dict[str, Any]]
    next_cursor: str | None
    label: str


def execution_cursor(last_id: int, limit: int) -> str:
    """The keyset cursor n8n itself returns for executions: base64 of ``{"lastId": "<id>", "limit": N}``.

    Used only to resume an interrupted backfill below the lowest id already committed.
    """
    payload = json.dumps({"lastId": str(last_id), "limit": limit}, separators=(",", ":"))
    return base64.b64encode(payload.encode()).decode()


class N8nClient:
    """Reads executions and workflows from one n8n instance.

    ``sleep(seconds)`` waits between retries; when it returns True (``StopFlag.wait`` after SIGTERM) the
    retries end at once with :class:`SourceUnavailableError`.
    """

    def __init__(
        self,
        url: str,
        api_key: str,
        *,
        key_name: str = "N8N_API_KEY",
        key_file: str | None = None,
        retries: int = 5,
        backoff: float = 0.5,
        max_backoff: float = 30.0,
        timeout: float = 60.0,
        sleep: Callable[[float], bool | None] = time.sleep,
    ) -> None:
        parse_http_url(
            url, what="n8n base URL", setting="SMARTER_OBS_N8N_URL", example="https://n8n.example.com"
        )
        base = url.strip().rstrip("/")
        base = base.removesuffix(API_PREFIX)
        self.base_url = base
        #: The base URL as messages show it (a password in it masked).
        self.shown_url = redact_url(base)
        self.key_name = key_name
        self.key_file = key_file
        self.retries = retries
        self.backoff = backoff
        self.max_backoff = max_backoff
        self.timeout = timeout
        self._sleep = sleep
        self._api_key = api_key
        self._session = None

    # -- HTTP -------------------------------------------------------------------------------------------

    def _http(self):
        if self._session is None:
            import requests

            session = requests.Session()
            # Proxy/CA settings from the environment are read once here instead of on every request
            # (requests re-reads them per call, a measurable cost over hundreds of pages).
            session.proxies.update(requests.utils.get_environ_proxies(self.base_url))
            bundle = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE")
            if bundle:
                session.verify = bundle
            session.trust_env = False
            self._session = session
            self._session.headers.update(
                {
                    "X-N8N-API-KEY": self._api_key,
                    "Accept": "application/json",
                    "User-Agent": "smarter-obs-n8n-collector",
                }
            )
        return self._session

    def _scrub(self, text: str) -> str:
        """Never let the API key (requests quotes bad header values) or a URL password reach a message."""
        return redact_text(text, secrets=[self._api_key], sources=[self.base_url])

    def close(self) -> None:
        if self._session is not None:
            self._session.close()
            self._session = None

    def _delay(self, attempt: int, retry_after: str | None) -> float:
        if retry_after:
            seconds = _parse_retry_after(retry_after)
            if seconds is not None:
                return min(seconds, self.max_backoff * 4)
        base = min(self.backoff * (2**attempt), self.max_backoff)
        return base * (0.5 + random.random() / 2)

    def _get(self, path: str, params: dict[str, Any], label: str, *, allow_404: bool = False) -> Any:
        """GET ``path`` and return the decoded JSON (None for an allowed 404)."""
        import requests

        url = f"{self.base_url}{API_PREFIX}{path}"
        last_problem = ""
        for attempt in range(self.retries + 1):
            retry_after = None
            try:
                response = self._http().get(url, params=params, timeout=self.timeout)
                status = response.status_code
                if status in (401, 403):
                    scopes = "with the scopes execution:list, execution:read, workflow:list"
                    fix = (
                        f"put a valid n8n API key {scopes} in {self.key_file}"
                        if self.key_file
                        else f"set {self.key_name} to a valid n8n API key {scopes}"
                    )
                    origin = f"--api-key-file {self.key_file}" if self.key_file else f"${self.key_name}"
                    raise SourceAuthError(
                        f"n8n at {self.shown_url} rejected the API key from {origin} with "
                        f"{status} ({_message(response)}): {fix}",
                        source="n8n",
                    )
                if status == 404 and allow_404:
                    return None
                if status in _RETRY_STATUS:
                    retry_after = response.headers.get("Retry-After")
                    last_problem = f"HTTP {status} ({_message(response)})"
                elif status == 400 and "cursor" in params:
                    raise CursorRejectedError(
                        f"{label}: n8n rejected the cursor (HTTP 400: {_message(response)})", source="n8n"
                    )
                elif status >= 400:
                    hint = (
                        " (is the public API enabled, i.e. N8N_PUBLIC_API_DISABLED unset, and --url the n8n "
                        "base URL?)"
                        if status == 404
                        else ""
                    )
                    raise SourceError(
                        f"{label}: n8n answered HTTP {status}: {_message(response)}{hint}", source="n8n"
                    )
                else:
                    body = response.content
                    try:
                        return json.loads(body)
                    except ValueError as exc:
                        raise SourceDataError(
                            f"{label}: the response is not valid JSON ({exc}; {len(body)} bytes)",
                            source="n8n",
                        ) from None
            except (
                requests.ConnectionError,
                requests.Timeout,
                requests.exceptions.ChunkedEncodingError,
            ) as exc:
                last_problem = f"{type(exc).__name__}: {self._scrub(str(exc))}"
            except requests.RequestException as exc:  # e.g. an unusable key or URL: retrying cannot help
                raise SourceError(
                    f"{label}: {type(exc).__name__}: {self._scrub(str(exc))}", source="n8n"
                ) from None
            if attempt < self.retries:
                delay = self._delay(attempt, retry_after)
                log.warning(
                    "%s: %s; retrying in %.2fs (%d/%d)", label, last_problem, delay, attempt + 1, self.retries
                )
                if self._sleep(
                    delay
                ):  # woken by a stop request (StopFlag.wait): give up now, not after the backoff
                    break
        raise SourceUnavailableError(
            f"{label}: n8n at {self.shown_url} still failing after {attempt + 1} attempts: {last_problem}",
            source="n8n",
        )

    # -- API ----------------------------------------------------------------------------------------------

    def executions_page(
        self, cursor: str | None, limit: int, page_no: int, *, status: str | None = None
    ) -> Page:
        """One page of ``GET /executions`` (newest first), optionally filtered by ``status``."""
        params: dict[str, Any] = {"limit": limit}
        if status:
            params["status"] = status
        if cursor:
            params["cursor"] = cursor
        label = (
            f"GET {API_PREFIX}/executions"
            + (f"?status={status}" if status else "")
            + f" page {page_no}"
            + (f" (cursor {cursor})" if cursor else "")
        )
        return _page(self._get("/executions", params, label), label)

    def executions(self, *, status: str | None = None, limit: int = MAX_PAGE_SIZE) -> Iterator[Page]:
        """Every page of ``GET /executions`` (with a ``status`` filter, e.g. the waiting ones)."""
        return _follow(lambda cursor, page_no: self.executions_page(cursor, limit, page_no, status=status))

    def execution(self, execution_id: str) -> dict[str, Any] | None:
        """``GET /executions/{id}``; None when n8n no longer has it (404)."""
        label = f"GET {API_PREFIX}/executions/{execution_id}"
        body = self._get(f"/executions/{execution_id}", {}, label, allow_404=True)
        if body is not None and not isinstance(body, dict):
            raise SourceDataError(f"{label}: expected a JSON object, got {type(body).__name__}", source="n8n")
        return body

    def workflows(self, limit: int = MAX_PAGE_SIZE) -> Iterator[Page]:
        """Every page of ``GET /workflows`` (pinned data excluded: it can be large and is not used)."""

        def page(cursor: str | None, page_no: int) -> Page:
            params: dict[str, Any] = {"limit": limit, "excludePinnedData": "true"}
            if cursor:
                params["cursor"] = cursor
            label = f"GET {API_PREFIX}/workflows page {page_no}"
            return _page(self._get("/workflows", params, label), label)

        return _follow(page)


def _follow(fetch: Callable[[str | None, int], Page]) -> Iterator[Page]:
    """Pages from ``fetch(cursor, page_no)``, following ``nextCursor`` until it is null."""
    cursor, page_no = None, 0
    while True:
        page_no += 1
        page = fetch(cursor, page_no)
        yield page
        if not page.next_cursor:
            return
        cursor = page.next_cursor


def _page(body: Any, label: str) -> Page:
    if not isinstance(body, dict):
        raise SourceDataError(
            f"{label}: expected a JSON object with data and nextCursor, got {type(body).__name__}",
            source="n8n",
        )
    data = body.get("data")
    if not isinstance(data, list):
        raise SourceDataError(
            f"{label}: field data: expected an array, got {type(data).__name__}", source="n8n"
        )
    cursor = body.get("nextCursor")
    if cursor is not None and not isinstance(cursor, str):
        raise SourceDataError(
            f"{label}: field nextCursor: expected a string or null, got {cursor!r}", source="n8n"
        )
    for index, item in enumerate(data):
        if not isinstance(item, dict):
            raise SourceDataError(
                f"{label}: data[{index}]: expected an object, got {type(item).__name__}", source="n8n"
            )
    return Page(data, cursor or None, label)


def _message(response: Any) -> str:
    """n8n's error message from a JSON error body, shortened; never the request headers."""
    try:
        body = response.json()
        if isinstance(body, dict) and isinstance(body.get("message"), str):
            return body["message"][:200]
    except ValueError:
        pass
    return (response.reason or "").strip()[:200] or "no message"


def _parse_retry_after(value: str) -> float | None:
    """``Retry-After`` as seconds: delta-seconds or an HTTP date."""
    value = value.strip()
    try:
        return max(float(value), 0.0)
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(when.timestamp() - time.time(), 0.0)
