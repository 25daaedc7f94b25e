"""A small typed Metabase client on ``requests`` (the ``metabase-api`` package loses error bodies and
calls removed endpoints).

Auth: ``x-api-key`` (preferred) or a session from ``POST /api/session/`` (``X-Metabase-Session``; renewed
once when it expires). Errors: ``MetabaseError`` with the status, method, path and an excerpt of the body;
401/403 raise ``PublishAuthError`` naming the variable to fix; timeouts, refused connections and 5xx are
retried with backoff (a POST only when the server answered 5xx, i.e. did not apply it). The API key and
the password never appear in a message.
"""

from __future__ import annotations

from typing import Any

from smarter_obs.dashboards.publish._retry import Retryable, with_retries
from smarter_obs.dashboards.publish.config import METABASE_URL, PublishConfig
from smarter_obs.dashboards.publish.errors import (
    PublishAuthError,
    PublishError,
    PublishUnavailableError,
    excerpt,
    mask_url,
)


class MetabaseError(PublishError):
    """Metabase refused a call (4xx other than 401/403)."""

    def __init__(self, message: str, *, method: str, path: str, **kwargs) -> None:
        super().__init__(message, target="metabase", **kwargs)
        self.method = method
        self.path = path


class MetabaseClient:
    """The endpoints publishing uses, spelled as in Metabase's OpenAPI document."""

    def __init__(self, config: PublishConfig) -> None:
        config.check_metabase()
        import requests  # lazy

        self._requests = requests
        self._config = config
        self.url = mask_url(config.metabase_url.rstrip("/"))
        self._base = config.metabase_url.rstrip("/")
        self._session = requests.Session()
        self._session.headers["User-Agent"] = "smarter-obs"
        if config.metabase_api_key:
            self._session.headers["x-api-key"] = config.metabase_api_key
        self._logged_in = bool(config.metabase_api_key)

    # -- typed helpers -------------------------------------------------------------------------------------

    def databases(self) -> list[dict[str, Any]]:
        body = self.request("GET", "/api/database/")
        return body["data"] if isinstance(body, dict) else body  # a plain list before 0.45

    def collections(self) -> list[dict[str, Any]]:
        return self.request("GET", "/api/collection/")

    def create_collection(self, name: str, description: str) -> dict[str, Any]:
        return self.request("POST", "/api/collection/", json={"name": name, "description": description})

    def collection_items(self, collection_id: int, *models: str) -> list[dict[str, Any]]:
        body = self.request("GET", f"/api/collection/{collection_id}/items", params={"models": list(models)})
        return body["data"] if isinstance(body, dict) else body

    def card(self, id_or_entity: int | str) -> dict[str, Any] | None:
        return self.request("GET", f"/api/card/{id_or_entity}", missing_ok=True)

    def create_card(self, body: dict[str, Any]) -> dict[str, Any]:
        return self.request("POST", "/api/card/", json=body)

    def update_card(self, card_id: int, body: dict[str, Any]) -> dict[str, Any]:
        return self.request("PUT", f"/api/card/{card_id}", json=body)

    def dashboard(self, dashboard_id: int) -> dict[str, Any] | None:
        return self.request("GET", f"/api/dashboard/{dashboard_id}", missing_ok=True)

    def create_dashboard(self, body: dict[str, Any]) -> dict[str, Any]:
        return self.request("POST", "/api/dashboard/", json=body)

    def update_dashboard(self, dashboard_id: int, body: dict[str, Any]) -> dict[str, Any]:
        return self.request("PUT", f"/api/dashboard/{dashboard_id}", json=body)

    # -- plumbing ------------------------------------------------------------------------------------------

    def _login(self) -> None:
        config = self._config
        response = self._send(
            "POST",
            "/api/session/",
            {"username": config.metabase_user, "password": config.metabase_password},
            None,
        )
        if response.status_code in (400, 401):
            raise PublishAuthError(
                f"Metabase at {self.url} rejected METABASE_USER/METABASE_PASSWORD ({response.status_code}): "
                "check them, or use METABASE_API_KEY",
                variable="METABASE_PASSWORD",
                target="metabase",
                status=response.status_code,
            )
        self._raise_for(response, "POST", "/api/session/")
        self._session.headers["X-Metabase-Session"] = response.json()["id"]
        self._logged_in = True

    def request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: dict[str, Any] | None = None,
        missing_ok: bool = False,
    ) -> Any:
        what = f"{method} {path}"

        def once():
            if not self._logged_in:
                self._login()
            response = self._send(method, path, json, params)
            if (
                response.status_code == 401 and not self._config.metabase_api_key
            ):  # session expired: once more
                self._logged_in = False
                self._login()
                response = self._send(method, path, json, params)
            if response.status_code == 404 and missing_ok:
                return None
            self._raise_for(response, method, path)
            return response.json() if response.content else None

        try:
            return with_retries(
                once, what=f"metabase {what}", attempts=self._config.retries, backoff=self._config.backoff
            )
        except Retryable as exc:
            raise PublishUnavailableError(
                f"Metabase at {self.url}: {exc} (after {self._config.retries} attempts)"
                + (f"; answer: {exc.body}" if exc.body else ""),
                target="metabase",
                status=exc.status,
                body=exc.body,
            ) from None

    def _send(self, method: str, path: str, json: Any, params: dict[str, Any] | None):
        exceptions = self._requests.exceptions
        try:
            return self._session.request(
                method, self._base + path, json=json, params=params, timeout=self._config.timeout
            )
        except exceptions.ConnectionError as exc:
            if (
                isinstance(exc, exceptions.ConnectTimeout)
                or "Connection refused" in str(exc)
                or method != "POST"
            ):
                raise Retryable(f"{method} {path}: cannot reach Metabase ({type(exc).__name__})") from None
            raise PublishUnavailableError(
                f"Metabase at {self.url}: the connection broke during {method} {path}; rerun publish "
                "(it finds what was created by its stable keys)",
                target="metabase",
            ) from None
        except exceptions.Timeout:
            if method == "POST":  # may have been applied: do not repeat blindly
                raise PublishUnavailableError(
                    f"Metabase at {self.url}: {method} {path} timed out after {self._config.timeout:g}s; "
                    "rerun publish (it finds what was created by its stable keys)",
                    target="metabase",
                ) from None
            raise Retryable(f"{method} {path}: timed out after {self._config.timeout:g}s") from None

    def _raise_for(self, response, method: str, path: str) -> None:
        status = response.status_code
        if status < 400:
            return
        body = excerpt(response.text, self._config.secrets())
        variable = self._config.metabase_credential_variable
        if status == 401:
            raise PublishAuthError(
                f"Metabase at {self.url} rejected {variable} (401 {body}) on {method} {path}: set {variable} "
                f"to a valid credential of this instance (and {METABASE_URL} to its address)",
                variable=variable.split("/")[0],
                target="metabase",
                status=401,
                body=body,
            )
        if status == 403:
            raise PublishAuthError(
                f"Metabase at {self.url} refused {method} {path} (403 {body}): the group of {variable} "
                "needs curate access to the collection and query access to the databases",
                variable=variable.split("/")[0],
                target="metabase",
                status=403,
                body=body,
            )
        if status >= 500:
            raise Retryable(f"{method} {path}: {status}", status, body)
        raise MetabaseError(
            f"Metabase refused {method} {path}: {status} {body}",
            method=method,
            path=path,
            status=status,
            body=body,
        )
