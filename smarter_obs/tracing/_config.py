"""Resolve ``init_tracing`` arguments and the ``OTEL_*`` environment into one normalized ``TracingConfig``.

Precedence: explicit argument > per-signal variable (``OTEL_EXPORTER_OTLP_TRACES_*``) > generic variable >
default. Inside a service a bad value never raises: it is logged once (naming the variable and the fix) and
the documented fallback is used. Two calls that resolve to equal configs are "the same configuration"
(``init_tracing`` idempotency compares these objects). Nothing here imports the OpenTelemetry SDK.
"""

from __future__ import annotations

import difflib
import logging
import os
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields
from typing import Any
from urllib.parse import unquote, urlsplit

from smarter_obs import settings
from smarter_obs.tracing._log import once, redact

#: Every resource produced by ``init_tracing`` carries this ``service.namespace`` unless overridden.
SERVICE_NAMESPACE = "smarteros"
EXPORTER_NAMES = ("otlp", "console", "clickhouse", "none")
#: Entry-point names of the SDK's exporters, accepted as aliases: name -> (exporter, protocol).
_EXPORTER_ALIASES = {"otlp_proto_http": ("otlp", "http/protobuf"), "otlp_proto_grpc": ("otlp", "grpc")}
PROTOCOLS = ("http/protobuf", "grpc")
#: The OTLP spec default; the Python SDK/distro default bare ``otlp`` to gRPC instead (see docs/tracing.md).
DEFAULT_PROTOCOL = "http/protobuf"
DEFAULT_HTTP_ENDPOINT = "http://localhost:4318"
DEFAULT_GRPC_ENDPOINT = "http://localhost:4317"
TRACES_PATH = "/v1/traces"
DEFAULT_OTLP_TIMEOUT_S = 10.0
SAMPLERS = (
    "always_on",
    "always_off",
    "traceidratio",
    "parentbased_always_on",
    "parentbased_always_off",
    "parentbased_traceidratio",
)
DEFAULT_SAMPLER = "parentbased_always_on"
#: Batch span processor defaults (spec values) except the export timeout, which here also bounds exit
#: flushes: 10 s instead of the spec's 30 s so a service with a dead backend still exits promptly.
DEFAULT_BSP = {
    "OTEL_BSP_SCHEDULE_DELAY": 5000,
    "OTEL_BSP_MAX_QUEUE_SIZE": 2048,
    "OTEL_BSP_MAX_EXPORT_BATCH_SIZE": 512,
    "OTEL_BSP_EXPORT_TIMEOUT": 10000,
}

AttributeValue = (
    str | bool | int | float | tuple[str, ...] | tuple[bool, ...] | tuple[int, ...] | tuple[float, ...]
)


@dataclass(frozen=True)
class ExporterSpec:
    """One exporter to build: a registry name plus its settings, or an exporter object given by the caller."""

    name: str
    endpoint: str | None = None
    protocol: str | None = None
    headers: tuple[tuple[str, str], ...] = field(default=(), repr=False)
    timeout: float | None = None
    instance: Any = None

    def __repr__(self) -> str:
        # Configs are public (``Telemetry.config``) and end up in logs: no headers, no URL credentials.
        endpoint = redact(self.endpoint) if self.endpoint else None
        return (
            f"ExporterSpec(name={self.name!r}, endpoint={endpoint!r}, protocol={self.protocol!r}, "
            f"timeout={self.timeout!r}, instance={self.instance!r})"
        )

    def describe(self) -> str:
        """Human label for logs: never includes headers or URL credentials."""
        if self.instance is not None:
            return type(self.instance).__name__
        parts = [self.name]
        if self.protocol:
            parts.append(self.protocol)
        if self.endpoint:
            parts.append(redact(self.endpoint))
        return " ".join(parts)


@dataclass(frozen=True)
class BatchSettings:
    """``OTEL_BSP_*`` values (milliseconds / counts)."""

    schedule_delay_ms: int
    max_queue_size: int
    max_export_batch_size: int
    export_timeout_ms: int


@dataclass(frozen=True)
class TracingConfig:
    """Everything ``init_tracing`` needs, normalized so equal inputs compare equal."""

    disabled: bool
    resource_attributes: tuple[tuple[str, AttributeValue], ...]
    exporters: tuple[ExporterSpec, ...]
    sampler: str
    sampler_arg: float | None
    #: ``None`` leaves the global propagator (default ``tracecontext,baggage``) untouched.
    propagators: tuple[str, ...] | None
    batch: BatchSettings

    @property
    def service_name(self) -> str:
        return str(dict(self.resource_attributes)["service.name"])

    def differences(self, other: TracingConfig) -> list[str]:
        """Names of the top-level settings that differ (for the "different configuration" warning)."""
        return [f.name for f in fields(self) if getattr(self, f.name) != getattr(other, f.name)]


