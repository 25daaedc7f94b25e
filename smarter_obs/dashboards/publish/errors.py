"""Errors of publishing. Each message names what to fix: the variable, the object, the server's answer.

    PublishError (a SmarterObsError)        the server refused or failed a call; ``status``, ``body``
    ├── PublishAuthError                     401/403: ``variable`` names the credential to fix
    ├── PublishUnavailableError              timeouts, refused connections, 5xx after the retries
    └── DriftError                           an object changed on the server; not overwritten without --force
    PublishFailed                            a run stopped part-way: ``done`` lists what was applied

Secrets never appear: bodies are cut to an excerpt and URLs lose their credentials.
"""

from __future__ import annotations

from smarter_obs.errors import SmarterObsError

EXCERPT = 300


def mask_url(url: str) -> str:
    """``https://user:secret@host/x`` → ``https://user:***@host/x`` (``smarter_obs.redact``)."""
    from smarter_obs.redact import redact_url

    return redact_url(url)


def excerpt(body: object, secrets: tuple[str, ...] = ()) -> str:
    """A server's answer, shortened and with every credential masked, for an error message."""
    from smarter_obs.redact import redact_text

    if isinstance(body, dict) and isinstance(body.get("message"), str):
        body = " ".join(f"{k}={v}" for k, v in body.items() if isinstance(v, (str, int)))
    text = body if isinstance(body, str) else repr(body)
    # a known secret is masked wherever the server repeats it, even bare and short
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
    text = " ".join(redact_text(text, secrets=secrets).split())
    return text if len(text) <= EXCERPT else text[: EXCERPT - 1] + "…"


class PublishError(SmarterObsError):
    """A Grafana or Metabase call failed; ``status`` (0 when no answer) and ``body`` (an excerpt)."""

    def __init__(self, message: str, *, target: str = "", status: int = 0, body: str = "") -> None:
        super().__init__(message)
        self.target = target
        self.status = status
        self.body = body


class PublishAuthError(PublishError):
    """The server rejected the credential (401) or its permissions (403); ``variable`` says which."""

    def __init__(self, message: str, *, variable: str, **kwargs) -> None:
        super().__init__(message, **kwargs)
        self.variable = variable


class PublishUnavailableError(PublishError):
    """No usable answer after the retries (timeouts, refused connections, 5xx)."""


class DriftError(PublishError):
    """Objects changed on the server since smarter-obs published them; ``--force`` overwrites them."""

    def __init__(self, message: str, *, objects: list[str], **kwargs) -> None:
        super().__init__(message, **kwargs)
        self.objects = objects


class PublishFailed(SmarterObsError):
    """A publish stopped part-way. ``done`` lists what was applied; rerunning converges."""

    def __init__(self, cause: Exception, done: list[str]) -> None:
        applied = "; ".join(done) if done else "nothing"
        super().__init__(f"{cause}\n  applied before the failure: {applied}\n  rerun publish to converge")
        self.cause = cause
        self.done = done
