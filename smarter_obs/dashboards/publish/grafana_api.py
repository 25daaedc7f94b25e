"""The Grafana calls publishing makes, through ``grafana-client``, with retries and precise errors.

401 names ``GRAFANA_TOKEN``; 403 says which permission the token's service account lacks; timeouts,
refused connections and 5xx are retried with backoff, then raise ``PublishUnavailableError``; other 4xx
raise ``PublishError`` carrying the status and an excerpt of Grafana's answer. 404 on a read is ``None``.
"""

from __future__ import annotations

from typing import Any

from smarter_obs.dashboards.publish._retry import Retryable, with_retries
from smarter_obs.dashboards.publish.config import GRAFANA_TOKEN, GRAFANA_URL, PublishConfig
from smarter_obs.dashboards.publish.errors import (
    PublishAuthError,
    PublishError,
    PublishUnavailableError,
    excerpt,
    mask_url,
)


class VersionMismatch(PublishError):
    """Grafana answered 412: the dashboard changed since it was read (``status_text`` says how)."""


class GrafanaAPI:
    """A thin typed layer over ``grafana_client.GrafanaApi`` for folders, datasources and dashboards."""

    def __init__(self, config: PublishConfig) -> None:
        config.check_grafana()
        from grafana_client import GrafanaApi  # lazy: publishing is not on every command's path

        self.url = mask_url(config.grafana_url.rstrip("/"))
        self._config = config
        self._api = GrafanaApi.from_url(
            config.grafana_url, credential=config.grafana_token, timeout=config.timeout
        )

    # -- reads ---------------------------------------------------------------------------------------------

    def folder(self, uid: str) -> dict[str, Any] | None:
        return self._call(f"GET folder {uid}", lambda: self._api.folder.get_folder(uid), missing_ok=True)

    def datasource(self, uid: str) -> dict[str, Any] | None:
        return self._call(
            f"GET datasource {uid}", lambda: self._api.datasource.get_datasource_by_uid(uid), missing_ok=True
        )

    def dashboard(self, uid: str) -> dict[str, Any] | None:
        return self._call(
            f"GET dashboard {uid}", lambda: self._api.dashboard.get_dashboard(uid), missing_ok=True
        )

    def dashboards_in_folder(self, folder_uid: str) -> list[dict[str, Any]]:
        return self._call(
            f"search dashboards in folder {folder_uid}",
            lambda: self._api.search.search_dashboards(type_="dash-db", folder_uids=[folder_uid], limit=5000),
        )

    # -- writes --------------------------------------------------------------------------------------------

    def create_folder(self, uid: str, title: str) -> dict[str, Any]:
        return self._call(
            f"create folder {uid}", lambda: self._api.folder.create_folder(title, uid=uid), write=True
        )

    def create_datasource(self, body: dict[str, Any]) -> dict[str, Any]:
        return self._call(
            f"create datasource {body['uid']}",
            lambda: self._api.datasource.create_datasource(body),
            write=True,
            scope="datasources",
        )

    def update_datasource(self, uid: str, body: dict[str, Any]) -> dict[str, Any]:
        return self._call(
            f"update datasource {uid}",
            lambda: self._api.datasource.update_datasource_by_uid(uid, body),
            write=True,
            scope="datasources",
        )

    def save_dashboard(self, body: dict[str, Any]) -> dict[str, Any]:
        """``POST /api/dashboards/db``; 412 raises ``VersionMismatch``."""
        uid = body["dashboard"]["uid"]
        return self._call(
            f"save dashboard {uid}", lambda: self._api.dashboard.update_dashboard(body), write=True
        )

    def delete_dashboard(self, uid: str) -> None:
        self._call(f"delete dashboard {uid}", lambda: self._api.dashboard.delete_dashboard(uid), write=True)

    # -- plumbing ------------------------------------------------------------------------------------------

    def _call(
        self, what: str, call, *, missing_ok: bool = False, write: bool = False, scope: str = "dashboards"
    ):
        from grafana_client.client import (
            GrafanaClientError,
            GrafanaException,
            GrafanaServerError,
            GrafanaTimeoutError,
            GrafanaUnauthorizedError,
        )
        from niquests.exceptions import RequestException

        secrets = self._config.secrets()

        def once():
            try:
                return call()
            except GrafanaUnauthorizedError as exc:
                raise PublishAuthError(
                    f"Grafana at {self.url} rejected {GRAFANA_TOKEN} (401 {excerpt(exc.response, secrets)}): "
                    f"set {GRAFANA_TOKEN} to a valid service-account token of this instance "
                    f"(and {GRAFANA_URL} to its address)",
                    variable=GRAFANA_TOKEN,
                    target="grafana",
                    status=401,
                ) from None
            except (GrafanaTimeoutError, GrafanaServerError) as exc:
                raise Retryable(
                    f"{what}: {exc.message}", exc.status_code, excerpt(exc.response, secrets)
                ) from None
            except GrafanaClientError as exc:
                self._client_error(what, exc, secrets, missing_ok=missing_ok, scope=scope)
                return None
            except GrafanaException as exc:  # transport failure wrapped by grafana-client
                raise Retryable(f"{what}: {excerpt(exc.message, secrets)}") from None
            except RequestException as exc:  # refused connection, DNS: not wrapped by grafana-client
                raise Retryable(
                    f"{what}: cannot reach Grafana at {self.url} ({type(exc).__name__})"
                ) from None

        try:
            return with_retries(
                once, what=f"grafana {what}", attempts=self._config.retries, backoff=self._config.backoff
            )
        except Retryable as exc:
            raise PublishUnavailableError(
                f"Grafana at {self.url}: {exc} (after {self._config.retries} attempts)"
                + (f"; answer: {exc.body}" if exc.body else ""),
                target="grafana",
                status=exc.status,
                body=exc.body,
            ) from None

    def _client_error(
        self, what: str, exc, secrets: tuple[str, ...], *, missing_ok: bool, scope: str
    ) -> None:
        body = excerpt(exc.response, secrets)
        if exc.status_code == 404 and missing_ok:
            return
        if exc.status_code == 403:
            raise PublishAuthError(
                f"Grafana at {self.url} refused to {what} (403 {body}): give the service account of "
                f"{GRAFANA_TOKEN} the Editor role on the folder"
                + (" and the Admin role (datasources:write)" if scope == "datasources" else ""),
                variable=GRAFANA_TOKEN,
                target="grafana",
                status=403,
                body=body,
            ) from None
        if exc.status_code == 412:
            status = exc.response.get("status", "") if isinstance(exc.response, dict) else ""
            error = VersionMismatch(
                f"Grafana refused to {what}: 412 {body}", target="grafana", status=412, body=body
            )
            error.status_text = status
            raise error from None
        raise PublishError(
            f"Grafana refused to {what}: {exc.status_code} {body}",
            target="grafana",
            status=exc.status_code,
            body=body,
        ) from None