def _env(environ: Mapping[str, str], name: str) -> str | None:
    return settings.env(name, environ)  # the one reader: blank counts as unset, values stripped


def _first_env(environ: Mapping[str, str], *names: str) -> tuple[str, str] | None:
    for name in names:
        value = _env(environ, name)
        if value is not None:
            return name, value
    return None


def parse_key_values(text: str, setting: str, *, secret: bool = False) -> list[tuple[str, str]]:
    """Parse ``k=v,k2=v2`` (percent-decoded); a malformed item is skipped with a warning naming setting."""
    pairs: list[tuple[str, str]] = []
    for item in text.split(","):
        if not item.strip():
            continue
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            shown = "<hidden>" if secret else repr(item.strip())
            once(logging.WARNING, "%s: ignoring malformed item %s (expected key=value)", setting, shown)
            continue
        pairs.append((unquote(key.strip()), unquote(value.strip())))
    return pairs


def _normalize_value(key: str, value: Any) -> AttributeValue | None:
    if isinstance(value, (str, bool, int, float)):
        return value
    if isinstance(value, Sequence) and not isinstance(value, (bytes, bytearray)):
        items = tuple(value)
        if all(isinstance(v, str) for v in items) or all(isinstance(v, (int, float)) for v in items):
            return items  # type: ignore[return-value]
    once(
        logging.WARNING,
        "resource attribute %r: unsupported value type %s, ignored",
        key,
        type(value).__name__,
    )
    return None


def _resource_attributes(
    environ: Mapping[str, str],
    service_name: str | None,
    service_version: str | None,
    environment: str | None,
    resource_attributes: Mapping[str, Any] | None,
) -> tuple[tuple[str, AttributeValue], ...]:
    executable = os.path.basename(sys.executable) if sys.executable else "python"
    attrs: dict[str, Any] = {
        "service.name": f"unknown_service:{executable}",
        "service.namespace": SERVICE_NAMESPACE,
    }
    env_items = _env(environ, "OTEL_RESOURCE_ATTRIBUTES")
    if env_items:
        attrs.update(parse_key_values(env_items, "OTEL_RESOURCE_ATTRIBUTES"))
    # The pre-1.27 semconv name still appears in deployments; map it when the new one is absent.
    if "deployment.environment" in attrs and "deployment.environment.name" not in attrs:
        attrs["deployment.environment.name"] = attrs.pop("deployment.environment")
    env_service = _env(environ, "OTEL_SERVICE_NAME")
    if env_service:
        attrs["service.name"] = env_service
    for key, value in (resource_attributes or {}).items():
        attrs[str(key)] = value
    explicit = {"service.name": service_name, "service.version": service_version}
    explicit["deployment.environment.name"] = environment
    attrs.update({k: v for k, v in explicit.items() if v not in (None, "")})
    normalized = {k: _normalize_value(k, v) for k, v in attrs.items()}
    return tuple(sorted((k, v) for k, v in normalized.items() if v is not None))


def _exporter_names(
    exporter: Any, environ: Mapping[str, str], endpoint: str | None
) -> tuple[list[str | Any], str]:
    """The requested exporters (names or objects) and where the request came from."""
    if exporter is not None:
        items = (
            [exporter] if isinstance(exporter, str) or not isinstance(exporter, Sequence) else list(exporter)
        )
        names: list[str | Any] = []
        for item in items:
            if isinstance(item, str):
                names.extend(part for part in item.split(",") if part.strip())
            else:
                names.append(item)
        return names, "exporter="
    env_value = _env(environ, "OTEL_TRACES_EXPORTER")
    if env_value is not None:
        return [p for p in env_value.split(",") if p.strip()], "OTEL_TRACES_EXPORTER"
    if endpoint or _first_env(environ, "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "OTEL_EXPORTER_OTLP_ENDPOINT"):
        return ["otlp"], "an OTLP endpoint"
    return [], "defaults"


def _otlp_protocol(environ: Mapping[str, str], forced: str | None) -> str:
    if forced:
        return forced
    found = _first_env(environ, "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "OTEL_EXPORTER_OTLP_PROTOCOL")
    if found is None:
        return DEFAULT_PROTOCOL
    name, value = found
    if value.lower() in PROTOCOLS:
        return value.lower()
    once(
        logging.WARNING,
        "%s=%r is not supported (use grpc or http/protobuf); using %s",
        name,
        value,
        DEFAULT_PROTOCOL,
    )
    return DEFAULT_PROTOCOL


def _with_scheme(url: str) -> str:
    return url if "://" in url else f"http://{url}"


def _otlp_endpoint(environ: Mapping[str, str], endpoint: str | None, protocol: str) -> str:
    if protocol == "grpc":
        found = (
            endpoint
            or (
                _first_env(environ, "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "OTEL_EXPORTER_OTLP_ENDPOINT")
                or (None, DEFAULT_GRPC_ENDPOINT)
            )[1]
        )
        return _with_scheme(found)
    if endpoint:
        # An explicit endpoint is a base URL like OTEL_EXPORTER_OTLP_ENDPOINT, unless it already names
        # the traces path.
        url = _with_scheme(endpoint).rstrip("/")
        return url if urlsplit(url).path.endswith(TRACES_PATH) else url + TRACES_PATH
    traces = _env(environ, "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
    if traces:
        return _with_scheme(traces)
    base = _env(environ, "OTEL_EXPORTER_OTLP_ENDPOINT") or DEFAULT_HTTP_ENDPOINT
    return _with_scheme(base).rstrip("/") + TRACES_PATH


def _otlp_headers(
    environ: Mapping[str, str], headers: Mapping[str, str] | str | None
) -> tuple[tuple[str, str], ...]:
    if isinstance(headers, Mapping):
        pairs = [(str(k), str(v)) for k, v in headers.items()]
    elif isinstance(headers, str):
        pairs = parse_key_values(headers, "headers=", secret=True)
    else:
        found = _first_env(environ, "OTEL_EXPORTER_OTLP_TRACES_HEADERS", "OTEL_EXPORTER_OTLP_HEADERS")
        pairs = parse_key_values(found[1], found[0], secret=True) if found else []
    # gRPC metadata keys must be lower case; HTTP header names are case-insensitive.
    return tuple(sorted((k.strip().lower(), v) for k, v in pairs))


def _otlp_timeout(environ: Mapping[str, str]) -> float:
    found = _first_env(environ, "OTEL_EXPORTER_OTLP_TRACES_TIMEOUT", "OTEL_EXPORTER_OTLP_TIMEOUT")
    if found is None:
        return DEFAULT_OTLP_TIMEOUT_S
    name, value = found
    try:
        number = float(value)
    except ValueError:
        number = -1.0
    if number <= 0:
        once(
            logging.WARNING, "%s=%r is not a positive number; using %ss", name, value, DEFAULT_OTLP_TIMEOUT_S
        )
        return DEFAULT_OTLP_TIMEOUT_S
    # The Python exporters read seconds, the spec says milliseconds: values above 1000 can only be ms.
    return number / 1000.0 if number > 1000 else number


def _exporters(
    exporter: Any,
    environ: Mapping[str, str],
    endpoint: str | None,
    headers: Mapping[str, str] | str | None,
) -> tuple[ExporterSpec, ...]:
    requested, origin = _exporter_names(exporter, environ, endpoint)
    specs: list[ExporterSpec] = []
    endpoint_used = False
    for item in requested:
        if not isinstance(item, str):
            specs.append(ExporterSpec(name="custom", instance=item))
            continue
        name = item.strip().lower()
        forced_protocol = None
        if name in _EXPORTER_ALIASES:
            name, forced_protocol = _EXPORTER_ALIASES[name]
        if name == "none":
            continue
        if name not in EXPORTER_NAMES:
            close = difflib.get_close_matches(name, EXPORTER_NAMES, n=1)
            hint = f" Did you mean {close[0]!r}?" if close else ""
            once(
                logging.WARNING,
                "unknown trace exporter %r in %s (known: %s); it is skipped.%s",
                item.strip(),
                origin,
                ", ".join(EXPORTER_NAMES),
                hint,
            )
            continue
        if name == "console":
            spec = ExporterSpec(name="console")
        elif name == "clickhouse":
            url = None if endpoint_used else endpoint
            endpoint_used = endpoint_used or endpoint is not None
            spec = ExporterSpec(name="clickhouse", endpoint=url)
        else:
            protocol = _otlp_protocol(environ, forced_protocol)
            spec = ExporterSpec(
                name="otlp",
                protocol=protocol,
                endpoint=_otlp_endpoint(environ, None if endpoint_used else endpoint, protocol),
                headers=_otlp_headers(environ, headers),
                timeout=_otlp_timeout(environ),
            )
            endpoint_used = endpoint_used or endpoint is not None
        if spec not in specs:
            specs.append(spec)
    return tuple(specs)


def _ratio(value: Any, setting: str) -> float | None:
    try:
        ratio = float(value)
    except (TypeError, ValueError):
        ratio = -1.0
    if not 0.0 <= ratio <= 1.0:
        once(
            logging.WARNING, "%s=%r is not a ratio between 0 and 1; sampling everything (1.0)", setting, value
        )
        return None
    return ratio


def _sampler(environ: Mapping[str, str], sample_ratio: float | None) -> tuple[str, float | None]:
    if sample_ratio is not None:
        ratio = _ratio(sample_ratio, "sample_ratio")
        return "parentbased_traceidratio", 1.0 if ratio is None else ratio
    name = (_env(environ, "OTEL_TRACES_SAMPLER") or DEFAULT_SAMPLER).lower()
    if name not in SAMPLERS:
        once(
            logging.WARNING,
            "OTEL_TRACES_SAMPLER=%r is not supported (use one of %s); using %s",
            name,
            ", ".join(SAMPLERS),
            DEFAULT_SAMPLER,
        )
        return DEFAULT_SAMPLER, None
    if not name.endswith("traceidratio"):
        return name, None
    arg = _env(environ, "OTEL_TRACES_SAMPLER_ARG")
    ratio = 1.0 if arg is None else _ratio(arg, "OTEL_TRACES_SAMPLER_ARG")
    return name, 1.0 if ratio is None else ratio


def _propagators(environ: Mapping[str, str]) -> tuple[str, ...] | None:
    value = _env(environ, "OTEL_PROPAGATORS")
    if value is None:
        return None
    return tuple(dict.fromkeys(p.strip().lower() for p in value.split(",") if p.strip()))


def _batch(environ: Mapping[str, str]) -> BatchSettings:
    values: dict[str, int] = {}
    for name, default in DEFAULT_BSP.items():
        raw = _env(environ, name)
        if raw is None:
            values[name] = default
            continue
        try:
            number = int(float(raw))
        except ValueError:
            number = 0
        if number <= 0:
            once(logging.WARNING, "%s=%r is not a positive integer; using %d", name, raw, default)
            number = default
        values[name] = number
    queue, batch = values["OTEL_BSP_MAX_QUEUE_SIZE"], values["OTEL_BSP_MAX_EXPORT_BATCH_SIZE"]
    if batch > queue:
        once(
            logging.WARNING,
            "OTEL_BSP_MAX_EXPORT_BATCH_SIZE=%d exceeds OTEL_BSP_MAX_QUEUE_SIZE=%d; using %d",
            batch,
            queue,
            queue,
        )
        batch = queue
    return BatchSettings(values["OTEL_BSP_SCHEDULE_DELAY"], queue, batch, values["OTEL_BSP_EXPORT_TIMEOUT"])


def _disabled(environ: Mapping[str, str]) -> bool:
    value = _env(environ, "OTEL_SDK_DISABLED")
    if value is None:
        return False
    if value.lower() in ("true", "false"):
        return value.lower() == "true"
    once(logging.WARNING, "OTEL_SDK_DISABLED=%r is not true or false; tracing stays enabled", value)
    return False


def resolve_config(
    service_name: str | None = None,
    *,
    service_version: str | None = None,
    environment: str | None = None,
    exporter: Any = None,
    endpoint: str | None = None,
    headers: Mapping[str, str] | str | None = None,
    sample_ratio: float | None = None,
    resource_attributes: Mapping[str, Any] | None = None,
    environ: Mapping[str, str] | None = None,
) -> TracingConfig:
    """The configuration ``init_tracing`` would apply for these arguments and this environment."""
    env = os.environ if environ is None else environ
    sampler, sampler_arg = _sampler(env, sample_ratio)
    return TracingConfig(
        disabled=_disabled(env),
        resource_attributes=_resource_attributes(
            env, service_name, service_version, environment, resource_attributes
        ),
        exporters=_exporters(exporter, env, endpoint, headers),
        sampler=sampler,
        sampler_arg=sampler_arg,
        propagators=_propagators(env),
        batch=_batch(env),
    )
